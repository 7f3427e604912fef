/**
 * Streaming metrics in the spirit of slim's `metrics` module: each metric is a pair
 * of float32 scalars computed per batch in the graph (a weighted sum and a weight
 * total), and the host adds them up over batches. Keeping the running totals on
 * the host (in float64) instead of in graph variables means the evaluation model
 * stays a pure function of its inputs, and no count drifts past float32's 2^24.
 * Everything is built from comparisons, casts and sums, which every execution
 * provider runs (no ArgMax or TopK needed).
 * @module
 */
import { formatShape, type HostTensor, isFullyKnown } from "../graph/host_tensor.ts";
import type { Tensor } from "../graph/tensor.ts";
import { constant } from "../graph/variable.ts";
import { add, broadcastTo, cast, equal, expandDims, greater, less, mul, reduceMax, reduceSum, sub, where } from "../ops/mod.ts";

/**
 * One streaming metric: `sum / count`, accumulated over batches, is its value.
 *
 * @example
 * ```ts
 * const m: Metric = accuracy(logits, labels);
 * const { sum, count } = await evaluate({ sum: m.sum, count: m.count }, { feeds });
 * ```
 */
export interface Metric {
  /** slim's name for the metric ("accuracy", "mean"), for logs. */
  readonly name: string;
  /** float32 scalar: this batch's weighted sum of per-element values. */
  readonly sum: Tensor;
  /** float32 scalar: this batch's total weight (the element count when unweighted). */
  readonly count: Tensor;
}

/**
 * Options shared by the metrics.
 *
 * @example
 * ```ts
 * const acc = accuracy(logits, labels, { weights: mask, name: "masked_accuracy" });
 * ```
 */
export interface MetricOptions {
  /** float32 weights broadcastable to the per-element values (e.g. [batch]); 0 drops an element. */
  weights?: Tensor;
  /** Overrides the metric's name. */
  name?: string;
}

/**
 * slim's `streaming_accuracy`: the (weighted) fraction of `predictions` equal to
 * `labels`. `predictions` are class ids shaped like `labels`, or float32 logits
 * with one more (last) axis of classes, whose first maximum is the prediction.
 *
 * @example
 * ```ts
 * const acc = accuracy(logits, labels); // logits [batch, classes], labels int64 [batch]
 * ```
 */
export function accuracy(predictions: Tensor, labels: Tensor, options: MetricOptions = {}): Metric {
  checkLabels("accuracy", labels);
  let classes = predictions;
  if (predictions.dtype === "float32" && predictions.rank === labels.rank + 1 && sameShape(predictions.shape.slice(0, -1), labels.shape)) {
    classes = firstArgMax(predictions, labels.dtype);
  } else if (predictions.dtype !== labels.dtype || !sameShape(predictions.shape, labels.shape)) {
    throw new Error(
      `accuracy: predictions ${predictions.describe()} must be class ids shaped like labels ${labels.describe()}, ` +
        `or float32 logits shaped [${[...labels.shape, "classes"].join(", ")}]`,
    );
  }
  return weighted(options.name ?? "accuracy", cast(equal(classes, labels), "float32"), options.weights);
}

/**
 * slim's `streaming_sparse_recall_at_k` for one label per example (TF's
 * `in_top_k`): the fraction of examples whose label's logit is among the `k`
 * largest. The label's rank is the number of logits strictly greater than its
 * own, so ties count in the label's favour, as `in_top_k` counts them. Labels
 * outside [0, classes) and NaN label logits count as misses.
 *
 * @example
 * ```ts
 * const top5 = topKAccuracy(logits, labels, 5);
 * ```
 */
export function topKAccuracy(logits: Tensor, labels: Tensor, k: number, options: MetricOptions = {}): Metric {
  checkLabels("topKAccuracy", labels);
  if (logits.dtype !== "float32" || logits.rank !== labels.rank + 1 || !sameShape(logits.shape.slice(0, -1), labels.shape)) {
    throw new Error(`topKAccuracy: logits ${logits.describe()} must be float32 [...labels shape, classes] for labels ${labels.describe()}`);
  }
  if (!Number.isInteger(k) || k < 1) throw new Error(`topKAccuracy: k must be a positive integer, got ${k}`);
  const numClasses = logits.shape[logits.rank - 1];
  const classIds = constant(Array.from({ length: numClasses }, (_, i) => i), [numClasses], labels.dtype, labels.graph);
  const isLabel = equal(expandDims(labels, -1), classIds);
  const labelLogit = reduceSum(where(isLabel, logits, 0), -1, true);
  const above = reduceSum(cast(greater(logits, labelLogit), "float32"), -1);
  const inTopK = cast(less(above, k), "float32");
  // Zero for an out-of-range label (no class matched it) and for a NaN label logit.
  const matched = reduceSum(cast(isLabel, "float32"), -1);
  const notNaN = reduceSum(cast(equal(labelLogit, labelLogit), "float32"), -1);
  return weighted(options.name ?? `top_${k}_accuracy`, mul(mul(inTopK, matched), notNaN), options.weights);
}

/**
 * slim's `streaming_mean`: the (weighted) mean of every element of `values`
 * over all batches, e.g. of a per-batch loss.
 *
 * @example
 * ```ts
 * const meanLoss = mean(loss);
 * ```
 */
export function mean(values: Tensor, options: MetricOptions = {}): Metric {
  if (values.dtype !== "float32") throw new Error(`mean: values must be float32, got ${values.describe()}`);
  return weighted(options.name ?? "mean", values, options.weights);
}

/**
 * Adds up metric batches on the host and reports `sum / count` per metric (0
 * when no weight was seen, as TensorFlow's safe division does).
 *
 * @example
 * ```ts
 * const acc = new MetricAccumulator({ accuracy: accuracy(logits, labels) });
 * for (const feeds of batches) acc.update(await evaluate(acc.fetches, { feeds, variables }));
 * acc.results(); // { accuracy: 0.93 }
 * ```
 */
export class MetricAccumulator {
  /** Tensors to fetch each batch, keyed `metrics/<key>/sum` and `metrics/<key>/count`. */
  readonly fetches: Record<string, Tensor> = {};
  private readonly totals = new Map<string, { sum: number; count: number }>();

  constructor(readonly metrics: Readonly<Record<string, Metric>>) {
    const keys = Object.keys(metrics);
    if (keys.length === 0) throw new Error("MetricAccumulator: no metrics given");
    const graph = metrics[keys[0]].sum.graph;
    for (const key of keys) {
      const m = metrics[key];
      for (const [part, t] of [["sum", m.sum], ["count", m.count]] as const) {
        if (t.dtype !== "float32" || t.size !== 1) throw new Error(`MetricAccumulator: metric ${key} ${part} must be a float32 scalar, got ${t.describe()}`);
        if (t.graph !== graph) throw new Error(`MetricAccumulator: metric ${key} belongs to another graph than metric ${keys[0]}`);
        this.fetches[fetchName(key, part)] = t;
      }
    }
    this.reset();
  }

  /** Adds one batch's fetched values (at least every key of `fetches`). */
  update(values: Readonly<Record<string, HostTensor>>): void {
    for (const [key, total] of this.totals) {
      total.sum += scalarOf(values, fetchName(key, "sum"));
      total.count += scalarOf(values, fetchName(key, "count"));
    }
  }

  /** The streaming value of each metric so far. */
  results(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [key, { sum, count }] of this.totals) out[key] = count === 0 ? 0 : sum / count;
    return out;
  }

  /** Starts over (slim's local-variable initialization before an evaluation). */
  reset(): void {
    for (const key of Object.keys(this.metrics)) this.totals.set(key, { sum: 0, count: 0 });
  }
}

function fetchName(key: string, part: "sum" | "count"): string {
  return `metrics/${key}/${part}`;
}

function scalarOf(values: Readonly<Record<string, HostTensor>>, name: string): number {
  const t = values[name];
  if (!t) throw new Error(`MetricAccumulator.update: no value for ${name}`);
  return Number(t.data[0]);
}

/** Sum and total weight of per-element values, with weights broadcast to their shape. */
function weighted(name: string, values: Tensor, weights: Tensor | undefined): Metric {
  if (!weights) {
    // An unknown batch is counted at run time; a static one stays a constant.
    const count = isFullyKnown(values.shape) ? constant(values.size, [], "float32", values.graph) : reduceSum(add(mul(values, 0), 1));
    return { name, sum: reduceSum(values), count };
  }
  if (weights.dtype !== "float32") throw new Error(`${name}: weights must be float32, got ${weights.describe()}`);
  let w: Tensor;
  try {
    w = sameShape(weights.shape, values.shape) ? weights : broadcastTo(weights, [...values.shape]);
  } catch (err) {
    throw new Error(`${name}: weights ${weights.describe()} do not broadcast to the values' shape ${formatShape(values.shape)}`, { cause: err });
  }
  return { name, sum: reduceSum(mul(values, w)), count: reduceSum(w) };
}

/**
 * The index of the first maximum along the last axis, from comparisons: the
 * elements equal to the row max are marked with (classes - index), whose max
 * picks the smallest index, as ArgMax does.
 */
function firstArgMax(logits: Tensor, dtype: Tensor["dtype"]): Tensor {
  const n = logits.shape[logits.rank - 1];
  const reversed = constant(Array.from({ length: n }, (_, i) => n - i), [n], "float32", logits.graph);
  const isMax = equal(logits, reduceMax(logits, -1, true));
  const first = sub(n, reduceMax(where(isMax, reversed, 0), -1));
  return cast(first, dtype);
}

function checkLabels(fn: string, labels: Tensor): void {
  if (labels.dtype !== "int64" && labels.dtype !== "int32") throw new Error(`${fn}: labels must be int64 or int32 class ids, got ${labels.describe()}`);
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}
