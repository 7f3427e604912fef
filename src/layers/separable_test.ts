import { assertClose, assertEquals, assertThrows, randomArray, test } from "../../test/harness.ts";
import { gradients } from "../autodiff/gradients.ts";
import { Graph } from "../graph/graph.ts";
import type { HostTensor } from "../graph/host_tensor.ts";
import { placeholder } from "../graph/variable.ts";
import { mul, reduceSum } from "../ops/mod.ts";
import { evaluate } from "../runtime/evaluate.ts";
import { separableConv2d } from "./separable.ts";

const f32 = (shape: number[], data: Float32Array): HostTensor => ({ dtype: "float32", shape, data });

/** TF's SAME geometry: output size and the padding before. */
function same(size: number, k: number, s: number): { out: number; before: number } {
  const out = Math.ceil(size / s);
  return { out, before: Math.floor(Math.max(0, (out - 1) * s + k - size) / 2) };
}

/** Depthwise NHWC convolution with slim's [kh, kw, in, m] filter, SAME padding: the textbook loop. */
function depthwiseReference(x: Float32Array, [n, h, w, c]: number[], dw: Float32Array, k: number, m: number, s: number) {
  const gh = same(h, k, s), gw = same(w, k, s);
  const out = new Float32Array(n * gh.out * gw.out * c * m);
  for (let b = 0; b < n; b++) {
    for (let i = 0; i < gh.out; i++) {
      for (let j = 0; j < gw.out; j++) {
        for (let ch = 0; ch < c; ch++) {
          for (let q = 0; q < m; q++) {
            let acc = 0;
            for (let a = 0; a < k; a++) {
              for (let e = 0; e < k; e++) {
                const y = i * s - gh.before + a, z = j * s - gw.before + e;
                if (y >= 0 && y < h && z >= 0 && z < w) acc += x[((b * h + y) * w + z) * c + ch] * dw[((a * k + e) * c + ch) * m + q];
              }
            }
            out[((b * gh.out + i) * gw.out + j) * c * m + ch * m + q] = acc;
          }
        }
      }
    }
  }
  return { data: out, shape: [n, gh.out, gw.out, c * m] };
}

test("separableConv2d() creates slim's depthwise and pointwise weights and matches depthwise then 1x1", async () => {
  const g = new Graph();
  await g.asDefault(async () => {
    const shape = [2, 5, 4, 3];
    const x = placeholder(shape, "float32", "x");
    const y = separableConv2d(x, 4, [3, 3], { depthMultiplier: 2, stride: 2, activationFn: null, scope: "sep" });
    const d = separableConv2d(x, null, 3, { activationFn: null });
    assertEquals([...g.variables.values()].map((v) => [v.name, v.shape]), [
      ["sep/depthwise_weights", [3, 3, 3, 2]], ["sep/pointwise_weights", [1, 1, 6, 4]], ["sep/biases", [4]],
      ["SeparableConv2d/depthwise_weights", [3, 3, 3, 1]], ["SeparableConv2d/biases", [3]],
    ]);
    assertEquals([y.shape, d.shape], [[2, 3, 2, 4], [2, 5, 4, 3]]);
    const xs = randomArray(120, 71), dw = randomArray(54, 72), pw = randomArray(24, 73), bs = randomArray(4, 74);
    const dw1 = randomArray(27, 75), bs1 = randomArray(3, 76);
    const r = placeholder([...y.shape], "float32", "r");
    const [dx] = gradients(reduceSum(mul(y, r)), [x]);
    const out = await evaluate({ y, d, dx: dx! }, {
      feeds: { x: f32(shape, xs), r: f32([...y.shape], randomArray(y.size, 77)) },
      variables: {
        "sep/depthwise_weights": f32([3, 3, 3, 2], dw), "sep/pointwise_weights": f32([1, 1, 6, 4], pw), "sep/biases": f32([4], bs),
        "SeparableConv2d/depthwise_weights": f32([3, 3, 3, 1], dw1), "SeparableConv2d/biases": f32([3], bs1),
      },
    });
    const depth = depthwiseReference(xs, shape, dw, 3, 2, 2);
    const ref = new Float32Array(2 * 3 * 2 * 4);
    for (let p = 0; p < 12; p++) {
      for (let o = 0; o < 4; o++) ref[p * 4 + o] = bs[o] + [0, 1, 2, 3, 4, 5].reduce((a, q) => a + depth.data[p * 6 + q] * pw[q * 4 + o], 0);
    }
    assertClose(out.y.data as Float32Array, ref, { rtol: 1e-4, atol: 1e-5 });
    const depth1 = depthwiseReference(xs, shape, dw1, 3, 1, 1);
    assertClose(out.d.data as Float32Array, depth1.data.map((v, i) => v + bs1[i % 3]), { rtol: 1e-4, atol: 1e-5 });
    assertEquals(out.dx.shape, shape);
    await assertThrows(() => separableConv2d(x, 4, 3, { depthMultiplier: 0 }), "separableConv2d: depthMultiplier must be a positive integer, got 0");
  });
});
