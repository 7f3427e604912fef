// One benchmark configuration in its own process (so peak RSS is this step's):
// builds slim's VGG-16, compiles the train step, runs warm-up steps, then times
// N steps of SGD on a fixed random batch. Prints one JSON line.
// Usage: tsx bench/step_worker.ts --batch 2 --size 224 --channels 3 --classes 1000 --fc-padding VALID --steps 3 --warmup 1
//          [--ep cpu|webgpu] [--threads N] [--profile prefix] [--steps-per-run k]
// With --steps-per-run k each timed call runs k unrolled steps; ms_per_step is per step.
import "../src/ops/mod.ts";
import { Graph } from "../src/graph/graph.ts";
import { placeholder } from "../src/graph/variable.ts";
import { argScope, conv2d } from "../src/layers/mod.ts";
import { vgg16, vggArgScope } from "../src/nets/mod.ts";
import { getTotalLoss, sparseSoftmaxCrossEntropy } from "../src/losses/mod.ts";
import { createTrainOp } from "../src/learning/create_train_op.ts";
import { TrainSession } from "../src/learning/train_session.ts";
import { gradientDescent } from "../src/learning/optimizers/mod.ts";
import type { ExecutionProvider } from "../src/runtime/types.ts";
import { randomArray } from "../test/harness.ts";

const argv = process.argv.slice(2);
const arg = (name: string, fallback: string) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : fallback;
};
const batch = Number(arg("batch", "2")), size = Number(arg("size", "224")), channels = Number(arg("channels", "3"));
const classes = Number(arg("classes", "1000")), steps = Number(arg("steps", "3")), warmup = Number(arg("warmup", "1"));
const fcConvPadding = arg("fc-padding", "VALID") as "VALID" | "SAME";
const ep = arg("ep", "cpu") as ExecutionProvider;
const threads = Number(arg("threads", "0")) || undefined;
const profile = arg("profile", "");
const stepsPerRun = Number(arg("steps-per-run", "1"));

const t0 = performance.now();
const graph = new Graph();
const trainOp = graph.asDefault(() => {
  const images = placeholder([batch, size, size, channels], "float32", "images");
  const labels = placeholder([batch], "int64", "labels");
  // Where fc6 meets a 1x1 map only its centre tap is trained (the same work PyTorch's side does).
  const [logits] = argScope(vggArgScope({ weightDecay: 0 }), () =>
    argScope([conv2d], { trainDataTapsOnly: true }, () =>
      vgg16(images, { numClasses: classes, isTraining: true, fcConvPadding, dropoutKeepProb: 0.5 })
    )
  );
  sparseSoftmaxCrossEntropy(logits, labels);
  return createTrainOp(getTotalLoss(), gradientDescent({ learningRate: 0.001 }));
});
const tBuilt = performance.now();
const session = await TrainSession.create(trainOp, {
  executionProvider: ep, intraOpNumThreads: threads, profileFilePrefix: profile || undefined,
});
const tCompiled = performance.now();
session.initialize();
const feeds = {
  images: { dtype: "float32" as const, shape: [batch, size, size, channels], data: randomArray(batch * size * size * channels, 1, 0, 1) },
  labels: { dtype: "int64" as const, shape: [batch], data: BigInt64Array.from({ length: batch }, (_, i) => BigInt((i * 7) % classes)) },
};
const batches = Array.from({ length: stepsPerRun }, () => feeds);
for (let i = 0; i < warmup; i++) await session.runSteps(batches);
const times: number[] = [];
let loss = NaN;
for (let i = 0; i < steps; i++) {
  const s = performance.now();
  loss = (await session.runSteps(batches)).losses[stepsPerRun - 1];
  times.push((performance.now() - s) / stepsPerRun);
}
const profilePath = profile ? await session.endProfiling() : undefined;
await session.release();
times.sort((a, b) => a - b);
console.log(JSON.stringify({
  engine: `slimtrain ${session.runtime.description}`,
  ms_per_step: times[Math.floor(times.length / 2)],
  all_ms: times,
  build_ms: tBuilt - t0,
  compile_ms: tCompiled - t0,
  onnx_bytes: session.model.bytes.length,
  onnx_nodes: session.model.nodeCount,
  loss,
  profile: profilePath,
  peak_rss_mb: process.resourceUsage().maxRSS / 1024,
}));
