/**
 * Normalization math lowered to primitive ONNX ops (ReduceMean, Sub, Mul, Sqrt,
 * Div, Add), so every execution provider runs it: ONNX's BatchNormalization in
 * training mode has no WebGPU kernel, and its inference form cannot give
 * gradients. The normalization's gradients come from the primitives' rules; the
 * moments are one op with a fused gradient rule of their own.
 * @module
 */
import { isFullyKnown } from "../graph/host_tensor.ts";
import type { Tensor } from "../graph/tensor.ts";
import { applyN } from "./apply.ts";
import { add, div, mul, sub } from "./binary.ts";
import { lowerSum } from "./blocked_reduction.ts";
import { normalizeAxis, registerOp } from "./registry.ts";
import { broadcastTo, squeeze } from "./shape_ops.ts";
import { sqrt } from "./unary.ts";

/**
 * Mean and variance as one op, so its gradient is one fused expression:
 * dx = dmean / n + (x - mean) · 2·dvar / n (two passes over x's shape), where the
 * primitives' rules broadcast, divide and multiply their way through about eight
 * (batch norm's backward, 27% of MobileNet v2's kernel time before). The variance is
 * taken around the mean; its derivative with respect to the mean, Σ(x - mean), is 0.
 */
registerOp<{ axes: number[] }>({
  type: "Moments",
  infer: ([x], { axes }) => {
    if (x.dtype !== "float32") throw new Error(`moments: input must be float32, got ${x.dtype} (tensor ${x.name})`);
    const shape = x.shape.map((d, i) => (axes.includes(i) ? 1 : d));
    return [{ shape, dtype: "float32" }, { shape: [...shape], dtype: "float32" }];
  },
  grad: ({ inputs: [x], outputs: [mean], attrs: { axes }, dys: [dmean, dvar] }) => {
    const count = axes.reduce((n, a) => n * x.shape[a], 1);
    const fromVariance = dvar ? mul(sub(x, mean), mul(dvar, 2 / count)) : null;
    if (!dmean) return [fromVariance];
    const share = div(dmean, count);
    return [fromVariance ? add(fromVariance, share) : broadcastTo(share, [...x.shape])];
  },
  lower: (l) => {
    const { shape } = l.node.inputs[0];
    const block = isFullyKnown(shape) ? undefined : Number.MAX_SAFE_INTEGER;
    const [x] = l.inputs;
    const [mean] = lowerSum(l, "ReduceMean", x, shape, l.attrs.axes, true, [l.outputs[0]], block);
    const [centred] = l.emit("Sub", [x, mean]);
    const [squares] = l.emit("Mul", [centred, centred]);
    lowerSum(l, "ReduceMean", squares, shape, l.attrs.axes, true, [l.outputs[1]], block);
  },
  unknownDims: true,
});

/**
 * Mean and (biased) variance over `axes`, TF's `nn.moments`: one op whose
 * gradient is a single fused expression (see "Moments" above).
 *
 * @example
 * ```ts
 * const { mean, variance } = moments(maps, [0, 2, 3], true); // per channel of NCHW maps
 * ```
 */
export function moments(x: Tensor, axes: number[], keepDims = false): { mean: Tensor; variance: Tensor } {
  const sorted = [...new Set(axes.map((a) => normalizeAxis("moments", a, x.rank, x)))].sort((a, b) => a - b);
  const [mean, variance] = applyN("Moments", [x], { axes: sorted });
  return keepDims ? { mean, variance } : { mean: squeeze(mean, sorted), variance: squeeze(variance, sorted) };
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
