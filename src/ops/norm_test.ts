// Gradients of the ops the NHWC layers and batch norm add, against finite
// differences (the table pattern of src/autodiff/gradients_test.ts): batch norm's
// training form, layer norm's, relu6, and transposes folded past elementwise ops,
// paddings, concatenations and keep-dims reductions.
import { numElements } from "../graph/host_tensor.ts";
import { randomArray, test, assertEquals, assert } from "../../test/harness.ts";
import type { Tensor } from "../graph/tensor.ts";
import { checkGradients, type GradientCheckInput } from "../autodiff/check_grads.ts";
import { Graph } from "../graph/graph.ts";
import { placeholder } from "../graph/variable.ts";
import { add, batchNormalization, concat, conv2dNCHW, moments, mul, pad, reduceMean, relu, relu6, reshape, sigmoid, transpose } from "./mod.ts";

let seed = 700;
const u = (shape: number[], lo = -1, hi = 1): GradientCheckInput => ({ shape, data: randomArray(numElements(shape), seed++, lo, hi) });
/** relu6's kinks at 0 and 6 stay farther than eps from every value. */
const relu6Input = (shape: number[]): GradientCheckInput => {
  const x = u(shape, -2, 8);
  x.data = (x.data as Float32Array).map((v) => (Math.abs(v) < 0.2 ? v + 0.5 : Math.abs(v - 6) < 0.2 ? v + 0.5 : v));
  return x;
};

/** Batch norm in training form over NCHW axes [0, 2, 3], with per-channel offset and scale. */
const batchNormTraining = (x: Tensor, beta: Tensor, gamma: Tensor) => {
  const { mean, variance } = moments(x, [0, 2, 3], true);
  return batchNormalization(x, mean, variance, reshape(beta, [1, -1, 1, 1]), reshape(gamma, [1, -1, 1, 1]), 0.001);
};

const cases: [string, (...xs: Tensor[]) => Tensor, GradientCheckInput[]][] = [
  ["moments mean and variance over [0, 2]", (x) => add(mul(moments(x, [0, 2]).mean, 3), moments(x, [0, 2]).variance), [u([3, 2, 4])]],
  ["moments variance alone, axes [-1, 0] kept", (x) => mul(moments(x, [-1, 0], true).variance, 2), [u([3, 2, 4])]],
  ["moments mean alone over [1]", (x) => moments(x, [1]).mean, [u([3, 4, 2])]],
  ["batchNormalization training form, NCHW", batchNormTraining, [u([2, 3, 2, 2], -2, 2), u([3]), u([3], 0.5, 1.5)]],
  ["batchNormalization training form, 2-D", (x, b, g) => {
    const { mean, variance } = moments(x, [0], true);
    return batchNormalization(x, mean, variance, b, g, 0.01);
  }, [u([5, 3], -2, 2), u([3]), u([3], 0.5, 1.5)]],
  ["batchNormalization with fixed statistics", (x, m, v) => batchNormalization(x, m, v, null, null, 0.001), [u([4, 3]), u([3]), u([3], 0.5, 2)]],
  ["layer norm over the last two axes", (x) => {
    const { mean, variance } = moments(x, [1, 2], true);
    return batchNormalization(x, mean, variance, null, null, 1e-12);
  }, [u([2, 3, 4], -2, 2)]],
  ["relu6", (x) => relu6(x), [relu6Input([4, 5])]],
  ["transpose of relu of transpose (folded)", (x) => transpose(relu(transpose(x, [0, 2, 3, 1])), [0, 3, 1, 2]), [{ ...u([2, 3, 2, 2]), data: randomArray(24, 99).map((v) => Math.sign(v) * (0.2 + Math.abs(v))) }]],
  ["transpose of a sum with a broadcast bias (folded)", (x, b) => transpose(sigmoid(add(transpose(x, [0, 2, 3, 1]), b)), [0, 3, 1, 2]), [u([2, 3, 2, 2]), u([3])]],
  ["transpose of a concat of transposes (folded)", (a, b) => transpose(concat([transpose(a, [0, 2, 3, 1]), transpose(b, [0, 2, 3, 1])], 3), [0, 3, 1, 2]), [u([2, 2, 2, 3]), u([2, 3, 2, 3])]],
  ["transpose of a pad of a transpose (folded)", (x) => transpose(pad(transpose(x, [0, 2, 3, 1]), [0, 1, 0, 0], [0, 2, 1, 0]), [0, 3, 1, 2]), [u([1, 2, 3, 2])]],
  ["transpose of a keep-dims mean of a transpose (folded)", (x) => transpose(reduceMean(transpose(x, [0, 2, 3, 1]), [1, 2], true), [0, 3, 1, 2]), [u([2, 3, 2, 4])]],
];

for (const [name, build, inputs] of cases) {
  test(`gradient of ${name} matches finite differences`, async () => {
    await checkGradients(build, inputs, { name });
  });
}

test("transpose() folds a transpose of a transpose, and moves past elementwise ops only when that cancels", () => {
  const g = new Graph();
  g.asDefault(() => {
    const x = placeholder([2, 3, 4, 5], "float32", "x");
    const nhwc = transpose(x, [0, 2, 3, 1]);
    assert(transpose(nhwc, [0, 3, 1, 2]) === x, "the inverse permutation returns the original tensor");
    assert(transpose(nhwc, [0, 2, 1, 3]).node.inputs[0] === x, "other compositions become one transpose of the original");
    const act = relu(nhwc);
    const back = transpose(act, [0, 3, 1, 2]);
    assert(back.node.op === "Relu" && back.node.inputs[0] === x, "the relu moved onto the original");
    assert(transpose(act, [0, 3, 1, 2]) === back, "memoized: the same transpose is built once");
    const other = placeholder([2, 4, 5, 3], "float32", "y");
    const mixed = transpose(add(nhwc, other), [0, 3, 1, 2]);
    assertEquals(mixed.node.op, "Transpose", "a full-size operand that does not cancel keeps the transpose");
    // Once `other` is transposed for a node that reads it, a sum with it folds (a residual shortcut).
    const w = placeholder([3, 3, 1, 1], "float32", "w");
    const used = conv2dNCHW(transpose(other, [0, 3, 1, 2]), w);
    const shortcut = transpose(relu(add(nhwc, other)), [0, 3, 1, 2]);
    assert(shortcut.node.op === "Relu" && shortcut.node.inputs[0].node.inputs[1] === used.node.inputs[0], "the shortcut reuses the transposed input");
    const joined = transpose(concat([nhwc, transpose(other, [0, 1, 2, 3])], 3), [0, 3, 1, 2]);
    assertEquals([joined.node.op, joined.node.attrs.axis], ["Concat", 1]);
  });
});

test("relu6() gradient passes dy strictly between 0 and 6 and is zero at both kinks, as TensorFlow's Relu6Grad, on both lowering targets", async () => {
  const { gradients } = await import("../autodiff/gradients.ts");
  const { compileModel } = await import("../onnx/compile.ts");
  const { createRuntime } = await import("../runtime/create.ts");
  const g = new Graph();
  const { dx } = g.asDefault(() => {
    const x = placeholder([7], "float32", "x");
    const w = placeholder([7], "float32", "w");
    return { dx: gradients(reduceMean(mul(relu6(x), w)), [x])[0]! };
  });
  const w = randomArray(7, 12, 0.5, 2);
  const xs = new Float32Array([-1, 0, 2 ** -149, 1e-30, 6 - 2 ** -21, 6, 7]); // 2^-149: the smallest float32 above 0
  const expected = Array.from(xs, (v, i) => (v > 0 && v < 6 ? Math.fround(w[i] * Math.fround(1 / 7)) : 0));
  const runtime = await createRuntime({ executionProvider: "cpu" });
  for (const target of ["cpu", "portable"] as const) {
    const model = compileModel({ name: `relu6_${target}`, fetches: { dx }, target });
    const ops = model.parts.nodes.map((n) => (n as { opType: string }).opType);
    assertEquals(ops.includes("And"), target === "cpu", `${target} target: one joined mask`);
    const session = await runtime.createSession(model.bytes);
    try {
      const out = await session.run({
        x: runtime.fromHost({ dtype: "float32", shape: [7], data: xs }),
        w: runtime.fromHost({ dtype: "float32", shape: [7], data: w }),
      }, [model.outputs[0].name]);
      assertEquals(Array.from((await runtime.toHost(out[model.outputs[0].name])).data as Float32Array), expected, `${target} target`);
    } finally {
      await session.release();
    }
  }
});
