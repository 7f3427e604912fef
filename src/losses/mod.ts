/**
 * slim's losses: softmax, sparse softmax and sigmoid cross-entropy, mean squared
 * error and absolute difference, weighted as TF weights them and collected in
 * LOSSES; plus `getTotalLoss`, which adds them to the regularization losses.
 *
 * @example
 * ```ts
 * import { getTotalLoss, sparseSoftmaxCrossEntropy } from "./losses/mod.ts";
 * sparseSoftmaxCrossEntropy(logits, labels);
 * const totalLoss = getTotalLoss();
 * ```
 * @module
 */
export * from "./losses.ts";
export * from "./weighted.ts";
export * from "./collection.ts";
