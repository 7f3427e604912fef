/**
 * Makes `web/demo/pretrained_digits04.onnx`, the "pretrained model" that the demo
 * page fine-tunes: a tiny CNN (conv 3×3×8, pool, conv 3×3×16, pool, dense 32
 * `features`, dense 5 `logits`) trained with `learning.train` on the digits 0–4 of
 * the `mnist` package, exported with `exportInferenceModel` for a fixed batch of
 * 16 images `[16, 28, 28, 1]` (NHWC, pixels in [0, 1]) with two outputs,
 * `features` and `logits`. The page only ever sees the digits 5–9, so nothing it
 * trains or scores on was seen here.
 *
 * Deterministic: fixed seeds for the split, the initial weights and the batch
 * order, onnxruntime-node's CPU provider with one thread; rerunning it on this
 * kind of machine rewrites the same bytes.
 *
 *   npx tsx scripts/make_demo_onnx.ts [--steps 400] [--out web/demo/pretrained_digits04.onnx]
 * @module
 */
import { writeFileSync } from "node:fs";
import { checkpoint, data, fs as files, graph, layers, learning, losses, optimizers, runtime } from "../mod.ts";
import type { HostTensor } from "../src/graph/host_tensor.ts";
import type { Tensor } from "../src/graph/tensor.ts";

const args = process.argv.slice(2);
const opt = (name: string, fallback: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : fallback;
};
const STEPS = Number(opt("steps", "400"));
const OUT = opt("out", "web/demo/pretrained_digits04.onnx");
/** The batch the exported model is fixed to (slim's flatten bakes it in); the page trains and scores with it. */
const BATCH = 16;
const SIDE = 28;

/** The backbone and its 5-way classifier; `features` is what the page's new head reads. */
function tinyCnn(images: Tensor): { features: Tensor; logits: Tensor } {
  return layers.argScope([layers.conv2d, layers.fullyConnected], { weightsInitializer: graph.varianceScalingInitializer() }, () => {
    let net = layers.conv2d(images, 8, 3, { scope: "conv1" });
    net = layers.maxPool2d(net, 2, { scope: "pool1" });
    net = layers.conv2d(net, 16, 3, { scope: "conv2" });
    net = layers.maxPool2d(net, 2, { scope: "pool2" });
    const features = layers.fullyConnected(layers.flatten(net), 32, { scope: "fc3" });
    return { features, logits: layers.fullyConnected(features, 5, { activationFn: null, scope: "logits" }) };
  });
}

const digits = await data.loadMnistDigits({ pad: false, heldOut: 2000 });
const train04 = pick(digits.train), test04 = pick(digits.test);
const fs = new files.MemoryFileSystem();
const cpu = await runtime.createRuntime({ package: "onnxruntime-node", executionProvider: "cpu", intraOpNumThreads: 1 });

const trainOp = new graph.Graph().asDefault(() => {
  const images = graph.placeholder([BATCH, SIDE, SIDE, 1], "float32", "images");
  const labels = graph.placeholder([BATCH], "int64", "labels");
  losses.sparseSoftmaxCrossEntropy(tinyCnn(images).logits, labels);
  return learning.createTrainOp(losses.getTotalLoss(), optimizers.adam({ learningRate: 2e-3 }));
});
await learning.train(trainOp, "base", {
  fs, runtime: cpu, seed: 1, numberOfSteps: STEPS, logEveryNSteps: 100, saveIntervalSecs: 3600, saveSummariesSecs: 3600, handleSignals: false,
  data: function* (start: number) {
    // A fixed stride walk through the examples: each step's batch depends only on the step.
    for (let s = start; ; s++) yield batch(train04, Array.from({ length: BATCH }, (_, i) => ((s * BATCH + i) * 7919) % train04.count));
  },
});

const prefix = await checkpoint.latestCheckpoint(fs, "base");
if (!prefix) throw new Error("make_demo_onnx: training wrote no checkpoint under base/");
await new graph.Graph().asDefault(async () => {
  const images = graph.placeholder([BATCH, SIDE, SIDE, 1], "float32", "images");
  const { features, logits } = tinyCnn(images);
  await learning.exportInferenceModel(prefix, "model.onnx", {
    fs, outputs: { features, logits }, name: "digits_0_4", metadata: { "slimtrain.demo": "digits 0-4 backbone for the fine-tuning demo" },
  });
});
const bytes = await fs.readFile("model.onnx");
writeFileSync(OUT, bytes);
console.log(`make_demo_onnx: ${STEPS} steps; held-out accuracy on 0-4 ${(await accuracy(bytes)).toFixed(4)}; wrote ${OUT} (${bytes.length} bytes)`);

/** The digits 0-4 of a split. */
function pick(split: data.MnistSplit): { images: Float32Array; labels: BigInt64Array; count: number } {
  const all = split.labels.data as BigInt64Array, px = SIDE * SIDE;
  const rows = [...all.keys()].filter((i) => all[i] < 5n);
  const images = new Float32Array(rows.length * px);
  rows.forEach((r, i) => images.set((split.images.data as Float32Array).subarray(r * px, (r + 1) * px), i * px));
  return { images, labels: BigInt64Array.from(rows, (r) => all[r]), count: rows.length };
}

function batch(split: ReturnType<typeof pick>, rows: number[]): Record<string, HostTensor> {
  const px = SIDE * SIDE, images = new Float32Array(rows.length * px);
  rows.forEach((r, i) => images.set(split.images.subarray(r * px, (r + 1) * px), i * px));
  return {
    images: { dtype: "float32", shape: [rows.length, SIDE, SIDE, 1], data: images },
    labels: { dtype: "int64", shape: [rows.length], data: BigInt64Array.from(rows, (r) => split.labels[r]) },
  };
}

/** Held-out accuracy of the exported file in a fresh session (whole batches only). */
async function accuracy(model: Uint8Array): Promise<number> {
  const session = await cpu.createSession(model);
  let correct = 0, total = 0;
  try {
    for (let b = 0; b + BATCH <= test04.count; b += BATCH) {
      const feeds = batch(test04, Array.from({ length: BATCH }, (_, i) => b + i));
      const out = await session.run({ images: cpu.fromHost(feeds.images) }, ["logits"]);
      const scores = (await cpu.toHost(out.logits)).data as Float32Array;
      for (let i = 0; i < BATCH; i++) {
        const row = scores.subarray(i * 5, i * 5 + 5);
        if (row.indexOf(Math.max(...row)) === Number((feeds.labels.data as BigInt64Array)[i])) correct++;
        total++;
      }
    }
  } finally {
    await session.release();
  }
  return correct / total;
}
