/**
 * Max and average pooling in NCHW. The max-pool gradient is its own op so it can
 * be lowered without MaxPool's Indices output (which GPU execution providers lack):
 * every form gives dy to each window's first maximum, as TensorFlow's MaxPoolGrad
 * and PyTorch do (ties are common after ReLU). Portable: for non-overlapping windows
 * through an equality mask against the upsampled maxima; for overlapping or padded
 * windows (ResNet's 3x3/2 pool) through a first-maximum mask over the windows
 * gathered by a one-hot Conv and placed back by the matching ConvTranspose. On the
 * CPU target: MaxPool's Indices with MaxUnpool or a scatter-add.
 * @module
 */
import { formatShape } from "../graph/host_tensor.ts";
import type { Tensor } from "../graph/tensor.ts";
import { apply } from "./apply.ts";
import { padsFor, requireKnownBeyondBatch } from "./conv.ts";
import { expectRank, type Lowering, registerOp } from "./registry.ts";

/** Pooling geometry: kernel [h, w], strides [h, w], pads [top, left, bottom, right]. */
export interface PoolAttrs {
  kernel: number[];
  strides: number[];
  pads: number[];
}

function poolShape(op: string, x: Tensor, { kernel, strides, pads }: PoolAttrs): number[] {
  expectRank(op, "input", x, 4);
  requireKnownBeyondBatch(op, x);
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
  unknownDims: true,
});

registerOp<PoolAttrs>({
  type: "MaxPoolGrad",
  infer: ([x]) => [{ shape: [...x.shape], dtype: x.dtype }],
  lower: (l) => {
    const { kernel, strides, pads } = l.attrs;
    const unpadded = pads.every((p) => p === 0);
    const tiled = kernel[0] === strides[0] && kernel[1] === strides[1] && unpadded;
    const subsample = kernel[0] === 1 && kernel[1] === 1 && unpadded;
    if (l.target === "cpu") (tiled || subsample ? lowerUnpoolMaxPoolGrad : lowerScatterMaxPoolGrad)(l);
    else if (tiled) lowerTiledMaxPoolGrad(l);
    else if (subsample) lowerSubsampleGrad(l);
    else lowerWindowMaskMaxPoolGrad(l);
  },
});

/**
 * Non-overlapping windows on the CPU and wasm EPs: MaxPool's Indices, then MaxUnpool
 * puts each dy at its window's first maximum (TensorFlow's and PyTorch's choice on
 * ties) and zeros elsewhere, rows past the last window included. Two passes instead
 * of the mask form's eight: VGG-16's pool gradients 3x faster (2×64×224×224:
 * 87 → 28 ms). A 1x1 window (ResNet's strided shortcut) is the same scatter, where
 * the portable form pads six-dimensional views with zeros.
 */
function lowerUnpoolMaxPoolGrad(l: Lowering<PoolAttrs>): void {
  const [x, , dy] = l.inputs;
  const window = { kernel_shape: l.attrs.kernel, strides: l.attrs.strides };
  const [, indices] = l.emit("MaxPool", [x], { count: 2, attrs: window });
  const xShape = l.node.inputs[0].shape;
  const [shape] = xShape.every((d) => d >= 0) ? [l.int64s(xShape)] : l.emit("Shape", [x]);
  l.emit("MaxUnpool", [dy, indices, shape], { outputs: l.outputs, attrs: window });
}

/**
 * Non-overlapping windows, portable: mask = (x == upsampled max), kept at the first
 * maximum of each window (no maxima before it in window order, counted with CumSums),
 * dx = mask · upsampled dy.
 */
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
  // Maxima before each one in window order: those in earlier rows, then earlier in its row.
  const [rowCounts] = l.emit("ReduceSum", [mask, l.int64s([5])], { attrs: { keepdims: 1 } });
  const [rowsBefore] = l.emit("CumSum", [rowCounts, l.int64s([3])], { attrs: { exclusive: 1 } });
  const [inRowBefore] = l.emit("CumSum", [mask, l.int64s([5])], { attrs: { exclusive: 1 } });
  const [before] = l.emit("Add", [inRowBefore, rowsBefore]);
  const zero = l.constant({ dtype: "float32", shape: [1, 1, 1, 1, 1, 1], data: new Float32Array([0]) });
  const [none] = l.emit("Equal", [before, zero]);
  const [firstOnly] = l.emit("Cast", [none], { attrs: { to: 1 } });
  const [first] = l.emit("Mul", [mask, firstOnly]);
  const [g6] = l.emit("Mul", [first, up(dy)]);
  if (ho * kh === h && wo * kw === w) {
    l.emit("Reshape", [g6, l.int64s([n, c, h, w])], { outputs: l.outputs });
    return;
  }
  const [g4] = l.emit("Reshape", [g6, l.int64s([n, c, ho * kh, wo * kw])]);
  l.emit("Pad", [g4, l.int64s([0, 0, 0, 0, 0, 0, h - ho * kh, w - wo * kw])], { outputs: l.outputs });
}

/**
 * Overlapping or padded windows on the CPU and wasm EPs: MaxPool's Indices, then a
 * scatter-add, 3-4x faster there than the portable window-mask form below.
 */
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
 * A 1x1 window is a strided subsample (ResNet's shortcut): dy goes back to every
 * stride-th element, zeros elsewhere, by interleaving with zeros (Reshape and Pad
 * on two new axes) and trimming or padding to the input's size.
 */
function lowerSubsampleGrad(l: Lowering<PoolAttrs>): void {
  const dy = l.inputs[2];
  const [n, c, h, w] = l.node.inputs[0].shape;
  const [, , ho, wo] = l.node.inputs[1].shape;
  const [sh, sw] = l.attrs.strides;
  const [dy6] = l.emit("Reshape", [dy, l.int64s([n, c, ho, 1, wo, 1])]);
  const [spread] = l.emit("Pad", [dy6, l.int64s([0, 0, 0, 0, 0, 0, 0, 0, 0, sh - 1, 0, sw - 1])]);
  const [grid] = l.emit("Reshape", [spread, l.int64s([n, c, ho * sh, wo * sw])]);
  const rows = Math.min(h, ho * sh), cols = Math.min(w, wo * sw);
  let [inside] = rows === ho * sh && cols === wo * sw
    ? [grid]
    : l.emit("Slice", [grid, l.int64s([0, 0]), l.int64s([rows, cols]), l.int64s([2, 3])]);
  if (rows < h || cols < w) [inside] = l.emit("Pad", [inside, l.int64s([0, 0, 0, 0, 0, 0, h - rows, w - cols])]);
  l.emit("Reshape", [inside, l.int64s([n, c, h, w])], { outputs: l.outputs });
}

/** Below any float32 value a window can hold, so padding never wins a window. */
const PAD_VALUE = -3.4028234663852886e38;

/**
 * Overlapping or padded windows, in ops every execution provider runs (no
 * MaxPool Indices, no scatter). With one image-channel per batch entry and a fixed
 * one-hot [K, 1, kh, kw] kernel (K = kh·kw window positions), a Conv at the pool's
 * strides gathers each window's K values as channels (exactly: one product by 1,
 * the rest by 0); an equality mask against the maxima keeps only the first
 * maximum in window order (as MaxPool's Indices and TF pick it: isMax − (maxima
 * before it) = 1, found by an exclusive CumSum) and takes dy there; the transposed
 * Conv with the same kernel adds each share back where it came from (gradients of
 * overlapping windows sum). Gathering with nine strided Slices instead cost 3x the
 * Conv on the CPU EP. (MaxPool's Indices with a scatter-add, the "cpu" target's
 * form above, is 3-4x faster there, but the WebGPU EP has neither.)
 */
function lowerWindowMaskMaxPoolGrad(l: Lowering<PoolAttrs>): void {
  const [x, y, dy] = l.inputs;
  const [n, c, h, w] = l.node.inputs[0].shape;
  const [, , ho, wo] = l.node.inputs[1].shape;
  const [kh, kw] = l.attrs.kernel;
  const [sh, sw] = l.attrs.strides;
  const [top, left] = l.attrs.pads;
  const k = kh * kw;
  // Rows and columns the windows span, padding included; input rows past them are in no window.
  const spanH = (ho - 1) * sh + kh, spanW = (wo - 1) * sw + kw;
  const rows = Math.min(h, spanH - top), cols = Math.min(w, spanW - left);
  const [planes] = l.emit("Reshape", [x, l.int64s([n * c, 1, h, w])]);
  const [used] = rows === h && cols === w ? [planes] : l.emit("Slice", [planes, l.int64s([0, 0]), l.int64s([rows, cols]), l.int64s([2, 3])]);
  const padding = [0, 0, top, left, 0, 0, spanH - top - rows, spanW - left - cols];
  const [padded] = padding.every((p) => p === 0) ? [used] : l.emit("Pad", [used, l.int64s(padding), l.scalar(PAD_VALUE)]);
  const oneHot = new Float32Array(k * k);
  for (let p = 0; p < k; p++) oneHot[p * k + p] = 1;
  const kernel = l.constant({ dtype: "float32", shape: [k, 1, kh, kw], data: oneHot });
  const geometry = { kernel_shape: [kh, kw], strides: [sh, sw] };
  const [windows] = l.emit("Conv", [padded, kernel], { attrs: geometry });
  const [maxima] = l.emit("Reshape", [y, l.int64s([n * c, 1, ho, wo])]);
  const [isMax] = l.emit("Cast", l.emit("Equal", [windows, maxima]), { attrs: { to: 1 } });
  const axis = l.constant({ dtype: "int64", shape: [], data: new BigInt64Array([1n]) });
  const [earlier] = l.emit("CumSum", [isMax, axis], { attrs: { exclusive: 1 } });
  const [first] = l.emit("Equal", l.emit("Sub", [isMax, earlier]).concat(l.scalar(1)));
  const [dy4] = l.emit("Reshape", [dy, l.int64s([n * c, 1, ho, wo])]);
  const [shares] = l.emit("Where", [first, dy4, l.scalar(0)]);
  const [placed] = l.emit("ConvTranspose", [shares, kernel], { attrs: geometry });
  // `placed` covers the padded span: keep the input's rows, zeros for those no window reached.
  let [inside] = top + left === 0 && rows === spanH && cols === spanW
    ? [placed]
    : l.emit("Slice", [placed, l.int64s([top, left]), l.int64s([top + rows, left + cols]), l.int64s([2, 3])]);
  if (rows < h || cols < w) [inside] = l.emit("Pad", [inside, l.int64s([0, 0, 0, 0, 0, 0, h - rows, w - cols])]);
  l.emit("Reshape", [inside, l.int64s([n, c, h, w])], { outputs: l.outputs });
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
