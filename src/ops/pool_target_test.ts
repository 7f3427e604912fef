import { assert, assertClose, assertEquals, rng, test } from "../../test/harness.ts";
import { gradients } from "../autodiff/gradients.ts";
import { Graph } from "../graph/graph.ts";
import { placeholder } from "../graph/variable.ts";
import { compileModel } from "../onnx/compile.ts";
import { createRuntime } from "../runtime/create.ts";
import { mul, reduceSum } from "./mod.ts";
import { maxPool2dNCHW } from "./pool.ts";

/** Distinct values (a shuffled grid), so no window has a tie and both forms must pick the same maximum. */
function distinct(n: number, seed: number): Float32Array {
  const r = rng(seed);
  const values = Float32Array.from({ length: n }, (_, i) => i / n - 0.5);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(r() * (i + 1));
    [values[i], values[j]] = [values[j], values[i]];
  }
  return values;
}

test("maxPool2d() gradient: the cpu target's scatter form and the portable window-mask form give the same values", async () => {
  const g = new Graph();
  const { x, w, dx } = g.asDefault(() => {
    const x = placeholder([2, 3, 9, 9], "float32", "x");
    const w = placeholder([2, 3, 5, 5], "float32", "w");
    const y = maxPool2dNCHW(x, [3, 3], { strides: [2, 2], padding: "SAME" });
    return { x, w, dx: gradients(reduceSum(mul(y, w)), [x])[0]! };
  });
  const runtime = await createRuntime({ executionProvider: "cpu" });
  const feeds = { x: distinct(2 * 3 * 81, 3), w: Float32Array.from(distinct(2 * 3 * 25, 4), (v) => v + 0.75) };
  const results: Record<string, Float32Array> = {};
  for (const target of ["cpu", "portable"] as const) {
    const model = compileModel({ name: `pool_${target}`, fetches: { dx }, target });
    const ops = model.parts.nodes.map((n) => (n as { opType: string }).opType);
    assertEquals(ops.includes("ScatterElements"), target === "cpu", `${target} target: scatter form`);
    const session = await runtime.createSession(model.bytes);
    try {
      const out = await session.run({
        x: runtime.fromHost({ dtype: "float32", shape: x.shape as number[], data: feeds.x }),
        w: runtime.fromHost({ dtype: "float32", shape: w.shape as number[], data: feeds.w }),
      }, [model.outputs[0].name]);
      results[target] = (await runtime.toHost(out[model.outputs[0].name])).data as Float32Array;
    } finally {
      await session.release();
    }
  }
  // Overlapping windows sum their shares in a different order in the two forms.
  assertClose(results.cpu, results.portable, { rtol: 1e-6, atol: 1e-7 });
  assert(results.cpu.some((v) => v !== 0), "some gradient reaches the input");
});
