/**
 * Plain tensor values held in host memory: what feeds, fetches, checkpoints and
 * summaries exchange. Independent of any ONNX Runtime package.
 * @module
 */

/** Element types slimtrain graphs use. */
export type DType = "float32" | "int64" | "int32" | "bool";

/**
 * Every DType, for checking a dtype given at run time.
 *
 * @example
 * ```ts
 * DTYPES.includes("float64" as DType); // false
 * ```
 */
export const DTYPES: readonly DType[] = ["float32", "int64", "int32", "bool"];

/** The typed array behind each dtype. */
export type TypedArrayFor<D extends DType> = D extends "float32" ? Float32Array
  : D extends "int64" ? BigInt64Array
  : D extends "int32" ? Int32Array
  : Uint8Array;

/** A dense tensor in host memory, row-major. */
export interface HostTensor {
  dtype: DType;
  shape: number[];
  data: Float32Array | BigInt64Array | Int32Array | Uint8Array;
}

/** Bytes per element of a dtype. */
export function dtypeSize(dtype: DType): number {
  return dtype === "float32" || dtype === "int32" ? 4 : dtype === "int64" ? 8 : 1;
}

/** Number of elements of a shape (1 for a scalar). */
export function numElements(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/**
 * Makes a host tensor, checking that the data length matches the shape.
 *
 * @example
 * ```ts
 * const t = hostTensor("float32", [2, 2], new Float32Array([1, 2, 3, 4]));
 * ```
 */
export function hostTensor(dtype: DType, shape: number[], data: HostTensor["data"]): HostTensor {
  if (data.length !== numElements(shape)) {
    throw new Error(`hostTensor: ${data.length} values do not fill shape [${shape.join(", ")}]`);
  }
  return { dtype, shape: [...shape], data };
}

/** Allocates a zero-filled typed array for a dtype. */
export function allocate(dtype: DType, n: number): HostTensor["data"] {
  switch (dtype) {
    case "float32":
      return new Float32Array(n);
    case "int64":
      return new BigInt64Array(n);
    case "int32":
      return new Int32Array(n);
    case "bool":
      return new Uint8Array(n);
  }
}

/** Formats a shape the way error messages print it: `[2, 3]`. */
export function formatShape(shape: readonly number[]): string {
  return `[${shape.map((d) => (d === UNKNOWN_DIM ? "?" : d)).join(", ")}]`;
}

/**
 * A dimension known only when the graph runs (TensorFlow's `None`): a
 * placeholder's batch, and what ops derive from it.
 *
 * @example
 * ```ts
 * const images = placeholder([UNKNOWN_DIM, 28, 28, 1]); // any batch size
 * ```
 */
export const UNKNOWN_DIM = -1;

/**
 * True when every dimension of `shape` is known when the graph is built.
 *
 * @example
 * ```ts
 * isFullyKnown([2, 3]); // true
 * isFullyKnown([-1, 3]); // false
 * ```
 */
export function isFullyKnown(shape: readonly number[]): boolean {
  return !shape.includes(UNKNOWN_DIM);
}
