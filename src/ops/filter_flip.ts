/**
 * Lowering helpers for convolution filters, shared by the dense and grouped
 * convolutions' input gradients (internal: not re-exported by the ops module).
 * @module
 */
import type { Lowering } from "./registry.ts";

/**
 * The n×n matrix M with M[i, to(i)] = 1, row-major: x · M moves x's column i to to(i).
 *
 * @example
 * ```ts
 * permutationMatrix(3, (i) => 2 - i); // reverses the columns of an [m, 3] matrix
 * ```
 */
export function permutationMatrix(n: number, to: (i: number) => number): Float32Array {
  const m = new Float32Array(n * n);
  for (let i = 0; i < n; i++) m[i * n + to(i)] = 1;
  return m;
}

/**
 * Emits filter `w` ([K, C, kh, kw]) with both spatial axes reversed, the kernel of
 * a convolution's adjoint. Flipping both axes reverses the flattened taps: a GEMM
 * of the [K·C, taps] view with the reversal matrix (2 ms for 512×512×3×3, where a
 * negative-step Slice took 6.5 ms). Returns the flipped filter's value name.
 *
 * @example
 * ```ts
 * const flipped = emitSpatialFlip(l, l.inputs[1], l.node.inputs[1].shape); // [K, C, kh, kw]
 * ```
 */
export function emitSpatialFlip<A>(l: Lowering<A>, w: string, shape: readonly number[]): string {
  const [k, c, kh, kw] = shape;
  const taps = kh * kw;
  const [wm] = l.emit("Reshape", [w, l.int64s([k * c, taps])]);
  const reversal = l.constant({ dtype: "float32", shape: [taps, taps], data: permutationMatrix(taps, (i) => taps - 1 - i) });
  const [flipped] = l.emit("Gemm", [wm, reversal]);
  return l.emit("Reshape", [flipped, l.int64s([k, c, kh, kw])])[0];
}
