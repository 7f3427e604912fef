// A small VGG-shaped train step on onnxruntime-node's WebGPU EP (a real GPU, or
// SwiftShader on a CPU-only machine) agrees with the CPU EP step for step, with
// parameters kept in GPU buffers: per step only the batch, noise and step go up
// and only the loss comes down.
import "../src/ops/mod.ts";
import { Graph } from "../src/graph/graph.ts";
import { placeholder, variable } from "../src/graph/variable.ts";
import { varianceScalingInitializer, zerosInitializer } from "../src/graph/initializers.ts";
import {
  biasAddNCHW, conv2dNCHW, dropout, maxPool2dNCHW, reduceMean, relu, reshape, matmul, softmaxCrossEntropyWithLogits,
} from "../src/ops/mod.ts";
import { createTrainOp } from "../src/learning/create_train_op.ts";
import { TrainSession } from "../src/learning/train_session.ts";
import { momentum } from "../src/learning/optimizers/mod.ts";
import { createRuntime } from "../src/runtime/create.ts";
import type { HostTensor } from "../src/graph/host_tensor.ts";
import { assert, assertClose, assertEquals, randomArray, test } from "./harness.ts";
import { webgpuUnavailable } from "./webgpu_probe.ts";

function build() {
  const g = new Graph();
  return g.asDefault(() => {
    const images = placeholder([4, 3, 8, 8], "float32", "images");
    const labels = placeholder([4, 5], "float32", "labels");
    const he = varianceScalingInitializer();
    const w1 = variable("conv1/weights", { shape: [8, 3, 3, 3], initializer: he });
    const b1 = variable("conv1/biases", { shape: [8], initializer: zerosInitializer() });
    const w2 = variable("conv2/weights", { shape: [8, 8, 3, 3], initializer: he });
    const fc = variable("fc/weights", { shape: [8 * 4 * 4, 5], initializer: he });
    let h = relu(biasAddNCHW(conv2dNCHW(images, w1.value), b1.value));
    h = maxPool2dNCHW(relu(conv2dNCHW(h, w2.value)), [2, 2]);
    h = dropout(reshape(h, [4, 128]), 0.75);
    const loss = reduceMean(softmaxCrossEntropyWithLogits(matmul(h, fc.value), labels));
    return createTrainOp(loss, momentum({ learningRate: 0.05, momentum: 0.9 }));
  });
}

function batch(step: number): Record<string, HostTensor> {
  const labels = new Float32Array(20);
  for (let i = 0; i < 4; i++) labels[i * 5 + ((i + step) % 5)] = 1;
  return {
    images: { dtype: "float32", shape: [4, 3, 8, 8], data: randomArray(768, 50 + step) },
    labels: { dtype: "float32", shape: [4, 5], data: labels },
  };
}

const reason = await webgpuUnavailable();
const name = "[backend onnxruntime-node webgpu] train steps on WebGPU match the CPU EP and keep parameters on the GPU";
if (reason) {
  test.skip(name, reason);
} else {
  test(name, async () => {
    const steps = 6;
    const runs: { losses: number[]; state: Map<string, HostTensor> }[] = [];
    for (const ep of ["cpu", "webgpu"] as const) {
      const runtime = await createRuntime({ executionProvider: ep });
      const session = await TrainSession.create(build(), { runtime, seed: 3 });
      session.initialize();
      const before = { ...runtime.transfers };
      const losses: number[] = [];
      for (let s = 0; s < steps; s++) losses.push((await session.run(batch(s))).loss);
      if (ep === "webgpu") {
        for (const [n, v] of session.state) if (n.endsWith("weights")) assertEquals(v.location, "gpu-buffer", `${n} location`);
        // Up: images, labels and dropout noise each step (no schedule reads the step); down: the loss only.
        const perStep = session.model.inputs.filter((i) => i.kind !== "variable").length;
        assertEquals(perStep, 3, "non-variable inputs");
        assertEquals(runtime.transfers.fromHost - before.fromHost, steps * perStep, "values sent to the device");
        assertEquals(runtime.transfers.toHost - before.toHost, steps, "values read back");
        assert(runtime.transfers.toHostBytes - before.toHostBytes === steps * 4, "only 4-byte losses came back");
      }
      runs.push({ losses, state: await session.readState() });
      await session.release();
    }
    const [cpu, gpu] = runs;
    assertClose(gpu.losses, cpu.losses, { rtol: 1e-4, atol: 1e-5, message: "losses" });
    for (const [n, t] of cpu.state) assertClose(gpu.state.get(n)!.data as Float32Array, t.data as Float32Array, { rtol: 1e-3, atol: 1e-5, message: n });
  });
}
