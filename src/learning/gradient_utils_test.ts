// slim's gradient utilities against hand computations on random gradients, and
// createTrainOp's options (multipliers, clipping, transformGradsFn, updateOps,
// summarizeGradients) checked on the parameters after real SGD steps.
import "../ops/mod.ts";
import { Graph, GraphKeys } from "../graph/graph.ts";
import type { HostTensor } from "../graph/host_tensor.ts";
import type { Tensor } from "../graph/tensor.ts";
import { assign, placeholder, variable, type Variable } from "../graph/variable.ts";
import { add, mul, reduceSum } from "../ops/mod.ts";
import { evaluate } from "../runtime/evaluate.ts";
import type { SummarySpec } from "../summary/summary_ops.ts";
import { assert, assertClose, assertEquals, assertThrows, randomArray, test } from "../../test/harness.ts";
import { createTrainOp } from "./create_train_op.ts";
import { addGradientsSummaries, clipByGlobalNorm, clipGradientNorms, multiplyGradients } from "./gradient_utils.ts";
import type { GradAndVar } from "./optimizer.ts";
import { gradientDescent } from "./optimizers/mod.ts";
import { TrainSession } from "./train_session.ts";

function host(shape: number[], data: Float32Array): HostTensor {
  return { dtype: "float32", shape, data };
}

function l2(xs: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < xs.length; i++) s += xs[i] * xs[i];
  return Math.sqrt(s);
}

function scaled(xs: ArrayLike<number>, k: number): number[] {
  return Array.from(xs, (x) => x * k);
}

/**
 * Two variables whose gradients are placeholders fed with random values: g1 (norm
 * about 2, above the clip thresholds used below) and g2 (norm about 0.1, below),
 * plus a variable without a gradient.
 */
function gradFixture() {
  const g = new Graph();
  const values = { g1: randomArray(12, 11), g2: randomArray(5, 12, -0.08, 0.08) };
  const t = g.asDefault(() => {
    const w1 = variable("net/w1", { shape: [3, 4] });
    const w2 = variable("net/w2", { shape: [5] });
    const w3 = variable("net/w3", { shape: [2] });
    const g1 = placeholder([3, 4], "float32", "g1");
    const g2 = placeholder([5], "float32", "g2");
    const gradsAndVars: GradAndVar[] = [{ grad: g1, variable: w1 }, { grad: g2, variable: w2 }, { grad: null, variable: w3 }];
    return { w1, w2, w3, g1, g2, gradsAndVars };
  });
  const feeds = { g1: host([3, 4], values.g1), g2: host([5], values.g2) };
  return { g, ...t, values, feeds };
}

async function run(fetches: Record<string, Tensor>, feeds: Record<string, HostTensor>): Promise<Record<string, Float32Array>> {
  const out = await evaluate(fetches, { feeds });
  return Object.fromEntries(Object.entries(out).map(([k, v]) => [k, v.data as Float32Array]));
}

test("clipGradientNorms() clips each gradient by its own norm and leaves small ones and nulls alone", async () => {
  const f = gradFixture();
  const n1 = l2(f.values.g1), n2 = l2(f.values.g2);
  const maxNorm = 0.75;
  assert(n1 > maxNorm && n2 < maxNorm, `fixture norms ${n1}, ${n2} must straddle ${maxNorm}`);
  const clipped = f.g.asDefault(() => clipGradientNorms(f.gradsAndVars, maxNorm));
  assertEquals(clipped.map((gv) => gv.variable.name), ["net/w1", "net/w2", "net/w3"]);
  assert(clipped[2].grad === null, "a null gradient stays null");
  const out = await run({ c1: clipped[0].grad!, c2: clipped[1].grad! }, f.feeds);
  assertClose(out.c1, scaled(f.values.g1, maxNorm / n1), { message: "g1 scaled to norm maxNorm" });
  assertClose(l2(out.c1), maxNorm, { message: "clipped norm" });
  assertClose(out.c2, f.values.g2, { rtol: 1e-6, atol: 0, message: "g2 below the threshold is unchanged" });
  await assertThrows(() => clipGradientNorms(f.gradsAndVars, 0), "maxNorm must be positive, got 0");
});

test("clipByGlobalNorm() scales every gradient by clipNorm / globalNorm only when the global norm is larger", async () => {
  const f = gradFixture();
  const global = Math.hypot(l2(f.values.g1), l2(f.values.g2));
  const clipNorm = 0.9;
  const { tight, loose } = f.g.asDefault(() => ({ tight: clipByGlobalNorm(f.gradsAndVars, clipNorm), loose: clipByGlobalNorm(f.gradsAndVars, 100) }));
  assert(tight.gradsAndVars[2].grad === null, "a null gradient stays null");
  const out = await run({
    norm: tight.globalNorm, t1: tight.gradsAndVars[0].grad!, t2: tight.gradsAndVars[1].grad!,
    l1: loose.gradsAndVars[0].grad!, l2: loose.gradsAndVars[1].grad!,
  }, f.feeds);
  assertClose(out.norm[0], global, { message: "global norm" });
  const k = clipNorm / global;
  // Both shrink by the same factor, so the small g2 is scaled too (unlike per-gradient clipping).
  assertClose(out.t1, scaled(f.values.g1, k), { message: "g1" });
  assertClose(out.t2, scaled(f.values.g2, k), { message: "g2" });
  assertClose(Math.hypot(l2(out.t1), l2(out.t2)), clipNorm, { message: "clipped global norm" });
  assertClose(out.l1, f.values.g1, { message: "unclipped g1" });
  assertClose(out.l2, f.values.g2, { message: "unclipped g2" });
  await assertThrows(() => clipByGlobalNorm([{ grad: null, variable: f.w3 }], 1), "no gradients to clip");
  await assertThrows(() => clipByGlobalNorm(f.gradsAndVars, -1), "clipNorm must be positive");
});

test("multiplyGradients() scales the named gradients and rejects what slim rejects", async () => {
  const f = gradFixture();
  const byName = f.g.asDefault(() => multiplyGradients(f.gradsAndVars, { "net/w1": 3.5 }));
  assert(byName[1].grad === f.g2, "a gradient without a multiplier is passed through");
  assert(byName[2].grad === null, "a null gradient without a multiplier stays null");
  const byVariable = f.g.asDefault(() => multiplyGradients(f.gradsAndVars, new Map<Variable | string, number>([[f.w2, -2], ["net/w1", 0.25]])));
  const out = await run({ a: byName[0].grad!, b1: byVariable[0].grad!, b2: byVariable[1].grad! }, f.feeds);
  assertClose(out.a, scaled(f.values.g1, 3.5), { message: "by name" });
  assertClose(out.b1, scaled(f.values.g1, 0.25), { message: "by name in a Map" });
  assertClose(out.b2, scaled(f.values.g2, -2), { message: "by Variable key" });

  await assertThrows(() => multiplyGradients(f.gradsAndVars, {}), "`gradientMultipliers` is empty");
  await assertThrows(() => multiplyGradients(f.gradsAndVars, { "net/w3": 2 }), "requested multiple of a null gradient (variable net/w3)");
  await assertThrows(() => multiplyGradients(f.gradsAndVars, { "net/w9": 2 }), "no variable named net/w9");
  await assertThrows(() => multiplyGradients({} as never, { "net/w1": 2 }), "must be a list");
});

test("addGradientsSummaries() adds <var>/gradient histograms and <var>/gradient_norm scalars to SUMMARIES", async () => {
  const f = gradFixture();
  f.g.asDefault(() => addGradientsSummaries(f.gradsAndVars));
  const specs = f.g.getCollection<SummarySpec>(GraphKeys.SUMMARIES);
  assertEquals(specs.map((s) => [s.kind, s.name]), [
    ["histogram", "net/w1/gradient"], ["scalar", "net/w1/gradient_norm"],
    ["histogram", "net/w2/gradient"], ["scalar", "net/w2/gradient_norm"],
  ], "no summaries for the null gradient of net/w3");
  assert(specs[0].tensor === f.g1 && specs[2].tensor === f.g2, "histograms summarize the gradients themselves");
  const out = await run({ n1: specs[1].tensor, n2: specs[3].tensor }, f.feeds);
  assertClose(out.n1[0], l2(f.values.g1), { message: "gradient_norm of w1" });
  assertClose(out.n2[0], l2(f.values.g2), { message: "gradient_norm of w2" });
});

// createTrainOp: loss = Σ w1·c1 + Σ w2²·c2, so ∂/∂w1 = c1 and ∂/∂w2 = 2·w2·c2.
const LR = 0.1;

interface LinearModel {
  g: Graph;
  loss: Tensor;
  w1: Variable;
  w2: Variable;
  counter: Variable;
}

function linearModel(): LinearModel {
  const g = new Graph();
  return g.asDefault(() => {
    const w1 = variable("m/w1", { shape: [6] });
    const w2 = variable("m/w2", { shape: [4] });
    const counter = variable("m/counter", { shape: [], trainable: false });
    const c1 = placeholder([6], "float32", "c1");
    const c2 = placeholder([4], "float32", "c2");
    const loss = add(reduceSum(mul(w1.value, c1)), reduceSum(mul(mul(w2.value, w2.value), c2)));
    return { g, loss, w1, w2, counter };
  });
}

const START = { w1: randomArray(6, 31), w2: randomArray(4, 32), counter: randomArray(1, 33, 1, 2)[0] };
// c1 has norm about 0.4: below a clip of 1 on its own, above it once multiplied by 10.
const C1 = randomArray(6, 34, -0.3, 0.3), C2 = randomArray(4, 35, 0.5, 1.5);
const BATCH = { c1: host([6], C1), c2: host([4], C2) };

/** Runs `steps` SGD steps from START and returns every variable's value afterwards. */
async function stepFrom(trainOp: ReturnType<typeof createTrainOp>, steps = 1, withSummaries = false) {
  const session = await TrainSession.create(trainOp, { executionProvider: "cpu" });
  try {
    session.initialize();
    session.assign("m/w1", host([6], START.w1.slice()));
    session.assign("m/w2", host([4], START.w2.slice()));
    session.assign("m/counter", { dtype: "float32", shape: [], data: new Float32Array([START.counter]) });
    let summaries;
    for (let i = 0; i < steps; i++) summaries = (await session.run(BATCH, { withSummaries })).summaries;
    const state = await session.readState();
    const get = (name: string) => state.get(name)!.data as Float32Array;
    return { w1: get("m/w1"), w2: get("m/w2"), counter: get("m/counter")[0], summaries };
  } finally {
    await session.release();
  }
}

function clip(g: number[], maxNorm: number): number[] {
  const n = l2(g);
  return n > maxNorm ? scaled(g, maxNorm / n) : g;
}

test("createTrainOp({ gradientMultipliers, clipGradientNorm }) multiplies before clipping", async () => {
  const m = linearModel();
  const trainOp = m.g.asDefault(() =>
    createTrainOp(m.loss, gradientDescent({ learningRate: LR }), { gradientMultipliers: { "m/w1": 10 }, clipGradientNorm: 1 })
  );
  const after = await stepFrom(trainOp);
  const g1 = Array.from(C1), g2 = Array.from(START.w2, (w, i) => 2 * w * C2[i]);
  assert(l2(g1) < 1 && 10 * l2(g1) > 1, `c1's norm ${l2(g1)} must make the two orders differ`);
  assert(l2(g2) > 1, `w2's gradient norm ${l2(g2)} must be clipped`);
  const slimOrder = clip(scaled(g1, 10), 1);
  const otherOrder = scaled(clip(g1, 1), 10);
  const expected1 = Array.from(START.w1, (w, i) => w - LR * slimOrder[i]);
  const wrong1 = Array.from(START.w1, (w, i) => w - LR * otherOrder[i]);
  assertClose(after.w1, expected1, { message: "w1 after multiply-then-clip" });
  assert(Math.abs(after.w1[0] - wrong1[0]) > 1e-3, "clip-then-multiply would give a different w1");
  const c2 = clip(g2, 1);
  assertClose(after.w2, Array.from(START.w2, (w, i) => w - LR * c2[i]), { message: "w2 clipped, no multiplier" });
  assertEquals(after.counter, START.counter, "a non-trainable variable without an update op is untouched");
});

test("createTrainOp({ transformGradsFn }) sees the clipped gradients and the optimizer applies what it returns", async () => {
  const m = linearModel();
  let seen: GradAndVar[] = [];
  const trainOp = m.g.asDefault(() =>
    createTrainOp(m.loss, gradientDescent({ learningRate: LR }), {
      clipGradientNorm: 0.2,
      transformGradsFn: (gvs) => {
        seen = gvs;
        // Flips w1's step and freezes w2 (a null gradient means no update).
        return gvs.map(({ grad, variable }) => ({ grad: variable.name === "m/w1" ? mul(grad!, -3) : null, variable }));
      },
    })
  );
  assertEquals(seen.map((gv) => gv.variable.name), ["m/w1", "m/w2"]);
  assert(trainOp.gradsAndVars[1].grad === null && trainOp.gradsAndVars[0].grad !== seen[0].grad, "trainOp keeps the transformed list");
  const after = await stepFrom(trainOp);
  const g1 = scaled(clip(Array.from(C1), 0.2), -3);
  assertClose(after.w1, Array.from(START.w1, (w, i) => w - LR * g1[i]), { message: "w1 from the transformed, clipped gradient" });
  assertClose(after.w2, START.w2, { rtol: 0, atol: 0, message: "w2 without a gradient is unchanged" });
});

test("createTrainOp({ updateOps }) runs the assignments with every step; by default it takes UPDATE_OPS", async () => {
  const explicit = linearModel();
  const op1 = explicit.g.asDefault(() =>
    createTrainOp(explicit.loss, gradientDescent({ learningRate: LR }), {
      updateOps: [assign(explicit.counter, add(explicit.counter.value, 1))],
    })
  );
  const a = await stepFrom(op1, 3);
  assertClose(a.counter, START.counter + 3, { message: "explicit updateOps" });
  assertClose(a.w1, Array.from(START.w1, (w, i) => w - 3 * LR * C1[i]), { message: "the train step still runs" });

  const fromCollection = linearModel();
  const op2 = fromCollection.g.asDefault(() => {
    fromCollection.g.addToCollection(GraphKeys.UPDATE_OPS, assign(fromCollection.counter, mul(fromCollection.counter.value, 2)));
    return createTrainOp(fromCollection.loss, gradientDescent({ learningRate: LR }));
  });
  const b = await stepFrom(op2, 2);
  assertClose(b.counter, START.counter * 4, { message: "UPDATE_OPS" });

  const ignored = linearModel();
  const op3 = ignored.g.asDefault(() => {
    ignored.g.addToCollection(GraphKeys.UPDATE_OPS, assign(ignored.counter, mul(ignored.counter.value, 2)));
    return createTrainOp(ignored.loss, gradientDescent({ learningRate: LR }), { updateOps: [] });
  });
  assertEquals((await stepFrom(op3, 1)).counter, START.counter, "updateOps: [] replaces the collection");
});

test("createTrainOp({ summarizeGradients }) summarizes the gradients the optimizer applies", async () => {
  const m = linearModel();
  const trainOp = m.g.asDefault(() =>
    createTrainOp(m.loss, gradientDescent({ learningRate: LR }), { summarizeGradients: true, gradientMultipliers: { "m/w2": 0.5 } })
  );
  const names = m.g.getCollection<SummarySpec>(GraphKeys.SUMMARIES).map((s) => s.name).sort();
  assertEquals(names, ["m/w1/gradient", "m/w1/gradient_norm", "m/w2/gradient", "m/w2/gradient_norm"]);
  const { summaries } = await stepFrom(trainOp, 1, true);
  const g2 = Array.from(START.w2, (w, i) => 0.5 * 2 * w * C2[i]);
  assertClose(summaries!.get("m/w1/gradient_norm")!.value.data as Float32Array, [l2(C1)], { message: "w1 norm" });
  assertClose(summaries!.get("m/w2/gradient_norm")!.value.data as Float32Array, [l2(g2)], { message: "w2 norm, after its multiplier" });
  assertClose(summaries!.get("m/w2/gradient")!.value.data as Float32Array, g2, { message: "w2 gradient histogram values" });

  const plain = linearModel();
  plain.g.asDefault(() => createTrainOp(plain.loss, gradientDescent({ learningRate: LR })));
  assertEquals(plain.g.getCollection(GraphKeys.SUMMARIES).length, 0, "no gradient summaries unless asked");
});

test("createTrainOp() rejects an unknown option, naming it", async () => {
  const m = linearModel();
  const err = await assertThrows(
    () => m.g.asDefault(() => createTrainOp(m.loss, gradientDescent({ learningRate: LR }), { clipGradNorm: 1 } as never)),
    "createTrainOp: unknown option clipGradNorm",
  );
  assert(err.message.includes("clipGradientNorm"), "the message lists the known options");
});
