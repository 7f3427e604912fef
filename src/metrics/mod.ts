/**
 * Streaming metrics in the spirit of slim's `metrics` module: each metric is a
 * per-batch sum and count computed in the graph, accumulated on the host.
 *
 * @example
 * ```ts
 * import { metrics } from "slimtrain";
 * const acc = metrics.accuracy(logits, labels);
 * const top5 = metrics.topKAccuracy(logits, labels, 5);
 * ```
 * @module
 */
export * from "./metrics.ts";
