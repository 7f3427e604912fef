/**
 * Checks fed values against the graph before ONNX Runtime sees them, so a wrong
 * shape or dtype is reported with the placeholder's name, not as a runtime error.
 * @module
 */
import { formatShape, type HostTensor, numElements } from "../graph/host_tensor.ts";
import type { Tensor } from "../graph/tensor.ts";

/**
 * Throws a clear error when `value` does not fit `target`.
 *
 * @example
 * ```ts
 * checkFeed("placeholder images", images, batch.images);
 * ```
 */
export function checkFeed(what: string, target: Tensor | { shape: readonly number[]; dtype: string }, value: HostTensor): void {
  if (value.dtype !== target.dtype) {
    throw new Error(`Feed for ${what}: expected dtype ${target.dtype}, got ${value.dtype}`);
  }
  if (value.shape.length !== target.shape.length || value.shape.some((d, i) => d !== target.shape[i])) {
    throw new Error(`Feed for ${what}: expected shape ${formatShape(target.shape)}, got ${formatShape(value.shape)}`);
  }
  if (value.data.length !== numElements(value.shape)) {
    throw new Error(`Feed for ${what}: ${value.data.length} values do not fill shape ${formatShape(value.shape)}`);
  }
}
