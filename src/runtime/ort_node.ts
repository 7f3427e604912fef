/**
 * onnxruntime-node on Node.js, Deno and Bun: CPU, WebGPU (Dawn) and CUDA providers.
 * Loaded only when chosen, so a browser bundle never pulls it.
 * @module
 */
import { type OrtModule, ortRuntime } from "./ort_common.ts";
import type { Runtime, RuntimeOptions } from "./types.ts";

/**
 * Creates a Runtime over onnxruntime-node.
 *
 * @example
 * ```ts
 * const rt = await nodeRuntime({ executionProvider: "cpu", intraOpNumThreads: 2 });
 * ```
 */
export async function nodeRuntime(options: RuntimeOptions = {}): Promise<Runtime> {
  const ep = options.executionProvider ?? "cpu";
  if (ep === "wasm") throw new Error('onnxruntime-node has no "wasm" execution provider: use package "onnxruntime-web" for wasm');
  const ort = await import("onnxruntime-node");
  // Deno and some bundlers expose the CommonJS package under `default` only.
  const mod = ((ort as { InferenceSession?: unknown }).InferenceSession ? ort : (ort as { default: unknown }).default) as OrtModule;
  const gpu = ep !== "cpu";
  return ortRuntime(mod, "onnxruntime-node", ep, {
    executionProviders: [ep],
    intraOpNumThreads: options.intraOpNumThreads ?? defaultThreads(),
    allowCpuFallback: options.allowCpuFallback ?? false,
    profileFilePrefix: options.profileFilePrefix,
    gpu,
    // The arena on, the memory pattern off: see OrtSessionConfig.
    cpuMemArena: gpu ? undefined : options.cpuMemArena ?? true,
    memPattern: gpu ? undefined : options.cpuMemPattern ?? false,
  });
}

/** All cores: ONNX Runtime's own default picked one thread on some machines. */
function defaultThreads(): number {
  const nav = (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator;
  return Math.max(1, nav?.hardwareConcurrency ?? 2);
}
