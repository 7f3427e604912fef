/**
 * slim's losses (TF's `tf.losses`): each computes per-example or per-element
 * losses, reduces them with `weights` (sum over the count of non-zero weights)
 * and adds the scalar to the LOSSES collection, where `getTotalLoss` finds it.
 * @module
 */
import { formatShape } from "../graph/host_tensor.ts";
import type { Tensor } from "../graph/tensor.ts";
import { constant } from "../graph/variable.ts";
import {
  abs,
  add,
  cast,
  equal,
  mul,
  reshape,
  sigmoidCrossEntropyWithLogits,
  softmaxCrossEntropyWithLogits,
  square,
  stopGradient,
  sub,
} from "../ops/mod.ts";
import { requireFeedRange } from "../runtime/feeds.ts";
import { checkLogitsFirst } from "./argument_order.ts";
import { type LossOptions, lossScope } from "./weighted.ts";

/** Options for the cross-entropy losses that smooth their labels. */
export interface SmoothedLossOptions extends LossOptions {
  /** Moves labels towards uniform by this much (0 = none). Default 0. */
  labelSmoothing?: number;
}

/**
 * Softmax cross-entropy of [batch, classes] logits against one-hot (or soft)
 * labels. With `labelSmoothing` ls the labels become `labels·(1-ls) + ls/classes`.
 * Logits come first, as in slim.losses and PyTorch (`tf.losses` puts the labels
 * first); a call whose arguments look swapped is refused, naming which is which.
 *
 * @example
 * ```ts
 * const loss = softmaxCrossEntropy(logits, onehotLabels, { labelSmoothing: 0.1 });
 * ```
 */
export function softmaxCrossEntropy(logits: Tensor, onehotLabels: Tensor, options: SmoothedLossOptions = {}): Tensor {
  checkLogitsFirst("softmaxCrossEntropy", logits, "onehotLabels", onehotLabels);
  checkLogits("softmaxCrossEntropy", logits);
  if (onehotLabels.dtype !== "float32") {
    throw new Error(
      `softmaxCrossEntropy: onehotLabels must be float32, got ${onehotLabels.dtype} (tensor ${onehotLabels.name}); use sparseSoftmaxCrossEntropy for class ids`,
    );
  }
  sameShape("softmaxCrossEntropy", "logits", logits, "onehotLabels", onehotLabels);
  const ls = smoothing("softmaxCrossEntropy", options.labelSmoothing);
  return lossScope("softmaxCrossEntropy", "softmax_cross_entropy_loss", logits, options, () => {
    const classes = logits.shape[1];
    const labels = ls > 0 ? add(mul(onehotLabels, 1 - ls), ls / classes) : onehotLabels;
    // TF stops the gradient into the labels: they are targets, not predictions.
    return softmaxCrossEntropyWithLogits(logits, stopGradient(labels));
  });
}

/**
 * Softmax cross-entropy against integer class ids ([batch], int64 or int32). The
 * one-hot labels are built with a comparison against a constant range, which GPU
 * execution providers run (they lack ONNX's OneHot). Such a one-hot row is all
 * zeros for an id outside [0, classes), giving a loss of 0 instead of TensorFlow's
 * error; so when `labels` is a placeholder, feeding an id out of range is refused
 * on the host (`checkFeed`), naming the placeholder, the index and the range.
 *
 * @example
 * ```ts
 * const labels = placeholder([32], "int64", "labels");
 * sparseSoftmaxCrossEntropy(logits, labels);
 * ```
 */
export function sparseSoftmaxCrossEntropy(logits: Tensor, labels: Tensor, options: LossOptions = {}): Tensor {
  checkLogitsFirst("sparseSoftmaxCrossEntropy", logits, "labels", labels);
  checkLogits("sparseSoftmaxCrossEntropy", logits);
  const [batch, classes] = logits.shape;
  if (labels.dtype !== "int64" && labels.dtype !== "int32") {
    throw new Error(`sparseSoftmaxCrossEntropy: labels must be int64 or int32 class ids, got ${labels.dtype} (tensor ${labels.name})`);
  }
  const perExample = labels.rank === 1 || (labels.rank === 2 && labels.shape[1] === 1);
  if (!perExample || labels.shape[0] !== batch) {
    throw new Error(
      `sparseSoftmaxCrossEntropy: labels ${labels.name} ${formatShape(labels.shape)} must be [${batch}], one class id per row of logits ${logits.name} ${formatShape(logits.shape)}`,
    );
  }
  requireFeedRange(labels, 0, classes, `class ids of sparseSoftmaxCrossEntropy over the ${classes} classes of logits ${logits.name}`);
  return lossScope("sparseSoftmaxCrossEntropy", "sparse_softmax_cross_entropy_loss", logits, options, () => {
    // Compared as float32 (ids below 2^24 are exact): the WebGPU EP has no int64 Equal or Reshape kernels.
    const ids = constant(Array.from({ length: classes }, (_, i) => i), [1, classes], "float32", logits.graph);
    const onehot = cast(equal(reshape(cast(labels, "float32"), [batch, 1]), ids), "float32");
    return softmaxCrossEntropyWithLogits(logits, onehot);
  });
}

/**
 * Sigmoid cross-entropy for multi-label problems, averaged over every element.
 * With `labelSmoothing` ls the labels become `labels·(1-ls) + 0.5·ls`.
 *
 * @example
 * ```ts
 * const loss = sigmoidCrossEntropy(logits, multiHotLabels, { weights: perExampleWeights });
 * ```
 */
export function sigmoidCrossEntropy(logits: Tensor, multiClassLabels: Tensor, options: SmoothedLossOptions = {}): Tensor {
  checkLogitsFirst("sigmoidCrossEntropy", logits, "multiClassLabels", multiClassLabels);
  floats("sigmoidCrossEntropy", "logits", logits);
  floats("sigmoidCrossEntropy", "multiClassLabels", multiClassLabels);
  sameShape("sigmoidCrossEntropy", "logits", logits, "multiClassLabels", multiClassLabels);
  const ls = smoothing("sigmoidCrossEntropy", options.labelSmoothing);
  return lossScope("sigmoidCrossEntropy", "sigmoid_cross_entropy_loss", logits, options, () => {
    const labels = ls > 0 ? add(mul(multiClassLabels, 1 - ls), 0.5 * ls) : multiClassLabels;
    return sigmoidCrossEntropyWithLogits(logits, labels);
  });
}

/**
 * Mean of (predictions - labels)², weighted.
 *
 * @example
 * ```ts
 * const loss = meanSquaredError(predictions, targets);
 * ```
 */
export function meanSquaredError(predictions: Tensor, labels: Tensor, options: LossOptions = {}): Tensor {
  checkRegression("meanSquaredError", predictions, labels);
  return lossScope("meanSquaredError", "mean_squared_error", predictions, options, () => square(sub(predictions, labels)));
}

/**
 * Mean of |predictions - labels|, weighted.
 *
 * @example
 * ```ts
 * const loss = absoluteDifference(predictions, targets, { weights: mask });
 * ```
 */
export function absoluteDifference(predictions: Tensor, labels: Tensor, options: LossOptions = {}): Tensor {
  checkRegression("absoluteDifference", predictions, labels);
  return lossScope("absoluteDifference", "absolute_difference", predictions, options, () => abs(sub(predictions, labels)));
}

function checkLogits(fn: string, logits: Tensor): void {
  floats(fn, "logits", logits);
  if (logits.rank !== 2) {
    throw new Error(`${fn}: logits must be rank 2 [batch, classes], got rank ${logits.rank} (tensor ${logits.name} ${formatShape(logits.shape)})`);
  }
}

function checkRegression(fn: string, predictions: Tensor, labels: Tensor): void {
  floats(fn, "predictions", predictions);
  floats(fn, "labels", labels);
  sameShape(fn, "predictions", predictions, "labels", labels);
}

function floats(fn: string, role: string, t: Tensor): void {
  if (t.dtype !== "float32") throw new Error(`${fn}: ${role} must be float32, got ${t.dtype} (tensor ${t.name})`);
}

function sameShape(fn: string, roleA: string, a: Tensor, roleB: string, b: Tensor): void {
  if (a.rank !== b.rank || a.shape.some((d, i) => d !== b.shape[i])) {
    throw new Error(`${fn}: ${roleA} ${a.name} ${formatShape(a.shape)} and ${roleB} ${b.name} ${formatShape(b.shape)} must have the same shape`);
  }
}

function smoothing(fn: string, ls = 0): number {
  if (!(ls >= 0 && ls <= 1)) throw new Error(`${fn}: labelSmoothing must be in [0, 1], got ${ls}`);
  return ls;
}
