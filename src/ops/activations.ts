/**
 * Activations that imported models use beyond slimtrain's own: the error
 * function (GELU's building block), leaky ReLU, hard sigmoid and hard swish.
 * Erf is a primitive (ONNX Erf); the others are built from existing ops, so
 * their gradients come from those ops' rules.
 * @module
 */
import type { Tensor } from "../graph/tensor.ts";
import { apply } from "./apply.ts";
import { add, maximum, minimum, mul, sub } from "./binary.ts";
import { registerOp } from "./registry.ts";
import { exp, neg, relu, scalarLike } from "./unary.ts";

registerOp<Record<string, never>>({
  type: "Erf",
  infer: ([x]) => {
    if (x.dtype !== "float32") throw new Error(`erf: input must be float32, got ${x.dtype} (tensor ${x.name})`);
    return [{ shape: [...x.shape], dtype: x.dtype }];
  },
  // d/dx erf(x) = 2/√π · e^(-x²).
  grad: ({ inputs: [x], dys: [dy] }) => [mul(dy!, mul(exp(neg(mul(x, x))), 2 / Math.sqrt(Math.PI)))],
  lower: (l) => void l.emit("Erf", l.inputs, { outputs: l.outputs }),
});

/**
 * The Gauss error function, elementwise.
 *
 * @example
 * ```ts
 * const y = erf(x);
 * ```
 */
export function erf(x: Tensor): Tensor {
  return apply("Erf", [x]);
}

/**
 * GELU: x·Φ(x) = 0.5·x·(1 + erf(x/√2)), or with `approximate: "tanh"` the tanh
 * form 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))).
 *
 * @example
 * ```ts
 * const h = gelu(x);
 * ```
 */
export function gelu(x: Tensor, { approximate = "none" }: { approximate?: "none" | "tanh" } = {}): Tensor {
  if (approximate === "tanh") {
    const inner = mul(add(x, mul(mul(mul(x, x), x), 0.044715)), Math.sqrt(2 / Math.PI));
    return mul(mul(x, 0.5), add(1, apply("Tanh", [inner])));
  }
  return mul(mul(x, 0.5), add(1, erf(mul(x, Math.SQRT1_2))));
}

/**
 * max(x, 0) + alpha·min(x, 0).
 *
 * @example
 * ```ts
 * const h = leakyRelu(x, 0.01);
 * ```
 */
export function leakyRelu(x: Tensor, alpha = 0.01): Tensor {
  return sub(relu(x), mul(relu(neg(x)), alpha));
}

/**
 * x clipped to [lo, hi] (a gradient of 1 inside, 0 outside).
 *
 * @example
 * ```ts
 * const relu6 = clip(x, 0, 6);
 * ```
 */
export function clip(x: Tensor, lo?: number | Tensor, hi?: number | Tensor): Tensor {
  let y = x;
  if (lo !== undefined) y = maximum(y, typeof lo === "number" ? scalarLike(lo, x) : lo);
  if (hi !== undefined) y = minimum(y, typeof hi === "number" ? scalarLike(hi, x) : hi);
  return y;
}

/**
 * clip(alpha·x + beta, 0, 1).
 *
 * @example
 * ```ts
 * const gate = hardSigmoid(x); // alpha 0.2, beta 0.5 as in ONNX
 * ```
 */
export function hardSigmoid(x: Tensor, alpha = 0.2, beta = 0.5): Tensor {
  return clip(add(mul(x, alpha), beta), 0, 1);
}

/**
 * x · hardSigmoid(x, 1/6, 1/2) (MobileNetV3's activation).
 *
 * @example
 * ```ts
 * const h = hardSwish(x);
 * ```
 */
export function hardSwish(x: Tensor): Tensor {
  return mul(x, hardSigmoid(x, 1 / 6, 0.5));
}
