import { assert, assertClose, assertEquals, assertThrows, test } from "../../test/harness.ts";
import { Graph } from "../graph/graph.ts";
import { hostTensor } from "../graph/host_tensor.ts";
import type { Tensor } from "../graph/tensor.ts";
import { placeholder } from "../graph/variable.ts";
import { argScope, conv2d } from "../layers/mod.ts";
import { evaluate } from "../runtime/evaluate.ts";
import { conv2dSame, resnetArgScope, resnetBlock } from "./resnet_utils.ts";
import { bottleneckV1, resnetV1, resnetV1_50 } from "./resnet_v1.ts";
import { resnetV2_50 } from "./resnet_v2.ts";

function build<T>(fn: (g: Graph) => T): { g: Graph; out: T } {
  const g = new Graph();
  return { g, out: g.asDefault(() => argScope(resnetArgScope(), () => fn(g))) };
}

test("resnetV1_50() returns slim's end points in NHWC: every conv, unit and block, global_pool, logits, predictions", () => {
  const { out: [logits, endPoints] } = build(() => resnetV1_50(placeholder([2, 64, 64, 3], "float32", "images"), { numClasses: 10 }));
  const keys = [...endPoints.keys()];
  assertEquals(keys.slice(0, 7), [
    "resnet_v1_50/conv1",
    "resnet_v1_50/block1/unit_1/bottleneck_v1/shortcut",
    "resnet_v1_50/block1/unit_1/bottleneck_v1/conv1",
    "resnet_v1_50/block1/unit_1/bottleneck_v1/conv2",
    "resnet_v1_50/block1/unit_1/bottleneck_v1/conv3",
    "resnet_v1_50/block1/unit_1/bottleneck_v1",
    "resnet_v1_50/block1/unit_2/bottleneck_v1/conv1",
  ]);
  assertEquals(keys.slice(-4), ["global_pool", "resnet_v1_50/logits", "resnet_v1_50/spatial_squeeze", "predictions"]);
  // 64×64: conv1 /2, pool1 /2, then blocks 1-3 stride in their last unit.
  assertEquals(endPoints.get("resnet_v1_50/conv1")!.shape, [2, 32, 32, 64]);
  assertEquals(endPoints.get("resnet_v1_50/block1/unit_3/bottleneck_v1/conv2")!.shape, [2, 8, 8, 64]);
  assertEquals(endPoints.get("resnet_v1_50/block1")!.shape, [2, 8, 8, 256]);
  assertEquals(endPoints.get("resnet_v1_50/block4")!.shape, [2, 2, 2, 2048]);
  assertEquals(endPoints.get("global_pool")!.shape, [2, 1, 1, 2048]);
  assertEquals(endPoints.get("resnet_v1_50/logits")!.shape, [2, 1, 1, 10]);
  assert(endPoints.get("resnet_v1_50/spatial_squeeze") === logits);
  assertEquals(logits.shape, [2, 10]);
});

test("resnetV1_50() with outputStride 8 keeps block4 at 1/8 resolution by atrous convolution; unreachable strides fail", async () => {
  const { g, out: [net] } = build(() =>
    resnetV1_50(placeholder([1, 64, 64, 3], "float32", "images"), { numClasses: null, globalPool: false, outputStride: 8 }));
  assertEquals(net.shape, [1, 8, 8, 2048]);
  const dilated = g.nodes.filter((n) => n.op === "Conv2D" && (n.attrs as { dilations?: number[] }).dilations?.some((d) => d > 1));
  assert(dilated.length > 0, "expected dilated convolutions after the target stride");
  await assertThrows(() => build(() => resnetV1_50(placeholder([1, 64, 64, 3], "float32", "x"), { outputStride: 6 })), "outputStride must be a multiple of 4");
  await assertThrows(() => build(() => resnetV1_50(placeholder([1, 64, 64, 3], "float32", "x"), { outputStride: 12 })), "cannot be reached");
});

test("resnetV2_50() pre-activates: conv1 has biases and no batch norm, units have preact, the net ends in postnorm", () => {
  const { g, out: [logits, endPoints] } = build(() => resnetV2_50(placeholder([1, 64, 64, 3], "float32", "images"), { numClasses: 5 }));
  assert(g.variables.has("resnet_v2_50/conv1/biases") && !g.variables.has("resnet_v2_50/conv1/BatchNorm/beta"));
  assertEquals(g.variables.get("resnet_v2_50/block1/unit_1/bottleneck_v2/preact/gamma")!.shape, [64]);
  assertEquals(g.variables.get("resnet_v2_50/block2/unit_1/bottleneck_v2/preact/gamma")!.shape, [256]);
  assert(g.variables.has("resnet_v2_50/block1/unit_1/bottleneck_v2/conv3/biases"));
  assertEquals(g.variables.get("resnet_v2_50/postnorm/moving_variance")!.shape, [2048]);
  assertEquals(endPoints.get("resnet_v2_50/block4")!.shape, [1, 2, 2, 2048]);
  assertEquals(logits.shape, [1, 5]);
});

test("resnetV1() builds custom blocks with bottleneckV1 and rejects a non-NHWC input", async () => {
  const blocks = [resnetBlock("block1", bottleneckV1, 8, 2, 2), resnetBlock("block2", bottleneckV1, 16, 1, 1)];
  const { g, out: [logits] } = build(() => resnetV1(placeholder([1, 32, 32, 3], "float32", "images"), blocks, { numClasses: 3, scope: "tiny" }));
  assertEquals(logits.shape, [1, 3]);
  assertEquals(g.variables.get("tiny/block2/unit_1/bottleneck_v1/shortcut/weights")!.shape, [1, 1, 32, 64]);
  assert(!g.variables.has("tiny/block1/unit_2/bottleneck_v1/shortcut/weights"), "same-depth units subsample instead of projecting");
  await assertThrows(() => build(() => resnetV1_50(placeholder([64, 64, 3], "float32", "x"))), "resnet_v1_50: inputs must be rank 4 NHWC");
});

test("conv2dSame() pads a strided convolution (k-1)/2 before and the rest after, unlike TF's SAME on even maps", async () => {
  // A 3×3 filter that reads only its top-left tap shows where the window starts.
  const weights = new Float32Array(9);
  weights[0] = 1;
  const image = hostTensor("float32", [1, 4, 4, 1], Float32Array.from({ length: 16 }, (_, i) => i + 1));
  const run = async (fn: (x: Tensor) => Tensor) => {
    const g = new Graph();
    const y = g.asDefault(() => argScope(resnetArgScope({ useBatchNorm: false, activationFn: null }), () => fn(placeholder([1, 4, 4, 1], "float32", "images"))));
    const out = await evaluate({ y }, { feeds: { images: image }, variables: { "conv/weights": hostTensor("float32", [3, 3, 1, 1], weights), "conv/biases": hostTensor("float32", [1], new Float32Array(1)) } });
    return Array.from(out.y.data as Float32Array);
  };
  // Explicit padding of 1 before: output (0, 0) reads the padding, (0, 1) reads input (0, 1).
  assertClose(await run((x) => conv2dSame(x, 1, 3, 2, { scope: "conv" })), [0, 0, 0, 6]);
  // TF's SAME on a 4×4 map pads 0 before and 1 after: output (0, 0) reads input (0, 0).
  assertClose(await run((x) => conv2d(x, 1, 3, { stride: 2, padding: "SAME", scope: "conv" })), [1, 3, 9, 11]);
});
