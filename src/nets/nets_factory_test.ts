import { assert, assertEquals, assertThrows, test } from "../../test/harness.ts";
import { Graph, GraphKeys } from "../graph/graph.ts";
import { placeholder } from "../graph/variable.ts";
import { getNetworkFn, networkNames } from "./nets_factory.ts";

const SLIM_NAMES = [
  "alexnet_v2", "cifarnet", "vgg_a", "vgg_16", "vgg_19", "inception_v1", "inception_v3", "lenet",
  "resnet_v1_50", "resnet_v1_101", "resnet_v1_152", "resnet_v2_50", "resnet_v2_101", "resnet_v2_152",
  "mobilenet_v1", "mobilenet_v1_075", "mobilenet_v1_050", "mobilenet_v1_025", "mobilenet_v2", "mobilenet_v2_140", "mobilenet_v2_035",
];

test("networkNames() lists the nets by slim's nets_factory names", () => {
  assertEquals([...networkNames()].sort(), [...SLIM_NAMES].sort());
});

test("getNetworkFn() builds every listed net at its default size with [batch, numClasses] logits", () => {
  const sizes: Record<string, number> = {};
  for (const name of networkNames()) {
    const fn = getNetworkFn(name, { numClasses: 7 });
    sizes[name] = fn.defaultImageSize;
    const g = new Graph();
    const channels = name === "lenet" ? 1 : 3;
    const [logits, endPoints] = g.asDefault(() => fn(placeholder([2, fn.defaultImageSize, fn.defaultImageSize, channels], "float32", "images")));
    assertEquals(logits.shape, [2, 7], `${name}: logits`);
    assert(endPoints.size > 0, `${name}: no end points`);
    assertEquals(fn.netName, name);
  }
  assertEquals(sizes.inception_v3, 299);
  assertEquals(sizes.resnet_v1_50, 224);
  assertEquals(sizes.cifarnet, 32);
  assertEquals(sizes.lenet, 28);
});

test("getNetworkFn() applies the net's arg scope: weight decay becomes regularization losses, isTraining drives batch norm", () => {
  const build = (weightDecay: number, isTraining: boolean) => {
    const g = new Graph();
    const fn = getNetworkFn("mobilenet_v2_035", { numClasses: 5, weightDecay, isTraining });
    g.asDefault(() => fn(placeholder([1, 64, 64, 3], "float32", "images")));
    return g;
  };
  const training = build(0.01, true);
  // trainingScope decays conv2d weights only: 35 convolutions plus the logits, not the 17 depthwise filters.
  assertEquals(training.getCollection(GraphKeys.REGULARIZATION_LOSSES).length, 36);
  assert(training.getCollection(GraphKeys.UPDATE_OPS).length > 0, "training mode must update the moving statistics");
  const evaluating = build(0, false);
  assertEquals(evaluating.getCollection(GraphKeys.UPDATE_OPS).length, 0);
});

test("getNetworkFn() with an unknown name lists the known ones", async () => {
  const err = await assertThrows(() => getNetworkFn("resnet_50", { numClasses: 10 }), 'getNetworkFn: unknown network "resnet_50"');
  for (const name of ["resnet_v1_50", "mobilenet_v2", "inception_v3", "vgg_16", "lenet"]) assert(err.message.includes(name), `message lacks ${name}`);
  await assertThrows(() => getNetworkFn("toString", { numClasses: 10 }), "unknown network");
});
