/**
 * Comparisons, casts and selection. Comparisons carry no gradient; `where` passes
 * the gradient to the branch each element came from.
 * @module
 */
import type { DType } from "../graph/host_tensor.ts";
import type { Tensor } from "../graph/tensor.ts";
import { apply, type TensorLike, toTensor, toTensors } from "./apply.ts";
import { broadcastShapes, sameRankInputs } from "./broadcast.ts";
import { registerOp } from "./registry.ts";
import { scalarLike } from "./unary.ts";

const ONNX_DTYPE: Record<DType, number> = { float32: 1, int32: 6, int64: 7, bool: 9 };

/** ONNX's TensorProto.DataType code of a dtype. */
export function onnxDType(dtype: DType): number {
  return ONNX_DTYPE[dtype];
}

for (const [type, apiName] of [["Equal", "equal"], ["Less", "less"], ["Greater", "greater"]] as const) {
  registerOp<Record<string, never>>({
    type,
    differentiable: false,
    infer: ([a, b]) => {
      if (a.dtype !== b.dtype) {
        throw new Error(`${apiName}: operands must have the same dtype, got ${a.dtype} (tensor ${a.name}) and ${b.dtype} (tensor ${b.name})`);
      }
      return [{ shape: broadcastShapes(apiName, [a, b]), dtype: "bool" }];
    },
    lower: (l) => void l.emit(type, sameRankInputs(l), { outputs: l.outputs }),
    unknownDims: true,
  });
}

registerOp<{ dtype: DType }>({
  type: "Cast",
  infer: ([x], { dtype }) => [{ shape: [...x.shape], dtype }],
  grad: ({ inputs: [x], attrs, dys: [dy] }) => [x.dtype === "float32" && attrs.dtype === "float32" ? dy : null],
  lower: (l) => void l.emit("Cast", l.inputs, { outputs: l.outputs, attrs: { to: onnxDType(l.attrs.dtype) } }),
  unknownDims: true,
});

registerOp<Record<string, never>>({
  type: "Where",
  infer: ([c, a, b]) => {
    if (c.dtype !== "bool") throw new Error(`where: condition must be bool, got ${c.dtype} (tensor ${c.name})`);
    if (a.dtype !== b.dtype) throw new Error(`where: branches must share a dtype, got ${a.dtype} and ${b.dtype}`);
    return [{ shape: broadcastShapes("where", [c, a, b]), dtype: a.dtype }];
  },
  grad: ({ inputs: [c], dys: [dy] }) => {
    const zero = scalarLike(0, dy!);
    return [null, where(c, dy!, zero), where(c, zero, dy!)];
  },
  lower: (l) => void l.emit("Where", sameRankInputs(l), { outputs: l.outputs }),
  unknownDims: true,
});

/**
 * Elementwise a == b, as bool.
 *
 * @example
 * ```ts
 * const correct = equal(predictions, labels);
 * ```
 */
export function equal(a: TensorLike, b: TensorLike): Tensor {
  return apply("Equal", toTensors(a, b));
}

/**
 * Elementwise a < b, as bool.
 *
 * @example
 * ```ts
 * const keep = less(noise, keepProb);
 * ```
 */
export function less(a: TensorLike, b: TensorLike): Tensor {
  return apply("Less", toTensors(a, b));
}

/**
 * Elementwise a > b, as bool.
 *
 * @example
 * ```ts
 * const positive = greater(x, 0);
 * ```
 */
export function greater(a: TensorLike, b: TensorLike): Tensor {
  return apply("Greater", toTensors(a, b));
}

/**
 * Converts to another dtype.
 *
 * @example
 * ```ts
 * const mask = cast(greater(x, 0), "float32");
 * ```
 */
export function cast(x: Tensor, dtype: DType): Tensor {
  return apply("Cast", [x], { dtype });
}

/**
 * Picks `a` where `condition` holds, else `b` (broadcasting).
 *
 * @example
 * ```ts
 * const safe = where(isBig, clipped, x);
 * ```
 */
export function where(condition: Tensor, a: TensorLike, b: TensorLike): Tensor {
  const [ta, tb] = toTensors(a, b);
  return apply("Where", [condition, toTensor(ta), tb]);
}
