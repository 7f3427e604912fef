/**
 * Colour adjustments in HSV space with the semantics of `tf.image.adjust_saturation`
 * and `tf.image.adjust_hue`, used by inception preprocessing's colour distortion.
 * @module
 */
import type { Image } from "./image_ops.ts";

/**
 * Scales saturation by `factor` (clamped to [0, 1]) in HSV space; RGB images only.
 *
 * @example
 * ```ts
 * const vivid = adjustSaturation(image, 1.4);
 * ```
 */
export function adjustSaturation(image: Image, factor: number): Image {
  return mapHsv(image, "adjustSaturation", (hsv) => {
    hsv[1] = Math.min(Math.max(hsv[1] * factor, 0), 1);
  });
}

/**
 * Rotates hue by `delta` (a fraction of the colour wheel, in [-1, 1]); RGB only.
 *
 * @example
 * ```ts
 * const shifted = adjustHue(image, 0.1);
 * ```
 */
export function adjustHue(image: Image, delta: number): Image {
  return mapHsv(image, "adjustHue", (hsv) => {
    hsv[0] = (((hsv[0] + delta) % 1) + 1) % 1;
  });
}

function mapHsv(image: Image, who: string, f: (hsv: [number, number, number]) => void): Image {
  if (image.shape[2] !== 3) throw new Error(`${who}: needs an RGB image, got ${image.shape[2]} channels`);
  const out = new Float32Array(image.data.length);
  const hsv: [number, number, number] = [0, 0, 0];
  for (let p = 0; p < out.length; p += 3) {
    rgbToHsv(image.data[p], image.data[p + 1], image.data[p + 2], hsv);
    f(hsv);
    hsvToRgb(hsv[0], hsv[1], hsv[2], out, p);
  }
  return { dtype: "float32", shape: [...image.shape], data: out };
}

/** Hue in [0, 1), saturation and value as `tf.image.rgb_to_hsv` defines them. */
function rgbToHsv(r: number, g: number, b: number, out: [number, number, number]): void {
  const max = Math.max(r, g, b), min = Math.min(r, g, b), range = max - min;
  let h = 0;
  if (range > 0) {
    if (max === r) h = (g - b) / range;
    else if (max === g) h = (b - r) / range + 2;
    else h = (r - g) / range + 4;
    h /= 6;
    if (h < 0) h += 1;
  }
  out[0] = h;
  out[1] = max > 0 ? range / max : 0;
  out[2] = max;
}

function hsvToRgb(h: number, s: number, v: number, out: Float32Array, at: number): void {
  const sector = h * 6;
  const c = v * s;
  const x = c * (1 - Math.abs((sector % 2) - 1));
  const m = v - c;
  const i = Math.floor(sector) % 6;
  const [r, g, b] = i === 0 ? [c, x, 0] : i === 1 ? [x, c, 0] : i === 2 ? [0, c, x] : i === 3 ? [0, x, c] : i === 4 ? [x, 0, c] : [c, 0, x];
  out[at] = r + m;
  out[at + 1] = g + m;
  out[at + 2] = b + m;
}
