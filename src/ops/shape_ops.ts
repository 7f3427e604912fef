/**
 * Ops that move data without arithmetic: reshape, transpose, slice, pad, concat
 * and broadcast. Their gradients move the gradient back the same way.
 * @module
 */
import { formatShape, numElements } from "../graph/host_tensor.ts";
import type { Tensor } from "../graph/tensor.ts";
import { apply } from "./apply.ts";
import { normalizeAxis, registerOp } from "./registry.ts";

registerOp<{ shape: number[] }>({
  type: "Reshape",
  infer: ([x], { shape }, name) => {
    if (numElements(shape) !== x.size || shape.some((d) => !Number.isInteger(d) || d < 0)) {
      throw new Error(`reshape: cannot reshape ${x.name} ${formatShape(x.shape)} (${x.size} elements) to ${formatShape(shape)} (node ${name})`);
    }
    return [{ shape: [...shape], dtype: x.dtype }];
  },
  grad: ({ inputs: [x], dys: [dy] }) => [reshape(dy!, [...x.shape])],
  lower: (l) => void l.emit("Reshape", [l.inputs[0], l.int64s(l.attrs.shape)], { outputs: l.outputs }),
});

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
  lower: (l) => void l.emit("Transpose", l.inputs, { outputs: l.outputs, attrs: { perm: l.attrs.perm } }),
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
  if (unknown >= 0) {
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
  return apply("Transpose", [x], { perm: p });
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
