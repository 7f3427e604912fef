/**
 * Max and average pooling in NCHW. The max-pool gradient is its own op so it can
 * be lowered without MaxPool's Indices output (which GPU execution providers lack):
 * for non-overlapping windows it routes the gradient through an equality mask
 * against the upsampled maxima, sharing it among ties.
 * @module
 */
import { formatShape } from "../graph/host_tensor.ts";
import type { Tensor } from "../graph/tensor.ts";
import { apply } from "./apply.ts";
import { padsFor } from "./conv.ts";
import { expectRank, type Lowering, registerOp } from "./registry.ts";

/** Pooling geometry: kernel [h, w], strides [h, w], pads [top, left, bottom, right]. */
export interface PoolAttrs {
  kernel: number[];
  strides: number[];
  pads: number[];
}

function poolShape(op: string, x: Tensor, { kernel, strides, pads }: PoolAttrs): number[] {
  expectRank(op, "input", x, 4);
  const [n, c, h, w] = x.shape;
  const ho = Math.floor((h + pads[0] + pads[2] - kernel[0]) / strides[0]) + 1;
  const wo = Math.floor((w + pads[1] + pads[3] - kernel[1]) / strides[1]) + 1;
  if (ho < 1 || wo < 1) throw new Error(`${op}: a ${kernel[0]}x${kernel[1]} window does not fit input ${x.name} ${formatShape(x.shape)}`);
  return [n, c, ho, wo];
}

registerOp<PoolAttrs>({
  type: "MaxPool",
  infer: ([x], attrs) => [{ shape: poolShape("maxPool2d", x, attrs), dtype: x.dtype }],
  grad: ({ inputs: [x], outputs: [y], attrs, dys: [dy] }) => [apply("MaxPoolGrad", [x, y, dy!], { ...attrs })],
  lower: (l) =>
    void l.emit("MaxPool", l.inputs, {
      outputs: l.outputs,
      attrs: { kernel_shape: l.attrs.kernel, strides: l.attrs.strides, pads: l.attrs.pads },
    }),
});

registerOp<PoolAttrs>({
  type: "MaxPoolGrad",
  infer: ([x]) => [{ shape: [...x.shape], dtype: x.dtype }],
  lower: (l) => {
    const { kernel, strides, pads } = l.attrs;
    const tiled = kernel[0] === strides[0] && kernel[1] === strides[1] && pads.every((p) => p === 0);
    if (tiled) lowerTiledMaxPoolGrad(l);
    else lowerScatterMaxPoolGrad(l);
  },
});

/** Non-overlapping windows: mask = (x == upsampled max) / ties-in-window, dx = mask · upsampled dy. */
function lowerTiledMaxPoolGrad(l: Lowering<PoolAttrs>): void {
  const [x, y, dy] = l.inputs;
  const [n, c, h, w] = l.node.inputs[0].shape;
  const [, , ho, wo] = l.node.inputs[1].shape;
  const [kh, kw] = l.attrs.kernel;
  const blocks = [n, c, ho, 1, wo, 1], tiles = [n, c, ho, kh, wo, kw];
  const up = (t: string) => {
    const [r] = l.emit("Reshape", [t, l.int64s(blocks)]);
    const [e] = l.emit("Expand", [r, l.int64s(tiles)]);
    return e;
  };
  let xc = x;
  if (ho * kh !== h || wo * kw !== w) {
    [xc] = l.emit("Slice", [x, l.int64s([0, 0]), l.int64s([ho * kh, wo * kw]), l.int64s([2, 3])]);
  }
  const [x6] = l.emit("Reshape", [xc, l.int64s(tiles)]);
  const [eq] = l.emit("Equal", [x6, up(y)]);
  const [mask] = l.emit("Cast", [eq], { attrs: { to: 1 } });
  const [ties] = l.emit("ReduceSum", [mask, l.int64s([3, 5])], { attrs: { keepdims: 1 } });
  const [share] = l.emit("Div", [mask, ties]);
  const [g6] = l.emit("Mul", [share, up(dy)]);
  if (ho * kh === h && wo * kw === w) {
    l.emit("Reshape", [g6, l.int64s([n, c, h, w])], { outputs: l.outputs });
    return;
  }
  const [g4] = l.emit("Reshape", [g6, l.int64s([n, c, ho * kh, wo * kw])]);
  l.emit("Pad", [g4, l.int64s([0, 0, 0, 0, 0, 0, h - ho * kh, w - wo * kw])], { outputs: l.outputs });
}

/** Overlapping or padded windows: MaxPool's indices, then a scatter-add (CPU and wasm EPs). */
function lowerScatterMaxPoolGrad(l: Lowering<PoolAttrs>): void {
  const [x, , dy] = l.inputs;
  const shape = l.node.inputs[0].shape;
  const total = shape.reduce((a, b) => a * b, 1);
  const [, indices] = l.emit("MaxPool", [x], {
    count: 2,
    attrs: { kernel_shape: l.attrs.kernel, strides: l.attrs.strides, pads: l.attrs.pads },
  });
  const [flatIdx] = l.emit("Reshape", [indices, l.int64s([-1])]);
  const [flatDy] = l.emit("Reshape", [dy, l.int64s([-1])]);
  const zeros = l.constant({ dtype: "float32", shape: [total], data: new Float32Array(total) });
  const [scattered] = l.emit("ScatterElements", [zeros, flatIdx, flatDy], { attrs: { axis: 0, reduction: "add" } });
  l.emit("Reshape", [scattered, l.int64s(shape)], { outputs: l.outputs });
}

/**
 * Max pooling over NCHW input with TF's "SAME"/"VALID" padding.
 *
 * @example
 * ```ts
 * const pooled = maxPool2dNCHW(x, [2, 2], { strides: [2, 2] });
 * ```
 */
export function maxPool2dNCHW(
  x: Tensor,
  kernel: number[],
  { strides = [2, 2], padding = "VALID" }: { strides?: number[]; padding?: "SAME" | "VALID" } = {},
): Tensor {
  expectRank("maxPool2d", "input", x, 4);
  const pads = padsFor(padding, [x.shape[2], x.shape[3]], kernel, strides);
  return apply("MaxPool", [x], { kernel, strides, pads });
}
