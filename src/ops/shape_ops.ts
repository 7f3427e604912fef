/**
 * Ops that move data without arithmetic: reshape, transpose, slice, pad, concat
 * and broadcast. Their gradients move the gradient back the same way.
 * @module
 */
import { formatShape, isFullyKnown, numElements, UNKNOWN_DIM } from "../graph/host_tensor.ts";
import type { Graph } from "../graph/graph.ts";
import type { Tensor } from "../graph/tensor.ts";
import { apply } from "./apply.ts";
import { normalizeAxis, registerOp } from "./registry.ts";

registerOp<{ shape: number[] }>({
  type: "Reshape",
  infer: ([x], { shape }, name) => {
    if (!isFullyKnown(x.shape)) return [{ shape: unknownReshape(x, shape, name), dtype: x.dtype }];
    if (numElements(shape) !== x.size || shape.some((d) => !Number.isInteger(d) || d < 0)) {
      throw new Error(`reshape: cannot reshape ${x.name} ${formatShape(x.shape)} (${x.size} elements) to ${formatShape(shape)} (node ${name})`);
    }
    return [{ shape: [...shape], dtype: x.dtype }];
  },
  grad: ({ inputs: [x], dys: [dy] }) => [reshape(dy!, [...x.shape])],
  // ONNX Reshape infers a -1 entry: the one unknown dimension, found at run time.
  lower: (l) => void l.emit("Reshape", [l.inputs[0], l.int64s(l.attrs.shape)], { outputs: l.outputs }),
  unknownDims: true,
});

/**
 * The shape of a reshape of `x`, which has one unknown dimension: `shape` must
 * hold exactly one -1 (that dimension, carried whole) and the known dimensions of
 * both must hold the same number of elements.
 */
function unknownReshape(x: Tensor, shape: readonly number[], name: string): number[] {
  const unknownIn = x.shape.filter((d) => d === UNKNOWN_DIM).length;
  const unknownOut = shape.filter((d) => d === UNKNOWN_DIM).length;
  const knownIn = numElements(x.shape.filter((d) => d !== UNKNOWN_DIM));
  const knownOut = numElements(shape.filter((d) => d !== UNKNOWN_DIM));
  if (unknownIn !== 1 || unknownOut !== 1 || knownIn !== knownOut || shape.some((d) => !Number.isInteger(d) || d < UNKNOWN_DIM)) {
    throw new Error(
      `reshape: cannot reshape ${x.name} ${formatShape(x.shape)} to [${shape.join(", ")}] (node ${name}): ` +
        `with an unknown dimension, the target needs one -1 and the known dimensions must keep their ${knownIn} elements`,
    );
  }
  return [...shape];
}

registerOp<{ perm: number[] }>({
  type: "Transpose",
  infer: ([x], { perm }) => {
    const sorted = [...perm].sort((a, b) => a - b);
    if (perm.length !== x.rank || sorted.some((p, i) => p !== i)) {
      throw new Error(`transpose: perm ${formatShape(perm)} is not a permutation of ${x.rank} axes (tensor ${x.name})`);
    }
    return [{ shape: perm.map((p) => x.shape[p]), dtype: x.dtype }];
  },
  grad: ({ attrs: { perm }, dys: [dy] }) => {
    const inverse = new Array(perm.length);
    perm.forEach((p, i) => (inverse[p] = i));
    return [transpose(dy!, inverse)];
  },
  lower: (l) => {
    const x = l.node.inputs[0];
    // Moving only size-1 axes (NCHW <-> NHWC of a 1x1 map) keeps the element order: a free Reshape.
    const moved = l.attrs.perm.filter((a) => x.shape[a] !== 1);
    const inferable = x.shape.filter((d) => d === UNKNOWN_DIM).length <= 1;
    if (inferable && moved.every((a, i) => i === 0 || a > moved[i - 1])) {
      return void l.emit("Reshape", [l.inputs[0], l.int64s(l.attrs.perm.map((a) => x.shape[a]))], { outputs: l.outputs });
    }
    l.emit("Transpose", l.inputs, { outputs: l.outputs, attrs: { perm: l.attrs.perm } });
  },
  unknownDims: true,
});

registerOp<{ begin: number[]; size: number[] }>({
  type: "Slice",
  infer: ([x], { begin, size }) => {
    if (begin.length !== x.rank || size.length !== x.rank) {
      throw new Error(`slice: begin and size need ${x.rank} entries for tensor ${x.name} ${formatShape(x.shape)}`);
    }
    begin.forEach((b, i) => {
      if (b < 0 || size[i] < 0 || b + size[i] > x.shape[i]) {
        throw new Error(
          `slice: begin ${formatShape(begin)} size ${formatShape(size)} is out of bounds for tensor ${x.name} ${formatShape(x.shape)}`,
        );
      }
    });
    return [{ shape: [...size], dtype: x.dtype }];
  },
  grad: ({ inputs: [x], attrs: { begin, size }, dys: [dy] }) => [
    pad(dy!, begin, begin.map((b, i) => x.shape[i] - b - size[i])),
  ],
  lower: (l) => {
    const { begin, size } = l.attrs;
    const axes = begin.map((_, i) => i).filter((i) => size[i] !== l.node.inputs[0].shape[i]);
    if (axes.length === 0) return void l.emit("Identity", l.inputs, { outputs: l.outputs });
    l.emit("Slice", [
      l.inputs[0],
      l.int64s(axes.map((a) => begin[a])),
      l.int64s(axes.map((a) => begin[a] + size[a])),
      l.int64s(axes),
    ], { outputs: l.outputs });
  },
});

registerOp<{ before: number[]; after: number[] }>({
  type: "Pad",
  infer: ([x], { before, after }) => {
    if (before.length !== x.rank || after.length !== x.rank || [...before, ...after].some((p) => p < 0)) {
      throw new Error(`pad: needs ${x.rank} non-negative before/after entries for tensor ${x.name} ${formatShape(x.shape)}`);
    }
    return [{ shape: x.shape.map((d, i) => d + before[i] + after[i]), dtype: x.dtype }];
  },
  grad: ({ inputs: [x], attrs: { before }, dys: [dy] }) => [slice(dy!, before, [...x.shape])],
  lower: (l) => void l.emit("Pad", [l.inputs[0], l.int64s([...l.attrs.before, ...l.attrs.after])], { outputs: l.outputs }),
});

registerOp<{ axis: number }>({
  type: "Concat",
  infer: (xs, { axis }) => {
    const first = xs[0];
    const a = normalizeAxis("concat", axis, first.rank, first);
    let total = 0;
    for (const x of xs) {
      if (x.rank !== first.rank || x.dtype !== first.dtype || x.shape.some((d, i) => i !== a && d !== first.shape[i])) {
        throw new Error(`concat: tensor ${x.name} ${formatShape(x.shape)} does not match ${first.name} ${formatShape(first.shape)} off axis ${axis}`);
      }
      total += x.shape[a];
    }
    return [{ shape: first.shape.map((d, i) => (i === a ? total : d)), dtype: first.dtype }];
  },
  grad: ({ inputs, attrs: { axis }, dys: [dy] }) => {
    const a = normalizeAxis("concat", axis, dy!.rank);
    let offset = 0;
    return inputs.map((x) => {
      const begin = x.shape.map((_, i) => (i === a ? offset : 0));
      offset += x.shape[a];
      return slice(dy!, begin, [...x.shape]);
    });
  },
  lower: (l) => void l.emit("Concat", l.inputs, { outputs: l.outputs, attrs: { axis: l.attrs.axis } }),
});

registerOp<{ shape: number[] }>({
  type: "BroadcastTo",
  infer: ([x], { shape }) => {
    const lead = shape.length - x.rank;
    if (lead < 0 || x.shape.some((d, i) => d !== 1 && d !== shape[lead + i])) {
      throw new Error(`broadcastTo: cannot broadcast ${x.name} ${formatShape(x.shape)} to ${formatShape(shape)}`);
    }
    return [{ shape: [...shape], dtype: x.dtype }];
  },
  // The engine sums the output-shaped gradient back to the input's shape.
  grad: ({ dys: [dy] }) => [dy],
  lower: (l) => void l.emit("Expand", [l.inputs[0], l.int64s(l.attrs.shape)], { outputs: l.outputs }),
});

/**
 * Same values, new shape (one dimension may be -1).
 *
 * @example
 * ```ts
 * const flat = reshape(x, [batch, -1]);
 * ```
 */
export function reshape(x: Tensor, shape: number[]): Tensor {
  const unknown = shape.indexOf(-1);
  // With an unknown dimension in x, the -1 stands for it and stays unknown (checked by the shape rule).
  if (unknown >= 0 && isFullyKnown(x.shape)) {
    const known = numElements(shape.filter((_, i) => i !== unknown));
    shape = shape.map((d, i) => (i === unknown ? (known === 0 ? 0 : x.size / known) : d));
  }
  if (shape.length === x.rank && shape.every((d, i) => d === x.shape[i])) return x;
  return apply("Reshape", [x], { shape });
}

/**
 * Permutes axes (reverses them when `perm` is omitted).
 *
 * @example
 * ```ts
 * const nchw = transpose(nhwc, [0, 3, 1, 2]);
 * ```
 */
export function transpose(x: Tensor, perm?: number[]): Tensor {
  const p = perm ?? x.shape.map((_, i) => x.rank - 1 - i);
  if (p.every((v, i) => v === i)) return x;
  const key = p.join(",");
  const memo = transposed.get(x) ?? new Map<string, Tensor>();
  transposed.set(x, memo);
  let out = memo.get(key);
  if (!out) {
    out = sinkTranspose(x, p, SINK_DEPTH) ?? apply("Transpose", [x], { perm: p });
    memo.set(key, out);
  }
  return out;
}

/**
 * Layers take and return slim's NHWC but compute in ONNX's NCHW, so a chain of
 * layers meets transposes at every boundary. `transpose` folds them away as the
 * graph is built: a transpose of a transpose composes into one (none when the two
 * cancel), and one of an elementwise result, a padding, a concatenation or a
 * keep-dims reduction (a global average pool) whose operands would cancel (or were
 * already transposed for another consumer) is moved onto those operands. So
 * activations, residual sums, explicit paddings and Inception's concatenations
 * between layers stay in NCHW too; the NHWC tensors left behind are computed only
 * when fetched. Results are memoized per tensor and permutation, so a map used
 * twice (a residual shortcut) is transposed once.
 */
const transposed = new WeakMap<Tensor, Map<string, Tensor>>();
const SINK_DEPTH = 6;
const ELEMENTWISE_UNARY = new Set(["Relu", "Relu6", "Sigmoid", "Tanh", "Neg", "Exp", "Abs", "Identity", "Sqrt", "Log", "Reciprocal"]);
const ELEMENTWISE_BINARY = new Set(["Add", "Sub", "Mul", "Div", "Maximum", "Minimum"]);
/** Reductions that keep the reduced axes (a global average pool): they move past a transpose with their axes renumbered. */
const KEEPDIMS_REDUCTIONS = new Set(["ReduceMean", "ReduceSum", "ReduceMax"]);
/** Broadcast operands at most this big (biases, scalars, per-channel scales) are transposed along when a transpose sinks past them. */
const SMALL_OPERAND = 4096;

/** Per graph: the tensors some node reads, indexed incrementally as nodes are added. */
const consumers = new WeakMap<Graph, { scanned: number; read: WeakSet<Tensor> }>();

function isConsumed(t: Tensor): boolean {
  let index = consumers.get(t.graph);
  if (!index) consumers.set(t.graph, index = { scanned: 0, read: new WeakSet() });
  const nodes = t.graph.nodes;
  for (; index.scanned < nodes.length; index.scanned++) for (const input of nodes[index.scanned].inputs) index.read.add(input);
  return index.read.has(t);
}

function compose(inner: readonly number[], outer: readonly number[]): number[] {
  return outer.map((o) => inner[o]);
}

/** Whether `transpose(x, p)` folds into the producers of `x` or exists already (so moving it there costs nothing). */
function cancels(x: Tensor, p: readonly number[], depth: number): boolean {
  // Already transposed this way and computed for another consumer (a residual
  // shortcut's source, which the branch's first layer transposed): reusing it is free.
  const existing = transposed.get(x)?.get(p.join(","));
  if (existing && isConsumed(existing)) return true;
  const node = x.node;
  if (node.op === "Transpose") return compose(node.attrs.perm as number[], p).every((v, i) => v === i);
  if (depth === 0) return false;
  if (ELEMENTWISE_UNARY.has(node.op) || node.op === "Pad") return cancels(node.inputs[0], p, depth - 1);
  if (node.op === "Concat") return node.inputs.every((t) => cancels(t, p, depth - 1));
  if (KEEPDIMS_REDUCTIONS.has(node.op) && node.attrs.keepDims) return cancels(node.inputs[0], p, depth - 1);
  if (ELEMENTWISE_BINARY.has(node.op)) {
    // Some operand must cancel; the others must cancel too or be small broadcast ones.
    const folds = node.inputs.map((t) => cancels(t, p, depth - 1));
    return folds.some(Boolean) && node.inputs.every((t, i) => folds[i] || isSmallOperand(t, x));
  }
  return false;
}

/** A broadcast operand small enough to transpose on its own; an unknown batch counts as 1 in `x`'s size (a lower bound). */
function isSmallOperand(t: Tensor, x: Tensor): boolean {
  if (!isFullyKnown(t.shape)) return false;
  return t.size < numElements(x.shape.filter((d) => d !== UNKNOWN_DIM)) && t.size <= SMALL_OPERAND;
}

function sinkTranspose(x: Tensor, p: number[], depth: number): Tensor | null {
  const node = x.node;
  if (node.op === "Transpose") return transpose(node.inputs[0], compose(node.attrs.perm as number[], p));
  if (!cancels(x, p, depth)) return null;
  if (node.op === "Pad") {
    const { before, after } = node.attrs as { before: number[]; after: number[] };
    return pad(transpose(node.inputs[0], p), p.map((a) => before[a]), p.map((a) => after[a]));
  }
  if (node.op === "Concat") {
    const axis = normalizeAxis("concat", node.attrs.axis as number, x.rank);
    return concat(node.inputs.map((t) => transpose(t, p)), p.indexOf(axis));
  }
  if (KEEPDIMS_REDUCTIONS.has(node.op)) {
    const axes = (node.attrs.axes as number[]).map((a) => p.indexOf(a)).sort((a, b) => a - b);
    return apply(node.op, [transpose(node.inputs[0], p)], { ...node.attrs, axes });
  }
  // An elementwise node: the same op on transposed operands (small ones padded to full rank first).
  const operands = node.inputs.map((t) => {
    if (t.rank === 0) return t;
    return transpose(t.rank === x.rank ? t : reshape(t, [...new Array(x.rank - t.rank).fill(1), ...t.shape]), p);
  });
  return apply(node.op, operands, { ...node.attrs });
}

/**
 * A static slice: `size[i]` elements from `begin[i]` on each axis (-1 means "to the end").
 *
 * @example
 * ```ts
 * const centre = slice(x, [0, 0, 3, 3], [-1, -1, 1, 1]);
 * ```
 */
export function slice(x: Tensor, begin: number[], size: number[]): Tensor {
  const full = size.map((s, i) => (s === -1 ? x.shape[i] - begin[i] : s));
  return apply("Slice", [x], { begin, size: full });
}

/**
 * Zero padding: `before[i]` and `after[i]` elements on axis i.
 *
 * @example
 * ```ts
 * const padded = pad(images, [0, 2, 2, 0], [0, 2, 2, 0]);
 * ```
 */
export function pad(x: Tensor, before: number[], after: number[]): Tensor {
  if ([...before, ...after].every((p) => p === 0)) return x;
  return apply("Pad", [x], { before, after });
}

/**
 * Joins tensors along an axis.
 *
 * @example
 * ```ts
 * const both = concat([a, b], 1);
 * ```
 */
export function concat(xs: readonly Tensor[], axis: number): Tensor {
  if (xs.length === 0) throw new Error("concat: needs at least one tensor");
  if (xs.length === 1) return xs[0];
  return apply("Concat", xs, { axis });
}

/**
 * Repeats size-1 axes (and adds leading ones) to reach `shape`.
 *
 * @example
 * ```ts
 * const tiled = broadcastTo(bias, [batch, channels]);
 * ```
 */
export function broadcastTo(x: Tensor, shape: number[]): Tensor {
  if (shape.length === x.rank && shape.every((d, i) => d === x.shape[i])) return x;
  return apply("BroadcastTo", [x], { shape });
}

/**
 * Removes size-1 axes (all of them when `axes` is omitted).
 *
 * @example
 * ```ts
 * const logits = squeeze(net, [2, 3]); // slim's spatial squeeze
 * ```
 */
export function squeeze(x: Tensor, axes?: number[]): Tensor {
  const drop = new Set((axes ?? x.shape.map((d, i) => (d === 1 ? i : -1)).filter((i) => i >= 0)).map((a) => normalizeAxis("squeeze", a, x.rank, x)));
  for (const a of drop) {
    if (x.shape[a] !== 1) throw new Error(`squeeze: axis ${a} of tensor ${x.name} ${formatShape(x.shape)} has size ${x.shape[a]}, not 1`);
  }
  return reshape(x, x.shape.filter((_, i) => !drop.has(i)));
}

/**
 * Inserts a size-1 axis.
 *
 * @example
 * ```ts
 * const column = expandDims(v, 1);
 * ```
 */
export function expandDims(x: Tensor, axis: number): Tensor {
  const a = axis < 0 ? axis + x.rank + 1 : axis;
  const shape = [...x.shape];
  shape.splice(a, 0, 1);
  return reshape(x, shape);
}
