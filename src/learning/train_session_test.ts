import "../ops/mod.ts";
import { Graph } from "../graph/graph.ts";
import { placeholder } from "../graph/variable.ts";
import { conv2d } from "../layers/mod.ts";
import { mul, reduceMean } from "../ops/mod.ts";
import { assert, assertEquals, randomArray, test } from "../../test/harness.ts";
import { createTrainOp } from "./create_train_op.ts";
import { adam } from "./optimizers/mod.ts";
import { TrainSession } from "./train_session.ts";

/** fc6-like: a 7×7 filter on a 1×1 map keeps only its centre tap in the step; Adam adds two all-zero slots. */
function regionWithAdam() {
  const g = new Graph();
  return g.asDefault(() => {
    const x = placeholder([3, 1, 1, 4], "float32", "x");
    const y = conv2d(x, 6, [7, 7], { scope: "fc6", activationFn: null, trainDataTapsOnly: true });
    return createTrainOp(reduceMean(mul(y, y)), adam({ learningRate: 0.01 }));
  });
}

test("TrainSession.checkpointTensors() reads what readState() copies, including all-zero region slots", async () => {
  const s = await TrainSession.create(regionWithAdam(), { seed: 3 });
  try {
    s.initialize();
    const x = { dtype: "float32" as const, shape: [3, 1, 1, 4], data: randomArray(12, 6) };
    for (let i = 0; i < 2; i++) await s.run({ x });
    const expected = await s.readState();
    const lazy = s.checkpointTensors();
    assertEquals([...lazy.keys()].sort(), [...expected.keys()].sort());
    const slots = [...lazy.keys()].filter((n) => n.startsWith("fc6/weights/"));
    assert(slots.length === 2, `Adam's two slots of fc6/weights, got ${slots.join(", ")}`);
    for (const [name, t] of lazy) {
      const want = expected.get(name)!;
      assertEquals([t.dtype, t.shape], [want.dtype, want.shape], name);
      const got = await t.read();
      assertEquals(Array.from(got.data as Float32Array), Array.from(want.data as Float32Array), name);
    }
    // Outside the centre tap a slot stays zero; inside, two Adam steps moved it.
    const m = (await lazy.get(slots[0])!.read()).data as Float32Array;
    const centre = new Set(Array.from({ length: 24 }, (_, i) => 24 * 24 + i));
    for (let i = 0; i < m.length; i++) if (!centre.has(i)) assert(m[i] === 0, `${slots[0]} element ${i} outside the centre tap is ${m[i]}`);
    assert([...centre].every((i) => m[i] !== 0), `${slots[0]}: every centre-tap element should have moved`);
  } finally {
    await s.release();
  }
});
