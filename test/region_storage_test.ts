// conv2d({ trainDataTapsOnly }) on a map smaller than its filter: the train step
// holds only the taps that touch data, yet checkpoints carry slim's full filter,
// the outputs equal the full convolution, and after SGD steps the untouched taps
// are bit-for-bit their initial values while the trained ones moved exactly as
// the full variable's would without weight decay.
import "../src/ops/mod.ts";
import { Graph } from "../src/graph/graph.ts";
import { placeholder } from "../src/graph/variable.ts";
import { conv2d } from "../src/layers/mod.ts";
import { reduceMean, mul } from "../src/ops/mod.ts";
import { createTrainOp } from "../src/learning/create_train_op.ts";
import { TrainSession } from "../src/learning/train_session.ts";
import { gradientDescent } from "../src/learning/optimizers/mod.ts";
import type { HostTensor } from "../src/graph/host_tensor.ts";
import { assert, assertClose, assertEquals, randomArray, test } from "./harness.ts";

function build(regionOnly: boolean) {
  const g = new Graph();
  return g.asDefault(() => {
    const x = placeholder([3, 1, 1, 4], "float32", "x");
    const y = conv2d(x, 6, [7, 7], { scope: "fc6", activationFn: null, trainDataTapsOnly: regionOnly });
    const loss = reduceMean(mul(y, y));
    return { g, trainOp: createTrainOp(loss, gradientDescent({ learningRate: 0.1 })) };
  });
}

test("conv2d({ trainDataTapsOnly }) trains only the data taps and checkpoints the full filter", async () => {
  const feeds = { x: { dtype: "float32" as const, shape: [3, 1, 1, 4], data: randomArray(12, 5) } };
  const results: { losses: number[]; state: Map<string, HostTensor> }[] = [];
  for (const regionOnly of [false, true]) {
    const { g, trainOp } = build(regionOnly);
    const w = g.variables.get("fc6/weights")!;
    assertEquals(w.shape, [7, 7, 4, 6], "checkpoint shape is slim's");
    assertEquals([...w.value.shape], regionOnly ? [6, 4, 1, 1] : [6, 4, 7, 7], "shape inside the step");
    const s = await TrainSession.create(trainOp, { seed: 11 });
    s.initialize();
    const initial = (await s.readState()).get("fc6/weights")!;
    const losses = [];
    for (let i = 0; i < 3; i++) losses.push((await s.run(feeds)).loss);
    const state = await s.readState();
    const after = state.get("fc6/weights")!.data as Float32Array, before = initial.data as Float32Array;
    let centreMoved = 0;
    for (let i = 0; i < after.length; i++) {
      const tap = Math.floor(i / 24);
      if (tap === 24) centreMoved += after[i] !== before[i] ? 1 : 0;
      else assert(after[i] === before[i], `outer tap element ${i} changed`);
    }
    assert(centreMoved === 24, `all 24 centre-tap weights should move, ${centreMoved} did`);
    results.push({ losses, state });
    await s.release();
  }
  assertClose(results[1].losses, results[0].losses, { rtol: 1e-6 });
  assertClose(results[1].state.get("fc6/weights")!.data as Float32Array, results[0].state.get("fc6/weights")!.data as Float32Array, { rtol: 1e-6, atol: 1e-7 });
});
