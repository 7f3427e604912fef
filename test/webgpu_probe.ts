/**
 * Whether onnxruntime-node's WebGPU EP has an adapter here (a GPU, or SwiftShader
 * through VK_ICD_FILENAMES), so WebGPU tests run or say plainly why not.
 * @module
 */
import { createRuntime } from "../src/runtime/create.ts";
import { makeModel, makeNode, makeValueInfo } from "../src/onnx/builder.ts";

/** null when WebGPU works, else the reason it does not. */
export async function webgpuUnavailable(): Promise<string | null> {
  try {
    const rt = await createRuntime({ executionProvider: "webgpu" });
    const model = makeModel({
      name: "probe",
      nodes: [makeNode("Relu", ["x"], ["y"])],
      inputs: [makeValueInfo("x", "float32", [2])],
      outputs: [makeValueInfo("y", "float32", [2])],
      initializers: [],
    });
    const s = await rt.createSession(model);
    await s.release();
    return null;
  } catch (err) {
    const msg = (err as Error).message.split("\n")[0];
    return `no WebGPU adapter for onnxruntime-node (${msg.slice(0, 160)}); on a machine without a GPU install chromium and libvulkan1 and set VK_ICD_FILENAMES=/usr/lib/chromium/vk_swiftshader_icd.json (npm test does)`;
  }
}
