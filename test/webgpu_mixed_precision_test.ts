// Mixed precision on onnxruntime-node's WebGPU EP, CPU fallback refused: with
// float16 rounding emulated the step matches the CPU EP's emulated step and keeps
// its state (loss scale included) in GPU buffers; asking for float16 kernels on an
// adapter without shader-f16 (SwiftShader) is refused up front with the reason.
import "../src/ops/mod.ts";
import { Graph } from "../src/graph/graph.ts";
import type { HostTensor } from "../src/graph/host_tensor.ts";
import { placeholder } from "../src/graph/variable.ts";
import { conv2d, flatten, fullyConnected, maxPool2d } from "../src/layers/mod.ts";
import { createTrainOp } from "../src/learning/create_train_op.ts";
import { momentum } from "../src/learning/optimizers/mod.ts";
import { TrainSession } from "../src/learning/train_session.ts";
import { sparseSoftmaxCrossEntropy } from "../src/losses/mod.ts";
import { createRuntime } from "../src/runtime/create.ts";
import { float16Unsupported } from "../src/runtime/float16_support.ts";
import { assert, assertClose, assertEquals, assertThrows, randomArray, test } from "./harness.ts";
import { webgpuUnavailable } from "./webgpu_probe.ts";

function build() {
  const g = new Graph();
  return g.asDefault(() => {
    const images = placeholder([4, 8, 8, 3], "float32", "images");
    const labels = placeholder([4], "int32", "labels");
    let h = conv2d(images, 8, [3, 3], { scope: "conv1" });
    h = maxPool2d(conv2d(h, 8, [3, 3], { scope: "conv2" }), [2, 2]);
    const logits = fullyConnected(flatten(h), 5, { scope: "fc", activationFn: null });
    return createTrainOp(sparseSoftmaxCrossEntropy(logits, labels), momentum({ learningRate: 0.05, momentum: 0.9 }), {
      mixedPrecision: "float16",
    });
  });
}

function batch(step: number): Record<string, HostTensor> {
  return {
    images: { dtype: "float32", shape: [4, 8, 8, 3], data: randomArray(768, 70 + step) },
    labels: { dtype: "int32", shape: [4], data: Int32Array.from([0, 1, 2, 3], (i) => (i + step) % 5) },
    global_step: { dtype: "float32", shape: [], data: new Float32Array([step]) },
  };
}

const reason = await webgpuUnavailable();
const EMULATED = "[backend onnxruntime-node webgpu] mixed precision with emulated float16 matches the CPU EP, state on the GPU";
const NATIVE = "[backend onnxruntime-node webgpu] mixed precision with float16 kernels runs, or is refused up front without shader-f16";
if (reason) {
  test.skip(EMULATED, reason);
  test.skip(NATIVE, reason);
} else {
  test(EMULATED, async () => {
    const steps = 4;
    const runs: { losses: number[]; state: Map<string, HostTensor> }[] = [];
    for (const ep of ["cpu", "webgpu"] as const) {
      const runtime = await createRuntime({ executionProvider: ep });
      const session = await TrainSession.create(build(), { runtime, seed: 3, float16Compute: "emulate" });
      session.initialize();
      const before = { ...runtime.transfers };
      const losses: number[] = [];
      for (let s = 0; s < steps; s++) losses.push((await session.run(batch(s))).loss);
      if (ep === "webgpu") {
        assertEquals(session.state.get("loss_scale/current_loss_scale")?.location, "gpu-buffer", "loss scale location");
        assertEquals(runtime.transfers.toHost - before.toHost, steps, "only the losses came back");
      }
      runs.push({ losses, state: await session.readState() });
      await session.release();
    }
    const [cpu, gpu] = runs;
    // Sums run in another order on the GPU, so a value can land one float16 step away.
    assertClose(gpu.losses, cpu.losses, { rtol: 3e-3, atol: 1e-4, message: "losses" });
    for (const [n, t] of cpu.state) assertClose(gpu.state.get(n)!.data as Float32Array, t.data as Float32Array, { rtol: 1e-2, atol: 1e-3, message: n });
    assert(cpu.losses.every(Number.isFinite), `finite losses ${cpu.losses}`);
  });

  test(NATIVE, async () => {
    const runtime = await createRuntime({ executionProvider: "webgpu" });
    const why = await float16Unsupported(runtime);
    if (why) {
      await assertThrows(() => TrainSession.create(build(), { runtime }), "cannot compute in float16 here");
      assert(/f16/.test(why), `the reason names float16 support: ${why}`);
      return;
    }
    const session = await TrainSession.create(build(), { runtime, seed: 3 });
    session.initialize();
    const losses: number[] = [];
    for (let s = 0; s < 3; s++) losses.push((await session.run(batch(s))).loss);
    await session.release();
    assert(losses.every(Number.isFinite), `float16 kernels give finite losses: ${losses}`);
  });
}
