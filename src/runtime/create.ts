/**
 * Picks the ONNX Runtime package and provider for the current runtime.
 * @module
 */
import { hasNodeFs } from "../fs/default.ts";
import type { Runtime, RuntimeOptions } from "./types.ts";

/**
 * Creates a Runtime: onnxruntime-node (CPU by default) under Node.js, Deno and Bun;
 * onnxruntime-web in a browser.
 *
 * @example
 * ```ts
 * const rt = await createRuntime({ executionProvider: "cpu" });
 * ```
 */
export async function createRuntime(options: RuntimeOptions = {}): Promise<Runtime> {
  const pkg = options.package ?? (hasNodeFs() && options.executionProvider !== "wasm" ? "onnxruntime-node" : "onnxruntime-web");
  if (pkg === "onnxruntime-node") {
    const { nodeRuntime } = await import("./ort_node.ts");
    return nodeRuntime(options);
  }
  const { webRuntime } = await import("./ort_web.ts");
  return webRuntime(options);
}
