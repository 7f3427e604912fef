import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { assert, assertEquals, assertThrows, randomArray, rng, test } from "../../test/harness.ts";
import { checkOnnxModels, onnxCheckerUnavailable } from "../../test/onnx_checker.ts";
import { Graph } from "../graph/graph.ts";
import { numElements } from "../graph/host_tensor.ts";
import type { Node, Tensor } from "../graph/tensor.ts";
import { constant, placeholder } from "../graph/variable.ts";
import { makeModel, makeNode, makeValueInfo } from "../onnx/builder.ts";
import { compileModel } from "../onnx/compile.ts";
import {
  abs, add, apply, biasAddNCHW, broadcastTo, cast, concat, conv2dNCHW, cos, div, dropout, exp, expandDims, floor, identity, l2Loss, log,
  logSoftmax, matmul, maximum, maxPool2dNCHW, minimum, mul, neg, pad, pow, reciprocal, reduceMax, reduceMean, reduceSum, relu, relu6,
  reshape, sigmoid, sigmoidCrossEntropyWithLogits, sin, slice, softmax, softmaxCrossEntropyWithLogits, softplus, sqrt, squeeze, sub, tanh,
  transpose, where,
} from "../ops/mod.ts";
import { getOp, registerOp } from "../ops/registry.ts";
import { convTransposeNCHW } from "../ops/conv_transpose.ts";
import { erf } from "../ops/activations.ts";
import { groupedConv2dNCHW } from "../ops/grouped_conv.ts";
import { moments } from "../ops/norm.ts";
import { buildGradientCheck, checkGradients, type CheckGradientsOptions, type GradientCheckInput } from "./check_grads.ts";

// ---- Inputs. Every case draws its own seeded values; none are zeros. ----

let nextSeed = 1;
/** Uniform in [lo, hi). */
const u = (shape: number[], lo = -1, hi = 1): GradientCheckInput => ({ shape, data: randomArray(numElements(shape), nextSeed++, lo, hi) });
/** Positive, for Log, Sqrt, Pow's base and divisors. */
const pos = (shape: number[]): GradientCheckInput => u(shape, 0.5, 2);
/** |x| >= 0.2, so Relu/Abs/sign kinks stay far beyond eps. */
const away = (shape: number[]): GradientCheckInput => {
  const x = u(shape);
  x.data = (x.data as Float32Array).map((v) => Math.sign(v) * (0.2 + 0.8 * Math.abs(v)));
  return x;
};
/**
 * Values drawn jointly for several tensors from a shuffled, jittered grid over
 * [lo, hi): no two are within half a grid step (far more than eps), so max, min and
 * pooling have no ties and no eps step changes a winner.
 */
const distinct = (shapes: number[][], lo = -2, hi = 2): GradientCheckInput[] => {
  const total = shapes.reduce((n, s) => n + numElements(s), 0);
  const r = rng(nextSeed++);
  const step = (hi - lo) / total;
  const grid = Array.from({ length: total }, (_, k) => lo + step * (k + 0.5 + 0.4 * (r() - 0.5)));
  for (let i = grid.length - 1; i > 0; i--) {
    const j = Math.floor(r() * (i + 1));
    [grid[i], grid[j]] = [grid[j], grid[i]];
  }
  let at = 0;
  return shapes.map((shape) => {
    const data = Float32Array.from(grid.slice(at, at + numElements(shape)));
    at += data.length;
    return { shape, data };
  });
};
/** A bool constant mask with both values present. */
const mask = (shape: number[]): Tensor => {
  const r = rng(nextSeed++);
  const bits = Array.from({ length: numElements(shape) }, (_, k) => (k < 2 ? k : r() < 0.5 ? 1 : 0));
  return constant(bits, shape, "bool");
};
/** A one-hot constant of [batch, classes]. */
const oneHot = (batch: number, classes: number): Tensor => {
  const r = rng(nextSeed++);
  const data = new Array(batch * classes).fill(0);
  for (let b = 0; b < batch; b++) data[b * classes + Math.floor(r() * classes)] = 1;
  return constant(data, [batch, classes]);
};

// ---- The table: one case per line. ----

interface Case {
  name: string;
  build: (...xs: Tensor[]) => Tensor;
  inputs: GradientCheckInput[];
  options?: CheckGradientsOptions;
}
const cases: Case[] = [];
const c = (name: string, build: Case["build"], inputs: GradientCheckInput[], options?: CheckGradientsOptions) =>
  void cases.push({ name, build, inputs, options });

// Broadcasting both ways: the engine sums each input's gradient back to its shape.
const BROADCASTS: [string, number[], number[]][] = [
  ["[2,3] with [2,3]", [2, 3], [2, 3]],
  ["[2,3] with [3]", [2, 3], [3]],
  ["[3] with [2,3]", [3], [2, 3]],
  ["[2,1] with [1,3]", [2, 1], [1, 3]],
  ["[2,3] with scalar", [2, 3], []],
  ["scalar with [2,3]", [], [2, 3]],
];
for (const [shapes, a, b] of BROADCASTS) {
  c(`add ${shapes}`, add, [u(a), u(b)]);
  c(`sub ${shapes}`, sub, [u(a), u(b)]);
  c(`mul ${shapes}`, mul, [u(a), u(b)]);
  c(`div ${shapes}`, div, [u(a), away(b)]);
  c(`pow ${shapes}`, pow, [pos(a), u(b, -1.5, 1.5)]);
  c(`maximum ${shapes}`, maximum, distinct([a, b]));
  c(`minimum ${shapes}`, minimum, distinct([a, b]));
}

c("neg", neg, [u([2, 3])]);
c("exp", exp, [u([2, 3])]);
c("log", log, [pos([2, 3])]);
c("sqrt", sqrt, [pos([2, 3])]);
c("reciprocal", reciprocal, [away([2, 3])]);
c("relu", relu, [away([3, 4])]);
c("relu6 on both sides of both kinks", relu6, [{ shape: [2, 4], data: Float32Array.from([-1.5, -0.4, 0.3, 2.2, 4.9, 5.6, 6.4, 8]) }]);
c("abs", abs, [away([3, 4])]);
c("sigmoid", sigmoid, [u([2, 3], -3, 3)]);
c("tanh", tanh, [u([2, 3], -2, 2)]);
c("sin", sin, [u([2, 3], -3, 3)]);
c("cos", cos, [u([2, 3], -3, 3)]);
c("identity", (x) => identity(x), [u([2, 3])]);
c("cast float32 to float32", (x) => cast(x, "float32"), [u([2, 3])]);
c("where [2,3] ? [2,3] : [3]", (a, b) => where(mask([2, 3]), a, b), [u([2, 3]), u([3])]);
c("where [2,1] ? [1,3] : scalar", (a, b) => where(mask([2, 1]), a, b), [u([1, 3]), u([])]);
c("x * x + x (one tensor used three times)", (x) => add(mul(x, x), x), [u([2, 3])]);

c("reduceSum axis 1", (x) => reduceSum(x, 1), [u([2, 3, 4])]);
c("reduceSum axes [0, 2] keepDims", (x) => reduceSum(x, [0, 2], true), [u([2, 3, 4])]);
c("reduceSum all", (x) => reduceSum(x), [u([2, 3, 4])]);
c("reduceMean axis -1", (x) => reduceMean(x, -1), [u([2, 3, 4])]);
c("reduceMean axes [1, 2] keepDims", (x) => reduceMean(x, [1, 2], true), [u([2, 3, 4])]);
c("reduceMean all", (x) => reduceMean(x), [u([2, 3, 4])]);
c("reduceMax axis 1", (x) => reduceMax(x, 1), distinct([[2, 3, 4]]));
c("reduceMax axes [0, 2] keepDims", (x) => reduceMax(x, [0, 2], true), distinct([[2, 3, 4]]));
c("reduceMax all", (x) => reduceMax(x), distinct([[2, 3, 4]]));

c("reshape [2,3,4] to [4,6]", (x) => reshape(x, [4, 6]), [u([2, 3, 4])]);
c("reshape [2,3,4] to [-1,2]", (x) => reshape(x, [-1, 2]), [u([2, 3, 4])]);
c("transpose [2,0,1]", (x) => transpose(x, [2, 0, 1]), [u([2, 3, 4])]);
c("transpose 2-D", (x) => transpose(x), [u([2, 3])]);
c("slice", (x) => slice(x, [1, 0, 2], [2, -1, 2]), [u([3, 4, 5])]);
c("pad", (x) => pad(x, [1, 0, 2], [0, 2, 1]), [u([2, 3, 2])]);
c("concat axis 1", (a, b, d) => concat([a, b, d], 1), [u([2, 1]), u([2, 3]), u([2, 2])]);
c("concat axis -1", (a, b) => concat([a, b], -1), [u([2, 3, 2]), u([2, 3, 1])]);
c("concat axis 0", (a, b) => concat([a, b], 0), [u([1, 3]), u([2, 3])]);
c("broadcastTo [3] to [2,3]", (x) => broadcastTo(x, [2, 3]), [u([3])]);
c("broadcastTo [2,1] to [3,2,4]", (x) => broadcastTo(x, [3, 2, 4]), [u([2, 1])]);
c("squeeze all", (x) => squeeze(x), [u([2, 1, 3, 1])]);
c("squeeze axis 1", (x) => squeeze(x, [1]), [u([2, 1, 3, 1])]);
c("expandDims 1", (x) => expandDims(x, 1), [u([2, 3])]);
c("expandDims -1", (x) => expandDims(x, -1), [u([2, 3])]);

c("matmul 2-D", matmul, [u([2, 3]), u([3, 4])]);
c("matmul batched with a broadcast matrix", matmul, [u([2, 2, 3]), u([3, 4])]);
c("matmul 2-D times batched", matmul, [u([2, 3]), u([2, 3, 4])]);
c("matmul batched, batches broadcast both ways", matmul, [u([2, 1, 2, 3]), u([3, 3, 2])]);

const conv = (x: number[], w: number[], options: Parameters<typeof conv2dNCHW>[2]): [Case["build"], GradientCheckInput[]] =>
  [(a, b) => conv2dNCHW(a, b, options), [{ ...u(x), name: "x" }, { ...u(w), name: "w" }]];
c("conv2d SAME stride 1", ...conv([2, 2, 5, 5], [3, 2, 3, 3], { padding: "SAME" }));
c("conv2d VALID stride 1", ...conv([1, 2, 6, 5], [3, 2, 3, 3], { padding: "VALID" }));
c("conv2d SAME stride 2 (pads bottom/right only)", ...conv([1, 2, 6, 6], [2, 2, 3, 3], { padding: "SAME", strides: [2, 2] }));
c("conv2d SAME stride 2, odd size", ...conv([1, 2, 7, 7], [2, 2, 3, 3], { padding: "SAME", strides: [2, 2] }));
c("conv2d VALID stride 2, odd size leaves a row and column", ...conv([1, 2, 7, 7], [2, 2, 2, 2], { padding: "VALID", strides: [2, 2] }));
c("conv2d VALID stride 2, 3x3 leaves a column", ...conv([2, 1, 7, 8], [2, 1, 3, 3], { padding: "VALID", strides: [2, 2] }));
c("conv2d explicit asymmetric pads stride 1", ...conv([1, 2, 5, 6], [2, 2, 3, 3], { padding: [1, 0, 2, 1] }));
c("conv2d explicit asymmetric pads stride 2", ...conv([1, 2, 6, 7], [2, 2, 3, 3], { padding: [0, 2, 1, 0], strides: [2, 2] }));
c("conv2d stride 2, bottom pad partly unused", ...conv([1, 2, 6, 6], [2, 2, 3, 3], { padding: [0, 0, 2, 2], strides: [2, 2] }));
c("conv2d pads wider than the kernel", ...conv([1, 1, 4, 4], [2, 1, 2, 2], { padding: [2, 0, 1, 3] }));
c("conv2d dilation 2 SAME", ...conv([1, 2, 7, 7], [2, 2, 3, 3], { padding: "SAME", dilations: [2, 2] }));
c("conv2d dilation 2 VALID stride 2", ...conv([1, 2, 9, 8], [2, 2, 3, 3], { padding: "VALID", dilations: [2, 2], strides: [2, 2] }));
c("conv2d dilation [2, 1], asymmetric pads", ...conv([1, 2, 5, 6], [2, 2, 2, 3], { padding: [0, 1, 2, 1], dilations: [2, 1] }));
c("conv2d strides [1, 2] with dilations [2, 1]", ...conv([1, 2, 7, 8], [2, 2, 3, 2], { padding: "SAME", strides: [1, 2], dilations: [2, 1] }));
c("conv2d 1x1", ...conv([2, 3, 4, 4], [2, 3, 1, 1], { padding: "VALID" }));
c("conv2d 1x1 stride 2, even size", ...conv([1, 3, 6, 6], [2, 3, 1, 1], { padding: "SAME", strides: [2, 2] }));
c("conv2d 3x2 kernel, strides [2, 1]", ...conv([1, 2, 7, 5], [2, 2, 3, 2], { padding: "SAME", strides: [2, 1] }));
c("groupedConv2d 2 groups, stride 2, padded", (a, b) => groupedConv2dNCHW(a, b, { groups: 2, strides: [2, 2], pads: [1, 1, 1, 1] }), [{ ...u([1, 4, 5, 5]), name: "x" }, { ...u([4, 2, 3, 3]), name: "w" }]);
c("groupedConv2d depthwise, multiplier 2", (a, b) => groupedConv2dNCHW(a, b, { groups: 3, pads: [1, 1, 1, 1] }), [{ ...u([1, 3, 4, 4]), name: "x" }, { ...u([6, 1, 3, 3]), name: "w" }]);
c("convTranspose stride 2, output padding", (a, b) => convTransposeNCHW(a, b, { strides: [2, 2], pads: [1, 1, 1, 1], outputPadding: [1, 1] }), [{ ...u([1, 2, 3, 3]), name: "x" }, { ...u([2, 3, 3, 3]), name: "w" }]);
c("moments over [0, 2, 3], mean and variance", (a) => { const { mean, variance } = moments(a, [0, 2, 3]); return add(mul(mean, 2), variance); }, [u([2, 3, 2, 2])]);
c("erf", erf, [u([2, 5], -2, 2)]);

c("maxPool 2x2 stride 2, tiled", (x) => maxPool2dNCHW(x, [2, 2]), distinct([[2, 2, 4, 6]], -3, 3));
c("maxPool 2x2 stride 2 VALID, odd size", (x) => maxPool2dNCHW(x, [2, 2]), distinct([[1, 2, 5, 7]], -3, 3));
c("maxPool 3x3 stride 2, overlapping (scatter)", (x) => maxPool2dNCHW(x, [3, 3], { strides: [2, 2] }), distinct([[2, 2, 7, 7]], -4, 4));
c("maxPool 2x2 stride 2 SAME, odd size", (x) => maxPool2dNCHW(x, [2, 2], { padding: "SAME" }), distinct([[1, 2, 5, 5]], -3, 3));
c("maxPool 2x3 stride [2, 3], tiled", (x) => maxPool2dNCHW(x, [2, 3], { strides: [2, 3] }), distinct([[1, 2, 4, 7]], -3, 3));
c("maxPool 3x2 stride [1, 2] SAME", (x) => maxPool2dNCHW(x, [3, 2], { strides: [1, 2], padding: "SAME" }), distinct([[1, 2, 4, 5]], -3, 3));
c("maxPool 3x3 stride 1 SAME", (x) => maxPool2dNCHW(x, [3, 3], { strides: [1, 1], padding: "SAME" }), distinct([[1, 2, 4, 5]], -3, 3));

c("biasAddNCHW 4-D", (x, b) => biasAddNCHW(x, b), [u([2, 3, 2, 2]), u([3])]);
c("biasAddNCHW 2-D", (x, b) => biasAddNCHW(x, b), [u([2, 3]), u([3])]);
c("logSoftmax last axis", (x) => logSoftmax(x), [u([2, 5], -2, 2)]);
c("logSoftmax axis 0", (x) => logSoftmax(x, 0), [u([3, 4], -2, 2)]);
c("softmax last axis", (x) => softmax(x), [u([2, 5], -2, 2)]);
c("softmax axis 1 of 3-D", (x) => softmax(x, 1), [u([2, 3, 2], -2, 2)]);
c("softmaxCrossEntropyWithLogits", softmaxCrossEntropyWithLogits, [u([3, 4], -2, 2), u([3, 4], 0.1, 1)]);
c("sigmoidCrossEntropyWithLogits", sigmoidCrossEntropyWithLogits, [away([3, 4]), u([3, 4], 0.1, 0.9)]);
c("l2Loss", (x) => l2Loss(x), [u([3, 4])]);
c("softplus", (x) => softplus(x), [away([3, 4])]);
c("dropout keep 0.5", (x) => dropout(x, 0.5), [u([4, 5])], { noiseStep: 3 });
c("dropout keep 0.8 inside tanh", (x) => tanh(mul(dropout(x, 0.8), x)), [u([4, 5])], { noiseStep: 7 });
c("small net: conv, bias, tanh, matmul, softmax cross-entropy", (x, w, b, fc) => {
  const h = tanh(biasAddNCHW(conv2dNCHW(x, w, { strides: [2, 2] }), b));
  return reduceMean(softmaxCrossEntropyWithLogits(matmul(reshape(h, [2, -1]), fc), oneHot(2, 3)));
}, [u([2, 2, 4, 4]), u([3, 2, 3, 3]), u([3]), u([12, 3])]);

for (const k of cases) {
  test(`gradient of ${k.name} matches finite differences`, async () => {
    await checkGradients(k.build, k.inputs, { name: k.name, ...k.options });
  });
}

// ---- Coverage: every registered differentiable op is in the table. ----

const OPS_DIR = fileURLToPath(new URL("../ops/", import.meta.url));
const SOURCE_OPS = new Set(["Placeholder", "Variable", "Const"]);

/** Every op type registered by src/ops: quoted capitalised names there that the registry knows. */
function registeredOps(): string[] {
  const names = new Set<string>();
  for (const file of readdirSync(OPS_DIR).filter((f) => f.endsWith(".ts"))) {
    for (const m of readFileSync(join(OPS_DIR, file), "utf8").matchAll(/"([A-Z][A-Za-z0-9]*)"/g)) names.add(m[1]);
  }
  return [...names].filter((n) => {
    try {
      getOp(n);
      return true;
    } catch {
      return false;
    }
  }).sort();
}

function isDifferentiable(type: string): boolean {
  const def = getOp(type);
  return def.differentiable !== false && def.grad !== undefined;
}

/** The op types of the nodes `t` depends on. */
function opsBehind(t: Tensor, into: Set<string>): void {
  const seen = new Set<Node>();
  const stack = [t.node];
  while (stack.length) {
    const n = stack.pop()!;
    if (seen.has(n)) continue;
    seen.add(n);
    into.add(n.op);
    for (const x of n.inputs) stack.push(x.node);
  }
}

/** Every case's forward pass and gradients in one graph, plus the few ops no gradient uses. */
function buildAllCases(): { fetches: Record<string, Tensor>; forwardOps: Set<string> } {
  const graph = new Graph();
  return graph.asDefault(() => {
    const fetches: Record<string, Tensor> = {};
    const forwardOps = new Set<string>();
    cases.forEach((k, i) => {
      const check = buildGradientCheck(k.build, k.inputs, { prefix: `case${i}/`, name: k.name });
      opsBehind(check.output, forwardOps);
      fetches[`case${i}/output`] = check.output;
      check.grads.forEach((g, j) => g && (fetches[`case${i}/grad${j}`] = g));
    });
    fetches["extra/floor"] = floor(placeholder([2, 3], "float32", "extra/x"));
    return { fetches, forwardOps };
  });
}

test("the gradient table covers every registered differentiable op", () => {
  const registered = registeredOps();
  // A sanity floor, so a broken scan cannot pass vacuously.
  for (const op of ["Add", "Conv2D", "MaxPool", "MatMul", "Where", "Concat"]) assert(registered.includes(op), `scan missed ${op}`);
  const { forwardOps } = buildAllCases();
  const missing = registered.filter((op) => isDifferentiable(op) && !forwardOps.has(op));
  assertEquals(missing, [], "differentiable ops with no gradient case");
});

// ---- The emitted ONNX passes onnx's own checker. ----

const CHECKER_TEST = "one model with every op and gradient passes onnx.checker full_check";
const noChecker = onnxCheckerUnavailable();
if (noChecker) test.skip(CHECKER_TEST, noChecker);
else {
  test(CHECKER_TEST, () => {
    const { fetches } = buildAllCases();
    const model = compileModel({ name: "gradient_table", fetches });
    const nodeOps = new Set<string>();
    for (const t of Object.values(fetches)) opsBehind(t, nodeOps);
    const unlowered = registeredOps().filter((op) => !SOURCE_OPS.has(op) && !nodeOps.has(op));
    assertEquals(unlowered, [], "registered ops missing from the checked model");
    // A model the checker must reject, so a checker that passes everything cannot hide.
    const bad = makeModel({
      name: "bad",
      nodes: [makeNode("MatMul", ["a", "b"], ["y"], {}, "mismatched")],
      inputs: [makeValueInfo("a", "float32", [2, 3]), makeValueInfo("b", "float32", [4, 5])],
      outputs: [makeValueInfo("y", "float32", [2, 5])],
      initializers: [],
    });
    const verdict = checkOnnxModels({ gradient_table: model.bytes, bad_matmul: bad });
    assert(verdict.gradient_table.ok, `onnx.checker rejected the emitted model: ${verdict.gradient_table.output}`);
    const rejected = verdict.bad_matmul;
    assert(!rejected.ok && /FAIL .*bad_matmul\.onnx/.test(rejected.output), `the checker accepted a mismatched MatMul: ${rejected.output}`);
  });
}

// ---- The checker itself has teeth. ----

registerOp<Record<string, never>>({
  type: "GradCheckTestWrongSin",
  infer: ([x]) => [{ shape: [...x.shape], dtype: x.dtype }],
  // Off by 5%: a plausible slip (a wrong constant) that a loose check would wave through.
  grad: ({ inputs: [x], dys: [dy] }) => [mul(dy!, mul(cos(x), 1.05))],
  lower: (l) => void l.emit("Sin", l.inputs, { outputs: l.outputs }),
});

test("checkGradients() names the case, input and element of a wrong gradient rule", async () => {
  const err = await assertThrows(
    () => checkGradients((a, x) => mul(a, apply("GradCheckTestWrongSin", [x])), [u([2, 3]), { ...u([2, 3], -3, 3), name: "angle" }], { name: "wrong sin" }),
    /^Gradient check "wrong sin" failed: input angle \[2, 3\] at element \[\d, \d\]: analytic -?[\d.e-]+, numeric -?[\d.e-]+/,
  );
  assert(!err.message.includes("input x0"), "the correct input must not be blamed");
});

test("checkGradients() catches a wrong rule along random directions too", async () => {
  await assertThrows(
    () => checkGradients((x) => apply("GradCheckTestWrongSin", [x]), [u([4, 4], -3, 3)], { name: "wrong sin, directions", directions: 4 }),
    /"wrong sin, directions" failed: inputs x0 along random direction \d/,
  );
});

test("checkGradients() reports one comparison per element, or per direction", async () => {
  const a = await checkGradients((x, y) => mul(x, y), [u([2, 3]), u([3])], { name: "mul" });
  assertEquals([a.checked, a.unconnected], [9, []]);
  assert(a.worst !== null && a.worst.error <= a.worst.tolerance, "the worst comparison is within tolerance");
  const b = await checkGradients((x, y) => mul(x, y), [u([2, 3]), u([3])], { name: "mul", directions: 3 });
  assertEquals(b.checked, 3);
});
