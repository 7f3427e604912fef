/**
 * Exporting a trained model for inference: the fetched outputs of an
 * inference-mode graph (built with `isTraining: false`), with every variable
 * baked in as an ONNX initializer, so the file runs in any ONNX Runtime (or other
 * ONNX consumer) fed only the placeholders.
 * @module
 */
import { restoreCheckpoint } from "../checkpoint/checkpoint_file.ts";
import { defaultFileSystem } from "../fs/default.ts";
import type { FileSystem } from "../fs/types.ts";
import type { DType, HostTensor } from "../graph/host_tensor.ts";
import type { Tensor } from "../graph/tensor.ts";
import { compileModel } from "../onnx/compile.ts";

/**
 * One input the exported model must be fed: a placeholder of the graph. A -1 in
 * `shape` is the unknown batch (the model's symbolic dimension `batch`): any size.
 *
 * @example
 * ```ts
 * const input: InferenceInput = { name: "images", shape: [-1, 28, 28, 1], dtype: "float32" };
 * ```
 */
export interface InferenceInput {
  name: string;
  /** The placeholder's shape; -1 where the batch is unknown (any size). */
  shape: number[];
  dtype: DType;
}

/**
 * Options of the export functions.
 *
 * @example
 * ```ts
 * const options: ExportOptions = { outputs: { logits, probabilities: softmax(logits) }, metadata: { classes: "10" } };
 * ```
 */
export interface ExportOptions {
  /** The tensors to compute, keyed by the model's output names. */
  outputs: Readonly<Record<string, Tensor>>;
  fs?: FileSystem;
  /** The ONNX graph's name. Default "inference". */
  name?: string;
  /** Extra `metadata_props` entries. */
  metadata?: Record<string, string>;
}

/**
 * Compiles `outputs` with the given variable values as initializers; returns the
 * model bytes and its inputs. Throws naming the variable when a needed value is
 * missing, and the noise input when the graph still has dropout in training mode.
 *
 * @example
 * ```ts
 * const { bytes, inputs } = compileInferenceModel(values, { outputs: { logits } });
 * ```
 */
export function compileInferenceModel(
  values: ReadonlyMap<string, HostTensor> | Readonly<Record<string, HostTensor>>,
  { outputs, name = "inference", metadata, source = "the given values" }: Omit<ExportOptions, "fs"> & { source?: string },
): { bytes: Uint8Array; inputs: InferenceInput[] } {
  const tensors = Object.values(outputs);
  if (tensors.length === 0) throw new Error("exportInferenceModel: no outputs given");
  for (const [key, t] of Object.entries(outputs)) {
    if (t.graph !== tensors[0].graph) throw new Error(`exportInferenceModel: output ${key} (${t.name}) belongs to another graph than the others`);
  }
  const frozen = values instanceof Map ? values : new Map(Object.entries(values));
  let model;
  try {
    model = compileModel({
      name,
      fetches: { ...outputs },
      frozen,
      docString: `slimtrain inference model: ${Object.keys(outputs).join(", ")} from ${source}`,
      metadata,
    });
  } catch (err) {
    throw new Error(`exportInferenceModel from ${source}: ${(err as Error).message}`, { cause: err });
  }
  for (const input of model.inputs) {
    if (input.kind === "variable") {
      throw new Error(`exportInferenceModel: no value for variable ${input.name} in ${source}, and the outputs need it`);
    }
    if (input.kind === "noise") {
      throw new Error(
        `exportInferenceModel: the outputs depend on dropout noise ${input.name}; build the inference graph with isTraining: false`,
      );
    }
  }
  return { bytes: model.bytes, inputs: model.inputs.map((i) => ({ name: i.name, shape: [...i.tensor.shape], dtype: i.tensor.dtype })) };
}

/**
 * Writes an inference model computing `outputs` with the variables of a
 * checkpoint (prefix or `.safetensors` file, checked against its checksums)
 * baked in; the file is replaced atomically. Returns the inputs to feed.
 *
 * @example
 * ```ts
 * const logits = lenet(images, { isTraining: false });
 * const inputs = await exportInferenceModel("logs/model.ckpt-5000", "lenet.onnx", { outputs: { logits } });
 * // [{ name: "images", shape: [1, 28, 28, 1], dtype: "float32" }]
 * ```
 */
export async function exportInferenceModel(checkpointPath: string, outputPath: string, options: ExportOptions): Promise<InferenceInput[]> {
  const fs = options.fs ?? (await defaultFileSystem());
  const { tensors, globalStep, path } = await restoreCheckpoint(fs, checkpointPath);
  const metadata = { "slimtrain.checkpoint": path, "slimtrain.global_step": String(globalStep), ...options.metadata };
  const { bytes, inputs } = compileInferenceModel(tensors, { ...options, metadata, source: `checkpoint ${path}` });
  await fs.writeFileAtomic(outputPath, bytes);
  return inputs;
}

/**
 * Like `exportInferenceModel`, with variable values from memory (a
 * `TrainSession.readState()`, or values loaded elsewhere) instead of a checkpoint.
 *
 * @example
 * ```ts
 * const inputs = await exportInferenceModelFromValues(await session.readState(), "model.onnx", { outputs: { logits } });
 * ```
 */
export async function exportInferenceModelFromValues(
  values: ReadonlyMap<string, HostTensor> | Readonly<Record<string, HostTensor>>,
  outputPath: string,
  options: ExportOptions,
): Promise<InferenceInput[]> {
  const fs = options.fs ?? (await defaultFileSystem());
  const { bytes, inputs } = compileInferenceModel(values, options);
  await fs.writeFileAtomic(outputPath, bytes);
  return inputs;
}
