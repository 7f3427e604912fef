/**
 * Import rules for shapes and indexing: Constant, Shape, Size, Reshape, Flatten,
 * Transpose, Squeeze, Unsqueeze, Concat, Slice, Gather (indices known at import),
 * Pad, Expand, Tile, Split, and the reductions. Static inputs were folded
 * before these run (see fold.ts); these handle tensors computed by the graph.
 * @module
 */
import { numElements } from "../../graph/host_tensor.ts";
import type { Tensor } from "../../graph/tensor.ts";
import {
  abs, add, broadcastTo, concat, mul, neg, pad, reduceMax, reduceMean, reduceSum, reshape, slice, sqrt, sub, transpose,
} from "../../ops/mod.ts";
import type { ImportContext } from "./context.ts";
import { resolveReshape, sliceBounds, squeezedShape, unsqueezedShape } from "./fold.ts";
import type { OnnxNode } from "./onnx_node.ts";
import { defineRule } from "./rules.ts";
import { broadcastStaticShapes, makeStatic, staticFromHost } from "./static_value.ts";

function axisOf(node: OnnxNode, axis: number, rank: number): number {
  const a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a >= rank) throw node.error(`axis ${axis} is out of range for rank ${rank}`);
  return a;
}

defineRule(["Constant"], (node) => {
  const t = node.tensor("value");
  if (t) return [staticFromHost(t)];
  if (node.has("value_float")) return [makeStatic("float32", [], [node.float("value_float", 0)])];
  if (node.has("value_floats")) return [makeStatic("float32", [node.floats("value_floats")?.length ?? 0], node.floats("value_floats") ?? [])];
  if (node.has("value_int")) return [makeStatic("int64", [], [node.int("value_int", 0)])];
  if (node.has("value_ints")) {
    const v = node.ints("value_ints", []);
    return [makeStatic("int64", [v.length], v)];
  }
  throw node.error("only tensor, float(s) and int(s) constants are supported");
});

defineRule(["Shape"], (node, ctx) => {
  const shape = ctx.shapeOf(node, 0);
  const r = shape.length;
  const clampAxis = (a: number) => Math.min(Math.max(a < 0 ? a + r : a, 0), r);
  const dims = shape.slice(clampAxis(node.int("start", 0)), clampAxis(node.int("end", r)));
  return [makeStatic("int64", [dims.length], dims)];
});

defineRule(["Size"], (node, ctx) => [makeStatic("int64", [], [numElements(ctx.shapeOf(node, 0))])]);

defineRule(["Reshape"], (node, ctx) => {
  const x = ctx.tensor(node, 0);
  const target = node.opset >= 5 ? ctx.requireStatic(node, 1, "shape").values : node.ints("shape", []);
  return [reshape(x, resolveReshape(node, x.shape, target, node.int("allowzero", 0) === 1))];
});

defineRule(["Flatten"], (node, ctx) => {
  const x = ctx.tensor(node, 0);
  const axisAttr = node.int("axis", 1);
  const axis = axisAttr < 0 ? axisAttr + x.rank : axisAttr;
  return [reshape(x, [numElements(x.shape.slice(0, axis)), numElements(x.shape.slice(axis))])];
});

defineRule(["Transpose"], (node, ctx) => {
  const x = ctx.tensor(node, 0);
  return [transpose(x, node.ints("perm") ?? x.shape.map((_, i) => x.rank - 1 - i))];
});

defineRule(["Squeeze"], (node, ctx) => {
  const x = ctx.tensor(node, 0);
  return [reshape(x, squeezedShape(node, x.shape, ctx.attrOrInput(node, "axes", 1, 13)))];
});

defineRule(["Unsqueeze"], (node, ctx) => {
  const x = ctx.tensor(node, 0);
  const axes = ctx.attrOrInput(node, "axes", 1, 13);
  if (!axes) throw node.error("axes are required");
  return [reshape(x, unsqueezedShape(node, x.shape, axes))];
});

defineRule(["Concat"], (node, ctx) => {
  const xs = node.inputs.map((_, i) => ctx.tensor(node, i)).filter((t) => t.size > 0);
  return [concat(xs, axisOf(node, node.int("axis", 0), xs[0].rank))];
});

/** Elements begin, begin+step, ... (count n) along one axis; negative steps run backwards. */
function strided(x: Tensor, axis: number, begin: number, n: number, step: number): Tensor {
  const at = (b: number, size: number) => slice(x, x.shape.map((_, i) => (i === axis ? b : 0)), x.shape.map((d, i) => (i === axis ? size : d)));
  if (n === 0) return at(0, 0);
  if (step === 1) return at(begin, n);
  if (step < 0) {
    // Reverse by stacking single slices (imported graphs reverse short axes only).
    return concat(Array.from({ length: n }, (_, i) => at(begin + i * step, 1)), axis);
  }
  // Take n·step elements (padding past the end), fold them as [n, step], keep column 0.
  const available = Math.min(n * step, x.shape[axis] - begin);
  let part = at(begin, available);
  if (available < n * step) part = pad(part, part.shape.map(() => 0), part.shape.map((_, i) => (i === axis ? n * step - available : 0)));
  const folded = reshape(part, [...x.shape.slice(0, axis), n, step, ...x.shape.slice(axis + 1)]);
  const first = slice(folded, folded.shape.map(() => 0), folded.shape.map((d, i) => (i === axis + 1 ? 1 : d)));
  return reshape(first, [...x.shape.slice(0, axis), n, ...x.shape.slice(axis + 1)]);
}

defineRule(["Slice"], (node, ctx) => {
  let x = ctx.tensor(node, 0);
  const b = node.opset >= 10
    ? sliceBounds(x.shape, ctx.requireStatic(node, 1, "starts").values, ctx.requireStatic(node, 2, "ends").values, ctx.staticInput(node, 3)?.values, ctx.staticInput(node, 4)?.values, node)
    : sliceBounds(x.shape, node.ints("starts", []), node.ints("ends", []), node.ints("axes"), undefined, node);
  for (let a = 0; a < x.rank; a++) {
    const n = Math.max(0, Math.ceil((b.end[a] - b.begin[a]) / b.step[a]));
    if (b.step[a] === 1 && b.begin[a] === 0 && n === x.shape[a]) continue;
    x = strided(x, a, b.begin[a], n, b.step[a]);
  }
  return [x];
});

defineRule(["Gather"], (node, ctx) => {
  const x = ctx.tensor(node, 0);
  const indices = ctx.requireStatic(node, 1, "indices");
  const axis = axisOf(node, node.int("axis", 0), x.rank);
  const dim = x.shape[axis];
  const idx = indices.values.map((i) => {
    const j = i < 0 ? i + dim : i;
    if (j < 0 || j >= dim) throw node.error(`index ${i} is out of range for axis ${axis} of size ${dim}`);
    return j;
  });
  // Runs of consecutive indices become one slice each.
  const parts: Tensor[] = [];
  for (let k = 0; k < idx.length;) {
    let end = k + 1;
    while (end < idx.length && idx[end] === idx[end - 1] + 1) end++;
    parts.push(strided(x, axis, idx[k], end - k, 1));
    k = end;
  }
  const gathered = parts.length ? concat(parts, axis) : strided(x, axis, 0, 0, 1);
  return [reshape(gathered, [...x.shape.slice(0, axis), ...indices.shape, ...x.shape.slice(axis + 1)])];
});

/** Pads one axis by `before`/`after` copies from the edge (edge), a mirror (reflect) or the far side (wrap). */
function padAxis(x: Tensor, axis: number, before: number, after: number, mode: string, node: OnnxNode): Tensor {
  const dim = x.shape[axis];
  const one = (i: number) => strided(x, axis, i, 1, 1);
  const run = (indices: number[]) => indices.map(one);
  let head: Tensor[], tail: Tensor[];
  if (mode === "edge") {
    const grow = (t: Tensor, k: number) => broadcastTo(t, t.shape.map((d, i) => (i === axis ? k : d)));
    head = before ? [grow(one(0), before)] : [];
    tail = after ? [grow(one(dim - 1), after)] : [];
  } else if (mode === "reflect") {
    if (before >= dim || after >= dim) throw node.error(`reflect padding of ${Math.max(before, after)} needs an axis longer than ${dim}`);
    head = run(Array.from({ length: before }, (_, i) => before - i));
    tail = run(Array.from({ length: after }, (_, i) => dim - 2 - i));
  } else if (mode === "wrap") {
    head = before ? [strided(x, axis, dim - before, before, 1)] : [];
    tail = after ? [strided(x, axis, 0, after, 1)] : [];
  } else {
    throw node.error(`unknown pad mode ${mode}`);
  }
  return concat([...head, x, ...tail], axis);
}

defineRule(["Pad"], (node, ctx) => {
  let x = ctx.tensor(node, 0);
  const r = x.rank;
  const given = node.opset >= 11 ? ctx.requireStatic(node, 1, "pads").values : node.ints("pads", []);
  const axes = node.opset >= 18 && node.hasInput(3) ? ctx.requireStatic(node, 3, "axes").values.map((a) => axisOf(node, a, r)) : [...Array(r).keys()];
  const before = new Array(r).fill(0), after = new Array(r).fill(0);
  axes.forEach((a, i) => {
    before[a] = given[i];
    after[a] = given[i + axes.length];
  });
  // Negative pads crop.
  if ([...before, ...after].some((p) => p < 0)) {
    x = slice(x, before.map((p) => Math.max(0, -p)), x.shape.map((d, i) => d - Math.max(0, -before[i]) - Math.max(0, -after[i])));
  }
  const pb = before.map((p) => Math.max(0, p)), pa = after.map((p) => Math.max(0, p));
  const mode = node.string("mode", "constant");
  if (mode !== "constant") {
    for (let a = 0; a < r; a++) if (pb[a] || pa[a]) x = padAxis(x, a, pb[a], pa[a], mode, node);
    return [x];
  }
  const value = node.opset >= 11 ? (ctx.staticInput(node, 2)?.values[0] ?? 0) : node.float("value", 0);
  // pad() fills zeros; shifting by the fill value before and after fills it instead.
  return [value === 0 ? pad(x, pb, pa) : add(pad(sub(x, value), pb, pa), value)];
});

defineRule(["Expand"], (node, ctx) => {
  const x = ctx.tensor(node, 0);
  const target = ctx.requireStatic(node, 1, "shape").values;
  const shape = broadcastStaticShapes([x.shape, target]);
  if (!shape) throw node.error(`cannot expand [${x.shape.join(", ")}] to [${target.join(", ")}]`);
  return [broadcastTo(x, shape)];
});

defineRule(["Tile"], (node, ctx) => {
  let x = ctx.tensor(node, 0);
  const repeats = ctx.requireStatic(node, 1, "repeats").values;
  repeats.forEach((k, a) => {
    if (k !== 1) x = concat(new Array(k).fill(x), a);
  });
  return [x];
});

defineRule(["Split"], (node, ctx) => {
  const x = ctx.tensor(node, 0);
  const axis = axisOf(node, node.int("axis", 0), x.rank);
  const count = node.outputs.length;
  let sizes = node.opset >= 13 ? ctx.staticInput(node, 1)?.values : node.ints("split");
  if (!sizes) {
    const each = Math.ceil(x.shape[axis] / count);
    sizes = Array.from({ length: count }, (_, i) => Math.max(0, Math.min(each, x.shape[axis] - i * each)));
  }
  let offset = 0;
  return sizes.map((s) => {
    const part = strided(x, axis, offset, s, 1);
    offset += s;
    return part;
  });
});

/** Reduction axes (attribute or input by opset) with keepdims and noop_with_empty_axes. */
function reduction(node: OnnxNode, ctx: ImportContext, sinceOpset: number): { x: Tensor; axes: number[] | null; keep: boolean } {
  const x = ctx.tensor(node, 0);
  const given = ctx.attrOrInput(node, "axes", 1, sinceOpset);
  const keep = node.int("keepdims", 1) === 1;
  if (!given || given.length === 0) {
    return { x, axes: node.int("noop_with_empty_axes", 0) === 1 ? null : [...x.shape.keys()], keep };
  }
  return { x, axes: given.map((a) => axisOf(node, a, x.rank)), keep };
}

const reductions: Record<string, [number, (x: Tensor, axes: number[], keep: boolean) => Tensor]> = {
  ReduceSum: [13, reduceSum],
  ReduceMean: [18, reduceMean],
  ReduceMax: [18, reduceMax],
  ReduceMin: [18, (x, axes, keep) => neg(reduceMax(neg(x), axes, keep))],
  ReduceSumSquare: [18, (x, axes, keep) => reduceSum(mul(x, x), axes, keep)],
  ReduceL1: [18, (x, axes, keep) => reduceSum(abs(x), axes, keep)],
  ReduceL2: [18, (x, axes, keep) => sqrt(reduceSum(mul(x, x), axes, keep))],
};
for (const [type, [since, f]] of Object.entries(reductions)) {
  defineRule([type], (node, ctx) => {
    const { x, axes, keep } = reduction(node, ctx, since);
    return [axes === null ? x : f(x, axes, keep)];
  });
}

