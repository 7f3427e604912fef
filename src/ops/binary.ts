/**
 * Elementwise binary arithmetic with NumPy broadcasting. Gradient rules return
 * gradients in the broadcast shape; the autodiff engine sums them back to each
 * input's shape in one place.
 * @module
 */
import type { Tensor } from "../graph/tensor.ts";
import { apply, type TensorLike, toTensors } from "./apply.ts";
import { broadcastShapes, sameRankInputs } from "./broadcast.ts";
import { type GradArgs, registerOp } from "./registry.ts";
import { cast, less } from "./compare.ts";
import { log, neg } from "./unary.ts";

type Rule = (args: GradArgs<Record<string, never>>) => (Tensor | null)[];

function declareBinary(type: string, apiName: string, onnx: string, grad: Rule): void {
  registerOp<Record<string, never>>({
    type,
    infer: ([a, b]) => {
      if (a.dtype !== b.dtype) {
        throw new Error(`${apiName}: operands must have the same dtype, got ${a.dtype} (tensor ${a.name}) and ${b.dtype} (tensor ${b.name})`);
      }
      return [{ shape: broadcastShapes(apiName, [a, b]), dtype: a.dtype }];
    },
    grad,
    lower: (l) => void l.emit(onnx, sameRankInputs(l), { outputs: l.outputs }),
    unknownDims: true,
  });
}

declareBinary("Add", "add", "Add", ({ dys: [dy] }) => [dy, dy]);
declareBinary("Sub", "sub", "Sub", ({ dys: [dy] }) => [dy, neg(dy!)]);
declareBinary("Mul", "mul", "Mul", ({ inputs: [a, b], dys: [dy] }) => [mul(dy!, b), mul(dy!, a)]);
declareBinary("Div", "div", "Div", ({ inputs: [, b], outputs: [y], dys: [dy] }) => {
  const da = div(dy!, b);
  return [da, neg(mul(da, y))];
});
declareBinary("Pow", "pow", "Pow", ({ inputs: [a, b], outputs: [y], dys: [dy] }) => [
  mul(dy!, mul(b, pow(a, sub(b, 1)))),
  mul(dy!, mul(y, log(a))),
]);
declareBinary("Maximum", "maximum", "Max", ({ inputs: [a, b], dys: [dy] }) => {
  const bWins = cast(less(a, b), "float32");
  return [mul(dy!, sub(1, bWins)), mul(dy!, bWins)];
});
declareBinary("Minimum", "minimum", "Min", ({ inputs: [a, b], dys: [dy] }) => {
  const aWins = cast(less(a, b), "float32");
  return [mul(dy!, aWins), mul(dy!, sub(1, aWins))];
});

/**
 * a + b, broadcasting.
 *
 * @example
 * ```ts
 * const y = add(x, 1);
 * ```
 */
export function add(a: TensorLike, b: TensorLike): Tensor {
  return apply("Add", toTensors(a, b));
}

/**
 * a - b, broadcasting.
 *
 * @example
 * ```ts
 * const centred = sub(x, mean);
 * ```
 */
export function sub(a: TensorLike, b: TensorLike): Tensor {
  return apply("Sub", toTensors(a, b));
}

/**
 * a * b, broadcasting.
 *
 * @example
 * ```ts
 * const scaled = mul(x, 0.5);
 * ```
 */
export function mul(a: TensorLike, b: TensorLike): Tensor {
  return apply("Mul", toTensors(a, b));
}

/**
 * a / b, broadcasting.
 *
 * @example
 * ```ts
 * const mean = div(total, count);
 * ```
 */
export function div(a: TensorLike, b: TensorLike): Tensor {
  return apply("Div", toTensors(a, b));
}

/**
 * a ** b, broadcasting.
 *
 * @example
 * ```ts
 * const decay = pow(0.96, stepOverDecaySteps);
 * ```
 */
export function pow(a: TensorLike, b: TensorLike): Tensor {
  return apply("Pow", toTensors(a, b));
}

/**
 * Elementwise max(a, b); ties send the gradient to `a`.
 *
 * @example
 * ```ts
 * const atLeastEps = maximum(x, 1e-7);
 * ```
 */
export function maximum(a: TensorLike, b: TensorLike): Tensor {
  return apply("Maximum", toTensors(a, b));
}

/**
 * Elementwise min(a, b); ties send the gradient to `b`.
 *
 * @example
 * ```ts
 * const capped = minimum(x, 6);
 * ```
 */
export function minimum(a: TensorLike, b: TensorLike): Tensor {
  return apply("Minimum", toTensors(a, b));
}

/**
 * Sums any number of same-shaped tensors (TF's `add_n`).
 *
 * @example
 * ```ts
 * const total = addN([loss1, loss2, loss3]);
 * ```
 */
export function addN(tensors: readonly Tensor[]): Tensor {
  if (tensors.length === 0) throw new Error("addN: needs at least one tensor");
  return tensors.slice(1).reduce((acc, t) => add(acc, t), tensors[0]);
}
