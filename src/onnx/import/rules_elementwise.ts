/**
 * Import rules for elementwise ops: arithmetic, comparisons, activations,
 * Clip, Softmax/LogSoftmax and Cast.
 * @module
 */
import { numElements } from "../../graph/host_tensor.ts";
import type { Tensor } from "../../graph/tensor.ts";
import {
  abs, add, cast, clip, div, equal, erf, exp, floor, gelu, greater, hardSigmoid, hardSwish, leakyRelu, less, log,
  logSoftmax, maximum, minimum, mul, neg, pow, reciprocal, relu, reshape, sigmoid, softmax, softplus, sqrt, sub, tanh, where,
} from "../../ops/mod.ts";
import type { ImportContext } from "./context.ts";
import type { OnnxNode } from "./onnx_node.ts";
import { dtypeOfElementType } from "./read_model.ts";
import { defineRule } from "./rules.ts";

const unary: Record<string, (x: Tensor, node: OnnxNode) => Tensor> = {
  Relu: relu,
  Sigmoid: sigmoid,
  Tanh: tanh,
  Exp: exp,
  Log: log,
  Sqrt: sqrt,
  Neg: neg,
  Abs: abs,
  Reciprocal: reciprocal,
  Floor: floor,
  Erf: erf,
  Softplus: softplus,
  LeakyRelu: (x, node) => leakyRelu(x, node.float("alpha", 0.01)),
  HardSigmoid: (x, node) => hardSigmoid(x, node.float("alpha", 0.2), node.float("beta", 0.5)),
  HardSwish: (x) => hardSwish(x),
  Gelu: (x, node) => {
    const approximate = node.string("approximate", "none");
    if (approximate !== "none" && approximate !== "tanh") throw node.error(`approximate must be "none" or "tanh", got ${approximate}`);
    return gelu(x, { approximate });
  },
  Elu: (x, node) => {
    // alpha·(e^x - 1) below 0, x above.
    const alpha = node.float("alpha", 1);
    return add(relu(x), mul(sub(exp(neg(relu(neg(x)))), 1), alpha));
  },
};
for (const [type, f] of Object.entries(unary)) defineRule([type], (node, ctx) => [f(ctx.tensor(node, 0), node)]);

/** Both operands as tensors of one dtype (ONNX's Pow may raise to another type). */
function operands(node: OnnxNode, ctx: ImportContext): [Tensor, Tensor] {
  const a = ctx.tensor(node, 0);
  let b = ctx.tensor(node, 1);
  if (b.dtype !== a.dtype) {
    if (node.type !== "Pow") throw node.error(`operands have different types ${a.dtype} and ${b.dtype}`);
    b = cast(b, a.dtype);
  }
  return [a, b];
}

const binary: Record<string, (a: Tensor, b: Tensor) => Tensor> = {
  Add: add, Sub: sub, Mul: mul, Div: div, Equal: equal, Less: less, Greater: greater,
  Pow: (a, b) => (isScalar(b, 2) ? mul(a, a) : pow(a, b)),
};
for (const [type, f] of Object.entries(binary)) defineRule([type], (node, ctx) => [f(...operands(node, ctx))]);

/** True when `t` is a constant holding only `value` (x^2 is imported as x·x: exact, no log in its gradient). */
function isScalar(t: Tensor, value: number): boolean {
  const v = t.node.op === "Const" ? (t.node.attrs.value as { data: ArrayLike<number> }) : undefined;
  return v !== undefined && t.size === 1 && Number(v.data[0]) === value;
}

/** Max and Min take any number of operands. */
defineRule(["Max", "Min"], (node, ctx) => {
  const xs = node.inputs.map((_, i) => ctx.tensor(node, i));
  const f = node.type === "Max" ? maximum : minimum;
  return [xs.slice(1).reduce((acc, x) => f(acc, x), xs[0])];
});
defineRule(["Sum"], (node, ctx) => [node.inputs.map((_, i) => ctx.tensor(node, i)).reduce((a, b) => add(a, b))]);
defineRule(["Mean"], (node, ctx) => [div(node.inputs.map((_, i) => ctx.tensor(node, i)).reduce((a, b) => add(a, b)), node.inputs.length)]);

defineRule(["Where"], (node, ctx) => [where(ctx.tensor(node, 0), ctx.tensor(node, 1), ctx.tensor(node, 2))]);

defineRule(["Clip"], (node, ctx) => {
  // Opset 11 moved min and max from attributes to optional inputs; a bound the graph computes stays a tensor.
  const bound = (attr: string, input: number): number | Tensor | undefined => {
    if (node.opset < 11) return node.has(attr) ? node.float(attr, 0) : undefined;
    if (!node.hasInput(input)) return undefined;
    return ctx.staticInput(node, input)?.values[0] ?? ctx.tensor(node, input);
  };
  return [clip(ctx.tensor(node, 0), bound("min", 1), bound("max", 2))];
});

defineRule(["Softmax", "LogSoftmax"], (node, ctx) => {
  const x = ctx.tensor(node, 0);
  const f = node.type === "Softmax" ? softmax : logSoftmax;
  const axisAttr = node.int("axis", node.opset >= 13 ? -1 : 1);
  const axis = axisAttr < 0 ? axisAttr + x.rank : axisAttr;
  if (node.opset >= 13 || axis === x.rank - 1) return [f(x, axis)];
  // Before opset 13 the input is read as a matrix [prod(dims < axis), prod(dims >= axis)].
  const flat = reshape(x, [numElements(x.shape.slice(0, axis)), numElements(x.shape.slice(axis))]);
  return [reshape(f(flat, -1), [...x.shape])];
});

defineRule(["Cast"], (node, ctx) => {
  const x = ctx.tensor(node, 0);
  const dtype = dtypeOfElementType(node.int("to", 1), `the target type of ${node.describe()}`);
  return [x.dtype === dtype ? x : cast(x, dtype)];
});
