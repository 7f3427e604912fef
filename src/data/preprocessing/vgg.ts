/**
 * slim's VGG preprocessing (also used for ResNets): training resizes the smaller
 * side to a random size in [256, 512], takes a random crop and a random mirror;
 * evaluation resizes the smaller side to 256 and takes the central crop; both
 * subtract the ImageNet channel means from values in [0, 255].
 *
 * Input images are slimtrain's decoded [0, 1] floats; they are scaled to [0, 255]
 * first, where slim's ops see the JPEG's uint8 values. Where the output is larger
 * than the resize side, the side grows to fit (slim's crop would fail instead).
 * @module
 */
import type { HostTensor } from "../../graph/host_tensor.ts";
import type { Random } from "../../graph/random.ts";
import { aspectPreservingResize, asImage, centralCropTo, crop, flipLeftRight, mapValues, subtractChannelMeans } from "./image_ops.ts";

/** The ImageNet RGB means slim subtracts. */
export const VGG_CHANNEL_MEANS = [123.68, 116.78, 103.94] as const;

/** Options of {@link vggPreprocess}, with slim's defaults. */
export interface VggPreprocessOptions {
  isTraining?: boolean;
  /** Draws the resize side, crop offset and mirror; required when training. */
  random?: Random;
  /** Smallest side range when training, and the eval resize side (`resizeSideMin`). Default 256. */
  resizeSideMin?: number;
  /** Default 512. */
  resizeSideMax?: number;
}

/**
 * Preprocesses one RGB image for a VGG or ResNet.
 *
 * @example
 * ```ts
 * const x = vggPreprocess(image, 224, 224, { isTraining: true, random: seededRandom(7, step) });
 * ```
 */
export function vggPreprocess(image: HostTensor, outputHeight: number, outputWidth: number, options: VggPreprocessOptions = {}): HostTensor {
  const { isTraining = false, random, resizeSideMin = 256, resizeSideMax = 512 } = options;
  const img = mapValues(asImage(image, "vgg preprocessing"), (v) => v * 255);
  if (img.shape[2] !== 3) throw new Error(`vgg preprocessing: needs an RGB image, got ${img.shape[2]} channels`);
  if (!isTraining) {
    const resized = aspectPreservingResize(img, Math.max(resizeSideMin, outputHeight, outputWidth));
    return subtractChannelMeans(centralCropTo(resized, outputHeight, outputWidth), VGG_CHANNEL_MEANS);
  }
  if (!random) throw new Error("vgg preprocessing: training needs a random source (options.random)");
  const side = resizeSideMin + Math.floor(random() * (resizeSideMax - resizeSideMin + 1));
  const resized = aspectPreservingResize(img, Math.max(side, outputHeight, outputWidth));
  const [h, w] = resized.shape;
  const top = Math.floor(random() * (h - outputHeight + 1));
  const left = Math.floor(random() * (w - outputWidth + 1));
  let out = crop(resized, top, left, outputHeight, outputWidth);
  if (random() < 0.5) out = flipLeftRight(out);
  return subtractChannelMeans(out, VGG_CHANNEL_MEANS);
}
