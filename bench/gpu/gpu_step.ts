/**
 * slimtrain's side of the GPU benchmark: one net's train step (forward, gradients,
 * SGD update, batch-norm moving averages) on onnxruntime-node's WebGPU EP with CPU
 * fallback refused and every variable kept in GPU buffers between steps (the
 * train session feeds each step's gpu-buffer outputs back as the next step's
 * inputs; per step only the batch goes up and the loss comes down). Prints one JSON
 * line per run. Bundled to plain JavaScript by build.mjs, since the GPU machine
 * has no TypeScript loader.
 *
 * Usage: node gpu_step.mjs --net vgg_16|resnet_v1_50|mobilenet_v2 [--batch 32] [--size 224]
 *          [--steps 20] [--warmup 3] [--ep webgpu|cpu] [--classes 1000] [--mixed-precision]
 *        node gpu_step.mjs --check --net NET   one step on the CPU EP and on WebGPU at a small
 *                                              size; prints both losses and their relative gap
 *        --mixed-precision                     float16 convolutions and GEMMs with dynamic loss
 *                                              scaling (createTrainOp's mixedPrecision); with --check
 *                                              the CPU EP side emulates float16's rounding
 *        --smoke                               tiny sizes (batch 2, 32x32, 2 steps) to prove the
 *                                              script on SwiftShader before GPU time is spent
 * @module
 */
import "../../src/ops/sources.ts";
import { Graph } from "../../src/graph/graph.ts";
import type { HostTensor } from "../../src/graph/host_tensor.ts";
import type { Tensor } from "../../src/graph/tensor.ts";
import { placeholder } from "../../src/graph/variable.ts";
import { argScope, conv2d } from "../../src/layers/mod.ts";
import { createTrainOp, type TrainOp } from "../../src/learning/create_train_op.ts";
import { gradientDescent } from "../../src/learning/optimizers/mod.ts";
import { TrainSession } from "../../src/learning/train_session.ts";
import { getTotalLoss, softmaxCrossEntropy } from "../../src/losses/mod.ts";
import { getNetworkFn, type NetResult, vgg16, vggArgScope } from "../../src/nets/mod.ts";
import { createRuntime } from "../../src/runtime/create.ts";
import type { ExecutionProvider } from "../../src/runtime/types.ts";

/** One configuration to build and time. */
interface StepConfig {
  net: string;
  batch: number;
  size: number;
  classes: number;
  /** createTrainOp's mixedPrecision: float16 products, float32 master weights. */
  mixedPrecision?: "float16";
}

const argv = process.argv.slice(2);
const flag = (name: string) => argv.includes(`--${name}`);
const option = (name: string, fallback: string) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < argv.length ? argv[i + 1] : fallback;
};

/**
 * The net's logits for `images`. VGG below 224x224 needs fc6 with SAME padding;
 * where it meets a 1x1 map only its centre tap sees data and is trained (as
 * bench/step_worker.ts does), which keeps the small checks cheap.
 */
function buildNet(config: StepConfig, images: Tensor): NetResult {
  if (config.net === "vgg_16") {
    const options = { numClasses: config.classes, isTraining: true };
    if (config.size >= 224) return argScope(vggArgScope(), () => vgg16(images, { ...options, fcConvPadding: "VALID" }));
    return argScope(vggArgScope(), () =>
      argScope([conv2d], { trainDataTapsOnly: true }, () => vgg16(images, { ...options, fcConvPadding: "SAME" }))
    );
  }
  return getNetworkFn(config.net, { numClasses: config.classes, isTraining: true })(images);
}

function buildStep(config: StepConfig): TrainOp {
  const graph = new Graph();
  return graph.asDefault(() => {
    const images = placeholder([config.batch, config.size, config.size, 3], "float32", "images");
    const labels = placeholder([config.batch, config.classes], "float32", "labels");
    const [logits] = buildNet(config, images);
    softmaxCrossEntropy(logits, labels);
    return createTrainOp(getTotalLoss(), gradientDescent({ learningRate: 0.001 }), { mixedPrecision: config.mixedPrecision });
  });
}

/** A fixed batch: uniform images in [0, 1) from a small LCG, one label per image. */
function makeBatch({ batch, size, classes }: StepConfig): Record<string, HostTensor> {
  const pixels = new Float32Array(batch * size * size * 3);
  let state = 12345;
  for (let i = 0; i < pixels.length; i++) {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    pixels[i] = state / 2 ** 32;
  }
  const labels = new Float32Array(batch * classes);
  for (let i = 0; i < batch; i++) labels[i * classes + ((7 * i) % classes)] = 1;
  return {
    images: { dtype: "float32", shape: [batch, size, size, 3], data: pixels },
    labels: { dtype: "float32", shape: [batch, classes], data: labels },
  };
}

/** Times `steps` train steps after `warmup` on one execution provider. */
async function timeSteps(config: StepConfig, ep: ExecutionProvider, steps: number, warmup: number) {
  const t0 = performance.now();
  const trainOp = buildStep(config);
  const runtime = await createRuntime({ executionProvider: ep });
  const session = await TrainSession.create(trainOp, { runtime });
  const compileMs = performance.now() - t0;
  try {
    session.initialize();
    const feeds = makeBatch(config);
    let t = performance.now();
    let loss = (await session.run(feeds)).loss;
    const firstStepMs = performance.now() - t;
    for (let i = 1; i < warmup; i++) loss = (await session.run(feeds)).loss;
    const onDevice = [...session.state.values()].every((v) => v.location === "gpu-buffer");
    const before = { ...runtime.transfers };
    t = performance.now();
    for (let i = 0; i < steps; i++) loss = (await session.run(feeds)).loss;
    const ms = (performance.now() - t) / steps;
    return {
      impl: "slimtrain",
      mode: `${ep} ${config.mixedPrecision ? "fp16 mixed" : "fp32"}`,
      ...config,
      steps,
      ms_per_step: round(ms),
      images_per_s: round((1000 * config.batch) / ms),
      compile_ms: round(compileMs),
      first_step_ms: round(firstStepMs),
      loss,
      state_on_device: onDevice,
      uploads_per_step: (runtime.transfers.fromHost - before.fromHost) / steps,
      downloads_per_step: (runtime.transfers.toHost - before.toHost) / steps,
      runtime: runtime.description,
    };
  } finally {
    await session.release();
  }
}

/** One step on the CPU EP and on WebGPU from the same initial values: the losses must agree. */
async function check(config: StepConfig) {
  const losses: number[] = [];
  for (const ep of ["cpu", "webgpu"] as const) {
    const runtime = await createRuntime({ executionProvider: ep });
    const session = await TrainSession.create(buildStep(config), { runtime, seed: 1 });
    try {
      session.initialize();
      const feeds = makeBatch(config);
      await session.run(feeds);
      losses.push((await session.run(feeds)).loss); // the loss after one update: forward, backward and update agree
    } finally {
      await session.release();
    }
  }
  const gap = Math.abs(losses[1] - losses[0]) / Math.abs(losses[0]);
  // float16 sums land a rounding step apart on the two providers; float32 agrees to 1e-3.
  const tolerance = config.mixedPrecision ? 1e-2 : 1e-3;
  const mode = `check webgpu vs cpu${config.mixedPrecision ? " (fp16 mixed; cpu emulates float16)" : ""}`;
  return { impl: "slimtrain", mode, ...config, loss_cpu: losses[0], loss_webgpu: losses[1], relative_gap: gap, ok: gap < tolerance };
}

const round = (x: number) => Math.round(x * 100) / 100;

async function main() {
  const smoke = flag("smoke");
  const net = option("net", "vgg_16");
  const config: StepConfig = {
    net,
    batch: Number(option("batch", smoke ? "2" : "32")),
    size: Number(option("size", smoke ? "32" : "224")),
    classes: Number(option("classes", smoke ? "10" : "1000")),
    mixedPrecision: flag("mixed-precision") ? "float16" : undefined,
  };
  if (flag("check")) {
    // Small enough for any machine, large enough that batch norm's batches are well posed.
    const small = { ...config, batch: Number(option("batch", "4")), size: Number(option("size", "32")), classes: 10 };
    console.log(JSON.stringify(await check(small)));
    return;
  }
  const steps = Number(option("steps", smoke ? "2" : "20"));
  const warmup = Number(option("warmup", smoke ? "1" : "3"));
  const ep = option("ep", "webgpu") as ExecutionProvider;
  console.log(JSON.stringify(await timeSteps(config, ep, steps, warmup)));
}

main().catch((err) => {
  console.log(JSON.stringify({ impl: "slimtrain", net: option("net", "vgg_16"), error: String((err as Error).message ?? err).split("\n")[0] }));
  process.exitCode = 1;
});
