import { assert, assertEquals, assertThrows, test } from "../../test/harness.ts";
import { Graph, GraphKeys } from "../graph/graph.ts";
import { placeholder } from "../graph/variable.ts";
import { type ArgScope, argScope } from "../layers/mod.ts";
import { mobilenetV1, mobilenetV1_025, mobilenetV1ArgScope, mobilenetV1Base } from "./mobilenet_v1.ts";
import { makeDivisible, mobilenetV2, mobilenetV2_035, trainingScope } from "./mobilenet_v2.ts";
import type { NetResult } from "./net_utils.ts";

function build(scope: ArgScope, fn: () => NetResult): { g: Graph; out: NetResult } {
  const g = new Graph();
  return { g, out: g.asDefault(() => argScope(scope, fn)) };
}

test("makeDivisible() rounds to the divisor and never loses more than 10%", () => {
  assertEquals(makeDivisible(32 * 0.35, 8), 16);
  assertEquals(makeDivisible(96 * 1.4, 8), 136);
  assertEquals(makeDivisible(16 * 6, 8), 96);
  assertEquals(makeDivisible(3, 8), 8);
  assertEquals(makeDivisible(32, 1), 32);
});

test("mobilenetV2() returns slim's layer end points, with expansion only where the block widens", () => {
  const { out: [logits, endPoints] } = build(trainingScope(), () => mobilenetV2(placeholder([2, 64, 64, 3], "float32", "images"), { numClasses: 10 }));
  assertEquals(endPoints.get("layer_1")!.shape, [2, 32, 32, 32]);
  assert(!endPoints.has("layer_2/expansion_output"), "the first block expands by 1: no expansion convolution");
  assertEquals(endPoints.get("layer_2/depthwise_output")!.shape, [2, 32, 32, 32]);
  assertEquals(endPoints.get("layer_2/output")!.shape, [2, 32, 32, 16]);
  assertEquals(endPoints.get("layer_3/expansion_output")!.shape, [2, 32, 32, 96]);
  assertEquals(endPoints.get("layer_3/depthwise_output")!.shape, [2, 16, 16, 96]);
  assertEquals(endPoints.get("layer_18/output")!.shape, [2, 2, 2, 320]);
  assertEquals(endPoints.get("layer_19")!.shape, [2, 2, 2, 1280]);
  assertEquals(endPoints.get("global_pool")!.shape, [2, 1, 1, 1280]);
  assert(endPoints.get("Logits") === logits);
  assertEquals(logits.shape, [2, 10]);
  assertEquals(endPoints.get("Predictions")!.shape, [2, 10]);
});

test("mobilenetV2() is in evaluation mode unless trainingScope() says otherwise, as slim", () => {
  const plain = build(new Map(), () => mobilenetV2(placeholder([1, 32, 32, 3], "float32", "images")));
  assertEquals(plain.g.getCollection(GraphKeys.UPDATE_OPS).length, 0);
  assertEquals(plain.out[0].shape, [1, 1001], "slim's default of 1001 classes");
  const training = build(trainingScope(), () => mobilenetV2(placeholder([1, 32, 32, 3], "float32", "images")));
  // 52 batch norms, each updating its moving mean and variance.
  assertEquals(training.g.getCollection(GraphKeys.UPDATE_OPS).length, 104);
  const explicit = build(trainingScope(), () => mobilenetV2(placeholder([1, 32, 32, 3], "float32", "images"), { isTraining: false }));
  assertEquals(explicit.g.getCollection(GraphKeys.UPDATE_OPS).length, 0);
});

test("mobilenetV2_035() thins every layer but keeps the last convolution at 1280 (finegrain mode)", () => {
  const { g } = build(trainingScope(), () => mobilenetV2_035(placeholder([1, 32, 32, 3], "float32", "images"), { numClasses: 10 }));
  assertEquals(g.variables.get("MobilenetV2/Conv/weights")!.shape, [3, 3, 3, 16]);
  assertEquals(g.variables.get("MobilenetV2/expanded_conv/project/weights")!.shape, [1, 1, 16, 8]);
  assertEquals(g.variables.get("MobilenetV2/Conv_1/weights")!.shape, [1, 1, 112, 1280]);
  assertEquals(g.variables.get("MobilenetV2/Logits/Conv2d_1c_1x1/weights")!.shape, [1, 1, 1280, 10]);
});

test("mobilenetV1() returns slim's end points, shrinks the 7×7 average pool for small inputs, pools globally on request", () => {
  const { out: [logits, endPoints] } = build(mobilenetV1ArgScope(), () => mobilenetV1(placeholder([2, 64, 64, 3], "float32", "images"), { numClasses: 10 }));
  const keys = [...endPoints.keys()];
  assertEquals(keys.slice(0, 3), ["Conv2d_0", "Conv2d_1_depthwise", "Conv2d_1_pointwise"]);
  assertEquals(keys.slice(-4), ["Conv2d_13_pointwise", "AvgPool_1a", "Logits", "Predictions"]);
  assertEquals(endPoints.get("Conv2d_13_pointwise")!.shape, [2, 2, 2, 1024]);
  assertEquals(endPoints.get("AvgPool_1a")!.shape, [2, 1, 1, 1024]);
  assertEquals(logits.shape, [2, 10]);
  const pooled = build(mobilenetV1ArgScope(), () => mobilenetV1(placeholder([1, 96, 96, 3], "float32", "images"), { numClasses: null, globalPool: true }));
  assertEquals(pooled.out[0].shape, [1, 1, 1, 1024]);
  assert(pooled.out[1].get("global_pool") === pooled.out[0] && !pooled.g.variables.has("MobilenetV1/Logits/Conv2d_1c_1x1/weights"));
});

test("mobilenetV1_025() applies depth multiplier 0.25 with minDepth 8; mobilenetV1Base() stops at finalEndpoint", async () => {
  const { g } = build(mobilenetV1ArgScope(), () => mobilenetV1_025(placeholder([1, 32, 32, 3], "float32", "images")));
  assertEquals(g.variables.get("MobilenetV1/Conv2d_0/weights")!.shape, [3, 3, 3, 8]);
  assertEquals(g.variables.get("MobilenetV1/Conv2d_1_depthwise/depthwise_weights")!.shape, [3, 3, 8, 1]);
  assertEquals(g.variables.get("MobilenetV1/Conv2d_13_pointwise/weights")!.shape, [1, 1, 256, 256]);
  const base = build(mobilenetV1ArgScope(), () => mobilenetV1Base(placeholder([1, 32, 32, 3], "float32", "images"), { finalEndpoint: "Conv2d_3_depthwise" }));
  assertEquals(base.out[0].shape, [1, 8, 8, 128]);
  assert(!base.g.variables.has("MobilenetV1/Conv2d_3_pointwise/weights"));
  await assertThrows(() => build(mobilenetV1ArgScope(), () => mobilenetV1Base(placeholder([1, 32, 32, 3], "float32", "x"), { finalEndpoint: "Conv2d_99" })), "unknown finalEndpoint Conv2d_99");
});
