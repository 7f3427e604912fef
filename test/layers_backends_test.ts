// The layers slim's newer nets need, in one tiny NHWC train step: conv2d with
// batchNorm as its normalizer, relu6, separableConv2d (depth multiplier 2),
// conv2dTranspose, avgPool2d, dropout with a noise shape, layerNorm and a dense
// layer. On onnxruntime-node's WebGPU EP (CPU fallback refused, as the runtime sets
// for GPU EPs) and on onnxruntime-web's wasm EP, the losses, the trained variables
// and the moving statistics match the CPU EP's.
import "../src/ops/mod.ts";
import { Graph } from "../src/graph/graph.ts";
import { placeholder } from "../src/graph/variable.ts";
import { varianceScalingInitializer } from "../src/graph/initializers.ts";
import { reduceMean, softmaxCrossEntropyWithLogits } from "../src/ops/mod.ts";
import {
  argScope, avgPool2d, batchNorm, conv2d, conv2dTranspose, dropout, flatten, fullyConnected, layerNorm, relu6, separableConv2d,
} from "../src/layers/mod.ts";
import { createTrainOp } from "../src/learning/create_train_op.ts";
import { TrainSession } from "../src/learning/train_session.ts";
import { momentum } from "../src/learning/optimizers/mod.ts";
import { createRuntime } from "../src/runtime/create.ts";
import type { HostTensor } from "../src/graph/host_tensor.ts";
import { assert, assertClose, randomArray, test } from "./harness.ts";
import { webgpuUnavailable } from "./webgpu_probe.ts";

function build() {
  const g = new Graph();
  return g.asDefault(() => {
    const images = placeholder([4, 6, 6, 3], "float32", "images");
    const labels = placeholder([4, 5], "float32", "labels");
    const bn = { normalizerFn: batchNorm, normalizerParams: { scale: true, decay: 0.9 }, weightsInitializer: varianceScalingInitializer() };
    const logits = argScope([conv2d, separableConv2d, conv2dTranspose], bn, () => {
      let net = conv2d(images, 4, [3, 3], { activationFn: relu6, scope: "conv1" });
      net = separableConv2d(net, 6, [3, 3], { depthMultiplier: 2, stride: 2, scope: "sep" });
      net = conv2dTranspose(net, 3, [3, 3], { stride: 2, scope: "up" });
      net = avgPool2d(net, [3, 3], { stride: 3, padding: "VALID" });
      net = dropout(net, { keepProb: 0.8, noiseShape: [4, 1, 1, 3] });
      return fullyConnected(layerNorm(flatten(net)), 5, { activationFn: null, scope: "logits" });
    });
    return createTrainOp(reduceMean(softmaxCrossEntropyWithLogits(logits, labels)), momentum({ learningRate: 0.05, momentum: 0.9 }));
  });
}

function batch(step: number): Record<string, HostTensor> {
  const labels = new Float32Array(20);
  for (let i = 0; i < 4; i++) labels[i * 5 + ((i + step) % 5)] = 1;
  return {
    images: { dtype: "float32", shape: [4, 6, 6, 3], data: randomArray(432, 90 + step) },
    labels: { dtype: "float32", shape: [4, 5], data: labels },
  };
}

/** Two steps on `ep` from the same start: the losses and every variable after them. */
async function train(ep: "cpu" | "wasm" | "webgpu"): Promise<{ losses: number[]; state: Map<string, HostTensor> }> {
  const runtime = await createRuntime({ executionProvider: ep });
  const session = await TrainSession.create(build(), { runtime, seed: 4 });
  try {
    session.initialize();
    const losses: number[] = [];
    for (let s = 0; s < 2; s++) losses.push((await session.run(batch(s))).loss);
    return { losses, state: await session.readState() };
  } finally {
    await session.release();
  }
}

function assertSameRun(actual: Awaited<ReturnType<typeof train>>, expected: Awaited<ReturnType<typeof train>>): void {
  assertClose(actual.losses, expected.losses, { rtol: 1e-4, atol: 1e-5, message: "losses" });
  assert(expected.state.has("sep/BatchNorm/moving_variance"), "moving statistics are state");
  for (const [n, t] of expected.state) assertClose(actual.state.get(n)!.data as Float32Array, t.data as Float32Array, { rtol: 1e-3, atol: 1e-5, message: n });
}

test("[backend onnxruntime-web wasm] batchNorm, separableConv2d, conv2dTranspose, avgPool2d, relu6 and layerNorm train steps match the CPU EP", async () => {
  assertSameRun(await train("wasm"), await train("cpu"));
});

const reason = await webgpuUnavailable();
const name = "[backend onnxruntime-node webgpu] batchNorm, separableConv2d, conv2dTranspose, avgPool2d, relu6 and layerNorm train steps match the CPU EP";
if (reason) {
  test.skip(name, reason);
} else {
  test(name, async () => {
    assertSameRun(await train("webgpu"), await train("cpu"));
  });
}
