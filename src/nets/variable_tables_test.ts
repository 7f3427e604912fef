/**
 * Every net's variables (names, shapes, trainable or not) against the tables in
 * fixtures/nets/, which scripts/make_nets_tables.py lays out a second time from
 * slim's definitions, and the trainable counts against torchvision's where the
 * architectures match. Graphs only: nothing runs.
 * @module
 */
import { assert, assertEquals, test } from "../../test/harness.ts";
import { hasNodeFs } from "../fs/default.ts";
import { NodeFileSystem } from "../fs/node_fs.ts";
import { Graph, GraphKeys } from "../graph/graph.ts";
import type { Tensor } from "../graph/tensor.ts";
import { placeholder } from "../graph/variable.ts";
import { type ArgScope, argScope } from "../layers/mod.ts";
import { alexnetV2, alexnetV2ArgScope } from "./alexnet.ts";
import { cifarnet, cifarnetArgScope } from "./cifarnet.ts";
import { inceptionArgScope } from "./inception_utils.ts";
import { inceptionV1 } from "./inception_v1.ts";
import { inceptionV3 } from "./inception_v3.ts";
import { lenet, lenetArgScope } from "./lenet.ts";
import { mobilenetV1, mobilenetV1_025, mobilenetV1_050, mobilenetV1_075, mobilenetV1ArgScope } from "./mobilenet_v1.ts";
import { mobilenetV2, trainingScope } from "./mobilenet_v2.ts";
import type { NetResult } from "./net_utils.ts";
import { resnetArgScope } from "./resnet_utils.ts";
import { resnetV1_101, resnetV1_152, resnetV1_50 } from "./resnet_v1.ts";
import { resnetV2_101, resnetV2_152, resnetV2_50 } from "./resnet_v2.ts";

/** The layout of fixtures/nets/<net>.json. */
interface NetTable {
  net: string;
  num_classes: number;
  image_shape: number[];
  trainable_parameters: number;
  moving_statistics: number;
  variables: [string, number[], boolean][];
  torchvision?: { model: string; trainable: number; moving_statistics: number };
}

type Build = (images: Tensor, numClasses: number) => NetResult;

const NETS: Record<string, [Build, () => ArgScope]> = {
  resnet_v1_50: [(x, n) => resnetV1_50(x, { numClasses: n }), resnetArgScope],
  resnet_v1_101: [(x, n) => resnetV1_101(x, { numClasses: n }), resnetArgScope],
  resnet_v1_152: [(x, n) => resnetV1_152(x, { numClasses: n }), resnetArgScope],
  resnet_v2_50: [(x, n) => resnetV2_50(x, { numClasses: n }), resnetArgScope],
  resnet_v2_101: [(x, n) => resnetV2_101(x, { numClasses: n }), resnetArgScope],
  resnet_v2_152: [(x, n) => resnetV2_152(x, { numClasses: n }), resnetArgScope],
  mobilenet_v1: [(x, n) => mobilenetV1(x, { numClasses: n }), mobilenetV1ArgScope],
  mobilenet_v1_075: [(x, n) => mobilenetV1_075(x, { numClasses: n }), mobilenetV1ArgScope],
  mobilenet_v1_050: [(x, n) => mobilenetV1_050(x, { numClasses: n }), mobilenetV1ArgScope],
  mobilenet_v1_025: [(x, n) => mobilenetV1_025(x, { numClasses: n }), mobilenetV1ArgScope],
  mobilenet_v2: [(x, n) => mobilenetV2(x, { numClasses: n }), trainingScope],
  inception_v1: [(x, n) => inceptionV1(x, { numClasses: n }), inceptionArgScope],
  inception_v3: [(x, n) => inceptionV3(x, { numClasses: n }), inceptionArgScope],
  alexnet_v2: [(x, n) => alexnetV2(x, { numClasses: n }), alexnetV2ArgScope],
  cifarnet: [(x, n) => cifarnet(x, { numClasses: n }), cifarnetArgScope],
  lenet: [(x, n) => lenet(x, { numClasses: n }), lenetArgScope],
};

async function loadTable(net: string): Promise<NetTable> {
  const url = new URL(`../../fixtures/nets/${net}.json`, import.meta.url);
  const path = decodeURIComponent(url.pathname).replace(/^\/([A-Za-z]:)/, "$1");
  return JSON.parse(new TextDecoder().decode(await new NodeFileSystem().readFile(path)));
}

function buildGraph(table: NetTable): Graph {
  const [build, scope] = NETS[table.net];
  const g = new Graph();
  g.asDefault(() => argScope(scope(), () => build(placeholder(table.image_shape, "float32", "images"), table.num_classes)));
  return g;
}

const count = (rows: Iterable<{ size: number }>) => [...rows].reduce((n, v) => n + v.size, 0);

if (hasNodeFs()) {
  for (const net of Object.keys(NETS)) {
    test(`${net}() creates slim's variables: names, shapes, trainable flags and parameter count`, async () => {
      const table = await loadTable(net);
      const g = buildGraph(table);
      const ours = [...g.variables.values()].map((v) => [v.name, [...v.shape], v.trainable] as [string, number[], boolean]);
      const byName = (a: [string, number[], boolean], b: [string, number[], boolean]) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0);
      const missing = table.variables.filter(([n]) => !g.variables.has(n)).map(([n]) => n);
      const extra = ours.filter(([n]) => !table.variables.some(([m]) => m === n)).map(([n]) => n);
      assert(missing.length === 0 && extra.length === 0, `${net}: missing ${missing.slice(0, 5).join(", ")}; unexpected ${extra.slice(0, 5).join(", ")}`);
      assertEquals([...ours].sort(byName), [...table.variables].sort(byName), `${net}: variables`);
      const trainable = [...g.variables.values()].filter((v) => v.trainable);
      assertEquals(count(trainable), table.trainable_parameters, `${net}: trainable parameters`);
      assertEquals(g.getCollection(GraphKeys.TRAINABLE_VARIABLES).length, trainable.length, `${net}: TRAINABLE_VARIABLES`);
      assertEquals(g.getCollection(GraphKeys.MODEL_VARIABLES).length, g.variables.size, `${net}: MODEL_VARIABLES holds every variable`);
      // Each batch norm adds one update for its moving mean and one for its variance.
      const movingStats = [...g.variables.values()].filter((v) => !v.trainable);
      assertEquals(count(movingStats), table.moving_statistics, `${net}: moving statistics`);
      assertEquals(g.getCollection(GraphKeys.UPDATE_OPS).length, movingStats.length, `${net}: UPDATE_OPS`);
      if (table.torchvision) assertEquals(count(trainable), table.torchvision.trainable, `${net}: trainable count against torchvision ${table.torchvision.model}`);
    });
  }

  test("resnet_v1_50 has torchvision resnet50's 25,557,032 trainable parameters and its 53,120 running statistics", async () => {
    const table = await loadTable("resnet_v1_50");
    assertEquals(table.torchvision, { model: "resnet50", trainable: 25_557_032, moving_statistics: 53_120 });
    const g = buildGraph(table);
    assertEquals(count([...g.variables.values()].filter((v) => v.trainable)), 25_557_032);
    assertEquals(count([...g.variables.values()].filter((v) => !v.trainable)), 53_120);
  });
}
