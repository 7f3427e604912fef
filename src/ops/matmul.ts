/**
 * Matrix multiplication with NumPy batch broadcasting (ONNX MatMul).
 * @module
 */
import { formatShape, UNKNOWN_DIM } from "../graph/host_tensor.ts";
import type { Tensor } from "../graph/tensor.ts";
import { apply } from "./apply.ts";
import { emitGemmResult } from "./gemm_result.ts";
import { registerOp } from "./registry.ts";
import { transpose } from "./shape_ops.ts";

function swapLast(x: Tensor): Tensor {
  const perm = x.shape.map((_, i) => i);
  [perm[x.rank - 2], perm[x.rank - 1]] = [perm[x.rank - 1], perm[x.rank - 2]];
  return transpose(x, perm);
}

registerOp<Record<string, never>>({
  type: "MatMul",
  autocast: true,
  infer: ([a, b]) => {
    if (a.rank < 2 || b.rank < 2) {
      throw new Error(`matmul: operands must be rank 2 or more, got ${a.name} ${formatShape(a.shape)} and ${b.name} ${formatShape(b.shape)}`);
    }
    if (a.dtype !== "float32" || b.dtype !== "float32") throw new Error(`matmul: operands must be float32 (tensors ${a.name}, ${b.name})`);
    const k = a.shape[a.rank - 1];
    if (k === UNKNOWN_DIM || b.shape[b.rank - 1] === UNKNOWN_DIM) {
      throw new Error(`matmul: only the rows and batch dimensions may be unknown: ${a.name} ${formatShape(a.shape)} times ${b.name} ${formatShape(b.shape)}`);
    }
    if (b.shape[b.rank - 2] !== k) {
      throw new Error(`matmul: inner dimensions differ: ${a.name} ${formatShape(a.shape)} times ${b.name} ${formatShape(b.shape)}`);
    }
    const batchA = a.shape.slice(0, -2), batchB = b.shape.slice(0, -2);
    const rank = Math.max(batchA.length, batchB.length);
    const batch: number[] = [];
    for (let i = 0; i < rank; i++) {
      const da = batchA[i - rank + batchA.length] ?? 1, db = batchB[i - rank + batchB.length] ?? 1;
      // As in broadcasting: an unknown dimension (-1) meets n as n and 1 as itself.
      const known = [da, db].filter((d) => d !== 1 && d !== UNKNOWN_DIM);
      if (known.length === 2 && da !== db) {
        throw new Error(`matmul: batch dimensions do not broadcast: ${a.name} ${formatShape(a.shape)} and ${b.name} ${formatShape(b.shape)}`);
      }
      batch.push(known[0] ?? (da === UNKNOWN_DIM || db === UNKNOWN_DIM ? UNKNOWN_DIM : 1));
    }
    return [{ shape: [...batch, a.shape[a.rank - 2], b.shape[b.rank - 1]], dtype: "float32" }];
  },
  // Batch-broadcast gradients come back in the output's batch shape; the engine sums them.
  grad: ({ inputs: [a, b], dys: [dy] }) => [matmul(dy!, swapLast(b)), matmul(swapLast(a), dy!)],
  lower: (l) => {
    const [a, b] = l.node.inputs;
    if (l.accumulate && a.rank === 2 && b.rank === 2) {
      // A fused update (see onnx/fused_updates.ts): Gemm takes the addend as C.
      return emitGemmResult(l, l.inputs[0], l.inputs[1], { m: a.shape[0], k: a.shape[1], n: b.shape[1] }, [a.shape[0], b.shape[1]]);
    }
    l.emit("MatMul", l.inputs, { outputs: l.outputs });
  },
  accumulates: true,
  unknownDims: true,
});

/**
 * a × b over the last two axes, broadcasting the leading ones.
 *
 * @example
 * ```ts
 * const logits = matmul(features, weights); // [batch, in] × [in, classes]
 * ```
 */
export function matmul(a: Tensor, b: Tensor): Tensor {
  return apply("MatMul", [a, b]);
}
