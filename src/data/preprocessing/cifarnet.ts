/**
 * slim's CifarNet preprocessing: training pads by 4, takes a random crop and a
 * random mirror, and jitters brightness (±63 of 255) and contrast (0.2 to 1.8);
 * evaluation crops or pads to the output size; both end with
 * `per_image_standardization`.
 * @module
 */
import type { HostTensor } from "../../graph/host_tensor.ts";
import type { Random } from "../../graph/random.ts";
import {
  adjustBrightness,
  adjustContrast,
  asImage,
  crop,
  flipLeftRight,
  mapValues,
  padZeros,
  perImageStandardization,
  resizeWithCropOrPad,
} from "./image_ops.ts";

/** Options of {@link cifarnetPreprocess}, with slim's defaults. */
export interface CifarnetPreprocessOptions {
  isTraining?: boolean;
  /** Draws the crop, mirror, brightness and contrast; required when training. */
  random?: Random;
  /** Zero padding before the random crop. Default 4. */
  padding?: number;
}

/**
 * Preprocesses one image (values in [0, 1]) for CifarNet.
 *
 * @example
 * ```ts
 * const x = cifarnetPreprocess(image, 32, 32, { isTraining: true, random: seededRandom(7, step) });
 * ```
 */
export function cifarnetPreprocess(image: HostTensor, outputHeight: number, outputWidth: number, options: CifarnetPreprocessOptions = {}): HostTensor {
  const { isTraining = false, random, padding = 4 } = options;
  const img = mapValues(asImage(image, "cifarnet preprocessing"), (v) => v * 255);
  if (!isTraining) return perImageStandardization(resizeWithCropOrPad(img, outputHeight, outputWidth));
  if (!random) throw new Error("cifarnet preprocessing: training needs a random source (options.random)");
  const padded = padding > 0 ? padZeros(img, padding) : img;
  const [h, w] = padded.shape;
  if (h < outputHeight || w < outputWidth) {
    throw new Error(`cifarnet preprocessing: image ${h}x${w} after padding is smaller than the output ${outputHeight}x${outputWidth}`);
  }
  const top = Math.floor(random() * (h - outputHeight + 1));
  const left = Math.floor(random() * (w - outputWidth + 1));
  let out = crop(padded, top, left, outputHeight, outputWidth);
  if (random() < 0.5) out = flipLeftRight(out);
  out = adjustBrightness(out, (random() * 2 - 1) * 63);
  out = adjustContrast(out, 0.2 + random() * 1.6);
  return perImageStandardization(out);
}
