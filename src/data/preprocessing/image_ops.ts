/**
 * Host-side image operations on HWC float32 tensors, with the semantics of the
 * TensorFlow ops slim's preprocessing calls (`tf.slice` crops,
 * `resize_image_with_crop_or_pad`, `central_crop`, legacy `resize_bilinear`,
 * `per_image_standardization`, brightness and contrast). They run in the input
 * pipeline, before batching, exactly where slim runs them.
 * @module
 */
import { formatShape, type HostTensor } from "../../graph/host_tensor.ts";

/** An HWC float32 image: what every function here takes and returns. */
export type Image = HostTensor & { dtype: "float32"; data: Float32Array };

/**
 * Checks that `image` is a float32 [H, W, C] tensor and returns it typed as one.
 *
 * @example
 * ```ts
 * const img = asImage(decodeImage(bytes, "cat.png"), "vgg preprocessing");
 * ```
 */
export function asImage(image: HostTensor, who: string): Image {
  if (!image || image.dtype !== "float32" || image.shape.length !== 3 || !(image.data instanceof Float32Array)) {
    throw new Error(`${who}: image must be a float32 [height, width, channels] tensor, got ${image?.dtype} ${formatShape(image?.shape ?? [])}`);
  }
  return image as Image;
}

/**
 * The window [top, top+height) × [left, left+width) of an image (`tf.slice`).
 *
 * @example
 * ```ts
 * const patch = crop(image, 10, 20, 224, 224);
 * ```
 */
export function crop(image: Image, top: number, left: number, height: number, width: number): Image {
  const [h, w, c] = image.shape;
  if (top < 0 || left < 0 || top + height > h || left + width > w || height <= 0 || width <= 0) {
    throw new Error(`crop: window ${height}x${width} at (${top}, ${left}) does not fit image ${formatShape(image.shape)}`);
  }
  const out = new Float32Array(height * width * c);
  for (let y = 0; y < height; y++) {
    const from = ((top + y) * w + left) * c;
    out.set(image.data.subarray(from, from + width * c), y * width * c);
  }
  return { dtype: "float32", shape: [height, width, c], data: out };
}

/**
 * Crops the centre `height` × `width` window; offsets round down, as slim's
 * `_central_crop` does.
 *
 * @example
 * ```ts
 * const centre = centralCropTo(resized, 224, 224);
 * ```
 */
export function centralCropTo(image: Image, height: number, width: number): Image {
  const [h, w] = image.shape;
  return crop(image, Math.floor((h - height) / 2), Math.floor((w - width) / 2), height, width);
}

/**
 * `tf.image.central_crop`: keeps the central `fraction` of each side; the margin
 * is `trunc((size - size * fraction) / 2)` on both ends.
 *
 * @example
 * ```ts
 * const centre = centralCropFraction(image, 0.875); // inception's eval crop
 * ```
 */
export function centralCropFraction(image: Image, fraction: number): Image {
  if (!(fraction > 0 && fraction <= 1)) throw new Error(`centralCropFraction: fraction must be in (0, 1], got ${fraction}`);
  if (fraction === 1) return image;
  const [h, w] = image.shape;
  const top = Math.trunc((h - h * fraction) / 2);
  const left = Math.trunc((w - w * fraction) / 2);
  return crop(image, top, left, h - 2 * top, w - 2 * left);
}

/**
 * Bilinear resize as TensorFlow 1's `resize_bilinear(align_corners=False)`, which
 * slim's preprocessing uses: source coordinate `dst * in / out` (no half-pixel
 * offset), the upper neighbour clamped to the last row or column.
 *
 * @example
 * ```ts
 * const resized = resizeBilinearLegacy(image, 256, 341);
 * ```
 */
export function resizeBilinearLegacy(image: Image, height: number, width: number): Image {
  if (!(Number.isInteger(height) && Number.isInteger(width) && height > 0 && width > 0)) {
    throw new Error(`resizeBilinearLegacy: size must be positive integers, got ${height}x${width}`);
  }
  const [h, w, c] = image.shape;
  const src = image.data;
  const out = new Float32Array(height * width * c);
  const sy = h / height, sx = w / width;
  for (let y = 0; y < height; y++) {
    const fy = y * sy, y0 = Math.floor(fy), y1 = Math.min(y0 + 1, h - 1), dy = fy - y0;
    for (let x = 0; x < width; x++) {
      const fx = x * sx, x0 = Math.floor(fx), x1 = Math.min(x0 + 1, w - 1), dx = fx - x0;
      const o = (y * width + x) * c;
      const a = (y0 * w + x0) * c, b = (y0 * w + x1) * c, d = (y1 * w + x0) * c, e = (y1 * w + x1) * c;
      for (let k = 0; k < c; k++) {
        const top = src[a + k] + (src[b + k] - src[a + k]) * dx;
        const bottom = src[d + k] + (src[e + k] - src[d + k]) * dx;
        out[o + k] = top + (bottom - top) * dy;
      }
    }
  }
  return { dtype: "float32", shape: [height, width, c], data: out };
}

/**
 * The size whose smaller side is `smallestSide`, keeping the aspect ratio (each
 * side rounded to the nearest integer, ties to even, as `tf.math.rint`).
 *
 * @example
 * ```ts
 * smallestSizeAtLeast(480, 640, 256); // [256, 341]
 * ```
 */
export function smallestSizeAtLeast(height: number, width: number, smallestSide: number): [number, number] {
  const scale = height > width ? smallestSide / width : smallestSide / height;
  return [rint(height * scale), rint(width * scale)];
}

/**
 * Resizes so the smaller side is `smallestSide`, keeping the aspect ratio.
 *
 * @example
 * ```ts
 * const resized = aspectPreservingResize(image, 256);
 * ```
 */
export function aspectPreservingResize(image: Image, smallestSide: number): Image {
  const [h, w] = image.shape;
  const [nh, nw] = smallestSizeAtLeast(h, w, smallestSide);
  return resizeBilinearLegacy(image, nh, nw);
}

/**
 * Mirrors the image left to right.
 *
 * @example
 * ```ts
 * const mirrored = flipLeftRight(image);
 * ```
 */
export function flipLeftRight(image: Image): Image {
  const [h, w, c] = image.shape;
  const out = new Float32Array(image.data.length);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const from = (y * w + x) * c, to = (y * w + (w - 1 - x)) * c;
      for (let k = 0; k < c; k++) out[to + k] = image.data[from + k];
    }
  }
  return { dtype: "float32", shape: [h, w, c], data: out };
}

/**
 * `tf.image.resize_image_with_crop_or_pad`: centre-crops a side that is too long
 * and zero-pads one that is too short (offsets round down).
 *
 * @example
 * ```ts
 * const fitted = resizeWithCropOrPad(image, 28, 28);
 * ```
 */
export function resizeWithCropOrPad(image: Image, height: number, width: number): Image {
  const [h, w, c] = image.shape;
  const cropTop = Math.max(Math.floor((h - height) / 2), 0), cropLeft = Math.max(Math.floor((w - width) / 2), 0);
  const padTop = Math.max(Math.floor((height - h) / 2), 0), padLeft = Math.max(Math.floor((width - w) / 2), 0);
  const copyH = Math.min(h, height), copyW = Math.min(w, width);
  const out = new Float32Array(height * width * c);
  for (let y = 0; y < copyH; y++) {
    const from = ((cropTop + y) * w + cropLeft) * c;
    out.set(image.data.subarray(from, from + copyW * c), ((padTop + y) * width + padLeft) * c);
  }
  return { dtype: "float32", shape: [height, width, c], data: out };
}

/**
 * Pads every side with `amount` zeros (`tf.pad` on height and width).
 *
 * @example
 * ```ts
 * const padded = padZeros(image, 4); // [32, 32, 3] -> [40, 40, 3]
 * ```
 */
export function padZeros(image: Image, amount: number): Image {
  const [h, w] = image.shape;
  return resizeWithCropOrPadAt(image, h + 2 * amount, w + 2 * amount, amount);
}

function resizeWithCropOrPadAt(image: Image, height: number, width: number, offset: number): Image {
  const [h, w, c] = image.shape;
  const out = new Float32Array(height * width * c);
  for (let y = 0; y < h; y++) out.set(image.data.subarray(y * w * c, (y + 1) * w * c), ((offset + y) * width + offset) * c);
  return { dtype: "float32", shape: [height, width, c], data: out };
}

/**
 * Applies `f` to every value, returning a new image.
 *
 * @example
 * ```ts
 * const scaled = mapValues(image, (v) => v * 255);
 * ```
 */
export function mapValues(image: Image, f: (v: number, channel: number) => number): Image {
  const c = image.shape[2];
  const out = new Float32Array(image.data.length);
  for (let i = 0; i < out.length; i++) out[i] = f(image.data[i], i % c);
  return { dtype: "float32", shape: [...image.shape], data: out };
}

/**
 * Subtracts one mean per channel (slim's `_mean_image_subtraction`).
 *
 * @example
 * ```ts
 * const centred = subtractChannelMeans(image255, [123.68, 116.78, 103.94]);
 * ```
 */
export function subtractChannelMeans(image: Image, means: readonly number[]): Image {
  if (means.length !== image.shape[2]) {
    throw new Error(`subtractChannelMeans: ${means.length} means for an image with ${image.shape[2]} channels (${formatShape(image.shape)})`);
  }
  return mapValues(image, (v, k) => v - means[k]);
}

/**
 * `tf.image.per_image_standardization`: `(x - mean) / max(stddev, 1/sqrt(N))`
 * over all values of the image.
 *
 * @example
 * ```ts
 * const standardized = perImageStandardization(image);
 * ```
 */
export function perImageStandardization(image: Image): Image {
  const n = image.data.length;
  let sum = 0;
  for (let i = 0; i < n; i++) sum += image.data[i];
  const mean = sum / n;
  let sq = 0;
  for (let i = 0; i < n; i++) sq += (image.data[i] - mean) ** 2;
  const adjusted = Math.max(Math.sqrt(sq / n), 1 / Math.sqrt(n));
  return mapValues(image, (v) => (v - mean) / adjusted);
}

/**
 * `tf.image.adjust_brightness`: adds `delta` to every value.
 *
 * @example
 * ```ts
 * const brighter = adjustBrightness(image, 0.1);
 * ```
 */
export function adjustBrightness(image: Image, delta: number): Image {
  return mapValues(image, (v) => v + delta);
}

/**
 * `tf.image.adjust_contrast`: moves each channel's values away from (factor > 1)
 * or towards (factor < 1) that channel's mean over the image.
 *
 * @example
 * ```ts
 * const flatter = adjustContrast(image, 0.5);
 * ```
 */
export function adjustContrast(image: Image, factor: number): Image {
  const c = image.shape[2];
  const means = new Float64Array(c);
  for (let i = 0; i < image.data.length; i++) means[i % c] += image.data[i];
  const pixels = image.data.length / c;
  for (let k = 0; k < c; k++) means[k] /= pixels;
  return mapValues(image, (v, k) => (v - means[k]) * factor + means[k]);
}

/**
 * Clamps every value to [lo, hi].
 *
 * @example
 * ```ts
 * const valid = clipValues(image, 0, 1);
 * ```
 */
export function clipValues(image: Image, lo: number, hi: number): Image {
  return mapValues(image, (v) => Math.min(Math.max(v, lo), hi));
}

/** Round half to even, as `tf.math.rint` and NumPy's `rint`. */
function rint(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}
