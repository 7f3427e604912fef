import { assertClose, assertEquals, randomArray, test } from "../../test/harness.ts";
import { Graph } from "../graph/graph.ts";
import type { HostTensor } from "../graph/host_tensor.ts";
import { placeholder } from "../graph/variable.ts";
import { evaluate } from "../runtime/evaluate.ts";
import { conv2dTranspose } from "./transpose_conv.ts";

const f32 = (shape: number[], data: Float32Array): HostTensor => ({ dtype: "float32", shape, data });

test("conv2dTranspose() has slim's [kh, kw, out, in] weights and output sizes, and inverts a conv's shape", async () => {
  const g = new Graph();
  await g.asDefault(async () => {
    const x = placeholder([2, 3, 4, 5], "float32", "x");
    const same = conv2dTranspose(x, 2, [3, 3], { stride: 2, activationFn: null });
    const valid = conv2dTranspose(x, 2, [3, 3], { stride: 2, padding: "VALID", activationFn: null, scope: "v" });
    assertEquals(g.variables.get("Conv2d_transpose/weights")!.shape, [3, 3, 2, 5]);
    assertEquals([same.shape, valid.shape], [[2, 6, 8, 2], [2, 7, 9, 2]]);
    // Each input pixel scatters its kernel-weighted value into the output (VALID: no cropping).
    const xs = randomArray(120, 81), ws = randomArray(90, 82), bs = randomArray(2, 83);
    const out = await evaluate({ valid }, { feeds: { x: f32([2, 3, 4, 5], xs) }, variables: { "v/weights": f32([3, 3, 2, 5], ws), "v/biases": f32([2], bs) } });
    const ref = new Float32Array(2 * 7 * 9 * 2);
    for (let b = 0; b < 2; b++) for (let i = 0; i < 7 * 9; i++) for (let o = 0; o < 2; o++) ref[(b * 63 + i) * 2 + o] = bs[o];
    for (let b = 0; b < 2; b++) {
      for (let i = 0; i < 3; i++) {
        for (let j = 0; j < 4; j++) {
          for (let a = 0; a < 3; a++) {
            for (let e = 0; e < 3; e++) {
              for (let o = 0; o < 2; o++) {
                for (let c = 0; c < 5; c++) ref[((b * 7 + i * 2 + a) * 9 + j * 2 + e) * 2 + o] += xs[((b * 3 + i) * 4 + j) * 5 + c] * ws[((a * 3 + e) * 2 + o) * 5 + c];
              }
            }
          }
        }
      }
    }
    assertClose(out.valid.data as Float32Array, ref, { rtol: 1e-4, atol: 1e-5 });
  });
});
