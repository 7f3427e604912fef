import { assertClose, assertEquals, assertThrows, randomArray, test } from "../../test/harness.ts";
import { Graph } from "../graph/graph.ts";
import type { HostTensor } from "../graph/host_tensor.ts";
import { placeholder } from "../graph/variable.ts";
import { fullyConnected } from "../layers/layers.ts";
import { l2Regularizer } from "../layers/regularizers.ts";
import { evaluate } from "../runtime/evaluate.ts";
import { getLosses, getRegularizationLosses, getTotalLoss } from "./collection.ts";
import { meanSquaredError } from "./losses.ts";

const f32 = (shape: number[], data: Float32Array): HostTensor => ({ dtype: "float32", shape, data });

test("losses join LOSSES under unique scopes; lossCollection null keeps one out", () => {
  const g = new Graph();
  g.asDefault(() => {
    const p = placeholder([3], "float32", "p"), l = placeholder([3], "float32", "l");
    meanSquaredError(p, l);
    g.withScope("tower_1", () => meanSquaredError(p, l));
    meanSquaredError(p, l, { scope: "mine" });
    meanSquaredError(p, l, { lossCollection: null });
    meanSquaredError(p, l);
    assertEquals(getLosses().map((t) => t.name), [
      "mean_squared_error/value", "tower_1/mean_squared_error/value", "mine/value", "mean_squared_error_2/value",
    ]);
    assertEquals(getLosses("tower_1").length, 1);
  });
});

test("getTotalLoss() adds regularization losses only when asked", async () => {
  const g = new Graph();
  await g.asDefault(async () => {
    const x = placeholder([2, 3], "float32", "x");
    const y = placeholder([2, 4], "float32", "y");
    const pred = fullyConnected(x, 4, { activationFn: null, weightsRegularizer: l2Regularizer(0.5), scope: "fc" });
    const loss = meanSquaredError(pred, y);
    const total = getTotalLoss();
    const dataOnly = getTotalLoss({ addRegularizationLosses: false, name: "data_loss" });
    assertEquals([total.name, dataOnly.name], ["total_loss", "data_loss"]);
    assertEquals(getRegularizationLosses("fc").length, 1);
    const w = randomArray(12, 21);
    const out = await evaluate({ loss, total, dataOnly, reg: getRegularizationLosses()[0] }, {
      feeds: { x: f32([2, 3], randomArray(6, 22)), y: f32([2, 4], randomArray(8, 23)) },
      variables: { "fc/weights": f32([3, 4], w), "fc/biases": f32([4], randomArray(4, 24)) },
    });
    const decay = 0.5 * w.reduce((a, v) => a + v * v, 0) / 2;
    assertClose(out.reg.data as Float32Array, [decay], { rtol: 1e-5 });
    const l = (out.loss.data as Float32Array)[0];
    assertClose(out.total.data as Float32Array, [l + decay], { rtol: 1e-5 });
    assertClose(out.dataOnly.data as Float32Array, [l], { rtol: 1e-6 });
  });
});

test("getTotalLoss() fails when there is nothing to add", async () => {
  const g = new Graph();
  await g.asDefault(async () => {
    await assertThrows(() => getTotalLoss(), "getTotalLoss: inputs must be a list of at least one Tensor; no losses found in the losses and regularization_losses collections");
    fullyConnected(placeholder([1, 2], "float32", "x"), 2, { weightsRegularizer: l2Regularizer(1) });
    await assertThrows(() => getTotalLoss({ addRegularizationLosses: false }), "no losses found in the losses collection");
    assertEquals(getTotalLoss().name, "total_loss");
  });
});
