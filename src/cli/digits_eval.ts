/**
 * Held-out accuracy of a digits checkpoint: the inference graph with the
 * checkpoint's weights baked in, run over the held-out split in batches.
 * @module
 */
import type { HostTensor } from "../graph/host_tensor.ts";
import { compileModel } from "../onnx/compile.ts";
import { createRuntime } from "../runtime/create.ts";
import type { RuntimeOptions } from "../runtime/types.ts";
import type { MnistSplit } from "../data/mnist.ts";
import { buildDigitsEvalGraph } from "./digits_model.ts";

/**
 * Accuracy and example count over `split` (a remainder smaller than a batch is left out).
 *
 * @example
 * ```ts
 * const { accuracy } = await digitsAccuracy(restored.tensors, digits.test, { executionProvider: "cpu" });
 * ```
 */
export async function digitsAccuracy(
  values: Map<string, HostTensor>,
  split: MnistSplit,
  options: RuntimeOptions & { batchSize?: number } = {},
): Promise<{ accuracy: number; examples: number }> {
  const total = split.labels.shape[0];
  const batchSize = Math.min(options.batchSize ?? 250, total);
  const { correct } = buildDigitsEvalGraph(batchSize);
  const model = compileModel({ name: "digits_eval", fetches: { correct }, frozen: values });
  const runtime = await createRuntime(options);
  const session = await runtime.createSession(model.bytes);
  const pixels = split.images.data as Float32Array, labels = split.labels.data as BigInt64Array;
  const per = pixels.length / total;
  let hits = 0, seen = 0;
  try {
    for (let start = 0; start + batchSize <= total; start += batchSize) {
      const images = runtime.fromHost({ dtype: "float32", shape: [batchSize, ...split.images.shape.slice(1)], data: pixels.subarray(start * per, (start + batchSize) * per) });
      const lab = runtime.fromHost({ dtype: "int64", shape: [batchSize], data: labels.subarray(start, start + batchSize) });
      const out = await session.run({ images, labels: lab }, ["correct"]);
      hits += Math.round(Number((await runtime.toHost(out.correct)).data[0]));
      seen += batchSize;
    }
  } finally {
    await session.release();
  }
  return { accuracy: seen ? hits / seen : NaN, examples: seen };
}
