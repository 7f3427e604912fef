/**
 * Host evaluation of nodes whose inputs are all known at import time: the
 * Shape → Gather → Concat → Reshape chains (and friends) that exporters emit for
 * dynamic shapes fold to constants, since slimtrain graphs have static shapes.
 * @module
 */
import type { DType } from "../../graph/host_tensor.ts";
import { numElements } from "../../graph/host_tensor.ts";
import { dtypeOfElementType } from "./read_model.ts";
import type { OnnxNode } from "./onnx_node.ts";
import { makeStatic, mapStatic, type StaticValue, stridesOf, transposeStatic } from "./static_value.ts";

type Folder = (node: OnnxNode, inputs: (StaticValue | undefined)[]) => StaticValue[];

const isInt = (d: DType) => d === "int64" || d === "int32";

function normAxis(node: OnnxNode, axis: number, rank: number): number {
  const a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a >= rank) throw node.error(`axis ${axis} is out of range for rank ${rank}`);
  return a;
}

function binary(f: (a: number, b: number) => number, outDType?: DType): Folder {
  return (node, [a, b]) => {
    const dtype = outDType ?? a!.dtype;
    const r = mapStatic(dtype, [a!, b!], (x, y) => {
      const v = f(x, y);
      return isInt(dtype) ? Math.trunc(v) : v;
    });
    if (!r) throw node.error(`shapes [${a!.shape}] and [${b!.shape}] do not broadcast`);
    return [r];
  };
}

function unary(f: (a: number) => number): Folder {
  return (_node, [a]) => [mapStatic(a!.dtype, [a!], f)!];
}

/**
 * Slice's begin/end/step per axis after ONNX's clamping and negative-index rules
 * (shared by the host folder and the tensor rule).
 *
 * @example
 * ```ts
 * sliceBounds([5], [-2], [100], undefined, undefined, node); // { begin: [3], end: [5], step: [1] }
 * ```
 */
export function sliceBounds(
  shape: readonly number[],
  starts: readonly number[],
  ends: readonly number[],
  axes: readonly number[] | undefined,
  steps: readonly number[] | undefined,
  node: OnnxNode,
): { begin: number[]; end: number[]; step: number[] } {
  const rank = shape.length;
  const begin = new Array(rank).fill(0), end = [...shape], step = new Array(rank).fill(1);
  const list = axes ?? starts.map((_, i) => i);
  list.forEach((ax, i) => {
    const a = normAxis(node, ax, rank);
    const dim = shape[a];
    const s = steps?.[i] ?? 1;
    if (s === 0) throw node.error("slice steps must not be 0");
    let b = starts[i], e = ends[i];
    if (b < 0) b += dim;
    if (e < 0) e += dim;
    if (s > 0) {
      b = Math.min(Math.max(b, 0), dim);
      e = Math.min(Math.max(e, 0), dim);
    } else {
      b = Math.min(Math.max(b, -1), dim - 1);
      e = Math.min(Math.max(e, -1), dim - 1);
    }
    begin[a] = b;
    end[a] = e;
    step[a] = s;
  });
  return { begin, end, step };
}

/**
 * The output shape of a Reshape with ONNX's 0 (copy) and -1 (infer) entries.
 *
 * @example
 * ```ts
 * resolveReshape(node, [2, 3, 4], [0, -1], false); // [2, 12]
 * ```
 */
export function resolveReshape(node: OnnxNode, inShape: readonly number[], target: readonly number[], allowZero: boolean): number[] {
  const out = target.map((d, i) => (d === 0 && !allowZero ? inShape[i] : d));
  const unknown = out.indexOf(-1);
  const total = numElements(inShape);
  if (unknown >= 0) {
    const known = numElements(out.filter((_, i) => i !== unknown));
    out[unknown] = known === 0 ? 0 : total / known;
  }
  if (numElements(out) !== total || out.some((d) => !Number.isInteger(d) || d < 0)) {
    throw node.error(`cannot reshape [${inShape.join(", ")}] to [${target.join(", ")}]`);
  }
  return out;
}

/**
 * Unsqueeze's output shape (axes count in the output's rank).
 *
 * @example
 * ```ts
 * unsqueezedShape(node, [3, 4], [0, -1]); // [1, 3, 4, 1]
 * ```
 */
export function unsqueezedShape(node: OnnxNode, shape: readonly number[], axes: readonly number[]): number[] {
  const rank = shape.length + axes.length;
  const norm = axes.map((a) => normAxis(node, a, rank));
  const out: number[] = [];
  let j = 0;
  for (let i = 0; i < rank; i++) out.push(norm.includes(i) ? 1 : shape[j++]);
  return out;
}

/**
 * Squeeze's output shape (no axes: every axis of size 1).
 *
 * @example
 * ```ts
 * squeezedShape(node, [1, 3, 1], undefined); // [3]
 * ```
 */
export function squeezedShape(node: OnnxNode, shape: readonly number[], axes: readonly number[] | undefined): number[] {
  const drop = new Set((axes ?? shape.map((d, i) => (d === 1 ? i : -1)).filter((i) => i >= 0)).map((a) => normAxis(node, a, shape.length)));
  for (const a of drop) if (shape[a] !== 1) throw node.error(`cannot squeeze axis ${a} of size ${shape[a]} (shape [${shape.join(", ")}])`);
  return shape.filter((_, i) => !drop.has(i));
}

function sliceStatic(v: StaticValue, begin: number[], end: number[], step: number[]): StaticValue {
  const shape = v.shape.map((_, i) => Math.max(0, Math.ceil((end[i] - begin[i]) / step[i])));
  const n = numElements(shape), inStrides = stridesOf(v.shape), outStrides = stridesOf(shape);
  const values = new Array<number>(n);
  for (let k = 0; k < n; k++) {
    let idx = 0;
    for (let d = 0; d < shape.length; d++) idx += (begin[d] + (Math.floor(k / outStrides[d]) % shape[d]) * step[d]) * inStrides[d];
    values[k] = v.values[idx];
  }
  return { dtype: v.dtype, shape, values };
}

/**
 * Gather along an axis with static indices (negative ones count from the end).
 *
 * @example
 * ```ts
 * gatherStatic(node, shapeValue, makeStatic("int64", [], [0]), 0); // the batch size, a scalar
 * ```
 */
export function gatherStatic(node: OnnxNode, data: StaticValue, indices: StaticValue, axis: number): StaticValue {
  const a = normAxis(node, axis, data.shape.length);
  const outer = numElements(data.shape.slice(0, a)), inner = numElements(data.shape.slice(a + 1)), dim = data.shape[a];
  const values: number[] = [];
  for (let o = 0; o < outer; o++) {
    for (const raw of indices.values) {
      const i = raw < 0 ? raw + dim : raw;
      if (i < 0 || i >= dim) throw node.error(`index ${raw} is out of range for axis ${axis} of size ${dim}`);
      for (let k = 0; k < inner; k++) values.push(data.values[(o * dim + i) * inner + k]);
    }
  }
  return { dtype: data.dtype, shape: [...data.shape.slice(0, a), ...indices.shape, ...data.shape.slice(a + 1)], values };
}

const FOLDERS: Record<string, Folder> = {
  Identity: (_n, [a]) => [a!],
  Cast: (node, [a]) => {
    const dtype = dtypeOfElementType(node.int("to", 1), `the target type of ${node.describe()}`);
    const values = a!.values.map((x) => (dtype === "bool" ? (x ? 1 : 0) : isInt(dtype) ? Math.trunc(x) : x));
    return [{ dtype, shape: [...a!.shape], values }];
  },
  Add: binary((a, b) => a + b),
  Sub: binary((a, b) => a - b),
  Mul: binary((a, b) => a * b),
  Div: binary((a, b) => a / b),
  Mod: binary((a, b) => a - b * Math.floor(a / b)),
  Pow: binary((a, b) => a ** b),
  Max: binary(Math.max),
  Min: binary(Math.min),
  Equal: binary((a, b) => (a === b ? 1 : 0), "bool"),
  Less: binary((a, b) => (a < b ? 1 : 0), "bool"),
  Greater: binary((a, b) => (a > b ? 1 : 0), "bool"),
  And: binary((a, b) => (a && b ? 1 : 0), "bool"),
  Or: binary((a, b) => (a || b ? 1 : 0), "bool"),
  Not: (_n, [a]) => [{ dtype: "bool", shape: [...a!.shape], values: a!.values.map((x) => (x ? 0 : 1)) }],
  Neg: unary((a) => -a),
  Abs: unary(Math.abs),
  Floor: unary(Math.floor),
  Ceil: unary(Math.ceil),
  Sqrt: unary(Math.sqrt),
  Reciprocal: unary((a) => 1 / a),
  Where: (node, [c, a, b]) => {
    const r = mapStatic(a!.dtype, [c!, a!, b!], (cv, av, bv) => (cv ? av : bv));
    if (!r) throw node.error("operands do not broadcast");
    return [r];
  },
  Gather: (node, [data, indices]) => [gatherStatic(node, data!, indices!, node.int("axis", 0))],
  Concat: (node, inputs) => {
    const parts = inputs.filter((v): v is StaticValue => v !== undefined);
    const a = normAxis(node, node.int("axis", 0), parts[0].shape.length);
    const outer = numElements(parts[0].shape.slice(0, a));
    const values: number[] = [];
    for (let o = 0; o < outer; o++) {
      for (const p of parts) {
        const chunk = numElements(p.shape.slice(a));
        values.push(...p.values.slice(o * chunk, (o + 1) * chunk));
      }
    }
    const shape = [...parts[0].shape];
    shape[a] = parts.reduce((s, p) => s + p.shape[a], 0);
    return [{ dtype: parts[0].dtype, shape, values }];
  },
  Unsqueeze: (node, [a, axes]) => [{ ...a!, shape: unsqueezedShape(node, a!.shape, node.opset >= 13 ? axes!.values : node.ints("axes", [])) }],
  Squeeze: (node, [a, axes]) => [{ ...a!, shape: squeezedShape(node, a!.shape, node.opset >= 13 ? axes?.values : node.ints("axes")) }],
  Reshape: (node, [a, shape]) => [{ ...a!, shape: resolveReshape(node, a!.shape, shape!.values, node.int("allowzero", 0) === 1) }],
  Flatten: (node, [a]) => {
    const axis = node.int("axis", 1), r = a!.shape.length, ax = axis < 0 ? axis + r : axis;
    return [{ ...a!, shape: [numElements(a!.shape.slice(0, ax)), numElements(a!.shape.slice(ax))] }];
  },
  Transpose: (node, [a]) => [transposeStatic(a!, node.ints("perm") ?? a!.shape.map((_, i) => a!.shape.length - 1 - i))],
  Slice: (node, [data, starts, ends, axes, steps]) => {
    const b = node.opset >= 10
      ? sliceBounds(data!.shape, starts!.values, ends!.values, axes?.values, steps?.values, node)
      : sliceBounds(data!.shape, node.ints("starts", []), node.ints("ends", []), node.ints("axes"), undefined, node);
    return [sliceStatic(data!, b.begin, b.end, b.step)];
  },
  Range: (_n, [start, limit, delta]) => {
    const s = start!.values[0], l = limit!.values[0], d = delta!.values[0];
    const n = Math.max(0, Math.ceil((l - s) / d));
    return [makeStatic(start!.dtype, [n], Array.from({ length: n }, (_, i) => s + i * d))];
  },
  ConstantOfShape: (node, [shape]) => {
    const value = node.tensor("value");
    const dims = shape!.values;
    const v = value ? Number(value.data[0]) : 0;
    return [makeStatic(value?.dtype ?? "float32", dims, new Array(numElements(dims)).fill(v))];
  },
  Expand: (node, [a, shape]) => {
    const r = mapStatic(a!.dtype, [a!, makeStatic("int64", shape!.values, new Array(numElements(shape!.values)).fill(0))], (x) => x);
    if (!r) throw node.error(`cannot expand [${a!.shape}] to [${shape!.values}]`);
    return [r];
  },
  ReduceProd: (node, [a]) => {
    if (node.ints("axes") !== undefined || a!.shape.length > 1) return [];
    const p = a!.values.reduce((x, y) => x * y, 1);
    return [makeStatic(a!.dtype, node.int("keepdims", 1) ? [1] : [], [p])];
  },
};

/**
 * Folds `node` when every given input is static and the op can be computed on
 * the host; returns undefined when it cannot (the tensor rule then runs).
 *
 * @example
 * ```ts
 * const outs = foldNode(node, [shapeValue, indexValue]);
 * ```
 */
export function foldNode(node: OnnxNode, inputs: (StaticValue | undefined)[]): StaticValue[] | undefined {
  const folder = FOLDERS[node.type];
  if (!folder) return undefined;
  const out = folder(node, inputs);
  return out.length ? out : undefined;
}
