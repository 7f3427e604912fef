// One benchmark configuration in its own process (so peak RSS is this step's):
// builds slim's VGG-16 (or, with --net, any net of the nets factory through the
// public API: getNetworkFn, the sparse softmax loss, createTrainOp with its
// UPDATE_OPS, so batch norm's moving averages update in the step), compiles the
// train step, runs warm-up steps, then times N steps of SGD (or Adam, or momentum)
// on a fixed random NHWC batch. Prints one JSON line, with the forward pass's
// multiply-adds counted from the graph and, with --profile, ONNX Runtime's kernel
// time per op type.
// Usage: tsx bench/step_worker.ts --batch 2 --size 224 --channels 3 --classes 1000 --fc-padding VALID --steps 3 --warmup 1
//          [--net vgg_16|resnet_v1_50|mobilenet_v2|...] [--ep cpu|webgpu] [--threads N] [--profile prefix] [--steps-per-run k]
//          [--optimizer sgd|adam|momentum] [--weight-decay 0.0005] [--checkpoint]
// With --steps-per-run k each timed call runs k unrolled steps; ms_per_step is per step.
// With --checkpoint one checkpoint is saved after the timed steps, as train() saves it
// (checkpoint_ms), so peak RSS includes the save.
import "../src/ops/mod.ts";
import { Graph } from "../src/graph/graph.ts";
import { placeholder } from "../src/graph/variable.ts";
import { argScope, conv2d } from "../src/layers/mod.ts";
import { getNetworkFn, vgg16, vggArgScope } from "../src/nets/mod.ts";
import { ancestorNodes, type Tensor } from "../src/graph/tensor.ts";
import { getTotalLoss, sparseSoftmaxCrossEntropy } from "../src/losses/mod.ts";
import { createTrainOp } from "../src/learning/create_train_op.ts";
import { TrainSession } from "../src/learning/train_session.ts";
import { adam, gradientDescent, momentum } from "../src/learning/optimizers/mod.ts";
import { Saver } from "../src/checkpoint/mod.ts";
import { NodeFileSystem } from "../src/fs/node_fs.ts";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, dirname, join } from "node:path";
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
const optimizer = arg("optimizer", "sgd");
const weightDecay = Number(arg("weight-decay", "0"));
const checkpoint = argv.includes("--checkpoint");
/** ONNX Runtime's CPU arena (on by default in training) and memory pattern (off by default). */
const cpuMemArena = !argv.includes("--no-cpu-mem-arena");
const cpuMemPattern = argv.includes("--cpu-mem-pattern");
const net = arg("net", "vgg_16");

/** Forward multiply-adds of the convolutions and matrix products `logits` depends on. */
function forwardMacs(logits: Tensor): number {
  let macs = 0;
  for (const node of ancestorNodes([logits])) {
    const out = node.outputs[0]?.shape ?? [];
    const outSize = out.reduce((a, b) => a * b, 1);
    // Filters are [K, C / groups, kh, kw] in ONNX's layout: each output element takes C / groups × kh × kw products.
    if (node.op === "Conv2D" || node.op === "GroupedConv2D") macs += outSize * node.inputs[1].shape.slice(1).reduce((a, b) => a * b, 1);
    else if (node.op === "MatMul") macs += outSize * node.inputs[0].shape[node.inputs[0].shape.length - 1];
  }
  return macs;
}

/** Which part of the step a node belongs to, from its name scope. */
function partOf(nodeName: string): string {
  if (/^gradients\/MaxPoolGrad/.test(nodeName)) return "max-pool gradient";
  if (nodeName.startsWith("gradients/")) return "other gradients";
  if (nodeName.startsWith("train_op/")) return "optimizer update";
  return "forward, loss, moving averages";
}

/** ONNX Runtime's profile as kernel milliseconds per call, by op type and by part of the step, largest first. */
function kernelMs(path: string, calls: number): { byOp: Record<string, number>; byPart: Record<string, number> } {
  const events = JSON.parse(readFileSync(path, "utf8")) as { cat?: string; name?: string; dur?: number; args?: { op_name?: string } }[];
  const byOp = new Map<string, number>(), byPart = new Map<string, number>();
  for (const e of events) {
    const op = e.args?.op_name;
    if (e.cat !== "Node" || !op || !e.dur) continue;
    byOp.set(op, (byOp.get(op) ?? 0) + e.dur / 1000 / calls);
    const part = partOf(e.name ?? "");
    byPart.set(part, (byPart.get(part) ?? 0) + e.dur / 1000 / calls);
  }
  const sorted = (m: Map<string, number>) => Object.fromEntries([...m].sort((x, y) => y[1] - x[1]).map(([k, ms]) => [k, Math.round(ms * 10) / 10]));
  return { byOp: sorted(byOp), byPart: sorted(byPart) };
}

/** The most recently written `<prefix>*.json` (ONNX Runtime appends a timestamp to the prefix). */
function newestWithPrefix(prefix: string): string | undefined {
  const dir = dirname(prefix) || ".";
  return readdirSync(dir).filter((f) => f.startsWith(basename(prefix)) && f.endsWith(".json")).map((f) => join(dir, f))
    .sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs)[0];
}

let macs = 0;

const t0 = performance.now();
const graph = new Graph();
const trainOp = graph.asDefault(() => {
  const images = placeholder([batch, size, size, channels], "float32", "images");
  const labels = placeholder([batch], "int64", "labels");
  // Where fc6 meets a 1x1 map only its centre tap is trained (the same work PyTorch's side does).
  const [logits] = net === "vgg_16"
    ? argScope(vggArgScope({ weightDecay }), () =>
      argScope([conv2d], { trainDataTapsOnly: true }, () =>
        vgg16(images, { numClasses: classes, isTraining: true, fcConvPadding, dropoutKeepProb: 0.5 })
      ))
    : getNetworkFn(net, { numClasses: classes, weightDecay, isTraining: true })(images);
  macs = forwardMacs(logits);
  sparseSoftmaxCrossEntropy(logits, labels);
  const opt = optimizer === "adam"
    ? adam({ learningRate: 1e-4 })
    : optimizer === "momentum"
    ? momentum({ learningRate: 0.01, momentum: 0.9 })
    : gradientDescent({ learningRate: 0.001 });
  return createTrainOp(getTotalLoss(), opt);
});
const tBuilt = performance.now();
const session = await TrainSession.create(trainOp, {
  executionProvider: ep, intraOpNumThreads: threads, profileFilePrefix: profile || undefined, cpuMemArena, cpuMemPattern,
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
let checkpointMs: number | undefined;
if (checkpoint) {
  const dir = mkdtempSync(join(tmpdir(), "slimtrain-bench-"));
  try {
    const s = performance.now();
    await new Saver({ fs: new NodeFileSystem() }).save(dir, await session.readState(), { globalStep: session.globalStep });
    checkpointMs = performance.now() - s;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
// onnxruntime-node 1.30's endProfiling returns nothing: fall back to the newest file with the prefix.
const profilePath = profile ? (await session.endProfiling()) ?? newestWithPrefix(profile) : undefined;
const profileMs = profilePath ? kernelMs(profilePath, warmup + steps) : undefined;
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
  profile_ms_by_op: profileMs?.byOp,
  profile_ms_by_part: profileMs?.byPart,
  forward_macs: macs,
  trainable_params: trainOp.variablesToTrain.reduce((n, v) => n + v.shape.reduce((a, b) => a * b, 1), 0),
  update_ops: trainOp.updates.length,
  checkpoint_ms: checkpointMs,
  peak_rss_mb: process.resourceUsage().maxRSS / 1024,
}));
