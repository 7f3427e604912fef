/**
 * Lowering large sums in blocks. ONNX Runtime's reductions accumulate in float32
 * a few lanes at a time, so a sum over millions of elements drifts: the sum of
 * squares of VGG-16's fc6 weights (25.7M) came out 1.9% low on the CPU provider.
 * Summing blocks of at most `REDUCTION_BLOCK` elements, then the blocks' sums
 * (and so on, a tree of fan-in ≤ the block), keeps every partial sum short, so
 * the result agrees with float64 to about 1e-6 relative on every provider. The
 * extra passes read only the partial sums: one block's worth less data each level.
 * @module
 */
import type { Lowering } from "./registry.ts";

/**
 * The most elements one ONNX reduction sums; larger reductions are lowered in
 * blocks. Measured on ONNX Runtime's CPU provider: 4096 float32 values of one
 * magnitude sum to within ~1e-7 relative of float64.
 *
 * @example
 * ```ts
 * const exact = numElements(weights.shape) <= REDUCTION_BLOCK; // lowered as one ReduceSum
 * ```
 */
export const REDUCTION_BLOCK = 4096;

/** The reductions that accumulate a sum, and so lose precision over long runs. */
export type SumReduction = "ReduceSum" | "ReduceSumSquare" | "ReduceMean";

/**
 * Emits `op` over `axes` of `input` (static `shape`) into `outputs` (fresh names
 * when omitted; returned either way): one ONNX
 * node when at most `block` elements meet in each output, else a tree of
 * reductions. Neighbouring reduced axes are merged and those longer than
 * `block` split with a Reshape (padded with zeros when their length has no
 * divisor near `block`), then the reduced axes are summed innermost first, at
 * most `block` elements per stage; a mean divides once at the end.
 *
 * @example
 * ```ts
 * const [sumSquares] = lowerSum(l, "ReduceSumSquare", l.inputs[0], [4096, 25088], [0, 1], false);
 * ```
 */
export function lowerSum(
  l: Lowering<unknown>,
  op: SumReduction,
  input: string,
  shape: readonly number[],
  axes: readonly number[],
  keepDims: boolean,
  outputs?: string[],
  block = REDUCTION_BLOCK,
): string[] {
  if (!(Number.isInteger(block) && block >= 2)) throw new Error(`${op}: blockSize must be an integer of at least 2, got ${block}`);
  const count = axes.reduce((n, a) => n * shape[a], 1);
  if (count <= block) return emitReduce(l, op, input, axes, keepDims, outputs);
  const outShape = shape.map((d, i) => (axes.includes(i) ? 1 : d)).filter((_, i) => keepDims || !axes.includes(i));
  // Neighbouring axes of one kind are one axis in memory: merge them (a free Reshape),
  // so the first stage sums long contiguous runs rather than, say, a 3x3 kernel's 9 taps.
  const merged: { n: number; reduced: boolean }[] = [];
  shape.forEach((n, i) => {
    const reduced = axes.includes(i);
    const last = merged[merged.length - 1];
    if (last && last.reduced === reduced) last.n *= n;
    else merged.push({ n, reduced });
  });
  // Split each long reduced axis into factors of at most `block`, zero-padding it to their product.
  const split: number[] = [], reduced: boolean[] = [], padAfter: number[] = [];
  for (const m of merged) {
    padAfter.push(0);
    if (!m.reduced || m.n <= block) {
      split.push(m.n);
      reduced.push(m.reduced);
      continue;
    }
    // Factors of at most `block` each, innermost last: [..., outer, d2, d1].
    const factors: number[] = [];
    let rest = m.n;
    while (rest > block) {
      const d = blockFor(rest, block);
      factors.unshift(d);
      rest = Math.ceil(rest / d);
    }
    factors.unshift(rest);
    split.push(...factors);
    reduced.push(...factors.map(() => true));
    // Zeros add nothing to a sum (a mean divides by the true count at the end).
    padAfter[padAfter.length - 1] = factors.reduce((a, b) => a * b, 1) - m.n;
  }
  let x = input;
  if (padAfter.some((p) => p > 0)) {
    [x] = l.emit("Reshape", [x, l.int64s(merged.map((m) => m.n))]);
    [x] = l.emit("Pad", [x, l.int64s([...merged.map(() => 0), ...padAfter])]);
  }
  [x] = l.emit("Reshape", [x, l.int64s(split)]);

  // Stages: the reduced axes, innermost first, grouped while a group holds ≤ block elements.
  const stages: number[][] = [];
  let group: number[] = [], size = 1;
  for (let i = split.length - 1; i >= 0; i--) {
    if (!reduced[i]) continue;
    if (size * split[i] > block && group.length > 0) {
      stages.push(group);
      group = [];
      size = 1;
    }
    group.push(i);
    size *= split[i];
  }
  stages.push(group);
  stages.forEach((stageAxes, k) => {
    const stageOp = k === 0 && op === "ReduceSumSquare" ? "ReduceSumSquare" : "ReduceSum";
    [x] = emitReduce(l, stageOp, x, [...stageAxes].sort((a, b) => a - b), true);
  });
  if (op !== "ReduceMean") return l.emit("Reshape", [x, l.int64s(outShape)], { outputs });
  [x] = l.emit("Reshape", [x, l.int64s(outShape)]);
  return l.emit("Mul", [x, l.scalar(1 / count)], { outputs });
}

/** The largest divisor of n up to `block` when it is at least block / 4 (and 2); else `block` (the axis is padded). */
function blockFor(n: number, block: number): number {
  for (let d = block; d >= Math.max(2, block / 4); d--) if (n % d === 0) return d;
  return block;
}

function emitReduce(l: Lowering<unknown>, op: SumReduction, input: string, axes: readonly number[], keepDims: boolean, outputs?: string[]): string[] {
  const keepdims = keepDims ? 1 : 0;
  // Opset 13 moved ReduceSum's axes to an input; the other reductions follow in opset 18.
  if (op === "ReduceSum") return l.emit(op, [input, l.int64s(axes)], { outputs, attrs: { keepdims } });
  return l.emit(op, [input], { outputs, attrs: { axes: [...axes], keepdims } });
}
