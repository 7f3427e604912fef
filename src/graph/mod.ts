/**
 * Graphs, tensors, variables, placeholders, constants, collections and
 * initializers: what models are built from.
 *
 * @example
 * ```ts
 * import { graph } from "slimtrain";
 * const g = new graph.Graph();
 * g.asDefault(() => graph.placeholder([32, 224, 224, 3], "float32", "images"));
 * ```
 * @module
 */
export { getDefaultGraph, Graph, GraphKeys, nameScope, resetDefaultGraph } from "./graph.ts";
export { type DType, type HostTensor, hostTensor, isFullyKnown, numElements, UNKNOWN_DIM } from "./host_tensor.ts";
export * from "./initializers.ts";
export { type StorageLayout } from "./storage_layout.ts";
export { Tensor } from "./tensor.ts";
export { type Assignment, assign, constant, placeholder, Variable, variable, type VariableOptions } from "./variable.ts";
