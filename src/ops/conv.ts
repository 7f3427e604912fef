/**
 * 2-D convolution in ONNX's layout (input NCHW, filter [out, in, kh, kw]) and its
 * two gradients, each an op of its own so its ONNX lowering can be tuned without
 * touching the autodiff: the input gradient as a convolution with the flipped
 * filter (or ConvTranspose when strided), the filter gradient as one GEMM per
 * filter tap or a convolution with the batch moved into the channel axis. On the
 * CPU target, maps of at most 4 pixels (and gradients of filters larger than their
 * columns) use batch-wide GEMMs (conv_columns.ts), and other 1x1 input gradients a
 * Conv with the filter's channel axes swapped.
 * @module
 */
import { formatShape, isFullyKnown, numElements } from "../graph/host_tensor.ts";
import type { Tensor } from "../graph/tensor.ts";
import { apply } from "./apply.ts";
import { emitColumns, emitFromColumns, onTinyMap } from "./conv_columns.ts";
import { emitSpatialFlip, permutationMatrix } from "./filter_flip.ts";
import { emitGemmResult } from "./gemm_result.ts";
import { expectDType, expectRank, type Lowering, registerOp } from "./registry.ts";

/** Convolution geometry: strides [h, w], pads [top, left, bottom, right], dilations [h, w]. */
export interface ConvAttrs {
  strides: number[];
  pads: number[];
  dilations: number[];
}

/**
 * Throws unless every dimension of `x` but the batch (axis 0) is known: the
 * geometry of a convolution or pooling window needs them when the graph is built.
 *
 * @example
 * ```ts
 * requireKnownBeyondBatch("conv2d", x); // x [?, 3, 32, 32] passes, [2, 3, ?, 32] throws
 * ```
 */
export function requireKnownBeyondBatch(op: string, x: Tensor): void {
  if (!isFullyKnown(x.shape.slice(1))) {
    throw new Error(`${op}: only the batch (dimension 0) of input ${x.describe()} may be unknown; channels and spatial sizes must be fixed`);
  }
}

function outSize(size: number, k: number, s: number, d: number, p0: number, p1: number): number {
  return Math.floor((size + p0 + p1 - d * (k - 1) - 1) / s) + 1;
}

registerOp<ConvAttrs>({
  type: "Conv2D",
  autocast: true,
  infer: ([x, w], { strides, pads, dilations }) => {
    expectRank("conv2d", "input", x, 4);
    expectRank("conv2d", "filter", w, 4);
    expectDType("conv2d", "input", x, ["float32"]);
    expectDType("conv2d", "filter", w, ["float32"]);
    requireKnownBeyondBatch("conv2d", x);
    const [n, c, h, wd] = x.shape;
    const [k, ci, kh, kw] = w.shape;
    if (ci !== c) {
      throw new Error(`conv2d: input has ${c} channels but the filter expects ${ci} (input ${x.name} ${formatShape(x.shape)}, filter ${w.name} ${formatShape(w.shape)})`);
    }
    const ho = outSize(h, kh, strides[0], dilations[0], pads[0], pads[2]);
    const wo = outSize(wd, kw, strides[1], dilations[1], pads[1], pads[3]);
    if (ho < 1 || wo < 1) {
      throw new Error(`conv2d: a ${kh}x${kw} filter does not fit input ${x.name} ${formatShape(x.shape)} with pads ${formatShape(pads)}`);
    }
    return [{ shape: [n, k, ho, wo], dtype: "float32" }];
  },
  grad: ({ inputs: [x, w], attrs, dys: [dy] }) => [
    apply("Conv2DBackpropInput", [dy!, w], { ...attrs, inputShape: [...x.shape] }),
    apply("Conv2DBackpropFilter", [x, dy!], { ...attrs, filterShape: [...w.shape] }),
  ],
  lower: (l) => {
    const [x, w] = l.node.inputs;
    if (isDense(x.shape, w.shape, l.attrs)) {
      // A filter covering the whole input is a matrix product: [N, C·H·W] × [K, C·H·W]ᵀ.
      // The batch may be unknown (-1); every other dimension is known, so Reshape infers it.
      const [n, k] = [x.shape[0], w.shape[0]];
      const [xm] = l.emit("Reshape", [l.inputs[0], l.int64s([n, x.shape[1] * x.shape[2] * x.shape[3]])]);
      const [wm] = l.emit("Reshape", [l.inputs[1], l.int64s([k, -1])]);
      const [y] = l.emit("Gemm", [xm, wm], { attrs: { transB: 1 } });
      l.emit("Reshape", [y, l.int64s([n, k, 1, 1])], { outputs: l.outputs });
      return;
    }
    const [, , ho, wo] = l.node.outputs[0].shape;
    if (l.target === "cpu" && onTinyMap([0, 0, ho, wo])) {
      // [K, C·taps] × [C·taps, N·ho·wo]: one GEMM for the batch (see conv_columns.ts).
      const [k, c, kh, kw] = w.shape;
      const cols = emitColumns(l, l.inputs[0], x.shape, { kernel: [kh, kw], ...l.attrs }, [ho, wo]);
      const [wm] = l.emit("Reshape", [l.inputs[1], l.int64s([k, c * kh * kw])]);
      const [y] = l.emit("Gemm", [wm, cols]);
      const [y4] = l.emit("Reshape", [y, l.int64s([k, -1, ho, wo])]);
      l.emit("Transpose", [y4], { outputs: l.outputs, attrs: { perm: [1, 0, 2, 3] } });
      return;
    }
    l.emit("Conv", l.inputs, { outputs: l.outputs, attrs: convAttrs(l.attrs, w.shape) });
  },
  unknownDims: true,
});

/**
 * True when the filter spans the whole unpadded input and the output is 1×1 (fully
 * connected layers written as convolutions, as slim's VGG writes fc6–fc8). ORT's
 * Conv runs those image by image as matrix-vector products; one Gemm is ~5× faster.
 */
function isDense(xShape: readonly number[], wShape: readonly number[], a: ConvAttrs): boolean {
  return xShape[2] === wShape[2] && xShape[3] === wShape[3] && a.pads.every((p) => p === 0) && a.dilations.every((d) => d === 1);
}

/**
 * Where the batch-wide GEMM forms of the gradients (conv_columns.ts) beat the
 * per-image ones, for a filter of `k` outputs and output gradient `dyShape`: maps
 * of at most 4 pixels, or a filter with at least twice as many outputs as the batch
 * has output pixels, so the filter outweighs the columns and the GEMM form's
 * skipping of the filter's flip, transpose and per-tap products pays (2x for
 * ResNet-50's 512×512×3×3 input gradient on 2×7×7 maps; slower at 256 outputs on
 * 2×14×14 or 16×4×4).
 */
function columnsPay(k: number, dyShape: readonly number[]): boolean {
  return onTinyMap(dyShape) || k >= 2 * dyShape[0] * dyShape[2] * dyShape[3];
}

/** A 1x1 filter at stride 1 without padding: a matrix product over the channels at every pixel. */
function isPointwise(wShape: readonly number[], a: ConvAttrs): boolean {
  return wShape[2] === 1 && wShape[3] === 1 && a.strides.every((s) => s === 1) && a.pads.every((p) => p === 0);
}

function convAttrs(a: ConvAttrs, filterShape: readonly number[]): Record<string, number[]> {
  return { kernel_shape: [filterShape[2], filterShape[3]], strides: a.strides, pads: a.pads, dilations: a.dilations };
}

registerOp<ConvAttrs & { inputShape: number[] }>({
  type: "Conv2DBackpropInput",
  autocast: true,
  infer: (_inputs, { inputShape }) => [{ shape: [...inputShape], dtype: "float32" }],
  lower: lowerInputGrad,
});

registerOp<ConvAttrs & { filterShape: number[] }>({
  type: "Conv2DBackpropFilter",
  autocast: true,
  accumulates: true,
  infer: (_inputs, { filterShape }) => [{ shape: [...filterShape], dtype: "float32" }],
  lower: lowerFilterGrad,
});

/** dX: Conv with the filter flipped and transposed where that pays (faster on the CPU EP); else ConvTranspose. */
function lowerInputGrad(l: Lowering<ConvAttrs & { inputShape: number[] }>): void {
  const [dy, w] = l.inputs;
  if (isDense(l.attrs.inputShape, l.node.inputs[1].shape, l.attrs)) {
    // dX = dY [N, K] × W [K, C·H·W].
    const n = l.attrs.inputShape[0], k = l.node.inputs[1].shape[0];
    const [dym] = l.emit("Reshape", [dy, l.int64s([n, k])]);
    const [wm] = l.emit("Reshape", [w, l.int64s([k, -1])]);
    const [dx] = l.emit("Gemm", [dym, wm]);
    l.emit("Reshape", [dx, l.int64s(l.attrs.inputShape)], { outputs: l.outputs });
    return;
  }
  const { strides, pads, dilations, inputShape } = l.attrs;
  const [, , kh, kw] = l.node.inputs[1].shape;
  const [, , ho, wo] = l.node.inputs[0].shape;
  const [k, c] = l.node.inputs[1].shape;
  if (l.target === "cpu" && columnsPay(k, l.node.inputs[0].shape)) {
    // Columns = Wᵀ [C·taps, K] × dY [K, N·ho·wo] in one GEMM, summed back onto the input's pixels.
    const [dyt] = l.emit("Transpose", [dy], { attrs: { perm: [1, 0, 2, 3] } });
    const [dym] = l.emit("Reshape", [dyt, l.int64s([k, -1])]);
    const [wm] = l.emit("Reshape", [w, l.int64s([k, c * kh * kw])]);
    const [cols] = l.emit("Gemm", [wm, dym], { attrs: { transA: 1 } });
    emitFromColumns(l, cols, inputShape, { kernel: [kh, kw], strides, pads, dilations }, [ho, wo], l.outputs);
    return;
  }
  if (l.target === "cpu" && isPointwise(l.node.inputs[1].shape, l.attrs)) {
    // dX = Wᵀ · dY at every pixel. ORT's ConvTranspose took 1.2-2x the time of a Conv
    // with the filter's two channel axes swapped (MobileNet v2 and ResNet-50 shapes).
    const [wt] = l.emit("Transpose", [w], { attrs: { perm: [1, 0, 2, 3] } });
    l.emit("Conv", [dy, wt], { outputs: l.outputs, attrs: { kernel_shape: [1, 1] } });
    return;
  }
  const reach = [dilations[0] * (kh - 1), dilations[1] * (kw - 1)];
  const flipPads = [reach[0] - pads[0], reach[1] - pads[1], reach[0] - pads[2], reach[1] - pads[3]];
  // Flipping and transposing the filter costs a pass over it every step, yet measured
  // faster than ORT's ConvTranspose for every 3x3 VGG layer (4% of the main job's
  // step); a 1x1 filter needs no flip, and ConvTranspose takes it as it is.
  const flipPays = kh * kw > 1;
  if (strides[0] === 1 && strides[1] === 1 && flipPads.every((p) => p >= 0) && flipPays) {
    // The flipped filter with in and out channels swapped.
    const [wt] = l.emit("Transpose", [emitSpatialFlip(l, w, l.node.inputs[1].shape)], { attrs: { perm: [1, 0, 2, 3] } });
    // Output size = ho + padsum - reach; extra bottom/right rows come from the input's floor division.
    const padsOut = [flipPads[0], flipPads[1], inputShape[2] - ho - flipPads[0] + reach[0], inputShape[3] - wo - flipPads[1] + reach[1]];
    l.emit("Conv", [dy, wt], { outputs: l.outputs, attrs: { kernel_shape: [kh, kw], strides: [1, 1], pads: padsOut, dilations } });
    return;
  }
  const outputPadding = [0, 1].map((i) =>
    inputShape[2 + i] - (strides[i] * ((i === 0 ? ho : wo) - 1) + reach[i] + 1 - pads[i] - pads[i + 2])
  );
  l.emit("ConvTranspose", [dy, w], {
    outputs: l.outputs,
    attrs: { kernel_shape: [kh, kw], strides, pads, dilations, output_padding: outputPadding },
  });
}

/** How the filter gradient is emitted: one GEMM per tap, a batch-as-channels Conv, or chosen per shape. */
export type FilterGradForm = "auto" | "taps" | "conv";
let filterGradForm: FilterGradForm = "auto";

/**
 * Chooses the filter-gradient lowering for graphs compiled from now on (for
 * benchmarks; "auto" is the measured best).
 *
 * @example
 * ```ts
 * setFilterGradForm("conv");
 * ```
 */
export function setFilterGradForm(form: FilterGradForm): void {
  filterGradForm = form;
}

function lowerFilterGrad(l: Lowering<ConvAttrs & { filterShape: number[] }>): void {
  const xShape = l.node.inputs[0].shape;
  if (isDense(xShape, l.attrs.filterShape, l.attrs)) {
    // dW = dYᵀ [K, N] × X [N, C·H·W].
    const [x, dy] = l.inputs;
    const [n, k] = [xShape[0], l.attrs.filterShape[0]];
    const [xm] = l.emit("Reshape", [x, l.int64s([n, -1])]);
    const [dym] = l.emit("Reshape", [dy, l.int64s([n, k])]);
    emitGemmResult(l, dym, xm, { m: k, k: n, n: numElements(l.attrs.filterShape) / k, transA: true }, l.attrs.filterShape);
    return;
  }
  const [k, c, kh, kw] = l.attrs.filterShape;
  const dyShape = l.node.inputs[1].shape;
  if (filterGradForm === "auto" && l.target === "cpu" && columnsPay(k, dyShape)) {
    // dW [K, C·taps] = dY [K, N·ho·wo] × columnsᵀ: the filter's own layout from one GEMM.
    const [x, dy] = l.inputs;
    const [dyt] = l.emit("Transpose", [dy], { attrs: { perm: [1, 0, 2, 3] } });
    const [dym] = l.emit("Reshape", [dyt, l.int64s([k, -1])]);
    const cols = emitColumns(l, x, xShape, { kernel: [kh, kw], ...l.attrs }, [dyShape[2], dyShape[3]]);
    emitGemmResult(l, dym, cols, { m: k, k: dyShape[0] * dyShape[2] * dyShape[3], n: c * kh * kw, transB: true }, [k, c, kh, kw]);
    return;
  }
  const taps = kh * kw;
  const useTaps = filterGradForm === "taps" || (filterGradForm === "auto" && taps <= 9 && l.attrs.dilations.every((d) => d === 1));
  if (useTaps) lowerFilterGradTaps(l);
  else lowerFilterGradConv(l);
}

/**
 * dW[:, :, i, j] = Σ_n,p,q dy[n,:,p,q] ⊗ x[n,:,p·s+i-pad,q·s+j-pad]: for each tap, one
 * GEMM whose reduction runs over batch and space together ([K, NHW] × [NHW, C]),
 * on channel-major (1x1 filters, cpu target) or channels-last views, so every slice is one matrix.
 */
function lowerFilterGradTaps(l: Lowering<ConvAttrs & { filterShape: number[] }>): void {
  const [x, dy] = l.inputs;
  const { strides, pads, filterShape } = l.attrs;
  const [k, c, kh, kw] = filterShape;
  const [n, , ho, wo] = l.node.inputs[1].shape;
  // Pad so every tap's window lies inside; trailing rows beyond the last window are never read.
  const padded = pads.some((p) => p > 0);
  const [xp] = padded ? l.emit("Pad", [x, l.int64s([0, 0, pads[0], pads[1], 0, 0, pads[2], pads[3]])]) : [x];
  // 1x1 filters on the CPU target take channel-major views ([C, N, H, W], rows
  // [C, N·ho·wo]): moving the batch axis copies whole planes, 1.1-3x faster than the
  // channels-last transpose for MobileNet v2's and ResNet-50's shapes. With more taps
  // the channels-last slices copy longer runs, and neither form measured clearly ahead.
  const channelMajor = l.target === "cpu" && kh * kw === 1;
  const perm = channelMajor ? [1, 0, 2, 3] : [0, 2, 3, 1];
  const [xt] = l.emit("Transpose", [xp], { attrs: { perm } });
  const [dyt] = l.emit("Transpose", [dy], { attrs: { perm } });
  const rows = n * ho * wo;
  const matrix = (t: string, cols: number) => l.emit("Reshape", [t, l.int64s(channelMajor ? [cols, rows] : [rows, cols])])[0];
  const dyMat = matrix(dyt, k);
  const whole = !padded && kh * kw === 1 && strides.every((s) => s === 1) && l.node.inputs[0].shape[2] === ho && l.node.inputs[0].shape[3] === wo;
  const perTap: string[] = [];
  const tapDims = { m: k, k: rows, n: c, ...(channelMajor ? { transB: true } : { transA: true }) };
  for (let i = 0; i < kh; i++) {
    for (let j = 0; j < kw; j++) {
      const [sl] = whole ? [xt] : l.emit("Slice", [
        xt,
        l.int64s([i, j]),
        l.int64s([i + (ho - 1) * strides[0] + 1, j + (wo - 1) * strides[1] + 1]),
        l.int64s(channelMajor ? [2, 3] : [1, 2]),
        l.int64s(strides),
      ]);
      // [K, rows] × [rows, C]: the tap's slice of the filter in ONNX's [out, in] order.
      if (kh * kw === 1) return emitGemmResult(l, dyMat, matrix(sl, c), tapDims, [k, c, kh, kw]);
      const [g] = l.emit("Gemm", [dyMat, matrix(sl, c)], { attrs: channelMajor ? { transB: 1 } : { transA: 1 } });
      perTap.push(g);
    }
  }
  const stackedParts = perTap.map((g) => l.emit("Reshape", [g, l.int64s([1, k * c])])[0]);
  const [stacked] = l.emit("Concat", stackedParts, { attrs: { axis: 0 } });
  // [taps, K·C] → [K·C, taps] as a GEMM with the taps×taps identity (transA). A
  // Transpose here, followed by the Reshape to [K, C, kh, kw], is rewritten by ORT's
  // transpose optimizer into a general 4-D permutation: 7.5 ms for a 512×512×3×3
  // gradient against 2 ms for this GEMM.
  const eye = l.constant({ dtype: "float32", shape: [kh * kw, kh * kw], data: permutationMatrix(kh * kw, (i) => i) });
  emitGemmResult(l, stacked, eye, { m: k * c, k: kh * kw, n: kh * kw, transA: true }, [k, c, kh, kw]);
}

/**
 * dW[k,c,i,j] = Σ_n,p,q dy[n,k,p,q] · x[n,c,p·s+i·d-pad]: a convolution of x (batch and
 * channels swapped) with dy (likewise) as the filter, dilated by the forward stride.
 */
function lowerFilterGradConv(l: Lowering<ConvAttrs & { filterShape: number[] }>): void {
  const [x, dy] = l.inputs;
  const { strides, pads, dilations, filterShape } = l.attrs;
  const xShape = l.node.inputs[0].shape, dyShape = l.node.inputs[1].shape;
  const [, , kh, kw] = filterShape;
  // The bottom/right pad that makes the output exactly kh x kw; negative means crop x.
  const endPad = [0, 1].map((i) =>
    ([kh, kw][i] - 1) * dilations[i] + strides[i] * (dyShape[2 + i] - 1) + 1 - xShape[2 + i] - pads[i]
  );
  let xIn = x;
  if (endPad.some((p) => p < 0)) {
    const ends = [0, 1].map((i) => xShape[2 + i] + Math.min(0, endPad[i]));
    [xIn] = l.emit("Slice", [x, l.int64s([0, 0]), l.int64s(ends), l.int64s([2, 3])]);
  }
  const [xt] = l.emit("Transpose", [xIn], { attrs: { perm: [1, 0, 2, 3] } });
  const [dyt] = l.emit("Transpose", [dy], { attrs: { perm: [1, 0, 2, 3] } });
  const [g] = l.emit("Conv", [xt, dyt], {
    attrs: {
      kernel_shape: [dyShape[2], dyShape[3]],
      strides: dilations,
      dilations: strides,
      pads: [pads[0], pads[1], Math.max(0, endPad[0]), Math.max(0, endPad[1])],
    },
  });
  l.emit("Transpose", [g], { outputs: l.outputs, attrs: { perm: [1, 0, 2, 3] } });
}

/**
 * Convolution in ONNX layout: input [N, C, H, W], filter [K, C, kh, kw].
 * Padding is "SAME" (TF's rule: extra padding at the bottom/right), "VALID", or
 * explicit [top, left, bottom, right].
 *
 * @example
 * ```ts
 * const y = conv2dNCHW(x, w, { strides: [1, 1], padding: "SAME" });
 * ```
 */
export function conv2dNCHW(
  x: Tensor,
  w: Tensor,
  { strides = [1, 1], padding = "SAME", dilations = [1, 1] }: {
    strides?: number[];
    padding?: "SAME" | "VALID" | number[];
    dilations?: number[];
  } = {},
): Tensor {
  expectRank("conv2d", "input", x, 4);
  expectRank("conv2d", "filter", w, 4);
  const pads = typeof padding === "string"
    ? padsFor(padding, [x.shape[2], x.shape[3]], [w.shape[2], w.shape[3]], strides, dilations)
    : padding;
  if (pads.length !== 4) throw new Error(`conv2d: explicit padding needs 4 values [top, left, bottom, right], got ${formatShape(pads)}`);
  return apply("Conv2D", [x, w], { strides, pads, dilations });
}

/**
 * TF's padding rule for "SAME" (total padding split with the extra at the end) and "VALID".
 *
 * @example
 * ```ts
 * padsFor("SAME", [224, 224], [3, 3], [1, 1], [1, 1]); // [1, 1, 1, 1]
 * ```
 */
export function padsFor(padding: "SAME" | "VALID", size: number[], kernel: number[], strides: number[], dilations = [1, 1]): number[] {
  if (padding === "VALID") return [0, 0, 0, 0];
  if (padding !== "SAME") throw new Error(`padding must be "SAME" or "VALID", got ${JSON.stringify(padding)}`);
  const total = [0, 1].map((i) => {
    const out = Math.ceil(size[i] / strides[i]);
    return Math.max(0, (out - 1) * strides[i] + dilations[i] * (kernel[i] - 1) + 1 - size[i]);
  });
  return [Math.floor(total[0] / 2), Math.floor(total[1] / 2), total[0] - Math.floor(total[0] / 2), total[1] - Math.floor(total[1] / 2)];
}
