/**
 * Normalization math composed from primitive ops (ReduceMean, Sub, Mul, Sqrt,
 * Div, Add), so its gradients come from the primitives' rules and every execution
 * provider runs it: ONNX's BatchNormalization in training mode has no WebGPU
 * kernel, and its inference form cannot give gradients.
 * @module
 */
import type { Tensor } from "../graph/tensor.ts";
import { add, div, mul, sub } from "./binary.ts";
import { reduceMean } from "./reduce.ts";
import { squeeze } from "./shape_ops.ts";
import { sqrt, stopGradient } from "./unary.ts";

/**
 * Mean and (biased) variance over `axes`, TF's `nn.moments`. The variance is
 * computed around a stop-gradient copy of the mean: exact, because the variance's
 * derivative with respect to the mean is Σ(x - mean) = 0, and it keeps that path
 * out of the backward pass.
 *
 * @example
 * ```ts
 * const { mean, variance } = moments(maps, [0, 2, 3], true); // per channel of NCHW maps
 * ```
 */
export function moments(x: Tensor, axes: number[], keepDims = false): { mean: Tensor; variance: Tensor } {
  const mean = reduceMean(x, axes, true);
  const centred = sub(x, stopGradient(mean));
  const variance = reduceMean(mul(centred, centred), axes, keepDims);
  return { mean: keepDims ? mean : squeeze(mean, axes), variance };
}

/**
 * (x - mean) / sqrt(variance + epsilon) · scale + offset, TF's
 * `nn.batch_normalization`; `offset` and `scale` may be null (0 and 1). All
 * statistics broadcast against `x`.
 *
 * @example
 * ```ts
 * const y = batchNormalization(x, mean, variance, beta, gamma, 0.001);
 * ```
 */
export function batchNormalization(
  x: Tensor,
  mean: Tensor,
  variance: Tensor,
  offset: Tensor | null,
  scale: Tensor | null,
  epsilon: number,
): Tensor {
  if (!(epsilon >= 0)) throw new Error(`batchNormalization: epsilon must be a non-negative number, got ${epsilon} (tensor ${x.name})`);
  // The per-channel factor is computed once on the small statistics, then one Mul over x.
  let factor = div(1, sqrt(add(variance, epsilon)));
  if (scale) factor = mul(factor, scale);
  const y = mul(sub(x, mean), factor);
  return offset ? add(y, offset) : y;
}
