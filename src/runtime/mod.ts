/**
 * ONNX Runtime adapters: pick the package and execution provider, run graph
 * tensors once (`evaluate`), compile graphs to ONNX.
 *
 * @example
 * ```ts
 * import { runtime } from "slimtrain";
 * const rt = await runtime.createRuntime({ executionProvider: "webgpu" });
 * ```
 * @module
 */
export { createRuntime } from "./create.ts";
export { evaluate, type EvaluateOptions } from "./evaluate.ts";
export type { ExecutionProvider, Runtime, RuntimeOptions, RuntimeSession, RuntimeValue, TransferCounts } from "./types.ts";
export { compileModel, type CompiledModel } from "../onnx/compile.ts";
