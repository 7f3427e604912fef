/**
 * Optimizers against fixtures/optimizers.json, written by
 * scripts/make_optimizer_fixtures.py with PyTorch as the outside oracle. The
 * `reference` field of each case names what computed it:
 *  - gradientDescent, momentum (plain, Nesterov) and adagrad: torch.optim itself
 *    (SGD, SGD(momentum), Adagrad(eps=0)), whose formulas are TF1's;
 *  - adam: torch.optim.Adam with its epsilon rescaled every step to TF1's placement
 *    (epsilon added to the raw sqrt(v)), cross-checked by TF's formula by hand;
 *  - rmsprop: TF's formula in float64 torch arithmetic, because torch's RMSprop
 *    starts the mean square at zeros, puts epsilon outside the root and keeps lr
 *    out of the momentum buffer; the script checks that formula against
 *    torch.optim.RMSprop where they must agree (epsilon 0, TF's ones as state).
 * Gradients are fed through placeholders, so exactly the update graph runs.
 */
import { assert, assertClose, assertEquals, assertThrows, randomArray, test } from "../../../test/harness.ts";
import { hasNodeFs } from "../../fs/default.ts";
import { NodeFileSystem } from "../../fs/node_fs.ts";
import { getDefaultGraph, Graph, GraphKeys, nameScope } from "../../graph/graph.ts";
import { type HostTensor, hostTensor } from "../../graph/host_tensor.ts";
import type { Tensor } from "../../graph/tensor.ts";
import { type Assignment, placeholder, type Variable, variable } from "../../graph/variable.ts";
import "../../ops/mod.ts";
import { compileModel } from "../../onnx/compile.ts";
import { createRuntime } from "../../runtime/create.ts";
import { buildFeeds } from "../../runtime/evaluate.ts";
import type { Runtime } from "../../runtime/types.ts";
import { getOrCreateGlobalStep } from "../global_step.ts";
import type { Optimizer } from "../optimizer.ts";
import { exponentialDecay } from "../schedules.ts";
import { adadelta, adagrad, adam, ftrl, gradientDescent, momentum, rmsprop } from "./mod.ts";

interface Case {
  name: string;
  optimizer: keyof typeof FACTORIES;
  options: Record<string, unknown>;
  reference: string;
  shapes: Record<string, number[]>;
  initial: Record<string, number[]>;
  grads: Record<string, number[]>[];
  steps: Record<string, number[]>[];
}

const FACTORIES = {
  gradientDescent: (o: Record<string, unknown>) => gradientDescent(o as never),
  momentum: (o: Record<string, unknown>) => momentum(o as never),
  adam: (o: Record<string, unknown>) => adam(o as never),
  rmsprop: (o: Record<string, unknown>) => rmsprop(o as never),
  adagrad: (o: Record<string, unknown>) => adagrad(o as never),
  adadelta: (o: Record<string, unknown>) => adadelta(o as never),
  ftrl: (o: Record<string, unknown>) => ftrl(o as never),
};

let runtimePromise: Promise<Runtime> | undefined;
const runtime = () => (runtimePromise ??= createRuntime({ intraOpNumThreads: 1 }));
const f32 = (shape: number[], values: ArrayLike<number>): HostTensor => hostTensor("float32", shape, Float32Array.from(values));

/** Builds `vars` and one gradient placeholder per variable, then the optimizer's updates inside a name scope. */
function buildStep(g: Graph, shapes: Record<string, number[]>, opt: Optimizer) {
  return g.asDefault(() => {
    const vars = Object.entries(shapes).map(([name, shape]) => {
      const [scope, base] = name.split("/");
      return g.withScope(scope, () => variable(base, { shape }));
    });
    const grads = vars.map((v) => placeholder([...v.shape], "float32", `grad/${v.name}`));
    const step = getOrCreateGlobalStep(g);
    // Called from inside a scope: slot names must not pick it up.
    const updates = nameScope("train", () => opt.applyGradients(vars.map((v, i) => ({ grad: grads[i], variable: v })), step));
    return { vars, grads, updates };
  });
}

/** Runs the compiled updates for each gradient, feeding every updated variable back; returns the state after each step. */
async function runSteps(
  updates: readonly Assignment[],
  initial: Record<string, HostTensor>,
  gradFeeds: Record<string, HostTensor>[],
): Promise<Record<string, HostTensor>[]> {
  const rt = await runtime();
  const model = compileModel({ name: "train_step", fetches: {}, updates });
  const session = await rt.createSession(model.bytes);
  const state = { ...initial };
  const history: Record<string, HostTensor>[] = [];
  try {
    for (const [step, grads] of gradFeeds.entries()) {
      const feeds = buildFeeds(model.inputs, rt, { variables: state, feeds: { ...grads, global_step: f32([], [step]) } });
      const out = await session.run(feeds, model.outputs.map((o) => o.name));
      for (const o of model.outputs) state[o.variable!.name] = await rt.toHost(out[o.name]);
      history.push({ ...state });
    }
  } finally {
    await session.release();
  }
  return history;
}

const fixtureUrl = new URL("../../../fixtures/optimizers.json", import.meta.url);
const fixturePath = decodeURIComponent(fixtureUrl.pathname).replace(/^\/([A-Za-z]:)/, "$1");
const cases: Case[] = hasNodeFs() ? JSON.parse(new TextDecoder().decode(await new NodeFileSystem().readFile(fixturePath))).cases : [];

for (const c of cases) {
  const oracle = c.reference.startsWith("torch.optim.") ? c.reference.split(/[ (]/)[0] : "TF's formula in float64 torch";
  test(`${c.optimizer}() ${c.name} matches ${oracle} over ${c.steps.length} steps, slots included`, async () => {
    const g = new Graph();
    const { vars, updates } = buildStep(g, c.shapes, FACTORIES[c.optimizer](c.options));
    // The updated names are the fixture's keys: parameters, TF-named slots, beta powers.
    assertEquals(updates.map((u) => u.variable.name).sort(), Object.keys(c.steps[0]).sort(), `${c.name}: updated variables`);
    const initial = Object.fromEntries(vars.map((v) => [v.name, f32([...v.shape], c.initial[v.name])]));
    const grads = c.grads.map((step) => Object.fromEntries(vars.map((v) => [`grad/${v.name}`, f32([...v.shape], step[v.name])])));
    const history = await runSteps(updates, initial, grads);
    // rtol 1e-5 is the bar; atol 1e-7 only matters where accumulated gradients
    // cancel (one momentum element is 2.5e-4, summed from terms near 0.5).
    for (const [i, expected] of c.steps.entries()) {
      for (const [name, values] of Object.entries(expected)) {
        assertClose(history[i][name].data as Float32Array, values, { rtol: 1e-5, atol: 1e-7, message: `${c.name} (${c.reference}): ${name} after step ${i + 1}` });
      }
    }
  });
}

test("optimizers load fixtures/optimizers.json with every optimizer covered", () => {
  if (!hasNodeFs()) return;
  assertEquals([...new Set(cases.map((c) => c.optimizer))].sort(), Object.keys(FACTORIES).sort());
});

test("optimizer slots are non-trainable root-scope variables; variables without a gradient are left alone", () => {
  const g = new Graph();
  const { vars, updates } = g.asDefault(() => {
    const vars = g.withScope("net", () => [variable("w", { shape: [2, 3] }), variable("frozen", { shape: [4] })]);
    const grad = placeholder([2, 3], "float32", "dw");
    const step = getOrCreateGlobalStep(g);
    const opt = rmsprop({ learningRate: 0.01, momentum: 0.9, centered: true });
    const updates = nameScope("outer", () => opt.applyGradients([{ grad, variable: vars[0] }, { grad: null, variable: vars[1] }], step));
    return { vars, updates };
  });
  const slots = ["net/w/RMSProp", "net/w/RMSProp_1", "net/w/RMSProp_2"];
  assertEquals(updates.map((u) => u.variable.name).sort(), ["net/w", ...slots].sort());
  for (const name of slots) {
    const slot = g.variables.get(name);
    assert(slot && !slot.trainable, `${name} should be a non-trainable variable`);
    assert(g.getCollection<Variable>(GraphKeys.GLOBAL_VARIABLES).includes(slot), `${name} should be in GLOBAL_VARIABLES`);
    assertEquals(slot.shape, [2, 3]);
  }
  assertEquals(g.getCollection<Variable>(GraphKeys.TRAINABLE_VARIABLES).map((v) => v.name), ["net/w", "net/frozen"]);
  assert(![...g.variables.keys()].some((n) => n.startsWith(`${vars[1].name}/`)), "no slots for a variable without a gradient");
});

test("adam() keeps beta powers per optimizer, as TensorFlow names them (beta1_power, beta1_power_1)", () => {
  const g = new Graph();
  const names = g.asDefault(() => {
    const a = variable("a", { shape: [3] }), b = variable("b", { shape: [2] });
    const step = getOrCreateGlobalStep(g);
    const first = adam().applyGradients([{ grad: placeholder([3], "float32", "ga"), variable: a }], step);
    const second = nameScope("head", () => adam({ learningRate: 0.01 }).applyGradients([{ grad: placeholder([2], "float32", "gb"), variable: b }], step));
    return [first, second].map((u) => u.map((x) => x.variable.name).filter((n) => n.includes("power")));
  });
  assertEquals(names, [["beta1_power", "beta2_power"], ["beta1_power_1", "beta2_power_1"]]);
});

test("optimizers use a schedule of the global step as the learning rate", async () => {
  const g = new Graph();
  const shapes = { "layer/weights": [2, 3] };
  const schedule = { learningRate: 0.3, decaySteps: 2, decayRate: 0.5, staircase: true };
  const opt = gradientDescent({ learningRate: exponentialDecay(schedule) });
  const { updates } = buildStep(g, shapes, opt);
  assertEquals(opt.learningRateTensor?.rank, 0);
  const w0 = randomArray(6, 11), grads = [0, 1, 2, 3].map((s) => randomArray(6, 20 + s, 0.2, 1));
  const history = await runSteps(updates, { "layer/weights": f32([2, 3], w0) }, grads.map((d) => ({ "grad/layer/weights": f32([2, 3], d) })));
  const w = Array.from(w0);
  for (const [step, d] of grads.entries()) {
    const lr = 0.3 * 0.5 ** Math.floor(step / 2);
    for (let i = 0; i < w.length; i++) w[i] -= lr * d[i];
    assertClose(history[step]["layer/weights"].data as Float32Array, w, { rtol: 1e-5, atol: 1e-7, message: `after step ${step + 1}` });
  }
});

test("optimizers reject bad options with errors naming the option", async () => {
  await assertThrows(() => adam({ beta1: 1.5 }), "adam: beta1 must be in [0, 1), got 1.5");
  await assertThrows(() => adam({ beta2: -0.1 }), "adam: beta2 must be in [0, 1), got -0.1");
  await assertThrows(() => adam({ epsilon: 0 }), "adam: epsilon must be positive, got 0");
  await assertThrows(() => gradientDescent({ learningRate: 0 }), "gradientDescent: learningRate must be positive, got 0");
  await assertThrows(() => gradientDescent({ learningRate: NaN }), "gradientDescent: learningRate must be positive, got NaN");
  await assertThrows(() => gradientDescent({} as never), "gradientDescent: learningRate is required");
  await assertThrows(() => momentum({ learningRate: 0.1, momentum: 1 }), "momentum: momentum must be in [0, 1), got 1");
  await assertThrows(() => momentum({ learningRate: 0.1, momentum: 0.9, useNesterov: "yes" as never }), "momentum: useNesterov must be a boolean");
  await assertThrows(() => momentum({ learningRate: 0.1, momentum: 0.9, nesterov: true } as never), "momentum: unknown option nesterov");
  await assertThrows(() => rmsprop({ learningRate: 0.1, decay: 1 }), "rmsprop: decay must be in [0, 1), got 1");
  await assertThrows(() => rmsprop({ learningRate: 0.1, epsilon: -1e-10 }), "rmsprop: epsilon must be positive");
  await assertThrows(() => rmsprop({ learningRate: 0.1, centred: true } as never), "rmsprop: unknown option centred");
  await assertThrows(() => adagrad({ learningRate: 0.1, initialAccumulatorValue: 0 }), "adagrad: initialAccumulatorValue must be positive, got 0");
  await assertThrows(() => adam({ learning_rate: 0.1 } as never), "adam: unknown option learning_rate");
  await assertThrows(() => adadelta({ rho: 1 }), "adadelta: rho must be in [0, 1), got 1");
  await assertThrows(() => ftrl({ learningRate: 0.1, learningRatePower: 0.5 }), "ftrl: learningRatePower must be");
  await assertThrows(() => ftrl({ learningRate: 0.1, l1RegularizationStrength: -1 }), "ftrl: l1RegularizationStrength must be non-negative");
});

test("applyGradients() rejects mismatched gradients, repeated variables and bad schedules", async () => {
  const g = new Graph();
  await g.asDefault(async () => {
    const w = variable("w", { shape: [3] });
    const step = getOrCreateGlobalStep(g);
    const opt = momentum({ learningRate: 0.1, momentum: 0.5 });
    await assertThrows(() => opt.applyGradients([{ grad: placeholder([4], "float32", "g4"), variable: w }], step), "Momentum: gradient g4 [4] float32 does not match variable w [3] float32");
    const grad = placeholder([3], "float32", "g3");
    await assertThrows(() => opt.applyGradients([{ grad, variable: w }, { grad, variable: w }], step), "Momentum: variable w appears twice");
    const bad = gradientDescent({ learningRate: (s: Tensor) => placeholder([2], "float32", `lr_${s.name}`) });
    await assertThrows(() => bad.applyGradients([{ grad, variable: w }], step), "GradientDescent: the learning-rate schedule must return a float32 scalar");
    assertEquals(opt.applyGradients([{ grad: null, variable: w }], step), []);
  });
  assert(getDefaultGraph() !== g);
});
