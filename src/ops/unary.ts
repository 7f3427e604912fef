/**
 * Elementwise unary math. Each gradient rule sits beside its op, one line each.
 * @module
 */
import type { Tensor } from "../graph/tensor.ts";
import { constant } from "../graph/variable.ts";
import { apply } from "./apply.ts";
import { add, div, mul, sub } from "./binary.ts";
import { cast, greater, less } from "./compare.ts";
import { type GradArgs, registerOp } from "./registry.ts";

type Rule = (args: GradArgs<Record<string, never>>) => (Tensor | null)[];

function declareUnary(type: string, onnx: string, grad?: Rule, floatOnly = true): void {
  registerOp<Record<string, never>>({
    type,
    differentiable: grad !== undefined,
    infer: ([x]) => {
      if (floatOnly && x.dtype !== "float32") {
        throw new Error(`${type.toLowerCase()}: input must be float32, got ${x.dtype} (tensor ${x.name})`);
      }
      return [{ shape: [...x.shape], dtype: x.dtype }];
    },
    grad,
    lower: (l) => void l.emit(onnx, l.inputs, { outputs: l.outputs }),
    unknownDims: true,
  });
}

declareUnary("Neg", "Neg", ({ dys: [dy] }) => [neg(dy!)], false);
declareUnary("Exp", "Exp", ({ outputs: [y], dys: [dy] }) => [mul(dy!, y)]);
declareUnary("Log", "Log", ({ inputs: [x], dys: [dy] }) => [div(dy!, x)]);
declareUnary("Sqrt", "Sqrt", ({ outputs: [y], dys: [dy] }) => [div(mul(dy!, 0.5), y)]);
declareUnary("Reciprocal", "Reciprocal", ({ outputs: [y], dys: [dy] }) => [neg(mul(dy!, mul(y, y)))]);
declareUnary("Relu", "Relu", ({ outputs: [y], dys: [dy] }) => [mul(dy!, cast(greater(y, 0), "float32"))]);
declareUnary("Abs", "Abs", ({ inputs: [x], dys: [dy] }) => [mul(dy!, sign(x))]);
declareUnary("Sigmoid", "Sigmoid", ({ outputs: [y], dys: [dy] }) => [mul(dy!, mul(y, sub(1, y)))]);
declareUnary("Tanh", "Tanh", ({ outputs: [y], dys: [dy] }) => [mul(dy!, sub(1, mul(y, y)))]);
declareUnary("Sin", "Sin", ({ inputs: [x], dys: [dy] }) => [mul(dy!, cos(x))]);
declareUnary("Cos", "Cos", ({ inputs: [x], dys: [dy] }) => [neg(mul(dy!, sin(x)))]);
// Floor is piecewise constant: its gradient is zero almost everywhere, i.e. none flows.
declareUnary("Floor", "Floor");
declareUnary("Identity", "Identity", ({ dys: [dy] }) => [dy], false);
// StopGradient lowers to Identity; autodiff treats it as a wall.
declareUnary("StopGradient", "Identity", undefined, false);

/**
 * -x.
 *
 * @example
 * ```ts
 * const y = neg(x);
 * ```
 */
export function neg(x: Tensor): Tensor {
  return apply("Neg", [x]);
}

/**
 * e^x.
 *
 * @example
 * ```ts
 * const y = exp(x);
 * ```
 */
export function exp(x: Tensor): Tensor {
  return apply("Exp", [x]);
}

/**
 * Natural logarithm.
 *
 * @example
 * ```ts
 * const y = log(x);
 * ```
 */
export function log(x: Tensor): Tensor {
  return apply("Log", [x]);
}

/**
 * Square root.
 *
 * @example
 * ```ts
 * const norm = sqrt(sumOfSquares);
 * ```
 */
export function sqrt(x: Tensor): Tensor {
  return apply("Sqrt", [x]);
}

/**
 * 1 / x.
 *
 * @example
 * ```ts
 * const inv = reciprocal(x);
 * ```
 */
export function reciprocal(x: Tensor): Tensor {
  return apply("Reciprocal", [x]);
}

/**
 * max(x, 0). Its gradient at 0 is 0, as in TensorFlow and PyTorch.
 *
 * @example
 * ```ts
 * const h = relu(add(conv, bias));
 * ```
 */
export function relu(x: Tensor): Tensor {
  return apply("Relu", [x]);
}

registerOp<Record<string, never>>({
  type: "Relu6",
  infer: ([x]) => {
    if (x.dtype !== "float32") throw new Error(`relu6: input must be float32, got ${x.dtype} (tensor ${x.name})`);
    return [{ shape: [...x.shape], dtype: x.dtype }];
  },
  // Zero at both kinks (0 and 6), as TensorFlow's Relu6Grad.
  grad: ({ inputs: [x], dys: [dy] }) => [apply("Relu6Grad", [dy!, x])],
  lower: (l) => void l.emit("Clip", [l.inputs[0], l.scalar(0), l.scalar(6)], { outputs: l.outputs }),
});

// dy where 0 < x < 6, else 0. On the CPU two compares joined by And make one mask and one
// cast (a bool pass is a quarter of a float pass: 2×96×112² took 2.7–3.4 ms against 3.6–6.1 ms
// for two casts and two products); portable targets keep float masks, which every execution
// provider runs.
registerOp<Record<string, never>>({
  type: "Relu6Grad",
  differentiable: false,
  infer: ([dy]) => [{ shape: [...dy.shape], dtype: dy.dtype }],
  lower: (l) => {
    const [dy, x] = l.inputs;
    const [positive] = l.emit("Greater", [x, l.scalar(0)]);
    const [belowSix] = l.emit("Less", [x, l.scalar(6)]);
    const toFloat = (b: string[]) => l.emit("Cast", b, { attrs: { to: 1 } })[0];
    const mask = l.target === "cpu"
      ? toFloat(l.emit("And", [positive, belowSix]))
      : l.emit("Mul", [toFloat([positive]), toFloat([belowSix])])[0];
    l.emit("Mul", [dy, mask], { outputs: l.outputs });
  },
});

/**
 * min(max(x, 0), 6), TF's `relu6` (MobileNet's activation). Its gradient is 1
 * strictly between 0 and 6 and 0 elsewhere.
 *
 * @example
 * ```ts
 * const h = relu6(conv);
 * ```
 */
export function relu6(x: Tensor): Tensor {
  return apply("Relu6", [x]);
}

/**
 * |x|.
 *
 * @example
 * ```ts
 * const l1 = abs(sub(predictions, labels));
 * ```
 */
export function abs(x: Tensor): Tensor {
  return apply("Abs", [x]);
}

/**
 * 1 / (1 + e^-x).
 *
 * @example
 * ```ts
 * const p = sigmoid(logits);
 * ```
 */
export function sigmoid(x: Tensor): Tensor {
  return apply("Sigmoid", [x]);
}

/**
 * Hyperbolic tangent.
 *
 * @example
 * ```ts
 * const h = tanh(x);
 * ```
 */
export function tanh(x: Tensor): Tensor {
  return apply("Tanh", [x]);
}

/**
 * Sine.
 *
 * @example
 * ```ts
 * const y = sin(x);
 * ```
 */
export function sin(x: Tensor): Tensor {
  return apply("Sin", [x]);
}

/**
 * Cosine.
 *
 * @example
 * ```ts
 * const y = cos(mul(Math.PI, progress));
 * ```
 */
export function cos(x: Tensor): Tensor {
  return apply("Cos", [x]);
}

/**
 * Rounds down; no gradient flows through it.
 *
 * @example
 * ```ts
 * const epochs = floor(div(step, stepsPerEpoch));
 * ```
 */
export function floor(x: Tensor): Tensor {
  return apply("Floor", [x]);
}

/**
 * Passes the value through unchanged (a named copy).
 *
 * @example
 * ```ts
 * const out = identity(x, "logits");
 * ```
 */
export function identity(x: Tensor, name?: string): Tensor {
  return apply("Identity", [x], {}, name);
}

/**
 * The same value, but no gradient flows back through it.
 *
 * @example
 * ```ts
 * const target = stopGradient(teacherLogits);
 * ```
 */
export function stopGradient(x: Tensor): Tensor {
  return apply("StopGradient", [x]);
}

/**
 * -1, 0 or 1 by the sign of x (built from comparisons, which every execution provider runs).
 *
 * @example
 * ```ts
 * const s = sign(x);
 * ```
 */
export function sign(x: Tensor): Tensor {
  return sub(cast(greater(x, 0), x.dtype), cast(less(x, 0), x.dtype));
}

/**
 * x * x.
 *
 * @example
 * ```ts
 * const sq = square(x);
 * ```
 */
export function square(x: Tensor): Tensor {
  return mul(x, x);
}

/**
 * A scalar constant with `like`'s dtype and graph (broadcasts where a full tensor would).
 *
 * @example
 * ```ts
 * const zero = scalarLike(0, x);
 * ```
 */
export function scalarLike(value: number, like: Tensor): Tensor {
  return constant(value, [], like.dtype, like.graph);
}

/**
 * ln(1 + e^x), computed stably as max(x, 0) + ln(1 + e^-|x|).
 *
 * @example
 * ```ts
 * const sp = softplus(x);
 * ```
 */
export function softplus(x: Tensor): Tensor {
  return add(relu(x), log(add(1, exp(neg(abs(x))))));
}
