import { feed, weights, worstRelativeError } from "../../test/reduction_accuracy.ts";
import { assert, assertClose, rng, test } from "../../test/harness.ts";
import { checkGradients, type GradientCheckInput } from "../autodiff/check_grads.ts";
import { Graph } from "../graph/graph.ts";
import { placeholder } from "../graph/variable.ts";
import { createRuntime } from "../runtime/create.ts";
import { evaluate } from "../runtime/evaluate.ts";
import { apply } from "./mod.ts";
import { REDUCTION_BLOCK } from "./blocked_reduction.ts";

test("l2Loss(), reduceSum() and reduceMean() over VGG-16 fc6's 25.7M weights agree with float64 to 1e-5 (CPU provider)", async () => {
  const runtime = await createRuntime({ executionProvider: "cpu" });
  const error = await worstRelativeError(runtime, 7 * 7 * 512 * 1024, 15);
  assert(error < 1e-5, `worst relative error ${error.toExponential(2)} against float64`);
});

test("l2Loss(), reduceSum() and reduceMean() over 2.5M weights agree with float64 to 1e-5 (wasm provider)", async () => {
  const runtime = await createRuntime({ executionProvider: "wasm", package: "onnxruntime-web" });
  const error = await worstRelativeError(runtime, 7 * 7 * 512 * 100, 16);
  assert(error < 1e-5, `worst relative error ${error.toExponential(2)} against float64`);
});

test("reduceSum() in blocks keeps the kept axes apart: [N, C, H, W] over [0, 2, 3], an axis padded to its block", async () => {
  const runtime = await createRuntime({ executionProvider: "cpu" });
  const shape = [3, 2, 5, 7];
  const x = weights(3 * 2 * 5 * 7, 17, 3);
  const expected = [0, 0];
  x.forEach((v, i) => (expected[Math.floor(i / 35) % 2] += v));
  const flat = weights(10007, 18, 3); // prime: the blocked form pads it
  const g = new Graph();
  const fetches = g.asDefault(() => {
    const px = placeholder(shape, "float32", "x"), pf = placeholder([1, 10007], "float32", "f");
    return {
      perChannel: apply("ReduceSum", [px], { axes: [0, 2, 3], keepDims: true, blockSize: 4 }),
      mean: apply("ReduceMean", [pf], { axes: [1], keepDims: false, blockSize: 64 }),
    };
  });
  const out = await evaluate(fetches, { runtime, feeds: { x: feed(shape, x), f: feed([1, 10007], flat) } });
  assert(out.perChannel.shape.join() === "1,2,1,1", `shape ${out.perChannel.shape}`);
  assertClose(out.perChannel.data as Float32Array, expected, { atol: 1e-5 });
  assertClose(out.mean.data as Float32Array, [flat.reduce((a, b) => a + b, 0) / 10007], { atol: 1e-7 });
  assert(REDUCTION_BLOCK >= 1024, "the default block leaves small reductions as one ONNX node");
});

// The blocked forms change only the lowering; their gradients must still match finite differences.
let nextSeed = 40;
const u = (shape: number[]): GradientCheckInput => {
  const r = rng(nextSeed++);
  return { shape, data: Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => 2 * r() - 1) };
};
const blockedCases: [string, (x: ReturnType<typeof placeholder>) => ReturnType<typeof placeholder>, number[]][] = [
  ["reduceSum all, blocks of 4", (x) => apply("ReduceSum", [x], { axes: [0, 1, 2], keepDims: false, blockSize: 4 }), [2, 3, 5]],
  ["reduceSum axes [0, 2] keepDims, blocks of 4", (x) => apply("ReduceSum", [x], { axes: [0, 2], keepDims: true, blockSize: 4 }), [2, 3, 5]],
  ["reduceMean axis 1 (padded), blocks of 4", (x) => apply("ReduceMean", [x], { axes: [1], keepDims: false, blockSize: 4 }), [2, 7]],
  ["l2Loss, blocks of 4", (x) => apply("L2Loss", [x], { blockSize: 4 }), [3, 7]],
];
for (const [name, build, shape] of blockedCases) {
  test(`${name}: gradient matches finite differences`, async () => {
    await checkGradients(build, [u(shape)], { name });
  });
}
