/**
 * onnxruntime-web: the wasm provider everywhere, WebGPU in browsers (and Deno) with
 * an adapter. Loaded only when chosen.
 * @module
 */
import { ortRuntime } from "./ort_common.ts";
import type { Runtime, RuntimeOptions } from "./types.ts";

/**
 * Creates a Runtime over onnxruntime-web.
 *
 * @example
 * ```ts
 * const rt = await webRuntime({ executionProvider: "wasm" });
 * ```
 */
export async function webRuntime(options: RuntimeOptions = {}): Promise<Runtime> {
  const hasGpu = Boolean((globalThis as { navigator?: { gpu?: unknown } }).navigator?.gpu);
  const ep = options.executionProvider ?? (hasGpu ? "webgpu" : "wasm");
  if (ep === "cuda" || ep === "cpu") {
    throw new Error(`onnxruntime-web has no "${ep}" execution provider: use "wasm" or "webgpu" (or package "onnxruntime-node")`);
  }
  const ort = ep === "webgpu" ? await import("onnxruntime-web/webgpu") : await import("onnxruntime-web");
  const mod = (ort as { InferenceSession?: unknown }).InferenceSession ? ort : (ort as { default: unknown }).default;
  if (options.intraOpNumThreads) (mod as { env: { wasm: { numThreads: number } } }).env.wasm.numThreads = options.intraOpNumThreads;
  return ortRuntime(mod, "onnxruntime-web", ep, {
    executionProviders: [ep],
    allowCpuFallback: options.allowCpuFallback ?? false,
    profileFilePrefix: options.profileFilePrefix,
    gpu: ep === "webgpu",
  });
}
