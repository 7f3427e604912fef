import { assert, assertEquals, assertThrows, test } from "../../test/harness.ts";
import { Graph, GraphKeys } from "../graph/graph.ts";
import { varianceScalingInitializer } from "../graph/initializers.ts";
import { ancestorNodes, type Tensor } from "../graph/tensor.ts";
import { placeholder } from "../graph/variable.ts";
import { argScope } from "../layers/arg_scope.ts";
import { vgg16, vgg19, vggA, vggArgScope, type VggResult } from "./vgg.ts";

/** slim's vgg_16 variables at 1000 classes, written out from the paper's configuration D. */
const VGG16_TABLE: [string, number[]][] = [
  ["conv1/conv1_1", [3, 3, 3, 64]], ["conv1/conv1_2", [3, 3, 64, 64]],
  ["conv2/conv2_1", [3, 3, 64, 128]], ["conv2/conv2_2", [3, 3, 128, 128]],
  ["conv3/conv3_1", [3, 3, 128, 256]], ["conv3/conv3_2", [3, 3, 256, 256]], ["conv3/conv3_3", [3, 3, 256, 256]],
  ["conv4/conv4_1", [3, 3, 256, 512]], ["conv4/conv4_2", [3, 3, 512, 512]], ["conv4/conv4_3", [3, 3, 512, 512]],
  ["conv5/conv5_1", [3, 3, 512, 512]], ["conv5/conv5_2", [3, 3, 512, 512]], ["conv5/conv5_3", [3, 3, 512, 512]],
  ["fc6", [7, 7, 512, 4096]], ["fc7", [1, 1, 4096, 4096]], ["fc8", [1, 1, 4096, 1000]],
];

function build(net: (x: Tensor) => VggResult, inputShape = [1, 224, 224, 3]): { g: Graph; out: VggResult } {
  const g = new Graph();
  const out = g.asDefault(() => argScope(vggArgScope(), () => net(placeholder(inputShape, "float32", "images"))));
  return { g, out };
}

function parameterCount(g: Graph): number {
  return [...g.variables.values()].reduce((n, v) => n + v.size, 0);
}

test("vgg16() creates slim's variables, names and shapes, 138,357,544 parameters", () => {
  const { g, out: [logits] } = build((x) => vgg16(x));
  const expected = VGG16_TABLE.flatMap(([name, shape]) => [
    [`vgg_16/${name}/weights`, shape],
    [`vgg_16/${name}/biases`, [shape[3]]],
  ]);
  assertEquals([...g.variables.values()].map((v) => [v.name, v.shape]), expected);
  assertEquals(parameterCount(g), 138_357_544);
  assertEquals(logits.shape, [1, 1000]);
  assertEquals(g.getCollection(GraphKeys.MODEL_VARIABLES).length, 32);
});

test("vggA() and vgg19() have slim's parameter counts", () => {
  const a = build((x) => vggA(x));
  assertEquals(parameterCount(a.g), 132_863_336);
  assertEquals(a.g.variables.size, 22);
  assert(a.g.variables.has("vgg_a/conv3/conv3_2/weights") && !a.g.variables.has("vgg_a/conv1/conv1_2/weights"));
  const e = build((x) => vgg19(x));
  assertEquals(parameterCount(e.g), 143_667_240);
  assertEquals(e.g.variables.get("vgg_19/conv5/conv5_4/weights")!.shape, [3, 3, 512, 512]);
});

test("vgg16() returns slim's end points, keyed by scope name, in NHWC", () => {
  const { out: [logits, endPoints] } = build((x) => vgg16(x, { numClasses: 10 }), [2, 224, 224, 3]);
  const keys: string[] = [];
  [2, 2, 3, 3, 3].forEach((n, b) => {
    for (let i = 1; i <= n; i++) keys.push(`vgg_16/conv${b + 1}/conv${b + 1}_${i}`);
    keys.push(`vgg_16/pool${b + 1}`);
  });
  keys.push("vgg_16/fc6", "vgg_16/fc7", "vgg_16/fc8");
  assertEquals([...endPoints.keys()], keys);
  assertEquals(endPoints.get("vgg_16/conv1/conv1_1")!.shape, [2, 224, 224, 64]);
  assertEquals(endPoints.get("vgg_16/pool5")!.shape, [2, 7, 7, 512]);
  assertEquals(endPoints.get("vgg_16/fc7")!.shape, [2, 1, 1, 4096]);
  assert(endPoints.get("vgg_16/fc8") === logits);
  assertEquals(logits.shape, [2, 10]);
});

test("vgg16() with numClasses 0 returns fc7's features, pooled when globalPool is set", () => {
  const plain = build((x) => vgg16(x, { numClasses: 0 }));
  assertEquals(plain.out[0].shape, [1, 1, 1, 4096]);
  assert(!plain.g.variables.has("vgg_16/fc8/weights") && !plain.out[1].has("vgg_16/fc8"));
  const pooled = build((x) => vgg16(x, { numClasses: null, fcConvPadding: "SAME", globalPool: true }), [1, 64, 64, 3]);
  assertEquals(pooled.out[1].get("vgg_16/fc7")!.shape, [1, 2, 2, 4096]);
  assertEquals(pooled.out[0].shape, [1, 1, 1, 4096]);
  assert(pooled.out[1].get("global_pool") === pooled.out[0]);
});

test("vgg16() with fcConvPadding SAME on 32×32 gives [batch, classes] logits via fc6's centre tap", () => {
  const { g, out: [logits, endPoints] } = build((x) => vgg16(x, { numClasses: 10, fcConvPadding: "SAME" }), [3, 32, 32, 3]);
  assertEquals(logits.shape, [3, 10]);
  assertEquals(endPoints.get("vgg_16/pool5")!.shape, [3, 1, 1, 512]);
  const fc6 = g.variables.get("vgg_16/fc6/weights")!;
  assertEquals(fc6.shape, [7, 7, 512, 4096]);
  const slices = g.nodes.filter((n) => n.op === "Slice" && n.inputs[0] === fc6.value);
  // The filter is stored as ONNX [out, in, kh, kw]: the centre tap is [:, :, 3, 3].
  assertEquals(slices.map((n) => [n.attrs.begin, n.attrs.size]), [[[0, 0, 3, 3], [4096, 512, 1, 1]]]);
  // Weight decay still sees the whole 7x7 variable.
  const decay = g.getCollection<Tensor>(GraphKeys.REGULARIZATION_LOSSES).find((t) => t.name.startsWith("vgg_16/fc6/weights/"))!;
  assert(decay !== undefined, "fc6 has weight decay");
  const readsWhole = (t: Tensor): boolean => t === fc6.value || (t.node.op !== "Slice" && t.node.inputs.some(readsWhole));
  assert(readsWhole(decay), "decay reads the full variable, not the slice");
});

test("vgg16() fails like slim's squeeze when fc8 is not 1×1", async () => {
  await assertThrows(
    () => build((x) => vgg16(x, { numClasses: 10, fcConvPadding: "SAME" }), [2, 64, 64, 3]),
    "vgg_16/fc8/squeezed: Can not squeeze dim[1], expected a dimension of 1, got 2 with input shapes: [2,2,2,10]",
  );
  const { out: [net] } = build((x) => vgg16(x, { numClasses: 10, fcConvPadding: "SAME", spatialSqueeze: false }), [2, 64, 64, 3]);
  assertEquals(net.shape, [2, 2, 2, 10]);
  await assertThrows(() => build((x) => vgg16(x), [224, 224, 3]), "vgg_16: inputs must be rank 4 NHWC");
});

test("vggArgScope() adds L2 decay on every weight, zero biases, and takes a weights initializer", () => {
  const { g } = build((x) => vgg16(x, { numClasses: 10, isTraining: false }));
  const decay = g.getCollection<Tensor>(GraphKeys.REGULARIZATION_LOSSES);
  assertEquals(decay.length, 16);
  assertEquals(decay[0].name, "vgg_16/conv1/conv1_1/weights/Regularizer/l2_regularizer");
  assert(g.variables.get("vgg_16/fc8/weights")!.initializer.name.startsWith("xavier"), "slim's Xavier by default");
  assertEquals(g.variables.get("vgg_16/fc8/biases")!.initializer.name, "zeros");
  assertEquals(g.nodes.filter((n) => n.op === "Placeholder" && n.attrs.random).length, 0);
  const [logits] = build((x) => vgg16(x, { numClasses: 10, isTraining: false })).out;
  assertEquals(ancestorNodes([logits]).filter((n) => n.op === "Relu").length, 15); // every layer but fc8

  const he = varianceScalingInitializer();
  const g2 = new Graph();
  g2.asDefault(() =>
    argScope(vggArgScope({ weightDecay: 0, weightsInitializer: he }), () => vggA(placeholder([1, 224, 224, 3], "float32", "images")))
  );
  assert([...g2.variables.values()].filter((v) => v.name.endsWith("weights")).every((v) => v.initializer === he), "He everywhere");
  assertEquals(g2.getCollection(GraphKeys.REGULARIZATION_LOSSES).length, 0);
  assertEquals(g2.nodes.filter((n) => n.op === "Placeholder" && n.attrs.random).map((n) => n.name), [
    "vgg_a/dropout6/dropout/noise", "vgg_a/dropout7/dropout/noise",
  ]);
});

test("vgg16() explains how to fix 32x32 inputs without fcConvPadding SAME, and NCHW images", async () => {
  await assertThrows(
    () => build((x) => vgg16(x, { numClasses: 10 }), [2, 32, 32, 1]),
    `vgg_16: 32x32 images leave pool5 1x1, smaller than fc6's 7x7 VALID filter (slim's vgg_16 expects 224x224); pass fcConvPadding: "SAME"`,
  );
  await assertThrows(
    () => build((x) => vgg16(x), [2, 3, 224, 224]),
    "vgg_16: input images [2, 3, 224, 224] looks like NCHW (3 channels of 224x224), but dataFormat is NHWC (slim's default)",
  );
});

test("vgg16() runs in NCHW inside: the only activation transposes are at the input and the fetched end points", () => {
  const { out: [logits] } = build((x) => vgg16(x, { numClasses: 10, fcConvPadding: "SAME" }), [2, 32, 32, 3]);
  const transposes = ancestorNodes([logits]).filter((n) => n.op === "Transpose");
  // The input, then fc6..fc8's 1x1 maps (which lower to Reshape), around the dropouts.
  assertEquals(transposes[0].inputs[0].shape, [2, 32, 32, 3]);
  assert(transposes.slice(1).every((n) => n.inputs[0].shape[1] * n.inputs[0].shape[2] === 1 || n.inputs[0].shape[2] * n.inputs[0].shape[3] === 1), "only 1x1 maps after the input");
});
