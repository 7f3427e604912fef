/**
 * slim's Inception preprocessing (also MobileNet's): training takes a random
 * distorted crop that covers at least 10% of the image, resizes it, mirrors it at
 * random and distorts brightness and saturation (slim's fast mode), evaluation
 * takes the central 87.5% and resizes; both map [0, 1] to [-1, 1].
 * @module
 */
import type { HostTensor } from "../../graph/host_tensor.ts";
import type { Random } from "../../graph/random.ts";
import { adjustSaturation } from "./color.ts";
import { type DistortedBoxOptions, sampleDistortedBoundingBox } from "./distorted_box.ts";
import { adjustBrightness, asImage, centralCropFraction, clipValues, crop, flipLeftRight, mapValues, resizeBilinearLegacy } from "./image_ops.ts";

/** Options of {@link inceptionPreprocess}, with slim's defaults. */
export interface InceptionPreprocessOptions {
  isTraining?: boolean;
  /** Draws the crop, mirror and colour distortion; required when training. */
  random?: Random;
  /** Central crop kept for evaluation. Default 0.875. */
  centralFraction?: number;
  /** The crop sampler's constraints (object box, coverage, aspect and area ranges). */
  box?: DistortedBoxOptions;
}

/**
 * Preprocesses one RGB image (values in [0, 1]) for an Inception or MobileNet.
 *
 * @example
 * ```ts
 * const x = inceptionPreprocess(image, 224, 224, { isTraining: true, random: seededRandom(7, step) });
 * ```
 */
export function inceptionPreprocess(image: HostTensor, outputHeight: number, outputWidth: number, options: InceptionPreprocessOptions = {}): HostTensor {
  const { isTraining = false, random, centralFraction = 0.875, box } = options;
  const img = asImage(image, "inception preprocessing");
  if (!isTraining) {
    const centre = centralCropFraction(img, centralFraction);
    return toSigned(resizeBilinearLegacy(centre, outputHeight, outputWidth));
  }
  if (!random) throw new Error("inception preprocessing: training needs a random source (options.random)");
  const [h, w] = img.shape;
  const win = sampleDistortedBoundingBox(h, w, random, box);
  let out = resizeBilinearLegacy(crop(img, win.top, win.left, win.height, win.width), outputHeight, outputWidth);
  if (random() < 0.5) out = flipLeftRight(out);
  out = adjustBrightness(out, (random() * 2 - 1) * (32 / 255));
  if (out.shape[2] === 3) out = adjustSaturation(out, 0.5 + random());
  return toSigned(clipValues(out, 0, 1));
}

function toSigned(image: HostTensor & { data: Float32Array; dtype: "float32" }): HostTensor {
  return mapValues(image, (v) => (v - 0.5) * 2);
}
