/**
 * slim-style input wiring: `inputs(examples, { batchSize })` returns one
 * placeholder per feature, batched with a static shape, and registers the
 * pipeline with the graph so `learning.train` feeds it without a `data` option
 * (and, on resume, continues the same data order from the restored step).
 * @module
 */
import { getDefaultGraph, type Graph } from "../graph/graph.ts";
import type { DType, HostTensor } from "../graph/host_tensor.ts";
import type { Tensor } from "../graph/tensor.ts";
import { placeholder } from "../graph/variable.ts";
import { INPUT_PIPELINES, type InputPipeline } from "../learning/train_data.ts";
import { Dataset } from "./dataset.ts";
import { checkInputsArgs } from "./inputs_args.ts";

/** Options of `inputs`. */
export interface InputsOptions {
  batchSize: number;
  /** Shuffle each epoch (seeded). Default true. */
  shuffle?: boolean;
  seed?: number;
  /** Batches prepared ahead while a step runs. Default 2. */
  prefetch?: number;
  graph?: Graph;
}

/** A per-example dataset with its element shapes and dtypes declared. */
export interface DatasetWithSpec {
  dataset: Dataset<Record<string, HostTensor>>;
  spec: Record<string, { shape: number[]; dtype: DType }>;
}

/**
 * Placeholders for batches of `examples` (whole arrays sliced along axis 0, or a
 * dataset with its element spec), registered as the graph's input pipeline.
 *
 * @example
 * ```ts
 * const digits = await loadMnistDigits();
 * const { images, labels } = inputs(digits.train, { batchSize: 32 });
 * const [logits] = vgg16(images, { numClasses: 10, fcConvPadding: "SAME" });
 * ```
 */
export function inputs<K extends string>(
  examples: Record<K, HostTensor> | DatasetWithSpec,
  options: InputsOptions,
): Record<K, Tensor> {
  checkInputsArgs(examples, options);
  const { batchSize, shuffle = true, seed = 0, prefetch = 2, graph = getDefaultGraph() } = options;
  let base: Dataset<Record<string, HostTensor>>;
  let spec: Record<string, { shape: number[]; dtype: DType }>;
  let count = Infinity;
  if (isDatasetWithSpec(examples)) {
    base = examples.dataset;
    spec = examples.spec;
  } else {
    const entries = Object.entries(examples) as [string, HostTensor][];
    count = entries[0][1].shape[0];
    for (const [name, t] of entries) {
      if (t.shape[0] !== count) throw new Error(`inputs: feature ${name} has ${t.shape[0]} examples, ${entries[0][0]} has ${count}`);
    }
    if (count < batchSize) throw new Error(`inputs: ${count} examples cannot fill a batch of ${batchSize}`);
    base = Dataset.fromTensorSlices(examples as Record<string, HostTensor>);
    spec = Object.fromEntries(entries.map(([name, t]) => [name, { shape: t.shape.slice(1), dtype: t.dtype }]));
  }
  const placeholders = graph.atRootScope(() =>
    Object.fromEntries(Object.entries(spec).map(([name, s]) => [name, placeholder([batchSize, ...s.shape], s.dtype, name, graph)]))
  ) as Record<K, Tensor>;
  for (const [name, t] of Object.entries(placeholders) as [string, Tensor][]) {
    if (t.name !== name) throw new Error(`inputs: the name ${name} is taken by another tensor in the graph`);
  }
  const pipeline: SizedInputPipeline = {
    numExamples: count,
    batchSize,
    batchesFrom(startStep) {
      let ds = base;
      if (shuffle) ds = ds.shuffle(Number.isFinite(count) ? count : 10000, { seed });
      return ds.repeat().batch(batchSize, { dropRemainder: true }).skip(startStep).prefetch(prefetch);
    },
  };
  graph.addToCollection(INPUT_PIPELINES, pipeline);
  return placeholders;
}

/**
 * The pipeline `inputs` registers, with its sizes, so evaluation can tell how
 * many batches cover the examples once.
 *
 * @example
 * ```ts
 * const [pipeline] = graph.getCollection<SizedInputPipeline>(INPUT_PIPELINES);
 * const batchesPerEpoch = Math.floor(pipeline.numExamples / pipeline.batchSize);
 * ```
 */
export interface SizedInputPipeline extends InputPipeline {
  /** Examples in one pass over the data; Infinity when unknown (a dataset). */
  numExamples: number;
  batchSize: number;
}

function isDatasetWithSpec(x: unknown): x is DatasetWithSpec {
  return typeof x === "object" && x !== null && (x as DatasetWithSpec).dataset instanceof Dataset && "spec" in x;
}
