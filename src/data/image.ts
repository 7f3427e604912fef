/**
 * Image decoding and resizing shared by the image-folder and TFRecord readers:
 * PNG (fast-png) and JPEG (jpeg-js) to HWC float32 in [0, 1], channel conversion
 * and bilinear resizing that matches `tf.image.resize` (half-pixel centers).
 * @module
 */
import { convertIndexedToRgb, decode as decodePng } from "fast-png";
import jpeg from "jpeg-js";
import { formatShape, type HostTensor } from "../graph/host_tensor.ts";

/** Target layout for {@link prepareImage}. */
export interface ImageOptions {
  /** Output height in pixels. */
  height: number;
  /** Output width in pixels. */
  width: number;
  /** 1 (grayscale) or 3 (RGB); defaults to 3. */
  channels?: 1 | 3;
}

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

/**
 * Decodes PNG or JPEG bytes (told apart by their signature, not the file name) to
 * an HWC float32 tensor in [0, 1] with the file's own channel count (1-4).
 * `name` goes into error messages.
 *
 * @example
 * ```ts
 * const image = decodeImage(await fs.readFile("cat.png"), "cat.png"); // shape [H, W, C]
 * ```
 */
export function decodeImage(bytes: Uint8Array, name: string): HostTensor {
  const isPng = bytes.length >= 8 && PNG_SIGNATURE.every((b, i) => bytes[i] === b);
  const isJpeg = bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff;
  if (!isPng && !isJpeg) {
    const head = Array.from(bytes.subarray(0, 4), (b) => b.toString(16).padStart(2, "0")).join(" ");
    throw new Error(`Image ${name} is neither PNG nor JPEG (starts with ${head || "nothing"})`);
  }
  try {
    return isPng ? pngToTensor(bytes) : jpegToTensor(bytes);
  } catch (err) {
    throw new Error(`Cannot decode image ${name}: ${(err as Error).message}`);
  }
}

function pngToTensor(bytes: Uint8Array): HostTensor {
  const png = decodePng(bytes, { checkCrc: true });
  let { channels, depth } = png;
  let samples: ArrayLike<number> = png.data;
  if (png.palette) {
    samples = convertIndexedToRgb(png);
    channels = png.palette[0].length;
    depth = 8;
  } else if (depth < 8) {
    samples = unpackBits(png.data as Uint8Array, png.width * channels, png.height, depth);
  }
  const max = 2 ** depth - 1;
  const data = new Float32Array(png.width * png.height * channels);
  if (samples.length < data.length) {
    throw new Error(`pixel data holds ${samples.length} samples, ${data.length} expected`);
  }
  for (let i = 0; i < data.length; i++) data[i] = samples[i] / max;
  return { dtype: "float32", shape: [png.height, png.width, channels], data };
}

/** Sub-byte grayscale rows are packed most significant bits first and padded to a byte. */
function unpackBits(packed: Uint8Array, perRow: number, rows: number, depth: number): Uint8Array {
  const out = new Uint8Array(perRow * rows);
  const rowBytes = Math.ceil((perRow * depth) / 8);
  const mask = (1 << depth) - 1;
  for (let r = 0; r < rows; r++) {
    for (let i = 0; i < perRow; i++) {
      const bit = i * depth;
      out[r * perRow + i] = (packed[r * rowBytes + (bit >> 3)] >> (8 - depth - (bit & 7))) & mask;
    }
  }
  return out;
}

function jpegToTensor(bytes: Uint8Array): HostTensor {
  // jpeg-js always yields RGB (grayscale JPEGs replicated) when RGBA is off.
  const img = jpeg.decode(bytes, { useTArray: true, formatAsRGBA: false });
  const data = new Float32Array(img.width * img.height * 3);
  for (let i = 0; i < data.length; i++) data[i] = img.data[i] / 255;
  return { dtype: "float32", shape: [img.height, img.width, 3], data };
}

/**
 * Converts an HWC image to 1 or 3 channels: alpha is dropped, gray is replicated
 * to RGB, and RGB becomes gray with `tf.image.rgb_to_grayscale`'s weights.
 *
 * @example
 * ```ts
 * const gray = convertChannels(rgbImage, 1); // [H, W, 3] -> [H, W, 1]
 * ```
 */
export function convertChannels(image: HostTensor, channels: 1 | 3): HostTensor {
  const [h, w, c] = image.shape;
  if (c === channels) return image;
  if (c < 1 || c > 4) throw new Error(`Image has ${c} channels; expected 1 to 4`);
  const src = image.data as Float32Array;
  const n = h * w;
  const out = new Float32Array(n * channels);
  for (let p = 0; p < n; p++) {
    const s = p * c;
    if (c <= 2) {
      // Gray, possibly with alpha.
      for (let k = 0; k < channels; k++) out[p * channels + k] = src[s];
    } else if (channels === 3) {
      out[p * 3] = src[s];
      out[p * 3 + 1] = src[s + 1];
      out[p * 3 + 2] = src[s + 2];
    } else {
      out[p] = 0.2989 * src[s] + 0.587 * src[s + 1] + 0.114 * src[s + 2];
    }
  }
  return { dtype: "float32", shape: [h, w, channels], data: out };
}

interface Taps {
  lo: Int32Array;
  hi: Int32Array;
  frac: Float64Array;
}

/** Source rows/columns and weights per output index, as TF's half-pixel scaler computes them. */
function taps(inSize: number, outSize: number): Taps {
  const scale = inSize / outSize;
  const lo = new Int32Array(outSize), hi = new Int32Array(outSize), frac = new Float64Array(outSize);
  for (let i = 0; i < outSize; i++) {
    const x = (i + 0.5) * scale - 0.5;
    const f = Math.floor(x);
    lo[i] = Math.max(f, 0);
    hi[i] = Math.min(Math.ceil(x), inSize - 1);
    frac[i] = x - f;
  }
  return { lo, hi, frac };
}

/**
 * Bilinear resize of an HWC float32 image, matching `tf.image.resize(...,
 * "bilinear")` without antialiasing: half-pixel centers, align_corners=false,
 * edges clamped.
 *
 * @example
 * ```ts
 * const small = resizeBilinear(image, 32, 32); // [H, W, C] -> [32, 32, C]
 * ```
 */
export function resizeBilinear(image: HostTensor, height: number, width: number): HostTensor {
  if (image.dtype !== "float32" || image.shape.length !== 3) {
    throw new Error(`resizeBilinear needs a float32 [H, W, C] image, got ${image.dtype} ${formatShape(image.shape)}`);
  }
  if (!(Number.isInteger(height) && Number.isInteger(width) && height > 0 && width > 0)) {
    throw new Error(`resizeBilinear needs a positive integer size, got ${height}x${width}`);
  }
  const [h, w, c] = image.shape;
  const src = image.data as Float32Array;
  if (h === height && w === width) return { dtype: "float32", shape: [h, w, c], data: src.slice() };
  const ys = taps(h, height), xs = taps(w, width);
  const out = new Float32Array(height * width * c);
  for (let y = 0; y < height; y++) {
    const top = ys.lo[y] * w * c, bottom = ys.hi[y] * w * c, fy = ys.frac[y];
    for (let x = 0; x < width; x++) {
      const left = xs.lo[x] * c, right = xs.hi[x] * c, fx = xs.frac[x];
      const o = (y * width + x) * c;
      for (let k = 0; k < c; k++) {
        const tl = src[top + left + k], tr = src[top + right + k];
        const bl = src[bottom + left + k], br = src[bottom + right + k];
        const t = tl + (tr - tl) * fx;
        const b = bl + (br - bl) * fx;
        out[o + k] = t + (b - t) * fy;
      }
    }
  }
  return { dtype: "float32", shape: [height, width, c], data: out };
}

/**
 * Decodes, converts channels and resizes in one go: what both dataset readers do
 * to every image before it is batched.
 *
 * @example
 * ```ts
 * const x = prepareImage(bytes, "digit.png", { height: 32, width: 32, channels: 1 });
 * ```
 */
export function prepareImage(bytes: Uint8Array, name: string, { height, width, channels = 3 }: ImageOptions): HostTensor {
  return resizeBilinear(convertChannels(decodeImage(bytes, name), channels), height, width);
}
