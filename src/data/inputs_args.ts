/**
 * Argument checks of `inputs`: what the examples may be (whole tensors, or a
 * dataset with its element spec) and which options it takes, each refusal with
 * the call that works.
 * @module
 */
import { checkDType, checkOptionNames, checkShape, describeValue, isOptionsObject } from "../graph/arg_checks.ts";
import { Dataset } from "./dataset.ts";

const OPTIONS = ["batchSize", "shuffle", "seed", "prefetch", "graph"];

const SPEC_EXAMPLE = '{ images: { shape: [28, 28, 1], dtype: "float32" }, labels: { shape: [], dtype: "int64" } }';

/**
 * Throws unless `examples` and `options` are what `inputs` takes.
 *
 * @example
 * ```ts
 * checkInputsArgs(dataset, { batchSize: 32 }); // throws: a Dataset needs its element spec ...
 * ```
 */
export function checkInputsArgs(examples: unknown, options: unknown): void {
  if (!isOptionsObject(options)) {
    const hint = typeof options === "number" ? `: inputs(examples, { batchSize: ${options} })` : "";
    throw new Error(`inputs: options must be an object { batchSize, shuffle?, seed?, prefetch? }, got ${describeValue(options)}${hint}`);
  }
  checkOptionNames("inputs", "the input pipeline", options, OPTIONS);
  const { batchSize } = options;
  if (!(Number.isInteger(batchSize) && (batchSize as number) > 0)) {
    throw new Error(`inputs: batchSize must be a positive integer, got ${describeValue(batchSize)}`);
  }
  if (examples instanceof Dataset) {
    throw new Error(
      `inputs: a Dataset needs its element spec (each feature's per-example shape and dtype, which the placeholders ` +
        `take before any data is read): inputs({ dataset, spec: ${SPEC_EXAMPLE} }, { batchSize: ${batchSize} })`,
    );
  }
  if (!isOptionsObject(examples)) {
    throw new Error(
      `inputs: examples must be a record of whole tensors { name: { dtype, shape, data } } with examples along axis 0, ` +
        `or { dataset, spec }, got ${describeValue(examples)}`,
    );
  }
  if ("dataset" in examples || "spec" in examples) checkDatasetWithSpec(examples);
  else checkFeatures(examples);
}

function checkDatasetWithSpec({ dataset, spec }: Record<string, unknown>): void {
  if (!(dataset instanceof Dataset)) {
    throw new Error(`inputs: dataset must be a Dataset (e.g. Dataset.fromTensorSlices or tfrecordDataset), got ${describeValue(dataset)}`);
  }
  if (!isOptionsObject(spec) || Object.keys(spec).length === 0) {
    throw new Error(`inputs: the dataset needs a spec with each feature's per-example shape and dtype, e.g. spec: ${SPEC_EXAMPLE}; got ${describeValue(spec)}`);
  }
  for (const [name, s] of Object.entries(spec)) {
    if (!isOptionsObject(s)) throw new Error(`inputs: spec of ${name} must be { shape, dtype }, got ${describeValue(s)}`);
    checkShape("inputs", `spec shape of ${name} (one example, without the batch dimension)`, s.shape);
    checkDType("inputs", `spec dtype of ${name}`, s.dtype);
  }
}

function checkFeatures(features: Record<string, unknown>): void {
  const entries = Object.entries(features);
  if (entries.length === 0) throw new Error("inputs: no features given");
  for (const [name, t] of entries) {
    const tensor = t as { dtype?: unknown; shape?: unknown; data?: unknown } | null;
    const ok = typeof tensor === "object" && tensor !== null && Array.isArray(tensor.shape) && tensor.shape.length > 0 &&
      ArrayBuffer.isView(tensor.data);
    if (!ok) {
      throw new Error(
        `inputs: feature ${name} must be a tensor { dtype, shape, data } holding every example along axis 0, got ${describeValue(t)}`,
      );
    }
    checkDType("inputs", `dtype of feature ${name}`, tensor!.dtype);
  }
}
