import { assert, assertClose, assertEquals, randomArray, test } from "../../test/harness.ts";
import { Graph } from "../graph/graph.ts";
import { hostTensor } from "../graph/host_tensor.ts";
import { placeholder } from "../graph/variable.ts";
import { type ArgScope, argScope } from "../layers/mod.ts";
import { evaluate } from "../runtime/evaluate.ts";
import { alexnetV2, alexnetV2ArgScope } from "./alexnet.ts";
import { cifarnet, cifarnetArgScope, localResponseNormalization } from "./cifarnet.ts";
import { inceptionArgScope } from "./inception_utils.ts";
import { inceptionV1 } from "./inception_v1.ts";
import { inceptionV3 } from "./inception_v3.ts";
import { lenet, lenetArgScope } from "./lenet.ts";
import type { NetResult } from "./net_utils.ts";

function build(scope: ArgScope, fn: () => NetResult): { g: Graph; out: NetResult } {
  const g = new Graph();
  return { g, out: g.asDefault(() => argScope(scope, fn)) };
}

test("inceptionV1() returns slim's end points; globalPool lets small inputs reach [batch, classes]", () => {
  const { out: [logits, endPoints] } = build(inceptionArgScope(), () => inceptionV1(placeholder([1, 224, 224, 3], "float32", "images"), { numClasses: 10 }));
  assertEquals([...endPoints.keys()].slice(0, 6), ["Conv2d_1a_7x7", "MaxPool_2a_3x3", "Conv2d_2b_1x1", "Conv2d_2c_3x3", "MaxPool_3a_3x3", "Mixed_3b"]);
  assertEquals(endPoints.get("Mixed_3b")!.shape, [1, 28, 28, 256]);
  assertEquals(endPoints.get("Mixed_5c")!.shape, [1, 7, 7, 1024]);
  assertEquals(endPoints.get("AvgPool_0a_7x7")!.shape, [1, 1, 1, 1024]);
  assertEquals(logits.shape, [1, 10]);
  const small = build(inceptionArgScope(), () => inceptionV1(placeholder([1, 64, 64, 3], "float32", "images"), { numClasses: 10, globalPool: true }));
  assertEquals(small.out[1].get("global_pool")!.shape, [1, 1, 1, 1024]);
  assertEquals(small.out[0].shape, [1, 10]);
});

test("inceptionV3() builds the auxiliary head on Mixed_6e with slim's kernel-named scope", () => {
  const { g, out: [logits, endPoints] } = build(inceptionArgScope(), () => inceptionV3(placeholder([1, 299, 299, 3], "float32", "images"), { numClasses: 10 }));
  assertEquals(endPoints.get("Mixed_6e")!.shape, [1, 17, 17, 768]);
  assertEquals(endPoints.get("Mixed_7c")!.shape, [1, 8, 8, 2048]);
  assertEquals(endPoints.get("AuxLogits")!.shape, [1, 10]);
  assertEquals(g.variables.get("InceptionV3/AuxLogits/Conv2d_2a_5x5/weights")!.shape, [5, 5, 128, 768]);
  assertEquals(endPoints.get("PreLogits")!.shape, [1, 1, 1, 2048]);
  assertEquals(logits.shape, [1, 10]);
  const thin = build(inceptionArgScope(), () => inceptionV3(placeholder([1, 299, 299, 3], "float32", "images"), { numClasses: 10, depthMultiplier: 0.1, createAuxLogits: false }));
  assertEquals(thin.g.variables.get("InceptionV3/Conv2d_1a_3x3/weights")!.shape, [3, 3, 3, 16], "minDepth 16");
  assert(!thin.out[1].has("AuxLogits"));
});

test("alexnetV2(), cifarnet() and lenet() give [batch, classes] logits with slim's end points", () => {
  const a = build(alexnetV2ArgScope(), () => alexnetV2(placeholder([1, 224, 224, 3], "float32", "images"), { numClasses: 10 }));
  assertEquals(a.out[1].get("alexnet_v2/pool5")!.shape, [1, 5, 5, 256]);
  assertEquals(a.out[1].get("alexnet_v2/fc8"), a.out[0]);
  assertEquals(a.out[0].shape, [1, 10]);
  const c = build(cifarnetArgScope(), () => cifarnet(placeholder([2, 32, 32, 3], "float32", "images")));
  assertEquals([...c.out[1].keys()], ["conv1", "pool1", "conv2", "pool2", "Flatten", "fc3", "fc4", "Logits", "Predictions"]);
  assertEquals(c.out[1].get("Flatten")!.shape, [2, 4096]);
  assertEquals(c.out[0].shape, [2, 10]);
  const l = build(lenetArgScope(), () => lenet(placeholder([2, 28, 28, 1], "float32", "images")));
  assertEquals(l.out[1].get("pool2")!.shape, [2, 7, 7, 64]);
  assertEquals(l.out[0].shape, [2, 10]);
});

test("localResponseNormalization() matches TF's formula over channels within depthRadius", async () => {
  const [n, h, w, c] = [1, 2, 2, 6];
  const x = randomArray(n * h * w * c, 7);
  const g = new Graph();
  const y = g.asDefault(() => localResponseNormalization(placeholder([n, h, w, c], "float32", "x"), { depthRadius: 2, bias: 1, alpha: 0.5, beta: 0.75 }));
  const out = await evaluate({ y }, { feeds: { x: hostTensor("float32", [n, h, w, c], x) } });
  const want = Array.from(x, (v, i) => {
    const base = i - (i % c), k = i % c;
    let s = 0;
    for (let j = Math.max(0, k - 2); j <= Math.min(c - 1, k + 2); j++) s += x[base + j] ** 2;
    return v / (1 + 0.5 * s) ** 0.75;
  });
  assertClose(out.y.data as Float32Array, want, { rtol: 1e-5, atol: 1e-6 });
});
