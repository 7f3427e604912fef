// What a new user writes first, in plain JavaScript: import the package by name,
// build a tiny slim net, train two steps into a logdir, and look for the checkpoint.
// test/consumer/run.mjs copies this into a fresh app that installed the packed
// tarball and runs it under Node.js, Deno and Bun. Prints one JSON line.
import { checkpoint, data, fs, graph, layers, learning, losses, optimizers } from "slimtrain";

const logdir = globalThis.Deno?.args[0] ?? globalThis.process.argv[2];
if (!logdir) throw new Error("usage: train_two_steps.mjs <logdir>");

// 8 examples of 6x6x1 "images" in 3 classes, from a fixed LCG so every runtime sees the same data.
let seed = 12345;
const next = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
const examples = {
  images: { dtype: "float32", shape: [8, 6, 6, 1], data: Float32Array.from({ length: 8 * 36 }, next) },
  labels: { dtype: "int64", shape: [8], data: BigInt64Array.from({ length: 8 }, (_, i) => BigInt(i % 3)) },
};

const g = new graph.Graph();
const trainOp = g.asDefault(() => {
  const { images, labels } = data.inputs(examples, { batchSize: 4 });
  const net = layers.conv2d(images, 4, [3, 3], { scope: "conv1" });
  const logits = layers.fullyConnected(layers.flatten(net), 3, { activationFn: null, scope: "logits" });
  losses.sparseSoftmaxCrossEntropy(logits, labels);
  return learning.createTrainOp(losses.getTotalLoss(), optimizers.gradientDescent({ learningRate: 0.1 }));
});

const lines = [];
const loss = await learning.train(trainOp, logdir, { numberOfSteps: 2, log: (line) => lines.push(line) });
const latest = await checkpoint.latestCheckpoint(await fs.defaultFileSystem(), logdir);
console.log(JSON.stringify({ loss, checkpoint: latest, logLines: lines.length }));
