import "../ops/mod.ts";
import { Graph, GraphKeys } from "../graph/graph.ts";
import { randomUniformInitializer } from "../graph/initializers.ts";
import { placeholder, type Variable, variable } from "../graph/variable.ts";
import { mul, reduceSum, sub } from "../ops/mod.ts";
import { assert, assertClose, assertEquals, assertThrows, randomArray, test } from "../../test/harness.ts";
import { createTrainOp } from "./create_train_op.ts";
import { getOrCreateGlobalStep } from "./global_step.ts";
import { ExponentialMovingAverage, MOVING_AVERAGE_VARIABLES } from "./moving_averages.ts";
import { gradientDescent } from "./optimizers/mod.ts";
import { TrainSession } from "./train_session.ts";

const LR = 0.1;

/** loss = sum((w - x)²): each step moves w a fifth of the way to x (lr 0.1). */
function model(decay: number, withStep: boolean) {
  const g = new Graph();
  return g.asDefault(() => {
    const w = variable("net/w", { shape: [5], initializer: randomUniformInitializer({ minval: -1, maxval: 1 }) });
    const x = placeholder([5], "float32", "x");
    const diff = sub(w.value, x);
    const loss = reduceSum(mul(diff, diff));
    const ema = new ExponentialMovingAverage(decay, withStep ? { numUpdates: getOrCreateGlobalStep() } : {});
    const updates = ema.apply([w]);
    for (const u of updates) g.addToCollection(GraphKeys.UPDATE_OPS, u);
    return { g, w, ema, trainOp: createTrainOp(loss, gradientDescent({ learningRate: LR })) };
  });
}

test("ExponentialMovingAverage shadows start at their variable's initial value and follow TF's update, with the global-step decay", async () => {
  for (const withStep of [false, true]) {
    const decay = 0.9;
    const { w, ema, trainOp } = model(decay, withStep);
    const shadow = ema.average(w) as Variable;
    assertEquals(shadow.name, "net/w/ExponentialMovingAverage");
    assert(!shadow.trainable, "the shadow is not trained");
    const x = randomArray(5, 3);
    const session = await TrainSession.create(trainOp, { executionProvider: "cpu" });
    try {
      session.initialize();
      const start = await session.readState();
      const w0 = Array.from(start.get("net/w")!.data as Float32Array);
      assertEquals(Array.from(start.get(shadow.name)!.data as Float32Array), w0, "the shadow starts equal to the variable");
      // Reference in float64: the average reads the value at the start of each step.
      let wRef = w0.slice(), sRef = w0.slice();
      for (let step = 0; step < 4; step++) {
        await session.run({ x: { dtype: "float32", shape: [5], data: x } });
        const d = withStep ? Math.min(decay, (1 + step) / (10 + step)) : decay;
        sRef = sRef.map((s, i) => s - (1 - d) * (s - wRef[i]));
        wRef = wRef.map((v, i) => v - LR * 2 * (v - x[i]));
      }
      const state = await session.readState();
      assertClose(state.get("net/w")!.data as Float32Array, wRef, { rtol: 1e-5, atol: 1e-6, message: "the variable trains" });
      assertClose(state.get(shadow.name)!.data as Float32Array, sRef, { rtol: 1e-5, atol: 1e-6, message: `shadow (numUpdates ${withStep})` });
    } finally {
      await session.release();
    }
  }
});

test("ExponentialMovingAverage.variablesToRestore() maps average names to the variables, and bad use is refused", async () => {
  const { g, w, ema } = model(0.99, false);
  assertEquals(Object.keys(ema.variablesToRestore([w])), ["net/w/ExponentialMovingAverage"]);
  assertEquals(g.getCollection<Variable>(MOVING_AVERAGE_VARIABLES).map((v) => v.name), ["net/w/ExponentialMovingAverage"]);
  await assertThrows(() => g.asDefault(() => ema.apply([w])), "net/w is already averaged");
  await assertThrows(() => new ExponentialMovingAverage(1.5), "decay must be in [0, 1], got 1.5");
});
