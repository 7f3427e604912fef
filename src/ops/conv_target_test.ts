import { assert, assertClose, assertEquals, randomArray, test } from "../../test/harness.ts";
import { gradients } from "../autodiff/gradients.ts";
import { Graph } from "../graph/graph.ts";
import { placeholder } from "../graph/variable.ts";
import { compileModel } from "../onnx/compile.ts";
import { createRuntime } from "../runtime/create.ts";
import { conv2dNCHW } from "./conv.ts";
import { mul, reduceSum } from "./mod.ts";
import type { LoweringTarget } from "./registry.ts";

interface Case {
  label: string;
  x: number[];
  w: number[];
  padding?: "SAME" | "VALID" | number[];
  strides?: number[];
  dilations?: number[];
  /** Tolerance against the portable forms where sums over many filters round in another order. */
  tolerance?: { rtol: number; atol: number };
  /** Op types the cpu target's model must contain, and must not. */
  uses: string[];
  avoids: string[];
}

const cases: Case[] = [
  { label: "1x1 on a 2x2 map: one GEMM over the batch's pixels", x: [3, 5, 2, 2], w: [7, 5, 1, 1], uses: ["Gemm"], avoids: ["Conv", "ConvTranspose"] },
  { label: "1x1 on a 1x3 map", x: [2, 4, 1, 3], w: [6, 4, 1, 1], uses: ["Gemm"], avoids: ["Conv", "ConvTranspose"] },
  { label: "3x3 SAME on a 2x2 map", x: [3, 4, 2, 2], w: [5, 4, 3, 3], padding: "SAME", uses: ["Gemm"], avoids: ["Conv", "ConvTranspose"] },
  { label: "3x3 stride 2 SAME, 4x3 map to 2x2", x: [2, 3, 4, 3], w: [4, 3, 3, 3], padding: "SAME", strides: [2, 2], uses: ["Gemm"], avoids: ["Conv", "ConvTranspose"] },
  { label: "3x2 stride 2 VALID, 6x5 map to 2x2 (rows past the last window)", x: [2, 3, 6, 5], w: [4, 3, 3, 2], strides: [2, 2], uses: ["Gemm"], avoids: ["Conv", "ConvTranspose"] },
  { label: "3x3 dilation 2, pads 1, 4x4 map to 2x2", x: [1, 2, 4, 4], w: [3, 2, 3, 3], padding: [1, 1, 1, 1], dilations: [2, 2], uses: ["Gemm"], avoids: ["ConvTranspose"] },
  { label: "3x3 SAME, 20 filters on a 1x3x3 batch: input gradient from columns", x: [1, 2, 3, 3], w: [20, 2, 3, 3], padding: "SAME", uses: ["Gemm"], avoids: ["ConvTranspose"] },
  { label: "3x3 stride 2 SAME, 20 filters, 5x5 map to 3x3: input gradient from columns", x: [1, 2, 5, 5], w: [20, 2, 3, 3], padding: "SAME", strides: [2, 2], uses: ["Gemm"], avoids: ["ConvTranspose"] },
  { label: "3x3 SAME, 1200 filters on a 1x2x24x24 batch: input gradient from columns placed by Pads (scatter matrix too large)", x: [1, 2, 24, 24], w: [1200, 2, 3, 3], padding: "SAME", tolerance: { rtol: 1e-4, atol: 1e-4 }, uses: ["Sum"], avoids: ["ConvTranspose"] },
  { label: "1x1 on a 5x4 map: input gradient as a Conv", x: [2, 6, 5, 4], w: [3, 6, 1, 1], uses: ["Conv"], avoids: ["ConvTranspose"] },
  { label: "1x1 stride 2 on a 5x5 map", x: [2, 3, 5, 5], w: [4, 3, 1, 1], strides: [2, 2], uses: ["Conv"], avoids: [] },
  { label: "3x3 SAME on a 6x5 map: flipped-filter input gradient, per-tap filter gradient", x: [2, 3, 6, 5], w: [4, 3, 3, 3], padding: "SAME", uses: ["Conv"], avoids: ["ConvTranspose"] },
  { label: "3x3 stride 2 SAME on a 7x6 map", x: [2, 3, 7, 6], w: [4, 3, 3, 3], padding: "SAME", strides: [2, 2], uses: ["Conv"], avoids: [] },
];

const size = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);

async function forwardAndGradients(c: Case, target: LoweringTarget): Promise<{ values: Float32Array[]; ops: string[] }> {
  const g = new Graph();
  const { fetches, probe } = g.asDefault(() => {
    const x = placeholder(c.x, "float32", "x");
    const w = placeholder(c.w, "float32", "w");
    const y = conv2dNCHW(x, w, { padding: c.padding ?? "VALID", strides: c.strides, dilations: c.dilations });
    const probe = placeholder(y.shape as number[], "float32", "probe");
    const [dx, dw] = gradients(reduceSum(mul(y, probe)), [x, w]);
    return { fetches: { y, dx: dx!, dw: dw! }, probe };
  });
  const model = compileModel({ name: `conv_${target}`, fetches, target });
  const runtime = await createRuntime({ executionProvider: "cpu" });
  const session = await runtime.createSession(model.bytes);
  try {
    const feed = (shape: readonly number[], seed: number) =>
      runtime.fromHost({ dtype: "float32", shape: [...shape], data: randomArray(size(shape), seed) });
    const names = model.outputs.map((o) => o.name);
    const out = await session.run({ x: feed(c.x, 1), w: feed(c.w, 2), probe: feed(probe.shape as number[], 3) }, names);
    const values = await Promise.all(names.map(async (n) => (await runtime.toHost(out[n])).data as Float32Array));
    return { values, ops: model.parts.nodes.map((n) => (n as { opType: string }).opType) };
  } finally {
    await session.release();
  }
}

test("conv2d() on tiny maps, with large filters and 1x1: the cpu target's forms give the portable forms' output and gradients", async () => {
  for (const c of cases) {
    const cpu = await forwardAndGradients(c, "cpu");
    const portable = await forwardAndGradients(c, "portable");
    for (const op of c.uses) assert(cpu.ops.includes(op), `${c.label}: cpu target uses ${op}`);
    for (const op of c.avoids) assert(!cpu.ops.includes(op), `${c.label}: cpu target avoids ${op}`);
    assertEquals(cpu.values.length, 3);
    cpu.values.forEach((v, i) => assertClose(v, portable.values[i], { ...(c.tolerance ?? { rtol: 1e-5, atol: 1e-6 }), message: `${c.label}, output ${i}` }));
    assert(cpu.values[1].some((v) => v !== 0), `${c.label}: some gradient reaches the input`);
  }
});

test("conv2d() on a 2x2 map with an unknown batch: the cpu target's GEMM form runs any batch", async () => {
  const g = new Graph();
  const y = g.asDefault(() => conv2dNCHW(placeholder([null, 3, 2, 2], "float32", "x"), placeholder([4, 3, 3, 3], "float32", "w"), { padding: "SAME" }));
  const runtime = await createRuntime({ executionProvider: "cpu" });
  const results: Record<string, Float32Array> = {};
  for (const target of ["cpu", "portable"] as const) {
    const model = compileModel({ name: `conv_any_batch_${target}`, fetches: { y }, target });
    assertEquals(model.parts.nodes.some((n) => (n as { opType: string }).opType === "Conv"), target === "portable", `${target}: Conv node`);
    const session = await runtime.createSession(model.bytes);
    try {
      const out = await session.run({
        x: runtime.fromHost({ dtype: "float32", shape: [5, 3, 2, 2], data: randomArray(60, 4) }),
        w: runtime.fromHost({ dtype: "float32", shape: [4, 3, 3, 3], data: randomArray(108, 5) }),
      }, [model.outputs[0].name]);
      const host = await runtime.toHost(out[model.outputs[0].name]);
      assertEquals(host.shape, [5, 4, 2, 2]);
      results[target] = host.data as Float32Array;
    } finally {
      await session.release();
    }
  }
  assertClose(results.cpu, results.portable, { rtol: 1e-5, atol: 1e-6 });
});

test("conv2d() on a tiny map: the forward, filter-gradient and input-gradient lowerings share one scatter matrix", () => {
  const g = new Graph();
  const fetches = g.asDefault(() => {
    const x = placeholder([3, 4, 2, 2], "float32", "x");
    const w = placeholder([5, 4, 3, 3], "float32", "w");
    const y = conv2dNCHW(x, w, { padding: "SAME" });
    const [dx, dw] = gradients(reduceSum(mul(y, placeholder(y.shape as number[], "float32", "probe"))), [x, w]);
    return { y, dx: dx!, dw: dw! };
  });
  const { parts } = compileModel({ name: "conv_shared_scatter", fetches, target: "cpu" });
  const scatters = parts.initializers.map((i) => i.name as string).filter((n) => n.startsWith("const/scatter"));
  assertEquals(scatters.length, 1);
  const readers = parts.nodes.filter((n) => (n as { input: string[] }).input.includes(scatters[0]));
  assertEquals(readers.length, 3);
});
