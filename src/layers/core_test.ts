import { assert, assertClose, assertEquals, assertThrows, randomArray, test } from "../../test/harness.ts";
import { Graph, GraphKeys } from "../graph/graph.ts";
import type { HostTensor } from "../graph/host_tensor.ts";
import type { Tensor } from "../graph/tensor.ts";
import { placeholder, variable } from "../graph/variable.ts";
import { evaluate } from "../runtime/evaluate.ts";
import { dropout, flatten } from "./core.ts";
import { conv2d, fullyConnected } from "./layers.ts";
import { maxPool2d } from "./pooling.ts";
import { l2Regularizer } from "./regularizers.ts";
import { repeat } from "./repeat.ts";

const f32 = (shape: number[], data: Float32Array): HostTensor => ({ dtype: "float32", shape, data });

test("dropout() is the identity when not training and keeps-and-scales when training", async () => {
  const g = new Graph();
  await g.asDefault(async () => {
    const x = placeholder([4, 64], "float32", "x");
    assert(dropout(x, { isTraining: false }) === x, "identity when not training");
    const y = dropout(x, { keepProb: 0.25, scope: "drop" });
    const noise = g.nodes.filter((n) => n.op === "Placeholder" && n.attrs.random);
    assertEquals(noise.map((n) => n.name), ["drop/dropout/noise"]);
    const data = randomArray(256, 4, 0.5, 1.5);
    const out = await evaluate({ y }, { feeds: { x: f32([4, 64], data) }, seed: 3 });
    const ys = out.y.data as Float32Array;
    let kept = 0;
    ys.forEach((v, i) => {
      if (v !== 0) {
        kept++;
        assertClose(v, data[i] / 0.25, { rtol: 1e-6 });
      }
    });
    assert(kept > 30 && kept < 100, `about a quarter kept, got ${kept} of 256`);
    await assertThrows(() => dropout(x, { keepProb: 0 }), "dropout: keepProb must be in (0, 1], got 0 (tensor x)");
  });
});

test("flatten() keeps the element order of any rank, so NHWC maps flatten as slim's do", async () => {
  const g = new Graph();
  await g.asDefault(async () => {
    const x = placeholder([2, 2, 2, 3], "float32", "x");
    const y = flatten(x);
    assertEquals(y.shape, [2, 12]);
    const data = randomArray(24, 6);
    const out = await evaluate({ y }, { feeds: { x: f32([2, 2, 2, 3], data) } });
    assertClose(out.y.data as Float32Array, data);
    assertEquals(flatten(placeholder([2, 5, 1, 1], "float32", "v")).shape, [2, 5]);
    assertEquals(flatten(placeholder([3, 4, 5], "float32", "r3")).shape, [3, 20]);
    assertEquals(flatten(placeholder([7], "float32", "r1")).shape, [7, 1]);
    await assertThrows(() => flatten(placeholder([], "float32", "s")), "flatten: inputs must have a batch axis");
  });
});

test("dropout() with noiseShape drops whole channels of an NHWC map", async () => {
  const g = new Graph();
  await g.asDefault(async () => {
    const x = placeholder([2, 3, 3, 8], "float32", "x");
    const y = dropout(x, { keepProb: 0.5, noiseShape: [2, 1, 1, 8] });
    const noise = g.nodes.filter((n) => n.op === "Placeholder" && n.attrs.random);
    assertEquals(noise.map((n) => n.attrs.shape), [[2, 1, 1, 8]]);
    const data = randomArray(144, 12, 0.5, 1.5);
    const ys = (await evaluate({ y }, { feeds: { x: f32([2, 3, 3, 8], data) }, seed: 5 })).y.data as Float32Array;
    for (let n = 0; n < 2; n++) {
      for (let c = 0; c < 8; c++) {
        const at = (p: number) => (n * 9 + p) * 8 + c;
        const kept = ys[at(0)] !== 0;
        for (let p = 0; p < 9; p++) assertClose(ys[at(p)], kept ? data[at(p)] * 2 : 0, { rtol: 1e-6 });
      }
    }
    await assertThrows(() => dropout(x, { noiseShape: [2, 3, 8] }), "dropout: noiseShape [2, 3, 8] must have one entry per axis of x");
  });
});

test("repeat() names the calls scope/scope_1, scope/scope_2 and passes the options to each", () => {
  const g = new Graph();
  g.asDefault(() => {
    const x = placeholder([1, 8, 8, 3], "float32", "x");
    const y = repeat(x, 3, conv2d, 4, [3, 3], { scope: "conv1", padding: "VALID" });
    assertEquals(y.shape, [1, 2, 2, 4]); // VALID reached every call: 8 -> 6 -> 4 -> 2
    repeat(y, 2, conv2d, 5, 1);
    repeat(y, 2, maxPool2d, 1, { stride: 1 });
  });
  assertEquals([...g.variables.keys()].filter((k) => k.endsWith("weights")), [
    "conv1/conv1_1/weights", "conv1/conv1_2/weights", "conv1/conv1_3/weights",
    "Repeat/conv2d_1/weights", "Repeat/conv2d_2/weights",
  ]);
  assert(g.nodes.some((n) => n.name.startsWith("Repeat_1/maxPool2d_2/")), "a second default Repeat scope");
});

test("l2Regularizer() adds scale·sum(w²)/2 named <var>/Regularizer/l2_regularizer", async () => {
  const g = new Graph();
  await g.asDefault(async () => {
    const x = placeholder([2, 3], "float32", "x");
    g.withScope("net", () => fullyConnected(x, 4, { weightsRegularizer: l2Regularizer(0.25), biasesRegularizer: l2Regularizer(0) }));
    const losses = g.getCollection<Tensor>(GraphKeys.REGULARIZATION_LOSSES);
    assertEquals(losses.map((t) => t.name), ["net/fully_connected/weights/Regularizer/l2_regularizer"]);
    const w = randomArray(12, 7);
    const out = await evaluate({ r: losses[0] }, { variables: { "net/fully_connected/weights": f32([3, 4], w) } });
    assertClose(out.r.data as Float32Array, [0.25 * w.reduce((a, v) => a + v * v, 0) / 2], { rtol: 1e-5 });
    await assertThrows(() => l2Regularizer(-1), "Setting a scale less than 0 on a regularizer: -1.");
    const v = variable("free", { shape: [2], regularizer: l2Regularizer(1) });
    assertEquals(g.getCollection<Tensor>(GraphKeys.REGULARIZATION_LOSSES).at(-1)!.name, `${v.name}/Regularizer/l2_regularizer`);
  });
});
