/**
 * Reductions over static axes. Gradients broadcast back over the reduced axes.
 * Long sums and means are lowered in blocks (see `blocked_reduction.ts`), so what
 * they report agrees with float64 whatever the provider's accumulator.
 * @module
 */
import { formatShape, isFullyKnown } from "../graph/host_tensor.ts";
import type { Tensor } from "../graph/tensor.ts";
import { apply } from "./apply.ts";
import { lowerSum, type SumReduction } from "./blocked_reduction.ts";
import { div, mul } from "./binary.ts";
import { cast, equal } from "./compare.ts";
import { normalizeAxis, registerOp } from "./registry.ts";
import { broadcastTo, reshape } from "./shape_ops.ts";

interface ReduceAttrs {
  axes: number[];
  keepDims: boolean;
  /** The most elements one ONNX reduction sums (sums only); default `REDUCTION_BLOCK`. */
  blockSize?: number;
}

function reducedShape(x: Tensor, axes: number[], keepDims: boolean): number[] {
  return keepDims ? x.shape.map((d, i) => (axes.includes(i) ? 1 : d)) : x.shape.filter((_, i) => !axes.includes(i));
}

/** The upstream gradient reshaped to keep the reduced axes, then broadcast to x's shape. */
function spread(x: Tensor, dy: Tensor, axes: number[]): Tensor {
  return broadcastTo(reshape(dy, reducedShape(x, axes, true)), [...x.shape]);
}

function declareReduce(type: string, apiName: string, onnx: string, grad: (x: Tensor, y: Tensor, dy: Tensor, axes: number[]) => Tensor): void {
  registerOp<ReduceAttrs>({
    type,
    infer: ([x], { axes, keepDims }) => {
      if (x.dtype !== "float32") throw new Error(`${apiName}: input must be float32, got ${x.dtype} (tensor ${x.name})`);
      return [{ shape: reducedShape(x, axes, keepDims), dtype: x.dtype }];
    },
    grad: ({ inputs: [x], outputs: [y], attrs: { axes }, dys: [dy] }) => [grad(x, y, dy!, axes)],
    lower: (l) => {
      const { axes, keepDims, blockSize } = l.attrs;
      if (onnx !== "ReduceMax") {
        // Sums are lowered in blocks when long: ONNX Runtime accumulates them in float32.
        // An unknown (batch) dimension leaves the count to run time: one reduction, unblocked.
        const { shape } = l.node.inputs[0];
        lowerSum(l, onnx as SumReduction, l.inputs[0], shape, axes, keepDims, l.outputs, isFullyKnown(shape) ? blockSize : Number.MAX_SAFE_INTEGER);
        return;
      }
      l.emit(onnx, l.inputs, { outputs: l.outputs, attrs: { axes, keepdims: keepDims ? 1 : 0 } });
    },
    unknownDims: true,
  });
}

declareReduce("ReduceSum", "reduceSum", "ReduceSum", (x, _y, dy, axes) => spread(x, dy, axes));
declareReduce("ReduceMean", "reduceMean", "ReduceMean", (x, _y, dy, axes) => {
  const count = axes.reduce((n, a) => n * x.shape[a], 1);
  return div(spread(x, dy, axes), count);
});
// Ties share the gradient equally, as TensorFlow's reduce_max does.
declareReduce("ReduceMax", "reduceMax", "ReduceMax", (x, y, dy, axes) => {
  const mask = cast(equal(x, spread(x, y, axes)), "float32");
  const ties = spread(x, reduceSum(mask, axes), axes);
  return mul(spread(x, dy, axes), div(mask, ties));
});

function makeReduce(type: string, apiName: string) {
  return (x: Tensor, axes?: number | number[], keepDims = false): Tensor => {
    const list = axes === undefined ? x.shape.map((_, i) => i) : Array.isArray(axes) ? axes : [axes];
    const norm = [...new Set(list.map((a) => normalizeAxis(apiName, a, x.rank, x)))].sort((a, b) => a - b);
    if (norm.length === 0) return x;
    if (x.rank === 0) throw new Error(`${apiName}: cannot reduce a scalar over axes ${formatShape(list)} (tensor ${x.name})`);
    return apply(type, [x], { axes: norm, keepDims });
  };
}

/**
 * Sum over `axes` (all when omitted).
 *
 * @example
 * ```ts
 * const perExample = reduceSum(losses, 1);
 * ```
 */
export const reduceSum: (x: Tensor, axes?: number | number[], keepDims?: boolean) => Tensor = makeReduce("ReduceSum", "reduceSum");

/**
 * Mean over `axes` (all when omitted).
 *
 * @example
 * ```ts
 * const pooled = reduceMean(features, [2, 3], true); // global average pool, NCHW
 * ```
 */
export const reduceMean: (x: Tensor, axes?: number | number[], keepDims?: boolean) => Tensor = makeReduce("ReduceMean", "reduceMean");

/**
 * Max over `axes` (all when omitted).
 *
 * @example
 * ```ts
 * const m = reduceMax(logits, 1, true);
 * ```
 */
export const reduceMax: (x: Tensor, axes?: number | number[], keepDims?: boolean) => Tensor = makeReduce("ReduceMax", "reduceMax");
