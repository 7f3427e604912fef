import { assert, assertClose, assertEquals, assertThrows, randomArray, test } from "../../test/harness.ts";
import { gradients } from "../autodiff/gradients.ts";
import { Graph } from "../graph/graph.ts";
import type { HostTensor } from "../graph/host_tensor.ts";
import { placeholder } from "../graph/variable.ts";
import { mul, reduceSum, transpose } from "../ops/mod.ts";
import { evaluate } from "../runtime/evaluate.ts";
import { avgPool2d, maxPool2d } from "./pooling.ts";

const f32 = (shape: number[], data: Float32Array): HostTensor => ({ dtype: "float32", shape, data });

/** Every window of a TF-padded pooling, as lists of flat input indices (only those inside the map). */
function windows([n, c, h, w]: number[], k: number, s: number, padding: "SAME" | "VALID"): { shape: number[]; cells: number[][] } {
  const geo = (size: number) => {
    if (padding === "VALID") return { out: Math.floor((size - k) / s) + 1, before: 0 };
    const out = Math.ceil(size / s);
    return { out, before: Math.floor(Math.max(0, (out - 1) * s + k - size) / 2) };
  };
  const gh = geo(h), gw = geo(w);
  const cells: number[][] = [];
  for (let p = 0; p < n * c; p++) {
    for (let i = 0; i < gh.out; i++) {
      for (let j = 0; j < gw.out; j++) {
        const cell: number[] = [];
        for (let a = 0; a < k; a++) {
          for (let b = 0; b < k; b++) {
            const y = i * s - gh.before + a, z = j * s - gw.before + b;
            if (y >= 0 && y < h && z >= 0 && z < w) cell.push((p * h + y) * w + z);
          }
        }
        cells.push(cell);
      }
    }
  }
  return { shape: [n, c, gh.out, gw.out], cells };
}

test("maxPool2d() pools NCHW windows with slim's defaults and ignores SAME padding", async () => {
  const g = new Graph();
  await g.asDefault(async () => {
    const shape = [2, 3, 5, 7];
    const x = placeholder(shape, "float32", "x");
    const valid = maxPool2d(x, 2, { dataFormat: "NCHW" });
    const same = maxPool2d(x, [3, 3], { stride: 2, padding: "SAME", scope: "pool", dataFormat: "NCHW" });
    // Mostly negative inputs: zero padding would show up as zeros at the border.
    const data = randomArray(2 * 3 * 5 * 7, 3, -1, 0.2);
    const out = await evaluate({ valid, same }, { feeds: { x: f32(shape, data) } });
    for (const [name, k, s, padding] of [["valid", 2, 2, "VALID"], ["same", 3, 2, "SAME"]] as const) {
      const ref = windows(shape, k, s, padding);
      assertEquals(out[name].shape, ref.shape);
      assertClose(out[name].data as Float32Array, ref.cells.map((cell) => Math.max(...cell.map((i) => data[i]))), { message: name });
    }
    assert(same.name.startsWith("pool/"), `scoped: ${same.name}`);
    assert(valid.name.startsWith("MaxPool2D/"), `default scope: ${valid.name}`);
    await assertThrows(() => maxPool2d(placeholder([1, 1, 1, 1], "float32", "tiny"), 2), "maxPool2d: a 2x2 window does not fit input tiny [1, 1, 1, 1] (NHWC)");
  });
});

test("avgPool2d() averages only the elements inside the map, and its gradient spreads 1/count", async () => {
  const g = new Graph();
  await g.asDefault(async () => {
    const shape = [2, 2, 5, 6];
    const x = placeholder(shape, "float32", "x");
    const same = avgPool2d(x, 3, { stride: 2, padding: "SAME", dataFormat: "NCHW" });
    const valid = avgPool2d(x, [2, 2], { dataFormat: "NCHW" });
    const r = placeholder([...same.shape], "float32", "r");
    const [dx] = gradients(reduceSum(mul(same, r)), [x]);
    const data = randomArray(120, 8), rs = randomArray(same.size, 9);
    const out = await evaluate({ same, valid, dx: dx! }, { feeds: { x: f32(shape, data), r: f32([...same.shape], rs) } });
    const refSame = windows(shape, 3, 2, "SAME"), refValid = windows(shape, 2, 2, "VALID");
    assertEquals(same.shape, refSame.shape);
    assert(refSame.cells.some((c) => c.length < 9), "some SAME windows overhang the border");
    const mean = (cell: number[]) => cell.reduce((a, i) => a + data[i], 0) / cell.length;
    assertClose(out.same.data as Float32Array, refSame.cells.map(mean), { rtol: 1e-5, atol: 1e-6 });
    assertClose(out.valid.data as Float32Array, refValid.cells.map(mean), { rtol: 1e-5, atol: 1e-6 });
    const grad = new Float32Array(120);
    refSame.cells.forEach((cell, o) => cell.forEach((i) => (grad[i] += rs[o] / cell.length)));
    assertClose(out.dx.data as Float32Array, grad, { rtol: 1e-4, atol: 1e-6 });
  });
});

test("maxPool2d() and avgPool2d() take NHWC by default and equal their NCHW forms", async () => {
  const g = new Graph();
  await g.asDefault(async () => {
    const x = placeholder([2, 5, 6, 3], "float32", "x");
    const nchw = transpose(x, [0, 3, 1, 2]);
    const maxA = maxPool2d(x, 3, { stride: 2, padding: "SAME" }), maxB = maxPool2d(nchw, 3, { stride: 2, padding: "SAME", dataFormat: "NCHW" });
    const avgA = avgPool2d(x, 2), avgB = avgPool2d(nchw, 2, { dataFormat: "NCHW" });
    assertEquals([maxA.shape, avgA.shape], [[2, 3, 3, 3], [2, 2, 3, 3]]);
    const out = await evaluate({ maxA, maxB: transpose(maxB, [0, 2, 3, 1]), avgA, avgB: transpose(avgB, [0, 2, 3, 1]) }, {
      feeds: { x: f32([2, 5, 6, 3], randomArray(180, 17)) },
    });
    assertClose(out.maxA.data as Float32Array, out.maxB.data as Float32Array);
    assertClose(out.avgA.data as Float32Array, out.avgB.data as Float32Array, { rtol: 1e-5, atol: 1e-6 });
  });
});
