/**
 * The train steps of slim's VGG-16, ResNet-50 (resnet_v1_50) and MobileNet v2 on
 * onnxruntime-node's WebGPU EP with CPU fallback refused (a real GPU, or
 * SwiftShader on a CPU-only machine). Each step (forward, gradients, momentum
 * update and, for the batch-norm nets, the moving averages) is built through the
 * public API, and a WebGPU session for it must be created: under
 * `disable_cpu_ep_fallback` that succeeds only if every node has a WebGPU kernel,
 * which the control case shows by failing on an op that has none. Where a step is
 * affordable on SwiftShader it also runs and must match the CPU EP, with only the
 * batch going up and the loss coming down. These are whole nets, so the file runs
 * under Node only (Deno and Bun would repeat the same WebGPU work).
 * @module
 */
import { Graph } from "../src/graph/graph.ts";
import type { HostTensor } from "../src/graph/host_tensor.ts";
import type { Tensor } from "../src/graph/tensor.ts";
import { placeholder } from "../src/graph/variable.ts";
import { argScope } from "../src/layers/mod.ts";
import { createTrainOp, type TrainOp } from "../src/learning/create_train_op.ts";
import { momentum } from "../src/learning/optimizers/mod.ts";
import { TrainSession } from "../src/learning/train_session.ts";
import { getTotalLoss, softmaxCrossEntropy } from "../src/losses/mod.ts";
import { getNetworkFn, type NetResult, vgg16, vggArgScope } from "../src/nets/mod.ts";
import { makeModel, makeNode, makeValueInfo } from "../src/onnx/builder.ts";
import { compileModel, updatedName } from "../src/onnx/compile.ts";
import { gradients } from "../src/autodiff/gradients.ts";
import { maxPool2dNCHW, mul, reduceSum } from "../src/ops/mod.ts";
import { createRuntime } from "../src/runtime/create.ts";
import { evaluate } from "../src/runtime/evaluate.ts";
import type { Runtime } from "../src/runtime/types.ts";
import { assert, assertClose, assertEquals, assertThrows, randomArray, runtimeName, test } from "./harness.ts";
import { webgpuUnavailable } from "./webgpu_probe.ts";

const CLASSES = 10;

/** A net as the tests build it: the smallest input it takes, and whether its step runs here. */
interface NetCase {
  size: number;
  batch: number;
  build(images: Tensor): NetResult;
  /**
   * Run one step on SwiftShader and compare with the CPU EP. VGG-16's and
   * ResNet-50's steps take minutes there (ResNet-50: 1.5-4 min; bench/gpu runs
   * them on a GPU), so for them the test builds the session, which is what proves
   * that no node falls back.
   */
  runStep: boolean;
  /** Variables whose one-step change is compared (first layer, a moving mean, the logits). */
  watch: string[];
}

const NETS: Record<string, NetCase> = {
  // At 32x32 fc6 meets a 1x1 map; SAME padding keeps its 7x7 kernel (as slim's own option does).
  vgg_16: {
    size: 32,
    batch: 2,
    build: (images) => argScope(vggArgScope(), () => vgg16(images, { numClasses: CLASSES, isTraining: true, fcConvPadding: "SAME" })),
    // Its 134M parameters (fc6 alone 103M) take over ten minutes a step on SwiftShader.
    runStep: false,
    watch: [],
  },
  // Batch 4: with 2 images a 1x1 map's batch norm sees 2 values per channel and its
  // output is ±1 by which is larger, so rounding flips signs; 4 keep it well posed.
  resnet_v1_50: {
    size: 32,
    batch: 4,
    build: (images) => getNetworkFn("resnet_v1_50", { numClasses: CLASSES, isTraining: true })(images),
    runStep: false,
    watch: [],
  },
  mobilenet_v2: {
    size: 32,
    batch: 4,
    build: (images) => getNetworkFn("mobilenet_v2", { numClasses: CLASSES, isTraining: true })(images),
    runStep: true,
    watch: ["MobilenetV2/Conv/weights", "MobilenetV2/Conv/BatchNorm/moving_mean", "MobilenetV2/Logits/Conv2d_1c_1x1/weights"],
  },
};

function buildStep(net: NetCase): TrainOp {
  const graph = new Graph();
  return graph.asDefault(() => {
    const images = placeholder([net.batch, net.size, net.size, 3], "float32", "images");
    const labels = placeholder([net.batch, CLASSES], "float32", "labels");
    const [logits] = net.build(images);
    softmaxCrossEntropy(logits, labels);
    return createTrainOp(getTotalLoss(), momentum({ learningRate: 0.01, momentum: 0.9 }));
  });
}

function batch(net: NetCase): Record<string, HostTensor> {
  const labels = new Float32Array(net.batch * CLASSES);
  for (let i = 0; i < net.batch; i++) labels[i * CLASSES + ((3 * i + 1) % CLASSES)] = 1;
  const shape = [net.batch, net.size, net.size, 3];
  return {
    images: { dtype: "float32", shape, data: randomArray(shape.reduce((a, b) => a * b), 16) },
    labels: { dtype: "float32", shape: [net.batch, CLASSES], data: labels },
  };
}

/** ‖a − b‖ / ‖b‖. */
function relativeError(a: Float32Array, b: Float32Array): number {
  let num = 0, den = 0;
  for (let i = 0; i < b.length; i++) {
    num += (a[i] - b[i]) ** 2;
    den += b[i] ** 2;
  }
  return Math.sqrt(num / den);
}

/** What one step did: its loss and how far each watched variable moved. */
interface StepOutcome {
  loss: number;
  moves: Map<string, Float32Array>;
}

async function oneStep(trainOp: TrainOp, net: NetCase, runtime: Runtime, countTransfers: boolean): Promise<StepOutcome> {
  const session = await TrainSession.create(trainOp, { runtime, seed: 5 });
  try {
    session.initialize();
    const read = async (name: string) => {
      const value = session.state.get(name);
      assert(value, `the step has no variable ${name}`);
      return (await runtime.toHost(value)).data as Float32Array;
    };
    const before = new Map<string, Float32Array>();
    for (const name of net.watch) before.set(name, await read(name));
    const sent = { ...runtime.transfers };
    const { loss } = await session.run(batch(net));
    if (countTransfers) {
      for (const [name, value] of session.state) assertEquals(value.location, "gpu-buffer", `${name} stays on the GPU`);
      // Up: the batch (and dropout noise where the net has dropout); down: the 4-byte loss.
      const perStep = session.model.inputs.filter((i) => i.kind !== "variable");
      assert(perStep.every((i) => i.kind === "placeholder" || i.kind === "noise"), `per-step inputs: ${perStep.map((i) => i.name)}`);
      assertEquals(runtime.transfers.fromHost - sent.fromHost, perStep.length, "values sent to the device in one step");
      assertEquals(runtime.transfers.toHost - sent.toHost, 1, "values read back in one step");
      assertEquals(runtime.transfers.toHostBytes - sent.toHostBytes, 4, "bytes read back in one step");
    }
    const moves = new Map<string, Float32Array>();
    for (const name of net.watch) {
      const after = await read(name), start = before.get(name)!;
      moves.set(name, after.map((v, i) => v - start[i]));
    }
    return { loss, moves };
  } finally {
    await session.release();
  }
}

const reason = runtimeName().startsWith("node") ? await webgpuUnavailable() : "Node only: the same WebGPU work as under Node";

function webgpuTest(name: string, fn: () => Promise<void>): void {
  const full = `[backend onnxruntime-node webgpu] ${name}`;
  if (reason) test.skip(full, reason);
  else test(full, fn);
}

webgpuTest("a session with a node the WebGPU EP lacks (LogSoftmax) is refused, not run on the CPU", async () => {
  const runtime = await createRuntime({ executionProvider: "webgpu" });
  const model = makeModel({
    name: "fallback_control",
    nodes: [makeNode("LogSoftmax", ["x"], ["y"], { axis: 1 })],
    inputs: [makeValueInfo("x", "float32", [2, 3])],
    outputs: [makeValueInfo("y", "float32", [2, 3])],
    initializers: [],
  });
  await assertThrows(() => runtime.createSession(model), "CPU fallback is off");
});

/** Reference max-pool gradient on [2, 3, 9, 9] at stride 2: each window's dy goes to its first maximum in row-major order. */
function firstMaxRouting(x: Float32Array, dy: Float32Array, kernel: number, padBefore: number): Float32Array {
  const dx = new Float32Array(x.length);
  for (let plane = 0; plane < 6; plane++) {
    for (let oh = 0; oh < 5; oh++) {
      for (let ow = 0; ow < 5; ow++) {
        let best = -1;
        for (let i = 0; i < kernel; i++) {
          for (let j = 0; j < kernel; j++) {
            const r = 2 * oh + i - padBefore, c = 2 * ow + j - padBefore;
            if (r < 0 || c < 0 || r >= 9 || c >= 9) continue;
            const at = plane * 81 + r * 9 + c;
            if (best < 0 || x[at] > x[best]) best = at;
          }
        }
        dx[best] += dy[plane * 25 + oh * 5 + ow];
      }
    }
  }
  return dx;
}

webgpuTest("maxPool2d gradients of ResNet's windows (3x3 stride 2 SAME, 1x1 stride 2) route dy to each window's first maximum (ties included) on the CPU EP and on WebGPU", async () => {
  const graph = new Graph();
  const fetches = graph.asDefault(() => {
    const x = placeholder([2, 3, 9, 9], "float32", "x");
    const w = placeholder([2, 3, 5, 5], "float32", "w");
    const pool = maxPool2dNCHW(x, [3, 3], { strides: [2, 2], padding: "SAME" });
    const subsample = maxPool2dNCHW(x, [1, 1], { strides: [2, 2] });
    return { dPool: gradients(reduceSum(mul(pool, w)), [x])[0]!, dSubsample: gradients(reduceSum(mul(subsample, w)), [x])[0]! };
  });
  const x = randomArray(486, 21);
  for (let i = 0; i < x.length; i += 7) x[i] = 0.5; // ties: the first maximum in the window takes the gradient
  const feeds = {
    x: { dtype: "float32" as const, shape: [2, 3, 9, 9], data: x },
    w: { dtype: "float32" as const, shape: [2, 3, 5, 5], data: randomArray(150, 22) },
  };
  const cpu = await evaluate(fetches, { feeds, runtime: await createRuntime({ executionProvider: "cpu" }) });
  const gpu = await evaluate(fetches, { feeds, runtime: await createRuntime({ executionProvider: "webgpu" }) });
  const want = { dPool: firstMaxRouting(x, feeds.w.data, 3, 1), dSubsample: firstMaxRouting(x, feeds.w.data, 1, 0) };
  for (const k of ["dPool", "dSubsample"] as const) {
    assertClose(cpu[k].data as Float32Array, want[k], { rtol: 1e-6, atol: 1e-7, message: `${k} on the CPU EP` });
    assertClose(gpu[k].data as Float32Array, want[k], { rtol: 1e-5, atol: 1e-6, message: `${k} on WebGPU` });
  }
});

for (const [name, net] of Object.entries(NETS)) {
  webgpuTest(`${name} train step (${net.batch}x${net.size}x${net.size}x3, momentum${name === "vgg_16" ? "" : ", batch-norm moving averages"}) builds on WebGPU with CPU fallback refused`, async () => {
    const trainOp = buildStep(net);
    const model = compileModel({ name: "training_step", fetches: { loss: trainOp.totalLoss }, updates: trainOp.updates });
    const runtime = await createRuntime({ executionProvider: "webgpu" });
    const session = await runtime.createSession(model.bytes, { keepOnDevice: trainOp.updates.map((u) => updatedName(u.variable)) });
    await session.release();
    if (name !== "vgg_16") assert(trainOp.updates.some((u) => u.variable.name.endsWith("BatchNorm/moving_mean")), "the step updates moving means");
  });

  if (!net.runStep) continue;
  webgpuTest(`${name} train step on WebGPU matches the CPU EP (loss, moved parameters) and keeps its state on the GPU`, async () => {
    const trainOp = buildStep(net);
    const cpu = await oneStep(trainOp, net, await createRuntime({ executionProvider: "cpu", intraOpNumThreads: 2 }), false);
    const gpu = await oneStep(trainOp, net, await createRuntime({ executionProvider: "webgpu" }), true);
    assert(Math.abs(gpu.loss - cpu.loss) <= 1e-4 * Math.abs(cpu.loss) + 1e-5, `loss: WebGPU ${gpu.loss}, CPU ${cpu.loss}`);
    for (const [variable, move] of cpu.moves) {
      // Rounding differences grow through 16-50 layers and tiny batch-norm batches: a
      // wrong gradient or update would be off by O(1), these are within 1e-3.
      const error = relativeError(gpu.moves.get(variable)!, move);
      assert(error <= 2e-3, `${variable}: the WebGPU step moved it ${error.toExponential(2)} (relative) away from the CPU step`);
    }
  });
}
