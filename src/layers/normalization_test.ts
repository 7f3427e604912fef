import { assert, assertClose, assertEquals, assertThrows, randomArray, test } from "../../test/harness.ts";
import { Graph, GraphKeys } from "../graph/graph.ts";
import type { HostTensor } from "../graph/host_tensor.ts";
import { type Assignment, placeholder, type Variable } from "../graph/variable.ts";
import { createTrainOp } from "../learning/create_train_op.ts";
import { gradientDescent } from "../learning/optimizers/mod.ts";
import { TrainSession } from "../learning/train_session.ts";
import { latestCheckpoint, restoreCheckpoint } from "../checkpoint/mod.ts";
import { defaultFileSystem } from "../fs/default.ts";
import { MemoryFileSystem } from "../fs/memory_fs.ts";
import { train } from "../learning/train.ts";
import { ancestorNodes } from "../graph/tensor.ts";
import { add, mul, reduceMean, relu, softmaxCrossEntropyWithLogits } from "../ops/mod.ts";
import { evaluate } from "../runtime/evaluate.ts";
import { argScope } from "./arg_scope.ts";
import { conv2d, fullyConnected } from "./layers.ts";
import { batchNorm, layerNorm } from "./normalization.ts";

const f32 = (shape: number[], data: Float32Array): HostTensor => ({ dtype: "float32", shape, data });

/** Per-channel mean, biased and Bessel-corrected variance of channels-last data, in float64. */
function channelStats(data: Float32Array, channels: number) {
  const n = data.length / channels;
  const mean = new Float64Array(channels), biased = new Float64Array(channels);
  data.forEach((v, i) => (mean[i % channels] += v / n));
  data.forEach((v, i) => (biased[i % channels] += (v - mean[i % channels]) ** 2 / n));
  return { mean, biased, unbiased: biased.map((v) => (v * n) / (n - 1)) };
}

test("batchNorm() as conv2d's normalizerFn creates slim's variables and replaces the biases", () => {
  const g = new Graph();
  g.asDefault(() => {
    const x = placeholder([2, 4, 4, 3], "float32", "x");
    argScope([conv2d], { normalizerFn: batchNorm, normalizerParams: { scale: true } }, () => conv2d(x, 5, 3, { scope: "conv1" }));
    batchNorm(placeholder([2, 6], "float32", "v"));
  });
  const vars = [...g.variables.values()];
  assertEquals(vars.map((v) => [v.name, v.shape, v.trainable]), [
    ["conv1/weights", [3, 3, 3, 5], true],
    ["conv1/BatchNorm/beta", [5], true],
    ["conv1/BatchNorm/gamma", [5], true],
    ["conv1/BatchNorm/moving_mean", [5], false],
    ["conv1/BatchNorm/moving_variance", [5], false],
    ["BatchNorm/beta", [6], true],
    ["BatchNorm/moving_mean", [6], false],
    ["BatchNorm/moving_variance", [6], false],
  ]);
  assertEquals(g.getCollection<Variable>(GraphKeys.MODEL_VARIABLES).length, 8);
  assertEquals(g.getCollection<Assignment>(GraphKeys.UPDATE_OPS).map((u) => u.variable.name), [
    "conv1/BatchNorm/moving_mean", "conv1/BatchNorm/moving_variance", "BatchNorm/moving_mean", "BatchNorm/moving_variance",
  ]);
  assertEquals(g.variables.get("conv1/BatchNorm/moving_variance")!.initializer.name, "constant(1)");
});

test("batchNorm() normalizes NHWC maps with batch statistics and updates the moving ones as slim's fused kernel", async () => {
  const g = new Graph();
  await g.asDefault(async () => {
    const shape = [2, 3, 3, 4];
    const x = placeholder(shape, "float32", "x");
    const y = batchNorm(x, { scale: true, decay: 0.9, epsilon: 0.01 });
    const [mm, mv] = g.getCollection<Assignment>(GraphKeys.UPDATE_OPS);
    const xs = randomArray(72, 31, -2, 3), beta = randomArray(4, 32), gamma = randomArray(4, 33, 0.5, 1.5);
    const mean0 = randomArray(4, 34), var0 = randomArray(4, 35, 0.5, 2);
    const out = await evaluate({ y, mm: mm.value, mv: mv.value }, {
      feeds: { x: f32(shape, xs) },
      variables: {
        "BatchNorm/beta": f32([4], beta), "BatchNorm/gamma": f32([4], gamma),
        "BatchNorm/moving_mean": f32([4], mean0), "BatchNorm/moving_variance": f32([4], var0),
      },
    });
    const { mean, biased, unbiased } = channelStats(xs, 4);
    const ref = Array.from(xs, (v, i) => ((v - mean[i % 4]) / Math.sqrt(biased[i % 4] + 0.01)) * gamma[i % 4] + beta[i % 4]);
    assertClose(out.y.data as Float32Array, ref, { rtol: 1e-4, atol: 1e-5 });
    assertClose(out.mm.data as Float32Array, Array.from(mean0, (m, c) => m * 0.9 + mean[c] * 0.1), { rtol: 1e-5, atol: 1e-6 });
    // Bessel's correction (n = 18 values per channel) goes into the moving variance.
    assertClose(out.mv.data as Float32Array, Array.from(var0, (v, c) => v * 0.9 + unbiased[c] * 0.1), { rtol: 1e-5, atol: 1e-6 });
  });
});

test("batchNorm() in evaluation uses the moving statistics and adds no updates; NCHW puts channels on axis 1", async () => {
  const g = new Graph();
  await g.asDefault(async () => {
    const x = placeholder([2, 4, 3, 3], "float32", "x");
    const y = batchNorm(x, { isTraining: false, dataFormat: "NCHW", scope: "bn" });
    assertEquals(g.getCollection(GraphKeys.UPDATE_OPS).length, 0);
    const xs = randomArray(72, 41), beta = randomArray(4, 42), mean = randomArray(4, 43), variance = randomArray(4, 44, 0.5, 2);
    const out = await evaluate({ y }, {
      feeds: { x: f32([2, 4, 3, 3], xs) },
      variables: { "bn/beta": f32([4], beta), "bn/moving_mean": f32([4], mean), "bn/moving_variance": f32([4], variance) },
    });
    const c = (i: number) => Math.floor(i / 9) % 4;
    assertClose(out.y.data as Float32Array, Array.from(xs, (v, i) => (v - mean[c(i)]) / Math.sqrt(variance[c(i)] + 0.001) + beta[c(i)]), {
      rtol: 1e-4,
      atol: 1e-5,
    });
  });
});

test("batchNorm() updates its moving statistics with the train step and keeps them out of the trained variables", async () => {
  const g = new Graph();
  const trainOp = g.asDefault(() => {
    const x = placeholder([4, 3], "float32", "x");
    const h = fullyConnected(x, 2, { normalizerFn: batchNorm, normalizerParams: { decay: 0.5 }, activationFn: null });
    return createTrainOp(reduceMean(mul(h, h)), gradientDescent({ learningRate: 0.1 }));
  });
  assertEquals(trainOp.variablesToTrain.map((v) => v.name), ["fully_connected/weights", "fully_connected/BatchNorm/beta"]);
  const session = await TrainSession.create(trainOp, { seed: 1 });
  try {
    session.initialize();
    const xs = randomArray(12, 51);
    const before = await session.readState();
    await session.run({ x: f32([4, 3], xs) });
    const after = await session.readState();
    // The moving mean after one step: 0.5 · 0 + 0.5 · the batch mean of x·W (the weights before the step).
    const w = before.get("fully_connected/weights")!.data as Float32Array;
    const h = Array.from({ length: 8 }, (_, i) => [0, 1, 2].reduce((a, k) => a + xs[Math.floor(i / 2) * 3 + k] * w[k * 2 + (i % 2)], 0));
    const { mean, unbiased } = channelStats(Float32Array.from(h), 2);
    assertClose(after.get("fully_connected/BatchNorm/moving_mean")!.data as Float32Array, Array.from(mean, (m) => 0.5 * m), { rtol: 1e-4, atol: 1e-6 });
    assertClose(after.get("fully_connected/BatchNorm/moving_variance")!.data as Float32Array, Array.from(unbiased, (v) => 0.5 + 0.5 * v), {
      rtol: 1e-4,
      atol: 1e-6,
    });
  } finally {
    await session.release();
  }
});

test("batchNorm() and layerNorm() reject bad options naming the option", async () => {
  const g = new Graph();
  await g.asDefault(async () => {
    const x = placeholder([2, 4, 4, 3], "float32", "x");
    await assertThrows(() => batchNorm(x, { is_training: false } as never), "batchNorm: unknown option is_training; did you mean isTraining?");
    await assertThrows(() => batchNorm(x, { paramInitializers: { movingMean: null } } as never), "batchNorm: paramInitializers has no entry movingMean");
    await assertThrows(() => batchNorm(x, { decay: 2 }), "batchNorm: decay must be in [0, 1], got 2");
    await assertThrows(() => layerNorm(x, { beginNormAxis: 4 }), "layerNorm: beginNormAxis 4 is out of range");
  });
});

test("layerNorm() normalizes each example over the trailing axes with LayerNorm/beta and gamma", async () => {
  const g = new Graph();
  await g.asDefault(async () => {
    const x = placeholder([3, 2, 4], "float32", "x");
    const y = layerNorm(x);
    assertEquals([...g.variables.values()].map((v) => [v.name, v.shape]), [["LayerNorm/beta", [4]], ["LayerNorm/gamma", [4]]]);
    const xs = randomArray(24, 61), beta = randomArray(4, 62), gamma = randomArray(4, 63);
    const out = await evaluate({ y }, { feeds: { x: f32([3, 2, 4], xs) }, variables: { "LayerNorm/beta": f32([4], beta), "LayerNorm/gamma": f32([4], gamma) } });
    const ref: number[] = [];
    for (let n = 0; n < 3; n++) {
      const row = Array.from(xs.slice(n * 8, n * 8 + 8));
      const m = row.reduce((a, b) => a + b) / 8, v = row.reduce((a, b) => a + (b - m) ** 2, 0) / 8;
      row.forEach((val, i) => ref.push(((val - m) / Math.sqrt(v + 1e-12)) * gamma[i % 4] + beta[i % 4]));
    }
    assertClose(out.y.data as Float32Array, ref, { rtol: 1e-4, atol: 1e-5 });
    assert(y.shape.join() === "3,2,4");
  });
});

/** fixtures/torch_oracle/batch_norm.json (scripts/make_batch_norm_fixture.py). */
interface BatchNormFixture {
  decay: number;
  epsilon: number;
  learning_rate: number;
  initial: Record<string, { shape: number[]; data: number[] }>;
  batches: { images: { shape: number[]; data: number[] }; labels: number[] }[];
  loss: number;
  after: Record<string, { shape: number[]; data: number[] }>;
  eval_logits: { shape: number[]; data: number[] };
}

async function batchNormFixture(): Promise<BatchNormFixture> {
  const fs = await defaultFileSystem();
  const path = decodeURIComponent(new URL("../../fixtures/torch_oracle/batch_norm.json", import.meta.url).pathname)
    .replace(/^\/([A-Za-z]:)/, "$1");
  return JSON.parse(new TextDecoder().decode(await fs.readFile(path)));
}

/** The fixture's network in slim's layers; see the script for the PyTorch side. */
function batchNormNet(f: BatchNormFixture, isTraining: boolean) {
  const g = new Graph();
  return g.asDefault(() => {
    const images = placeholder([4, 6, 6, 2], "float32", "images");
    const labels = placeholder([4, 3], "float32", "labels");
    const bn = { decay: f.decay, epsilon: f.epsilon, isTraining };
    let net = conv2d(images, 3, [3, 3], { normalizerFn: batchNorm, normalizerParams: { ...bn, scale: true }, scope: "conv1" });
    net = conv2d(net, 4, [1, 1], { normalizerFn: batchNorm, normalizerParams: bn, scope: "conv2" });
    const logits = fullyConnected(reduceMean(net, [1, 2]), 3, { activationFn: null, scope: "logits" });
    const loss = reduceMean(softmaxCrossEntropyWithLogits(logits, labels));
    return { g, logits, loss };
  });
}

const hostOf = (t: { shape: number[]; data: number[] }): HostTensor => f32(t.shape, Float32Array.from(t.data));
const oneHot = (labels: number[]) => f32([labels.length, 3], Float32Array.from(labels.flatMap((l) => [0, 1, 2].map((c) => (c === l ? 1 : 0)))));

test("batchNorm() train step matches PyTorch in float64: loss, updated variables, moving statistics, eval logits", async () => {
  const f = await batchNormFixture();
  const net = batchNormNet(f, true);
  const trainOp = net.g.asDefault(() => createTrainOp(net.loss, gradientDescent({ learningRate: f.learning_rate })));
  const session = await TrainSession.create(trainOp, { seed: 0 });
  let state: Map<string, HostTensor>;
  try {
    for (const [name, value] of Object.entries(f.initial)) session.assign(name, hostOf(value));
    const batch = f.batches[0];
    const { loss } = await session.run({ images: hostOf(batch.images), labels: oneHot(batch.labels) });
    assertClose(loss, f.loss, { rtol: 1e-5, message: "loss" });
    state = await session.readState();
  } finally {
    await session.release();
  }
  for (const [name, expected] of Object.entries(f.after)) {
    assertClose(state.get(name)!.data as Float32Array, expected.data, { rtol: 1e-4, atol: 1e-5, message: name });
  }
  const evalNet = batchNormNet(f, false);
  const out = await evaluate({ logits: evalNet.logits }, {
    feeds: { images: hostOf(f.batches[1].images) },
    variables: Object.fromEntries([...state].filter(([n]) => evalNet.g.variables.has(n))),
  });
  assertClose(out.logits.data as Float32Array, f.eval_logits.data, { rtol: 1e-4, atol: 1e-5, message: "eval logits" });
});

test("batchNorm() in a residual block keeps the step in NCHW: transposes only at the edges, forward and backward", () => {
  const g = new Graph();
  g.asDefault(() => {
    const images = placeholder([2, 6, 6, 4], "float32", "images");
    const block = argScope([conv2d], { normalizerFn: batchNorm, normalizerParams: { scale: true } }, () => {
      const residual = conv2d(conv2d(images, 4, 3, { scope: "a" }), 4, 3, { activationFn: null, scope: "b" });
      return relu(add(images, residual));
    });
    const out = conv2d(block, 2, 1, { scope: "c" });
    const loss = reduceMean(mul(out, out));
    const trainOp = createTrainOp(loss, gradientDescent({ learningRate: 0.1 }));
    const nodes = ancestorNodes([loss, ...trainOp.updates.map((u) => u.value)]);
    // The images in, the output out (the loss reads NHWC), and the gradient of that exit.
    assertEquals(nodes.filter((n) => n.op === "Transpose").map((n) => n.inputs[0].shape), [[2, 6, 6, 4], [2, 2, 6, 6], [2, 6, 6, 2]]);
  });
});

test("batchNorm() moving statistics are trained by learning.train and checkpointed under slim's names", async () => {
  const g = new Graph();
  const trainOp = g.asDefault(() => {
    const x = placeholder([4, 5, 5, 2], "float32", "x");
    const h = conv2d(x, 3, 3, { normalizerFn: batchNorm, scope: "conv1" });
    return createTrainOp(reduceMean(mul(h, h)), gradientDescent({ learningRate: 0.1 }));
  });
  const fs = new MemoryFileSystem();
  await train(trainOp, "/logs", {
    fs, numberOfSteps: 2, saveSummariesSecs: 0, handleSignals: false, log: () => {},
    data: function* (step: number) {
      for (let s = step; ; s++) yield { x: f32([4, 5, 5, 2], randomArray(200, 300 + s)) };
    },
  });
  const { tensors, globalStep } = await restoreCheckpoint(fs, (await latestCheckpoint(fs, "/logs"))!);
  assertEquals(globalStep, 2);
  const mean = tensors.get("conv1/BatchNorm/moving_mean")!, variance = tensors.get("conv1/BatchNorm/moving_variance")!;
  assertEquals([mean.shape, variance.shape], [[3], [3]]);
  assert(Array.from(mean.data as Float32Array).every((v) => v !== 0), "the moving mean moved from its zero start");
  assert(Array.from(variance.data as Float32Array).every((v) => v !== 1), "the moving variance moved from its start of one");
});
