/**
 * Fine-tuning an ONNX model in TypeScript, end to end on the `mnist` digits:
 *
 * 1. train a small CNN on the digits 0–4 and export it as an ONNX file (this
 *    stands in for any pretrained model exported from PyTorch or Keras);
 * 2. import that file with `onnx.importModel`, every weight frozen, cut it at
 *    its `features` output, add a new slim head for the digits 5–9, and train
 *    only the head with `createTrainOp({ variablesToTrain })` and `learning.train`;
 * 3. export the fine-tuned model as one ONNX file, run it in a fresh ONNX Runtime
 *    session on held-out digits 5–9, and check that the frozen weights are
 *    bit-identical to the file's.
 *
 *   npx tsx examples/finetune_onnx.ts [logdir] [baseSteps] [fineTuneSteps]
 *   deno run -A examples/finetune_onnx.ts
 *   bun examples/finetune_onnx.ts
 * @module
 */
import { checkpoint, data, fs as files, graph, layers, learning, losses, onnx, optimizers, runtime } from "../mod.ts";
import type { HostTensor } from "../src/graph/host_tensor.ts";
import type { Tensor } from "../src/graph/tensor.ts";

const argv = (globalThis as { Deno?: { args: string[] } }).Deno?.args ?? (globalThis as { process?: { argv: string[] } }).process!.argv.slice(2);
const logdir = argv[0] ?? "logs/finetune_onnx_example";
const baseSteps = Number(argv[1] ?? 300);
const fineTuneSteps = Number(argv[2] ?? 500);
const BATCH = 32;

const fs = await files.defaultFileSystem();
await fs.mkdirp(logdir);
const digits = await data.loadMnistDigits();
const lowTrain = pick(digits.train, (d) => d < 5, 0), lowTest = pick(digits.test, (d) => d < 5, 0);
const highTrain = pick(digits.train, (d) => d >= 5, 5), highTest = pick(digits.test, (d) => d >= 5, 5);

// ---- 1. The "pretrained" model: a small CNN on the digits 0-4, exported to ONNX. ----

/** conv-pool-conv-pool-fc: `features` is the 64-wide layer before the classifier. */
function smallCnn(images: Tensor, classes: number): { features: Tensor; logits: Tensor } {
  let net = layers.conv2d(images, 16, 3, { scope: "conv1" });
  net = layers.maxPool2d(net, 2, { scope: "pool1" });
  net = layers.conv2d(net, 32, 3, { scope: "conv2" });
  net = layers.maxPool2d(net, 2, { scope: "pool2" });
  const features = layers.fullyConnected(layers.flatten(net), 64, { scope: "fc3" });
  return { features, logits: layers.fullyConnected(features, classes, { activationFn: null, scope: "logits" }) };
}

const baseDir = fs.join(logdir, "base");
const baseTrain = new graph.Graph().asDefault(() => {
  const { images, labels } = data.inputs(lowTrain, { batchSize: BATCH, seed: 1 });
  losses.sparseSoftmaxCrossEntropy(smallCnn(images, 5).logits, labels);
  return learning.createTrainOp(losses.getTotalLoss(), optimizers.adam({ learningRate: 1e-3 }));
});
await learning.train(baseTrain, baseDir, { numberOfSteps: baseSteps, logEveryNSteps: 100, saveIntervalSecs: 3600 });
const baseOnnx = fs.join(logdir, "digits_0_4.onnx");
await new graph.Graph().asDefault(async () => {
  const images = graph.placeholder([BATCH, 32, 32, 1], "float32", "images");
  const { features, logits } = smallCnn(images, 5);
  await learning.exportInferenceModel((await checkpoint.latestCheckpoint(fs, baseDir))!, baseOnnx, { outputs: { features, logits } });
});
console.log(`base model: accuracy on held-out 0-4 ${(await accuracy(await fs.readFile(baseOnnx), lowTest)).toFixed(4)}, written to ${baseOnnx}`);

// ---- 2. Import it, freeze it, cut at `features`, add a new head for 5-9. ----

const bytes = await fs.readFile(baseOnnx);
const fineDir = fs.join(logdir, "finetune");
const g = new graph.Graph();
const { model, logits, trainOp } = g.asDefault(() => {
  const model = onnx.importModel(bytes, { trainable: [] });
  const labels = graph.placeholder([BATCH], "int64", "labels");
  const logits = layers.fullyConnected(model.outputs.features, 5, { activationFn: null, scope: "head_5_9" });
  losses.sparseSoftmaxCrossEntropy(logits, labels);
  const head = g.getCollection<graph.Variable>(graph.GraphKeys.TRAINABLE_VARIABLES);
  const trainOp = learning.createTrainOp(losses.getTotalLoss(), optimizers.adam({ learningRate: 1e-2 }), { variablesToTrain: head });
  return { model, logits, trainOp };
});
console.log(`imported ${Object.keys(model.variables).length} frozen variables (${Object.keys(model.variables).join(", ")}); training ${trainOp.variablesToTrain.map((v) => v.name).join(", ")}`);
await learning.train(trainOp, fineDir, { numberOfSteps: fineTuneSteps, logEveryNSteps: 100, saveIntervalSecs: 3600, data: batches(highTrain, 2) });

// ---- 3. Export the fine-tuned model; run it in a fresh session; check the frozen weights. ----

const finalCheckpoint = (await checkpoint.latestCheckpoint(fs, fineDir))!;
const fineOnnx = fs.join(logdir, "digits_5_9_finetuned.onnx");
await learning.exportInferenceModel(finalCheckpoint, fineOnnx, { outputs: { logits } });
const acc = await accuracy(await fs.readFile(fineOnnx), highTest);
const { tensors } = await checkpoint.restoreCheckpoint(fs, finalCheckpoint);
let identical = 0;
for (const [name, v] of Object.entries(model.variables)) {
  const original = new Uint8Array((v.initializer.init(v.shape, v.dtype, () => 0).data as Float32Array).buffer);
  const saved = tensors.get(name) as HostTensor;
  const after = new Uint8Array((saved.data as Float32Array).buffer, (saved.data as Float32Array).byteOffset, (saved.data as Float32Array).byteLength);
  if (original.length === after.length && original.every((b, i) => b === after[i])) identical++;
  else throw new Error(`frozen variable ${name} changed during fine-tuning`);
}
console.log(`fine-tuned on 5-9 with a frozen backbone: held-out accuracy ${acc.toFixed(4)} over ${Math.floor(highTest.labels.shape[0] / BATCH) * BATCH} digits; ${identical} frozen variables bit-identical; ${fineOnnx}`);

/** The examples whose digit passes `keep`, relabelled from `offset`. */
function pick(split: data.MnistSplit, keep: (digit: number) => boolean, offset: number): { images: HostTensor; labels: HostTensor } {
  const labels = split.labels.data as BigInt64Array;
  const rows = [...labels.keys()].filter((i) => keep(Number(labels[i])));
  const size = 32 * 32;
  const images = new Float32Array(rows.length * size);
  rows.forEach((r, i) => images.set((split.images.data as Float32Array).subarray(r * size, (r + 1) * size), i * size));
  return {
    images: { dtype: "float32", shape: [rows.length, 32, 32, 1], data: images },
    labels: { dtype: "int64", shape: [rows.length], data: BigInt64Array.from(rows, (r) => labels[r] - BigInt(offset)) },
  };
}

/** Shuffled batches fed by name: `images` is the imported model's own placeholder. */
function* batches(split: { images: HostTensor; labels: HostTensor }, seed: number): Generator<Record<string, HostTensor>> {
  const n = split.labels.shape[0], size = 32 * 32;
  let state = seed;
  const order = [...Array(n).keys()];
  while (true) {
    for (let i = n - 1; i > 0; i--) {
      state = (Math.imul(state, 1103515245) + 12345) >>> 0;
      const j = state % (i + 1);
      [order[i], order[j]] = [order[j], order[i]];
    }
    for (let b = 0; b + BATCH <= n; b += BATCH) yield slice(split, order.slice(b, b + BATCH), size);
  }
}

function slice(split: { images: HostTensor; labels: HostTensor }, rows: number[], size: number): Record<string, HostTensor> {
  const images = new Float32Array(rows.length * size);
  rows.forEach((r, i) => images.set((split.images.data as Float32Array).subarray(r * size, (r + 1) * size), i * size));
  return {
    images: { dtype: "float32", shape: [rows.length, 32, 32, 1], data: images },
    labels: { dtype: "int64", shape: [rows.length], data: BigInt64Array.from(rows, (r) => (split.labels.data as BigInt64Array)[r]) },
  };
}

/** Accuracy of an exported model (input `images`, output `logits`) in a fresh ONNX Runtime session. */
async function accuracy(modelBytes: Uint8Array, split: { images: HostTensor; labels: HostTensor }): Promise<number> {
  const rt = await runtime.createRuntime({ executionProvider: "cpu" });
  const session = await rt.createSession(modelBytes);
  let correct = 0, total = 0;
  try {
    for (let b = 0; b + BATCH <= split.labels.shape[0]; b += BATCH) {
      const batch = slice(split, Array.from({ length: BATCH }, (_, i) => b + i), 32 * 32);
      const out = await session.run({ images: rt.fromHost(batch.images) }, ["logits"]);
      const scores = (await rt.toHost(out.logits)).data as Float32Array;
      const classes = scores.length / BATCH;
      for (let i = 0; i < BATCH; i++) {
        const row = scores.subarray(i * classes, (i + 1) * classes);
        if (row.indexOf(Math.max(...row)) === Number((batch.labels.data as BigInt64Array)[i])) correct++;
        total++;
      }
    }
  } finally {
    await session.release();
  }
  return correct / total;
}
