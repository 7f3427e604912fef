// The autodiff engine's own behaviour (summing partials, stopGradient, missing rules,
// ties and kinks) and the shape rules' messages; gradients_test.ts checks every op's rule.
import { assert, assertClose, assertEquals, assertThrows, randomArray, test } from "../../test/harness.ts";
import { Graph } from "../graph/graph.ts";
import { placeholder, variable } from "../graph/variable.ts";
import {
  abs, add, apply, conv2dNCHW, matmul, maximum, maxPool2dNCHW, minimum, mul, reduceMax, reduceSum, relu, reshape, stopGradient, sub,
} from "../ops/mod.ts";
import { registerOp } from "../ops/registry.ts";
import { evaluate } from "../runtime/evaluate.ts";
import { gradients } from "./gradients.ts";

// ---- Engine behaviour. ----

test("gradients() sums the partials of a tensor used several times", async () => {
  const g = new Graph();
  await g.asDefault(async () => {
    const x = placeholder([2, 3], "float32", "x");
    const [dx] = gradients(reduceSum(add(mul(x, x), x)), [x]);
    const data = randomArray(6, 101);
    const out = await evaluate({ dx: dx! }, { feeds: { x: { dtype: "float32", shape: [2, 3], data } } });
    assertClose(out.dx.data as Float32Array, data.map((v) => 2 * v + 1));
  });
});

test("gradients() sums a negated partial over its broadcast axes before negating it (a per-channel Sub operand)", async () => {
  const g = new Graph();
  await g.asDefault(async () => {
    const x = placeholder([4, 3], "float32", "x");
    const b = placeholder([1, 3], "float32", "b");
    const w = placeholder([4, 3], "float32", "w");
    const [db] = gradients(reduceSum(mul(sub(x, b), w)), [b]);
    // The Neg reads the [1, 3] sum, not the [4, 3] product.
    assertEquals([db!.node.op, db!.node.inputs[0].node.op, db!.shape], ["Neg", "ReduceSum", [1, 3]]);
    const wData = randomArray(12, 104);
    const feeds = {
      x: { dtype: "float32" as const, shape: [4, 3], data: randomArray(12, 103) },
      b: { dtype: "float32" as const, shape: [1, 3], data: randomArray(3, 105) },
      w: { dtype: "float32" as const, shape: [4, 3], data: wData },
    };
    const out = await evaluate({ db: db! }, { feeds });
    const expected = [0, 1, 2].map((c) => -[0, 1, 2, 3].reduce((s, r) => s + wData[r * 3 + c], 0));
    assertClose(out.db.data as Float32Array, expected);
  });
});

test("gradients() stops at stopGradient", async () => {
  const g = new Graph();
  await g.asDefault(async () => {
    const x = placeholder([2, 3], "float32", "x");
    // d/dx of x · stop(x) is stop(x) = x, not 2x.
    const [dx] = gradients(reduceSum(mul(x, stopGradient(x))), [x]);
    const data = randomArray(6, 102);
    const out = await evaluate({ dx: dx! }, { feeds: { x: { dtype: "float32", shape: [2, 3], data } } });
    assertClose(out.dx.data as Float32Array, data);
    assertEquals(gradients(reduceSum(stopGradient(x)), [x]), [null]);
  });
});

test("gradients() returns null for a variable the output does not depend on", () => {
  const g = new Graph();
  g.asDefault(() => {
    const w = variable("w", { shape: [3] });
    const unused = variable("unused", { shape: [3] });
    const [dw, du] = gradients(reduceSum(mul(w.value, w.value)), [w.value, unused.value]);
    assert(dw !== null && dw.shape.join() === "3", "w gets a [3] gradient");
    assertEquals(du, null);
  });
});

registerOp<Record<string, never>>({
  type: "GradCheckTestNoGrad",
  infer: ([x]) => [{ shape: [...x.shape], dtype: x.dtype }],
  lower: (l) => void l.emit("Identity", l.inputs, { outputs: l.outputs }),
});

test("gradients() names the op that has no gradient rule", async () => {
  const g = new Graph();
  await g.asDefault(async () => {
    const x = placeholder([3], "float32", "x");
    const y = apply("GradCheckTestNoGrad", [x], {}, "opaque");
    await assertThrows(() => gradients(reduceSum(y), [x]), /no gradient rule for op GradCheckTestNoGrad \(node opaque\)/);
  });
});

test("ties and kinks follow the documented rules", async () => {
  const g = new Graph();
  await g.asDefault(async () => {
    const x = placeholder([2, 3], "float32", "x");
    const y = placeholder([2, 3], "float32", "y");
    const [dxMax, dyMax] = gradients(reduceSum(maximum(x, y)), [x, y]);
    const [dxMin, dyMin] = gradients(reduceSum(minimum(x, y)), [x, y]);
    const [dReduceMax] = gradients(reduceSum(reduceMax(x, 1)), [x]);
    const [dRelu] = gradients(reduceSum(add(relu(x), abs(x))), [x]);
    const p = placeholder([1, 1, 2, 4], "float32", "p");
    const [dPool] = gradients(reduceSum(maxPool2dNCHW(p, [2, 2])), [p]);
    const feeds = {
      // Row 0 ties x with y everywhere and has a three-way tie for the row max.
      x: { dtype: "float32" as const, shape: [2, 3], data: new Float32Array([0.5, 0.5, 0.5, -0.7, 0, 0.3]) },
      y: { dtype: "float32" as const, shape: [2, 3], data: new Float32Array([0.5, 0.5, 0.5, 0.2, -0.1, 0.9]) },
      // Two 2x2 windows: a two-way tie and a three-way tie (TensorFlow's MaxPoolGrad picks the first).
      p: { dtype: "float32" as const, shape: [1, 1, 2, 4], data: new Float32Array([0.5, 0.5, 0.3, 0.9, 0.1, 0.2, 0.9, 0.9]) },
    };
    const out = await evaluate({ dxMax: dxMax!, dyMax: dyMax!, dxMin: dxMin!, dyMin: dyMin!, dReduceMax: dReduceMax!, dRelu: dRelu!, dPool: dPool! }, { feeds });
    assertEquals(out.dxMax.data, new Float32Array([1, 1, 1, 0, 1, 0]), "maximum sends ties to a");
    assertEquals(out.dyMax.data, new Float32Array([0, 0, 0, 1, 0, 1]));
    assertEquals(out.dxMin.data, new Float32Array([0, 0, 0, 1, 0, 1]), "minimum sends ties to b");
    assertEquals(out.dyMin.data, new Float32Array([1, 1, 1, 0, 1, 0]));
    assertClose(out.dReduceMax.data as Float32Array, [1 / 3, 1 / 3, 1 / 3, 0, 0, 1], { message: "reduceMax shares ties" });
    assertEquals(out.dRelu.data, new Float32Array([2, 2, 2, -1, 0, 2]), "relu and abs have gradient 0 at 0");
    assertEquals(out.dPool.data, new Float32Array([1, 0, 0, 1, 0, 0, 0, 0]), "tiled maxPool gives a tie to the window's first maximum");
  });
});

// ---- Shape rules name the op and the tensors. ----

test("shape rules name the op and tensors", async () => {
  const g = new Graph();
  await g.asDefault(async () => {
    const x3 = placeholder([2, 5, 5], "float32", "image");
    const w = placeholder([4, 2, 3, 3], "float32", "filter");
    await assertThrows(() => conv2dNCHW(x3, w), /^conv2d: input must be rank 4, got rank 3 \(tensor image \[2, 5, 5\]\)/);
    const attrs = { strides: [1, 1], pads: [0, 0, 0, 0], dilations: [1, 1] };
    await assertThrows(() => apply("Conv2D", [x3, w], attrs), /^conv2d: input must be rank 4, got rank 3 \(tensor image \[2, 5, 5\]\)/);
    const a = placeholder([2, 3], "float32", "a"), b = placeholder([4, 5], "float32", "b");
    await assertThrows(() => matmul(a, b), /^matmul: inner dimensions differ: a \[2, 3\] times b \[4, 5\]/);
    const v = placeholder([4], "float32", "v");
    await assertThrows(() => add(a, v), /^add: cannot broadcast \[2, 3\] \(tensor a\) with \[4\] \(tensor v\)/);
    await assertThrows(() => reshape(a, [4]), /^reshape: cannot reshape a \[2, 3\] \(6 elements\) to \[4\]/);
  });
});
