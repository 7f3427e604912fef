/**
 * Neural-network building blocks composed from primitive ops, so their gradients
 * come from the primitives' rules: bias add, softmax, cross-entropies and dropout.
 * L2 loss is an op of its own: it runs on every weight-decayed variable, and its own
 * rule (t · dy) is one pass over the weights where the composed form took four.
 * @module
 */
import { formatShape, isFullyKnown } from "../graph/host_tensor.ts";
import type { Tensor } from "../graph/tensor.ts";
import { add, div, mul, sub } from "./binary.ts";
import { cast, less } from "./compare.ts";
import { apply } from "./apply.ts";
import { lowerSum } from "./blocked_reduction.ts";
import { expectRank, registerOp } from "./registry.ts";
import { reduceMax, reduceSum } from "./reduce.ts";
import { reshape } from "./shape_ops.ts";
import { exp, log, neg, relu, softplus, abs, stopGradient } from "./unary.ts";

/**
 * Adds a per-channel bias to NCHW (or [N, C]) activations.
 *
 * @example
 * ```ts
 * const y = biasAddNCHW(conv, biases); // biases: [C]
 * ```
 */
export function biasAddNCHW(x: Tensor, bias: Tensor): Tensor {
  expectRank("biasAdd", "bias", bias, 1);
  if (x.rank < 2 || x.shape[1] !== bias.shape[0]) {
    throw new Error(`biasAdd: bias ${bias.name} ${formatShape(bias.shape)} does not match the channels of ${x.name} ${formatShape(x.shape)}`);
  }
  return add(x, reshape(bias, [bias.shape[0], ...new Array(x.rank - 2).fill(1)]));
}

/**
 * log(softmax(logits)) along `axis`, stable: logits - max - log(sum(exp(logits - max))).
 *
 * @example
 * ```ts
 * const logp = logSoftmax(logits);
 * ```
 */
export function logSoftmax(logits: Tensor, axis = -1): Tensor {
  // The max only shifts for stability; its gradient cancels, so none flows through it.
  const shifted = sub(logits, stopGradient(reduceMax(logits, axis, true)));
  return sub(shifted, log(reduceSum(exp(shifted), axis, true)));
}

/**
 * softmax along `axis`, stable.
 *
 * @example
 * ```ts
 * const probabilities = softmax(logits);
 * ```
 */
export function softmax(logits: Tensor, axis = -1): Tensor {
  const e = exp(sub(logits, stopGradient(reduceMax(logits, axis, true))));
  return div(e, reduceSum(e, axis, true));
}

/**
 * Per-example softmax cross-entropy: -Σ labels · log softmax(logits), over the last axis.
 *
 * @example
 * ```ts
 * const perExample = softmaxCrossEntropyWithLogits(logits, onehotLabels); // [batch]
 * ```
 */
export function softmaxCrossEntropyWithLogits(logits: Tensor, labels: Tensor): Tensor {
  if (logits.rank !== labels.rank || logits.shape.some((d, i) => d !== labels.shape[i])) {
    throw new Error(`softmaxCrossEntropy: logits ${logits.name} ${formatShape(logits.shape)} and labels ${labels.name} ${formatShape(labels.shape)} must have the same shape`);
  }
  return neg(reduceSum(mul(labels, logSoftmax(logits)), -1));
}

/**
 * Elementwise sigmoid cross-entropy, stable: max(x, 0) - x·z + log(1 + e^-|x|).
 *
 * @example
 * ```ts
 * const perElement = sigmoidCrossEntropyWithLogits(logits, targets);
 * ```
 */
export function sigmoidCrossEntropyWithLogits(logits: Tensor, labels: Tensor): Tensor {
  return add(sub(relu(logits), mul(logits, labels)), log(add(1, exp(neg(abs(logits))))));
}

/**
 * sum(t²) / 2, TF's `l2_loss`.
 *
 * @example
 * ```ts
 * const decay = mul(0.0005, l2Loss(weights));
 * ```
 */
export function l2Loss(t: Tensor): Tensor {
  return apply("L2Loss", [t]);
}

registerOp<{ blockSize?: number }>({
  type: "L2Loss",
  infer: ([t]) => {
    if (t.dtype !== "float32") throw new Error(`l2Loss: tensor ${t.name} must be float32, got ${t.dtype}`);
    return [{ shape: [], dtype: "float32" }];
  },
  grad: ({ inputs: [t], dys: [dy] }) => [mul(t, dy!)],
  lower: (l) => {
    // In blocks: fc6's 25.7M squares summed in one float32 run came out 1.9% low.
    const { shape } = l.node.inputs[0];
    const [sumSquares] = lowerSum(l, "ReduceSumSquare", l.inputs[0], shape, shape.map((_, i) => i), false, undefined, l.attrs.blockSize);
    l.emit("Mul", [sumSquares, l.scalar(0.5)], { outputs: l.outputs });
  },
});

/**
 * Inverted dropout: keeps each element with probability `keepProb` and scales it by
 * 1/keepProb. The uniform noise is a graph input the trainer feeds each step from a
 * seeded stream, so the mask is identical in the forward and backward pass, every
 * execution provider sees the same mask, and a resumed run draws the same noise.
 * `noiseShape` (TF's `noise_shape`) draws a smaller mask broadcast over `x`.
 *
 * @example
 * ```ts
 * const h = dropout(fc6, 0.5, { name: "dropout6" });
 * const channels = dropout(maps, 0.8, { noiseShape: [8, 1, 1, 64] }); // whole channels of NHWC maps
 * ```
 */
export function dropout(x: Tensor, keepProb: number, { name = "dropout", noiseShape }: { name?: string; noiseShape?: readonly number[] } = {}): Tensor {
  if (!(keepProb > 0 && keepProb <= 1)) throw new Error(`dropout: keepProb must be in (0, 1], got ${keepProb} (tensor ${x.name})`);
  const shape = noiseShape ? [...noiseShape] : [...x.shape];
  if (shape.length !== x.rank || shape.some((d, i) => d !== x.shape[i] && d !== 1)) {
    throw new Error(`dropout: noiseShape ${formatShape(shape)} must have one entry per axis of ${x.name} ${formatShape(x.shape)}, each equal to it or 1`);
  }
  if (keepProb === 1) return x;
  if (!isFullyKnown(shape)) {
    // The noise is drawn on the host in the input's shape, so that shape must be known.
    throw new Error(`dropout: input ${x.describe()} has an unknown dimension; dropout in training mode needs a fixed batch (build evaluation and inference graphs with isTraining: false)`);
  }
  const noise = x.graph.addNode("Placeholder", [], { shape, dtype: "float32", random: "uniform" }, `${name}/noise`).outputs[0];
  const mask = cast(less(noise, keepProb), "float32");
  return mul(x, mul(mask, 1 / keepProb));
}

/** `softplus` re-exported here for loss code that thinks of it as an nn op. */
export { softplus };
