/**
 * The last GEMM of a lowering whose result is an op's output, with the fused update
 * the compiler may have asked for (`Lowering.accumulate`): one Gemm writes
 * `scale · A·B + beta · C` where the unfused step would write the product, scale it
 * and add it in three passes over a variable-sized tensor.
 * @module
 */
import type { Lowering } from "./registry.ts";

/** The product's geometry: A is [m, k] (or [k, m] with transA), B is [k, n] (or [n, k] with transB). */
export interface GemmDims {
  m: number;
  k: number;
  n: number;
  transA?: boolean;
  transB?: boolean;
}

/**
 * Emits `Gemm(a, b)` reshaped to `shape` into the op's output, or, when the
 * compiler fused an update into this op, the update's result in its place.
 *
 * @example
 * ```ts
 * // dW [K, C·H·W] = dYᵀ × X, written as the filter [K, C, H, W] (or as w − lr·dW).
 * emitGemmResult(l, dym, xm, { m: k, k: n, n: c * h * w, transA: true }, [k, c, h, w]);
 * ```
 */
export function emitGemmResult(l: Lowering<unknown>, a: string, b: string, dims: GemmDims, shape: readonly number[]): void {
  const { m, k, n } = dims;
  const attrs: Record<string, number | { float: number }> = {};
  if (dims.transA) attrs.transA = 1;
  if (dims.transB) attrs.transB = 1;
  const reshaped = shape.length !== 2 || shape[0] !== m || shape[1] !== n;
  const acc = l.accumulate;
  if (!acc) {
    if (!reshaped) return void l.emit("Gemm", [a, b], { outputs: l.outputs, attrs });
    const [y] = l.emit("Gemm", [a, b], { attrs });
    return void l.emit("Reshape", [y, l.int64s(shape)], { outputs: l.outputs });
  }
  acc.used = true;
  let [sa, sb] = [a, b];
  if (typeof acc.scale === "number") attrs.alpha = { float: acc.scale };
  else {
    // A runtime scale (a schedule) multiplies the smaller operand, never the [m, n] result.
    let [s] = l.emit("Reshape", [acc.scale, l.int64s([1, 1])]);
    if (acc.negateScale) [s] = l.emit("Neg", [s]);
    if (m * k <= k * n) [sa] = l.emit("Mul", [a, s]);
    else [sb] = l.emit("Mul", [b, s]);
  }
  if (!reshaped) {
    attrs.beta = { float: acc.beta };
    return void l.emit("Gemm", [sa, sb, acc.into], { outputs: [acc.output], attrs });
  }
  if (acc.outputKind !== "exact") {
    attrs.beta = { float: acc.beta };
    const [c] = l.emit("Reshape", [acc.into, l.int64s([m, n])]);
    if (acc.outputKind === "intermediate") {
      const [y] = l.emit("Gemm", [sa, sb, c], { attrs });
      return void l.emit("Reshape", [y, l.int64s(shape)], { outputs: [acc.output] });
    }
    l.emit("Gemm", [sa, sb, c], { outputs: [acc.output], attrs });
    const [view] = l.emit("Reshape", [acc.output, l.int64s(shape)]);
    acc.writtenAs = { shape: [m, n], view };
    return;
  }
  // A Reshape that writes a model output copies it (ONNX Runtime aliases only
  // intermediate values, and measured its copy of fc6's 411 MB at ~0.8 s), so the
  // addition stays a node of its own; the scale still rides on the Gemm.
  const [y] = l.emit("Gemm", [sa, sb], { attrs });
  const [product] = l.emit("Reshape", [y, l.int64s(shape)]);
  if (acc.beta === 1) return void l.emit("Add", [product, acc.into], { outputs: [acc.output] });
  if (acc.beta === -1) return void l.emit("Sub", [product, acc.into], { outputs: [acc.output] });
  // The factor at the operand's rank: ONNX Runtime's CPU arithmetic is slow with rank-0 scalars (ops/broadcast.ts).
  const beta = l.constant({ dtype: "float32", shape: shape.map(() => 1), data: new Float32Array([acc.beta]) });
  const [addend] = l.emit("Mul", [acc.into, beta]);
  l.emit("Add", [product, addend], { outputs: [acc.output] });
}
