/**
 * Values known while importing (Constant nodes, integer initializers, Shape
 * outputs and whatever is computed from them alone): the shape arithmetic that
 * exporters emit is folded on the host, so the graph keeps static shapes.
 * @module
 */
import { type DType, type HostTensor, numElements } from "../../graph/host_tensor.ts";

/** A tensor value held as plain numbers (int64 beyond 2^53 rounds; shape math never gets there). */
export interface StaticValue {
  dtype: DType;
  shape: number[];
  values: number[];
}

/**
 * A host tensor as a static value.
 *
 * @example
 * ```ts
 * staticFromHost({ dtype: "int64", shape: [2], data: new BigInt64Array([1n, 2n]) }).values; // [1, 2]
 * ```
 */
export function staticFromHost(t: HostTensor): StaticValue {
  return { dtype: t.dtype, shape: [...t.shape], values: Array.from(t.data as ArrayLike<number | bigint>, Number) };
}

/**
 * A static value as a host tensor (int64 clamped to the int64 range).
 *
 * @example
 * ```ts
 * hostFromStatic({ dtype: "float32", shape: [], values: [0.5] });
 * ```
 */
export function hostFromStatic(v: StaticValue): HostTensor {
  const n = v.values.length;
  switch (v.dtype) {
    case "float32":
      return { dtype: v.dtype, shape: [...v.shape], data: Float32Array.from(v.values) };
    case "int64":
      return {
        dtype: v.dtype,
        shape: [...v.shape],
        data: BigInt64Array.from(v.values, (x) => x >= 2 ** 63 ? 2n ** 63n - 1n : x <= -(2 ** 63) ? -(2n ** 63n) : BigInt(Math.trunc(x))),
      };
    case "int32":
      return { dtype: v.dtype, shape: [...v.shape], data: Int32Array.from(v.values) };
    case "bool":
      return { dtype: v.dtype, shape: [...v.shape], data: Uint8Array.from({ length: n }, (_, i) => (v.values[i] ? 1 : 0)) };
  }
}

/**
 * A static value of a given shape (checks the count).
 *
 * @example
 * ```ts
 * makeStatic("int64", [2], [1, -1]);
 * ```
 */
export function makeStatic(dtype: DType, shape: number[], values: number[]): StaticValue {
  if (values.length !== numElements(shape)) throw new Error(`static value: ${values.length} values do not fill [${shape.join(", ")}]`);
  return { dtype, shape, values };
}

/**
 * Row-major strides of a shape.
 *
 * @example
 * ```ts
 * stridesOf([2, 3, 4]); // [12, 4, 1]
 * ```
 */
export function stridesOf(shape: readonly number[]): number[] {
  const s = new Array(shape.length).fill(1);
  for (let i = shape.length - 2; i >= 0; i--) s[i] = s[i + 1] * shape[i + 1];
  return s;
}

/**
 * numpy broadcasting of several shapes; undefined when they do not broadcast.
 *
 * @example
 * ```ts
 * broadcastStaticShapes([[3, 1], [4]]); // [3, 4]
 * ```
 */
export function broadcastStaticShapes(shapes: readonly (readonly number[])[]): number[] | undefined {
  const rank = Math.max(0, ...shapes.map((s) => s.length));
  const out = new Array(rank).fill(1);
  for (const s of shapes) {
    for (let i = 0; i < s.length; i++) {
      const j = rank - s.length + i;
      if (out[j] === 1) out[j] = s[i];
      else if (s[i] !== 1 && s[i] !== out[j]) return undefined;
    }
  }
  return out;
}

/**
 * Reads `v` at the flat index of a broadcast output position.
 *
 * @example
 * ```ts
 * const at = broadcastReader(row, [3, 4]); at(5); // row's element 1
 * ```
 */
export function broadcastReader(v: StaticValue, outShape: readonly number[]): (outIndex: number) => number {
  const rank = outShape.length, lead = rank - v.shape.length;
  const outStrides = stridesOf(outShape), inStrides = stridesOf(v.shape);
  return (k) => {
    let idx = 0;
    for (let d = lead; d < rank; d++) {
      const coord = Math.floor(k / outStrides[d]) % outShape[d];
      if (v.shape[d - lead] !== 1) idx += coord * inStrides[d - lead];
    }
    return v.values[idx];
  };
}

/**
 * Elementwise over broadcast operands.
 *
 * @example
 * ```ts
 * mapStatic("int64", [a, b], (x, y) => x * y);
 * ```
 */
export function mapStatic(dtype: DType, inputs: readonly StaticValue[], f: (...xs: number[]) => number): StaticValue | undefined {
  const shape = broadcastStaticShapes(inputs.map((v) => v.shape));
  if (!shape) return undefined;
  const readers = inputs.map((v) => broadcastReader(v, shape));
  const n = numElements(shape);
  const values = new Array<number>(n);
  for (let k = 0; k < n; k++) values[k] = f(...readers.map((r) => r(k)));
  return { dtype, shape, values };
}

/**
 * Permutes axes of a static value.
 *
 * @example
 * ```ts
 * transposeStatic(matrix, [1, 0]);
 * ```
 */
export function transposeStatic(v: StaticValue, perm: readonly number[]): StaticValue {
  const shape = perm.map((p) => v.shape[p]);
  const inStrides = stridesOf(v.shape), outStrides = stridesOf(shape);
  const values = new Array<number>(v.values.length);
  for (let k = 0; k < values.length; k++) {
    let idx = 0;
    for (let d = 0; d < shape.length; d++) idx += (Math.floor(k / outStrides[d]) % shape[d]) * inStrides[perm[d]];
    values[k] = v.values[idx];
  }
  return { dtype: v.dtype, shape, values };
}
