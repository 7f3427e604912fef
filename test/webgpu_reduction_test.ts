// Long sums on onnxruntime-node's WebGPU EP (a real GPU, or SwiftShader on a
// CPU-only machine) agree with float64 as on the CPU and wasm providers. Apart from
// src/ops/blocked_reduction_test.ts because a failed WebGPU probe must not share a
// file with tests that need ONNX Runtime afterwards.
import { worstRelativeError } from "./reduction_accuracy.ts";
import { createRuntime } from "../src/runtime/create.ts";
import { assert, test } from "./harness.ts";
import { webgpuUnavailable } from "./webgpu_probe.ts";

const reason = await webgpuUnavailable();
const name = "[backend onnxruntime-node webgpu] l2Loss(), reduceSum() and reduceMean() over 1M weights agree with float64 to 1e-5";
if (reason) {
  test.skip(name, reason);
} else {
  test(name, async () => {
    const runtime = await createRuntime({ executionProvider: "webgpu" });
    const error = await worstRelativeError(runtime, 7 * 7 * 512 * 40, 19);
    assert(error < 1e-5, `worst relative error ${error.toExponential(2)} against float64`);
  });
}
