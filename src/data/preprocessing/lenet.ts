/**
 * slim's LeNet preprocessing: crop or zero-pad to the output size, then map
 * [0, 255] to about [-1, 1] with `(x - 128) / 128`. The same for training and
 * evaluation.
 * @module
 */
import type { HostTensor } from "../../graph/host_tensor.ts";
import { asImage, mapValues, resizeWithCropOrPad } from "./image_ops.ts";

/**
 * Preprocesses one image (values in [0, 1], any channel count) for LeNet.
 *
 * @example
 * ```ts
 * const x = lenetPreprocess(digit, 28, 28);
 * ```
 */
export function lenetPreprocess(image: HostTensor, outputHeight: number, outputWidth: number): HostTensor {
  const fitted = resizeWithCropOrPad(asImage(image, "lenet preprocessing"), outputHeight, outputWidth);
  return mapValues(fitted, (v) => (v * 255 - 128) / 128);
}
