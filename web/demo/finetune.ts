/**
 * The demo's fine-tuning run, shared by the page (onnxruntime-web) and the Node
 * reference run (onnxruntime-node): import a pretrained ONNX model (the digits
 * 0–4 backbone that `scripts/make_demo_onnx.ts` makes) with every weight frozen,
 * add a new slim head on its `features` output for the digits 5–9, train only
 * the head with `learning.train`, then export the result as one ONNX model, score
 * it on held-out digits in a fresh session and check that the frozen weights in
 * the final checkpoint are bit-identical to the file's. Nothing here touches the
 * DOM or `node:` modules.
 * @module
 */
import "../../src/ops/mod.ts";
import { latestCheckpoint, restoreCheckpoint } from "../../src/checkpoint/mod.ts";
import { Graph, GraphKeys } from "../../src/graph/graph.ts";
import type { HostTensor } from "../../src/graph/host_tensor.ts";
import type { Tensor } from "../../src/graph/tensor.ts";
import { placeholder, type Variable } from "../../src/graph/variable.ts";
import { fullyConnected } from "../../src/layers/mod.ts";
import { createTrainOp, type TrainOp } from "../../src/learning/create_train_op.ts";
import { compileInferenceModel } from "../../src/learning/export.ts";
import { momentum } from "../../src/learning/optimizers/mod.ts";
import { type ImportedModel, importModel } from "../../src/onnx/mod.ts";
import { reduceMean, softmaxCrossEntropyWithLogits } from "../../src/ops/mod.ts";
import type { Runtime } from "../../src/runtime/types.ts";
import { scalar } from "../../src/summary/summary_ops.ts";
import type { Digits } from "./net.ts";
import { type RecordedRun, recordedTrain, type RunOptions } from "./recorded_run.ts";

/** The classes the new head learns: the digits 5–9, as labels 0–4. */
export const FINE_TUNE_CLASSES = [5, 6, 7, 8, 9] as const;
/** Digits of each class kept out of training and used to score the fine-tuned model. */
export const HELD_OUT_PER_CLASS = 32;

/** What one fine-tuning run reports (the page puts it in `<pre id="result">`). */
export interface FineTuneResult extends RecordedRun {
  mode: "finetune";
  /** The exported fine-tuned model's accuracy on the held-out digits 5–9. */
  heldOutAccuracy: number;
  heldOutCount: number;
  trainCount: number;
  /** The imported model's variables (all frozen) and those whose checkpointed value differs from the file's. */
  frozen: { names: string[]; changed: string[] };
  /** The variables the train op updates (the new head's). */
  trained: string[];
  checkpoint: string;
  eventFile: string | null;
  /** The exported fine-tuned ONNX model (input `images`, output `logits`) in the run's logdir. */
  exported: string;
  exportedBytes: number;
}

/** Options of {@link runFineTune}. */
export interface FineTuneOptions extends RunOptions {
  /** The pretrained model file's bytes (input `images` [batch, 28, 28, 1], output `features`). */
  model: Uint8Array;
  /** Digits that include the classes 5–9 (others are ignored). */
  digits: Digits;
  /** Default 0.01. */
  learningRate?: number;
}

/** Digits of one split: pixels 0-255 row-major, labels already 0–4. */
export interface DigitSplit {
  side: number;
  count: number;
  labels: Uint8Array;
  pixels: Uint8Array;
}

/**
 * Keeps the digits 5–9, relabelled 0–4, and holds the last
 * {@link HELD_OUT_PER_CLASS} of each class out of training.
 *
 * @example
 * ```ts
 * const { train, heldOut } = splitFineTuneDigits(digits);
 * ```
 */
export function splitFineTuneDigits(digits: Digits): { train: DigitSplit; heldOut: DigitSplit } {
  const byClass = FINE_TUNE_CLASSES.map((c) => [...digits.labels.keys()].filter((i) => digits.labels[i] === c));
  const few = byClass.findIndex((rows) => rows.length <= HELD_OUT_PER_CLASS);
  if (few >= 0) {
    throw new Error(`Fine-tuning digits: digit ${FINE_TUNE_CLASSES[few]} has ${byClass[few].length} samples, need more than ${HELD_OUT_PER_CLASS}`);
  }
  const held = new Set(byClass.flatMap((rows) => rows.slice(-HELD_OUT_PER_CLASS)));
  const keep = [...digits.labels.keys()].filter((i) => digits.labels[i] >= FINE_TUNE_CLASSES[0]);
  return { train: subset(digits, keep.filter((i) => !held.has(i))), heldOut: subset(digits, keep.filter((i) => held.has(i))) };
}

function subset(digits: Digits, rows: number[]): DigitSplit {
  const px = digits.side * digits.side;
  const pixels = new Uint8Array(rows.length * px);
  rows.forEach((r, i) => pixels.set(digits.pixels.subarray(r * px, (r + 1) * px), i * px));
  return { side: digits.side, count: rows.length, labels: Uint8Array.from(rows, (r) => digits.labels[r] - FINE_TUNE_CLASSES[0]), pixels };
}

/**
 * The fine-tuning graph: the imported model frozen, a dense head on `features`,
 * softmax cross-entropy on one-hot labels, momentum SGD on the head only.
 *
 * @example
 * ```ts
 * const { trainOp, model, logits } = buildFineTune(onnxBytes);
 * ```
 */
export function buildFineTune(modelBytes: Uint8Array, learningRate = 0.01): { trainOp: TrainOp; model: ImportedModel; logits: Tensor; images: Tensor } {
  const graph = new Graph();
  return graph.asDefault(() => {
    const model = importModel(modelBytes, { trainable: [] });
    const images = model.inputs.images;
    const features = model.outputs.features;
    if (!images || !features) {
      throw new Error(`Fine-tuning: the model needs an input "images" and an output "features", it has inputs ${Object.keys(model.inputs)} and outputs ${Object.keys(model.outputs)}`);
    }
    const labels = placeholder([images.shape[0], FINE_TUNE_CLASSES.length], "float32", "labels");
    const logits = fullyConnected(features, FINE_TUNE_CLASSES.length, { activationFn: null, scope: "head_5_9" });
    const loss = reduceMean(softmaxCrossEntropyWithLogits(logits, labels));
    scalar("losses/total_loss", loss);
    const head = graph.getCollection<Variable>(GraphKeys.TRAINABLE_VARIABLES);
    const trainOp = createTrainOp(loss, momentum({ learningRate, momentum: 0.9 }), { variablesToTrain: head });
    return { trainOp, model, logits, images };
  });
}

/**
 * The batch of a split starting at digit `start` (wrapping around): `images`
 * feeds the imported model's input, `labels` (one-hot) the new head's loss.
 *
 * @example
 * ```ts
 * const feeds = fineTuneBatch(train, 0, 16);
 * ```
 */
export function fineTuneBatch(split: DigitSplit, start: number, batchSize: number): Record<string, HostTensor> {
  const px = split.side * split.side, classes = FINE_TUNE_CLASSES.length;
  const images = new Float32Array(batchSize * px);
  const labels = new Float32Array(batchSize * classes);
  for (let i = 0; i < batchSize; i++) {
    const k = (start + i) % split.count;
    for (let j = 0; j < px; j++) images[i * px + j] = split.pixels[k * px + j] / 255;
    labels[i * classes + split.labels[k]] = 1;
  }
  return {
    images: { dtype: "float32", shape: [batchSize, split.side, split.side, 1], data: images },
    labels: { dtype: "float32", shape: [batchSize, classes], data: labels },
  };
}

/**
 * Fine-tunes the pretrained model's new head with `learning.train` (a summary
 * every step, a checkpoint at the end), then scores the exported model on the
 * held-out digits and compares the frozen weights with the file's.
 *
 * @example
 * ```ts
 * const result = await runFineTune({ runtime, fs, logdir: "runs/ft", model: bytes, digits, steps: 40, seed: 1 });
 * ```
 */
export async function runFineTune(o: FineTuneOptions): Promise<FineTuneResult> {
  const { train: trainSplit, heldOut } = splitFineTuneDigits(o.digits);
  const { trainOp, model, logits, images } = buildFineTune(o.model, o.learningRate);
  // The exported model fixes its batch size (its flatten is a Reshape to [batch, -1]).
  const batchSize = images.shape[0];
  const run = await recordedTrain(trainOp, o, batchSize, (step) => fineTuneBatch(trainSplit, step * batchSize, batchSize));
  const prefix = await latestCheckpoint(o.fs, o.logdir);
  if (!prefix) throw new Error(`Fine-tuning: learning.train left no checkpoint in ${o.logdir}`);
  const { tensors } = await restoreCheckpoint(o.fs, prefix);
  const frozen = Object.values(model.variables);
  const changed = frozen.filter((v) => !sameBits(v.initializer.init(v.shape, v.dtype, () => 0), tensors.get(v.name))).map((v) => v.name);
  const exported = compileInferenceModel(tensors, { outputs: { logits }, name: "digits_5_9_finetuned", source: `checkpoint ${prefix}` });
  const exportedPath = o.fs.join(o.logdir, "digits_5_9_finetuned.onnx");
  await o.fs.writeFileAtomic(exportedPath, exported.bytes);
  const eventName = (await o.fs.readDir(o.logdir)).find((n) => n.startsWith("events.out.tfevents."));
  return {
    mode: "finetune",
    ...run,
    heldOutAccuracy: await accuracy(o.runtime, exported.bytes, heldOut, batchSize),
    heldOutCount: Math.floor(heldOut.count / batchSize) * batchSize,
    trainCount: trainSplit.count,
    frozen: { names: frozen.map((v) => v.name), changed },
    trained: trainOp.variablesToTrain.map((v) => v.name),
    checkpoint: `${prefix}.safetensors`,
    eventFile: eventName ? o.fs.join(o.logdir, eventName) : null,
    exported: exportedPath,
    exportedBytes: exported.bytes.length,
  };
}

function sameBits(a: HostTensor, b: HostTensor | undefined): boolean {
  if (!b || a.data.byteLength !== b.data.byteLength) return false;
  const x = new Uint8Array(a.data.buffer, a.data.byteOffset, a.data.byteLength);
  const y = new Uint8Array(b.data.buffer, b.data.byteOffset, b.data.byteLength);
  return x.every((v, i) => v === y[i]);
}

/** Accuracy of an exported model (input `images`, output `logits`) in a fresh session, whole batches only. */
async function accuracy(runtime: Runtime, bytes: Uint8Array, split: DigitSplit, batchSize: number): Promise<number> {
  const session = await runtime.createSession(bytes);
  let correct = 0, total = 0;
  try {
    for (let start = 0; start + batchSize <= split.count; start += batchSize) {
      const feeds = fineTuneBatch(split, start, batchSize);
      const out = await session.run({ images: runtime.fromHost(feeds.images) }, ["logits"]);
      const scores = (await runtime.toHost(out.logits)).data as Float32Array;
      const classes = scores.length / batchSize;
      for (let i = 0; i < batchSize; i++) {
        const row = Array.from(scores.subarray(i * classes, (i + 1) * classes));
        if (row.indexOf(Math.max(...row)) === split.labels[start + i]) correct++;
        total++;
      }
    }
  } finally {
    await session.release();
  }
  return correct / total;
}
