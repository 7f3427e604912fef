/**
 * Schedules against TF1's documented formulas, recomputed here in float64 for
 * every step of a range that crosses each boundary, decay period and cycle.
 */
import { assertClose, assertEquals, assertThrows, randomArray, test } from "../../test/harness.ts";
import { traceSchedule as trace } from "../../test/schedule_trace.ts";
import { Graph } from "../graph/graph.ts";
import { placeholder } from "../graph/variable.ts";
import "../ops/mod.ts";
import { cosineDecay, exponentialDecay, piecewiseConstant, polynomialDecay } from "./schedules.ts";

const range = (n: number) => Array.from({ length: n }, (_, i) => i);
/** A learning rate, a decay rate and a fraction drawn from a seed, so no test hinges on round numbers. */
const draw = (seed: number) => {
  const [lr, rate, frac] = randomArray(3, seed, 0.05, 0.95);
  return { lr, rate, frac };
};

test("exponentialDecay() follows lr * rate^(step / decaySteps), smooth and staircase", async () => {
  const { lr, rate } = draw(1);
  const steps = range(50);
  for (const staircase of [false, true]) {
    const got = await trace(exponentialDecay({ learningRate: lr, decaySteps: 7, decayRate: rate, staircase }), steps);
    const want = steps.map((s) => lr * rate ** (staircase ? Math.floor(s / 7) : s / 7));
    assertClose(got, want, { rtol: 1e-5, atol: 1e-9, message: `staircase ${staircase}` });
  }
});

test("piecewiseConstant() gives values[i] for boundaries[i-1] < step <= boundaries[i], exactly", async () => {
  const values = Array.from(randomArray(4, 2, 0.001, 1));
  const boundaries = [5, 12, 30];
  const steps = [...range(40), 1000];
  const got = await trace(piecewiseConstant({ boundaries, values }), steps);
  const want = steps.map((s) => values[boundaries.filter((b) => s > b).length]);
  assertEquals(got, want.map(Math.fround));
});

test("piecewiseConstant() with one boundary switches just after it", async () => {
  const got = await trace(piecewiseConstant({ boundaries: [3], values: [0.5, 0.25] }), [0, 2, 3, 4, 9]);
  assertEquals(got, [0.5, 0.5, 0.5, 0.25, 0.25]);
});

/** TF1's polynomial_decay in float64. */
function polynomial(s: number, lr: number, decaySteps: number, end: number, power: number, cycle: boolean): number {
  let steps = decaySteps;
  if (cycle) steps = decaySteps * (s === 0 ? 1 : Math.ceil(s / decaySteps));
  else s = Math.min(s, decaySteps);
  return (lr - end) * (1 - s / steps) ** power + end;
}

test("polynomialDecay() decays to endLearningRate and holds it; with cycle restarts from a lower peak", async () => {
  const { lr, frac } = draw(3);
  const end = lr * frac * 0.1;
  const steps = range(75);
  for (const [power, cycle] of [[2, false], [0.5, true], [1, true]] as const) {
    const got = await trace(polynomialDecay({ learningRate: lr, decaySteps: 20, endLearningRate: end, power, cycle }), steps);
    assertClose(got, steps.map((s) => polynomial(s, lr, 20, end, power, cycle)), { rtol: 1e-5, atol: 1e-9, message: `power ${power}, cycle ${cycle}` });
  }
  const defaults = await trace(polynomialDecay({ learningRate: lr, decaySteps: 20 }), steps);
  assertClose(defaults, steps.map((s) => polynomial(s, lr, 20, 0.0001, 1, false)), { rtol: 1e-5, atol: 1e-9, message: "defaults" });
});

test("cosineDecay() falls from lr to alpha * lr over decaySteps, then holds", async () => {
  const { lr, frac } = draw(4);
  const steps = range(45);
  for (const alpha of [0, frac]) {
    const got = await trace(cosineDecay({ learningRate: lr, decaySteps: 30, alpha }), steps);
    const want = steps.map((s) => lr * ((1 - alpha) * 0.5 * (1 + Math.cos((Math.PI * Math.min(s, 30)) / 30)) + alpha));
    assertClose(got, want, { rtol: 1e-5, atol: 1e-7, message: `alpha ${alpha}` });
  }
});

test("schedules reject bad options and non-scalar steps with errors naming them", async () => {
  await assertThrows(() => exponentialDecay({ learningRate: 0.1, decaySteps: 0, decayRate: 0.9 }), "exponentialDecay: decaySteps must be positive, got 0");
  await assertThrows(() => exponentialDecay({ learningRate: 0.1, decaySteps: 10, decay_rate: 0.9 } as never), "exponentialDecay: unknown option decay_rate");
  await assertThrows(() => piecewiseConstant({ boundaries: [10, 5], values: [1, 2, 3] }), "piecewiseConstant: boundaries must increase, got 10 then 5");
  await assertThrows(() => piecewiseConstant({ boundaries: [10], values: [1] }), "piecewiseConstant: values must have one more element than boundaries");
  await assertThrows(() => polynomialDecay({ learningRate: NaN, decaySteps: 10 }), "polynomialDecay: learningRate must be positive, got NaN");
  await assertThrows(() => cosineDecay({ learningRate: 0.1, decaySteps: 10, alpha: 2 }), "cosineDecay: alpha must be in [0, 1], got 2");
  const g = new Graph();
  const vectorStep = g.asDefault(() => placeholder([2], "float32", "steps"));
  await assertThrows(() => cosineDecay({ learningRate: 0.1, decaySteps: 10 })(vectorStep), "cosineDecay: the global step must be a float32 scalar");
});
