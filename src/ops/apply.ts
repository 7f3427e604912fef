/**
 * Adding op nodes to the right graph, and turning plain numbers into constants.
 * @module
 */
import { getDefaultGraph } from "../graph/graph.ts";
import type { DType } from "../graph/host_tensor.ts";
import type { Tensor } from "../graph/tensor.ts";
import { constant } from "../graph/variable.ts";

/** A tensor, or a number that becomes a scalar constant of the other operand's dtype. */
export type TensorLike = Tensor | number;

/**
 * Adds a node of `op` to its inputs' graph (or the default graph) and returns its first output.
 *
 * @example
 * ```ts
 * const y = apply("Relu", [x]);
 * ```
 */
export function apply(op: string, inputs: readonly Tensor[], attrs: Record<string, unknown> = {}, name?: string): Tensor {
  return applyN(op, inputs, attrs, name)[0];
}

/**
 * Like `apply`, returning all outputs.
 *
 * @example
 * ```ts
 * const [values, indices] = applyN("TopK", [x], { k: 5 });
 * ```
 */
export function applyN(op: string, inputs: readonly Tensor[], attrs: Record<string, unknown> = {}, name?: string): Tensor[] {
  const graph = inputs[0]?.graph ?? getDefaultGraph();
  return graph.addNode(op, inputs, attrs, name).outputs;
}

/**
 * Turns numbers into scalar constants matching a reference tensor's dtype and graph.
 *
 * @example
 * ```ts
 * const two = toTensor(2, x); // float32 scalar when x is float32
 * ```
 */
export function toTensor(value: TensorLike, like?: Tensor, dtype?: DType): Tensor {
  if (typeof value !== "number") return value;
  return constant(value, [], dtype ?? like?.dtype ?? "float32", like?.graph ?? getDefaultGraph());
}

/** Converts a pair of tensor-likes, taking a number's dtype from the tensor beside it. */
export function toTensors(a: TensorLike, b: TensorLike): [Tensor, Tensor] {
  if (typeof a === "number" && typeof b === "number") return [toTensor(a), toTensor(b)];
  return [toTensor(a, b as Tensor), toTensor(b, a as Tensor)];
}
