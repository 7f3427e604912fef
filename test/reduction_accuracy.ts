/**
 * Long sums against float64, shared by the CPU/wasm and the WebGPU tests of the
 * blocked reductions: seeded weights shaped like VGG-16's fc6, and the worst
 * relative error of l2Loss, reduceSum and reduceMean on a runtime.
 * @module
 */
import { Graph } from "../src/graph/graph.ts";
import type { HostTensor } from "../src/graph/host_tensor.ts";
import { placeholder } from "../src/graph/variable.ts";
import { l2Loss, reduceMean, reduceSum } from "../src/ops/mod.ts";
import { evaluate } from "../src/runtime/evaluate.ts";
import type { Runtime } from "../src/runtime/types.ts";
import { rng } from "./harness.ts";

/** Seeded float32 values like He-initialized weights of a layer with `fanIn` inputs: one sign, one scale. */
export function weights(n: number, seed: number, fanIn = 25088): Float32Array {
  const r = rng(seed);
  const scale = Math.sqrt(6 / fanIn);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = (2 * r() - 1) * scale;
  return out;
}

/** Σ x² / 2, Σ (x + shift) in float64: what the reported values must agree with. */
function float64Sums(x: Float32Array, shift: number): { halfSquares: number; shifted: number } {
  let squares = 0, shifted = 0;
  for (let i = 0; i < x.length; i++) {
    squares += x[i] * x[i];
    shifted += x[i] + shift;
  }
  return { halfSquares: squares / 2, shifted };
}

export const feed = (shape: number[], data: Float32Array): HostTensor => ({ dtype: "float32", shape, data });
const relative = (actual: number, expected: number) => Math.abs(actual - expected) / Math.abs(expected);

/** l2Loss, sum and mean of `n` values on `runtime`, each against float64. */
export async function worstRelativeError(runtime: Runtime, n: number, seed: number): Promise<number> {
  const x = weights(n, seed);
  const shift = Math.sqrt(2 / 25088);
  const shifted = x.map((v) => v + shift);
  const expected = float64Sums(x, shift);
  const g = new Graph();
  const fetches = g.asDefault(() => {
    // fc6's 7x7x512x1024 layout, and its flat form for the sums.
    const w = placeholder([7, 7, 512, n / (7 * 7 * 512)], "float32", "w");
    const v = placeholder([n], "float32", "v");
    return { l2: l2Loss(w), sum: reduceSum(v), mean: reduceMean(v, 0) };
  });
  const out = await evaluate(fetches, { runtime, feeds: { w: feed([7, 7, 512, n / (7 * 7 * 512)], x), v: feed([n], shifted) } });
  return Math.max(
    relative(Number(out.l2.data[0]), expected.halfSquares),
    relative(Number(out.sum.data[0]), expected.shifted),
    relative(Number(out.mean.data[0]), expected.shifted / n),
  );
}

