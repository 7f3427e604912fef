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

/** dx of sum(maxPool2d(x, window) · w) under one lowering target, with the model's op types (2x2 stride 2 windows by default). */
async function tiledPoolGrad(xShape: number[], x: Float32Array, w: Float32Array, target: "cpu" | "portable", kernel = [2, 2], strides = [2, 2]) {
  const g = new Graph();
  const { dx, wShape } = g.asDefault(() => {
    const xp = placeholder(xShape, "float32", "x");
    const y = maxPool2dNCHW(xp, kernel, { strides, padding: "VALID" });
    return { dx: gradients(reduceSum(mul(y, placeholder(y.shape as number[], "float32", "w"))), [xp])[0]!, wShape: y.shape as number[] };
  });
  const model = compileModel({ name: `tiled_${target}`, fetches: { dx }, target });
  const runtime = await createRuntime({ executionProvider: "cpu" });
  const session = await runtime.createSession(model.bytes);
  try {
    const name = model.outputs[0].name;
    const out = await session.run({
      x: runtime.fromHost({ dtype: "float32", shape: xShape, data: x }),
      w: runtime.fromHost({ dtype: "float32", shape: wShape, data: w }),
    }, [name]);
    return { dx: (await runtime.toHost(out[name])).data as Float32Array, ops: model.parts.nodes.map((n) => (n as { opType: string }).opType) };
  } finally {
    await session.release();
  }
}

test("maxPool2d() 2x2 stride 2 gradient: the cpu target's MaxUnpool form equals the portable mask form, odd sizes included, and both give a tie to the first maximum", async () => {
  const shape = [2, 3, 9, 8];
  const w = Float32Array.from(distinct(2 * 3 * 4 * 4, 6), (v) => v + 0.75);
  const cpu = await tiledPoolGrad(shape, distinct(2 * 3 * 9 * 8, 5), w, "cpu");
  const portable = await tiledPoolGrad(shape, distinct(2 * 3 * 9 * 8, 5), w, "portable");
  assert(cpu.ops.includes("MaxUnpool") && !portable.ops.includes("MaxUnpool"), "the cpu target unpools");
  assertClose(cpu.dx, portable.dx, { rtol: 0, atol: 0 });
  assert(cpu.dx.slice(8 * 8, 9 * 8).every((v) => v === 0), "the row past the last window gets no gradient");
  // Windows holding their maximum two and three times (ReLU maps tie often): both forms
  // give dy to the first maximum in window order, as TensorFlow does.
  const ties = Float32Array.from([0.1, 0.5, 0.7, 0.3, 0.5, 0.2, 0.7, 0.7]);
  for (const target of ["cpu", "portable"] as const) {
    const tie = await tiledPoolGrad([1, 1, 2, 4], ties, Float32Array.from([3, 5]), target);
    assertEquals(Array.from(tie.dx), [0, 3, 5, 0, 0, 0, 0, 0], `${target} target`);
  }
});

test("maxPool2d() 1x1 stride 2 and 3 gradient (ResNet's subsample): the cpu target's MaxUnpool form equals the portable zero-interleaving form", async () => {
  for (const [shape, stride] of [[[2, 3, 7, 6], 2], [[1, 2, 8, 7], 3]] as [number[], number][]) {
    const n = shape.reduce((a, b) => a * b, 1);
    const out = shape.slice(2).map((d) => Math.floor((d - 1) / stride) + 1);
    const w = Float32Array.from(distinct(shape[0] * shape[1] * out[0] * out[1], 8), (v) => v + 0.75);
    const cpu = await tiledPoolGrad([...shape], distinct(n, 7), w, "cpu", [1, 1], [stride, stride]);
    const portable = await tiledPoolGrad([...shape], distinct(n, 7), w, "portable", [1, 1], [stride, stride]);
    assert(cpu.ops.includes("MaxUnpool") && !portable.ops.includes("MaxUnpool"), "the cpu target unpools");
    assertClose(cpu.dx, portable.dx, { rtol: 0, atol: 0 });
    assertEquals(cpu.dx.filter((v) => v !== 0).length, w.length, `stride ${stride}: one value per window`);
  }
});
