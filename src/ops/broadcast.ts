/**
 * NumPy broadcasting of static shapes, shared by the elementwise ops and the
 * autodiff engine (which sums gradients back over broadcast axes).
 * @module
 */
import { formatShape, isFullyKnown, UNKNOWN_DIM } from "../graph/host_tensor.ts";
import type { Tensor } from "../graph/tensor.ts";
import type { Lowering } from "./registry.ts";

/**
 * The broadcast shape of several tensors, or an error naming the op and each tensor.
 *
 * @example
 * ```ts
 * broadcastShapes("add", [a, b]); // [2, 3] for [2, 3] and [3]
 * ```
 */
export function broadcastShapes(op: string, tensors: readonly Tensor[]): number[] {
  const rank = Math.max(...tensors.map((t) => t.rank));
  const out: number[] = new Array(rank).fill(1);
  for (const t of tensors) {
    for (let i = 0; i < t.rank; i++) {
      const j = rank - t.rank + i;
      const d = t.shape[i];
      // An unknown dimension (-1) meets n as n (it must be n or 1 at run time) and 1 as itself.
      if (out[j] === 1 || (out[j] === UNKNOWN_DIM && d !== 1)) out[j] = d;
      else if (d !== 1 && d !== UNKNOWN_DIM && d !== out[j]) {
        throw new Error(
          `${op}: cannot broadcast ${tensors.map((x) => `${formatShape(x.shape)} (tensor ${x.name})`).join(" with ")}`,
        );
      }
    }
  }
  return out;
}

/**
 * The axes of `outShape` that a tensor of `inShape` was broadcast along (to be
 * summed), and whether the result then needs a reshape to `inShape`.
 *
 * @example
 * ```ts
 * broadcastAxes([3], [2, 3]); // { axes: [0], reshape: true }
 * ```
 */
export function broadcastAxes(inShape: readonly number[], outShape: readonly number[]): { axes: number[]; reshape: boolean } {
  const lead = outShape.length - inShape.length;
  const axes: number[] = [];
  for (let j = 0; j < outShape.length; j++) {
    if (j < lead) axes.push(j);
    else if (inShape[j - lead] === 1 && outShape[j] !== 1) axes.push(j);
  }
  return { axes, reshape: lead > 0 };
}

/**
 * The ONNX input names of a broadcasting op, with every input of lower rank than
 * the output reshaped to the output's rank (leading 1s). ONNX Runtime's CPU kernels
 * take a slow element-by-element path when the ranks differ (a rank-0 scalar times
 * a 4096×4096×1×1 tensor ran ~10× slower than the same product with a [1, 1, 1, 1]
 * operand), and every optimizer update multiplies a parameter-sized tensor by a scalar.
 * The reshapes of constants are folded away when the session is created.
 *
 * @example
 * ```ts
 * lower: (l) => void l.emit("Mul", sameRankInputs(l), { outputs: l.outputs }),
 * ```
 */
export function sameRankInputs(l: Lowering<unknown>): string[] {
  const rank = Math.max(...l.node.inputs.map((t) => t.rank));
  return l.inputs.map((name, i) => {
    const t = l.node.inputs[i];
    if (t.rank === rank) return name;
    const lead = new Array(rank - t.rank).fill(1);
    // Unsqueeze leaves unknown dimensions to run time, where a Reshape constant could not.
    if (!isFullyKnown(t.shape)) return l.emit("Unsqueeze", [name, l.int64s(lead.map((_, i) => i))])[0];
    return l.emit("Reshape", [name, l.int64s([...lead, ...t.shape])])[0];
  });
}
