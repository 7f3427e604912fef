/**
 * Held-out accuracy of a digits checkpoint through the library's own evaluation:
 * `metrics.accuracy` on the inference graph, run by an `EvalSession` over the
 * held-out split in batches.
 * @module
 */
import type { RestoredCheckpoint } from "../checkpoint/checkpoint_file.ts";
import { Dataset } from "../data/dataset.ts";
import type { MnistSplit } from "../data/mnist.ts";
import type { Graph } from "../graph/graph.ts";
import type { Tensor } from "../graph/tensor.ts";
import { EvalSession } from "../learning/eval_session.ts";
import { accuracy as accuracyMetric } from "../metrics/metrics.ts";
import type { RuntimeOptions } from "../runtime/types.ts";
import { buildDigitsEvalGraph } from "./digits_model.ts";

/**
 * Accuracy and example count over `split` (a remainder smaller than a batch is left out).
 *
 * @example
 * ```ts
 * const { accuracy } = await digitsAccuracy(restored, digits.test, { executionProvider: "cpu" });
 * ```
 */
export async function digitsAccuracy(
  checkpoint: RestoredCheckpoint,
  split: MnistSplit,
  options: RuntimeOptions & { batchSize?: number } = {},
): Promise<{ accuracy: number; examples: number }> {
  const total = split.labels.shape[0];
  const batchSize = Math.min(options.batchSize ?? 250, total);
  const { graph, logits } = buildDigitsEvalGraph(batchSize);
  const metric = graph.asDefault(() => accuracyMetric(logits, placeholderNamed(graph, "labels")));
  const { batchSize: _, ...runtimeOptions } = options;
  const session = await EvalSession.create({ accuracy: metric }, runtimeOptions);
  try {
    const data = Dataset.fromTensorSlices({ images: split.images, labels: split.labels }).batch(batchSize, { dropRemainder: true });
    const { results, batches } = await session.evaluate(checkpoint, data);
    return { accuracy: results.accuracy, examples: batches * batchSize };
  } finally {
    await session.release();
  }
}

function placeholderNamed(graph: Graph, name: string): Tensor {
  const node = graph.nodes.find((n) => n.op === "Placeholder" && n.name === name);
  if (!node) throw new Error(`digits eval graph: no placeholder ${name}`);
  return node.outputs[0];
}
