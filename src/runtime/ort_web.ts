/**
 * onnxruntime-web: the wasm provider everywhere, WebGPU in browsers (and Deno) with
 * an adapter. Loaded only when chosen, and only the build the provider needs
 * (`onnxruntime-web/webgpu` carries the WebGPU kernels, the plain one does not).
 * @module
 */
import { type OrtModule, ortRuntime } from "./ort_common.ts";
import type { Runtime, RuntimeOptions } from "./types.ts";

/**
 * Creates a Runtime over onnxruntime-web. With "webgpu", variables the train step
 * keeps on the device come back as `gpu-buffer` tensors and are fed straight into
 * the next step. Reading one back (checkpoints) goes through ort_common.ts's
 * Identity session here too: in Chromium `getData()` works on a gpu-buffer tensor,
 * but it turns the tensor into a CPU one, so the next step would upload that
 * variable again; the Identity session copies it out and leaves it on the device.
 *
 * @example
 * ```ts
 * const rt = await webRuntime({ executionProvider: "wasm", wasmPaths: new URL("./ort/", location.href).href });
 * ```
 */
export async function webRuntime(options: RuntimeOptions = {}): Promise<Runtime> {
  const hasGpu = Boolean((globalThis as { navigator?: { gpu?: unknown } }).navigator?.gpu);
  const ep = options.executionProvider ?? (hasGpu ? "webgpu" : "wasm");
  if (ep === "cuda" || ep === "cpu") {
    throw new Error(`onnxruntime-web has no "${ep}" execution provider: use "wasm" or "webgpu" (or package "onnxruntime-node")`);
  }
  if (options.wasmPaths !== undefined && !/^[a-z][a-z0-9+.-]*:/i.test(options.wasmPaths)) {
    throw new Error(
      `webRuntime: wasmPaths must be an absolute URL (got ${JSON.stringify(options.wasmPaths)}): ` +
        "onnxruntime-web resolves a relative one against its own module, not the page; " +
        `use e.g. new URL(${JSON.stringify(options.wasmPaths)}, location.href).href`,
    );
  }
  const ort = ep === "webgpu" ? await import("onnxruntime-web/webgpu") : await import("onnxruntime-web");
  const mod = ((ort as { InferenceSession?: unknown }).InferenceSession ? ort : (ort as { default: unknown }).default) as OrtModule;
  const env = mod.env!;
  if (options.wasmPaths !== undefined) env.wasm.wasmPaths = options.wasmPaths.endsWith("/") ? options.wasmPaths : `${options.wasmPaths}/`;
  if (options.intraOpNumThreads) env.wasm.numThreads = options.intraOpNumThreads;
  return ortRuntime(mod, "onnxruntime-web", ep, {
    executionProviders: [ep],
    allowCpuFallback: options.allowCpuFallback ?? false,
    profileFilePrefix: options.profileFilePrefix,
    gpu: ep === "webgpu",
  });
}
