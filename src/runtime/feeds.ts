/**
 * Checks fed values against the graph before ONNX Runtime sees them, so a wrong
 * shape, dtype or value is reported with the placeholder's name, not as a runtime
 * error or a silently wrong result.
 * @module
 */
import { type DType, formatShape, type HostTensor, numElements, UNKNOWN_DIM } from "../graph/host_tensor.ts";
import type { Tensor } from "../graph/tensor.ts";

/** The graph collection of value ranges that feeds of a placeholder must respect. */
export const FEED_RANGES = "feed_value_ranges";

/** Integer values a placeholder accepts: [min, max), and who needs it so. */
export interface FeedRange {
  tensor: Tensor;
  min: number;
  /** Exclusive. */
  max: number;
  /** Named in the error, e.g. "class ids of sparseSoftmaxCrossEntropy over 10 classes". */
  why: string;
}

/**
 * Declares that every value fed to `tensor` must lie in [min, max), for ops whose
 * ONNX lowering would turn an out-of-range value into a silently wrong result.
 * Only a placeholder's feeds can be checked on the host; for a computed tensor
 * this does nothing.
 *
 * @example
 * ```ts
 * requireFeedRange(labels, 0, classes, `class ids of sparseSoftmaxCrossEntropy over ${classes} classes`);
 * ```
 */
export function requireFeedRange(tensor: Tensor, min: number, max: number, why: string): void {
  if (tensor.node.op !== "Placeholder") return;
  tensor.graph.addToCollection(FEED_RANGES, { tensor, min, max, why } satisfies FeedRange);
}

const ARRAY_TYPES: Record<DType, { name: string; is: (d: unknown) => boolean }> = {
  float32: { name: "Float32Array", is: (d) => d instanceof Float32Array },
  int64: { name: "BigInt64Array", is: (d) => d instanceof BigInt64Array },
  int32: { name: "Int32Array", is: (d) => d instanceof Int32Array },
  bool: { name: "Uint8Array", is: (d) => d instanceof Uint8Array },
};

/**
 * An int64 batch for an int32 placeholder, or the other way round, converted to the
 * placeholder's dtype as TensorFlow converts fed arrays (class ids come as int64
 * from datasets, while the WebGPU provider has no int64 kernels, so GPU graphs take
 * int32 labels). Narrowing checks every value; anything else is returned as it is.
 *
 * @example
 * ```ts
 * widthOfFeed("placeholder labels", labels, { dtype: "int64", shape: [2], data: new BigInt64Array([3n, 7n]) }).dtype; // "int32"
 * ```
 */
export function widthOfFeed(what: string, target: { dtype: string }, value: HostTensor): HostTensor {
  if (!value || typeof value !== "object") return value;
  if (target.dtype === "int32" && value.dtype === "int64" && value.data instanceof BigInt64Array) {
    const out = new Int32Array(value.data.length);
    for (let i = 0; i < out.length; i++) {
      const v = value.data[i];
      if (v > 2147483647n || v < -2147483648n) {
        throw new Error(`Feed for ${what}: int64 value ${v} at index ${i} does not fit the placeholder's int32`);
      }
      out[i] = Number(v);
    }
    return { dtype: "int32", shape: value.shape, data: out };
  }
  if (target.dtype === "int64" && value.dtype === "int32" && value.data instanceof Int32Array) {
    return { dtype: "int64", shape: value.shape, data: BigInt64Array.from(value.data, (v) => BigInt(v)) };
  }
  return value;
}

/**
 * Throws a clear error when `value` does not fit `target`.
 *
 * @example
 * ```ts
 * checkFeed("placeholder images", images, batch.images);
 * ```
 */
export function checkFeed(what: string, target: Tensor | { shape: readonly number[]; dtype: string }, value: HostTensor): void {
  if (!value || typeof value !== "object" || !Array.isArray(value.shape) || !value.data) {
    throw new Error(`Feed for ${what}: expected a tensor { dtype, shape, data }, got ${describeValue(value)}`);
  }
  if (value.dtype !== target.dtype) {
    throw new Error(`Feed for ${what}: expected dtype ${target.dtype}, got ${value.dtype}`);
  }
  // An unknown dimension (-1) takes any size; `batchSizeOf` ties it across placeholders.
  if (value.shape.length !== target.shape.length || value.shape.some((d, i) => d !== target.shape[i] && target.shape[i] !== UNKNOWN_DIM)) {
    throw new Error(`Feed for ${what}: expected shape ${formatShape(target.shape)}, got ${formatShape(value.shape)}`);
  }
  if (value.data.length !== numElements(value.shape)) {
    throw new Error(`Feed for ${what}: ${value.data.length} values do not fill shape ${formatShape(value.shape)}`);
  }
  // Plain arrays are converted by ONNX Runtime; a typed array of another kind is refused there without a name.
  const kind = ARRAY_TYPES[value.dtype];
  if (ArrayBuffer.isView(value.data) && kind && !kind.is(value.data)) {
    throw new Error(`Feed for ${what}: dtype ${value.dtype} needs a ${kind.name}, got ${value.data.constructor.name}`);
  }
  if ("graph" in target) {
    for (const range of target.graph.getCollection<FeedRange>(FEED_RANGES)) {
      if (range.tensor === target) checkRange(what, range, value);
    }
  }
}

/**
 * The size a feed gives the unknown dimension (the batch) of `target`, or
 * undefined when its shape is fully known. Every unknown dimension of a graph is
 * the batch, so all placeholders fed in one run must agree on it.
 *
 * @example
 * ```ts
 * batchSizeOf(images, { dtype: "float32", shape: [7, 28, 28, 1], data }); // 7 for images [?, 28, 28, 1]
 * ```
 */
export function batchSizeOf(target: { shape: readonly number[] }, value: HostTensor): number | undefined {
  const axis = target.shape.indexOf(UNKNOWN_DIM);
  return axis < 0 ? undefined : value.shape[axis];
}

function checkRange(what: string, { min, max, why }: FeedRange, value: HostTensor): void {
  const data = value.data as ArrayLike<number | bigint>;
  for (let i = 0; i < data.length; i++) {
    const v = Number(data[i]);
    if (!(v >= min && v < max)) {
      throw new Error(`Feed for ${what}: value ${data[i]} at index ${i} is outside [${min}, ${max}) (${why})`);
    }
  }
}

function describeValue(v: unknown): string {
  if (v === null || typeof v !== "object") return String(v);
  const o = v as { dtype?: unknown; shape?: unknown };
  return `an object with dtype ${String(o.dtype)} and shape ${JSON.stringify(o.shape) ?? "undefined"}`;
}
