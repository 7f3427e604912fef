/**
 * Convolutions on tiny maps as one GEMM over the whole batch, for the CPU target.
 * ONNX Runtime's Conv and ConvTranspose multiply image by image: each image's GEMM
 * has only H·W columns (4 on a 2x2 map) and reads the whole filter again, so on the
 * last stages of ResNet-50 and MobileNet v2 at 64² the filter's memory traffic, not
 * arithmetic, sets the time. Gathering every image's windows into one column
 * matrix (channel-major, [C·taps, N·Ho·Wo]) makes it one GEMM that reads the filter
 * once: 2-3x faster on 2x2 maps, slower from 4x4 on (measured with 1x1 and 3x3
 * filters of 160-2048 channels), hence `onTinyMap`.
 * Internal: not re-exported by the ops module.
 * @module
 */
import type { Lowering } from "./registry.ts";

/** Window geometry: kernel [kh, kw], strides, pads [top, left, bottom, right], dilations. */
export interface WindowGeometry {
  kernel: number[];
  strides: number[];
  pads: number[];
  dilations: number[];
}

/**
 * True for maps of at most 4 pixels, where one batch-wide GEMM beats ORT's per-image ones.
 *
 * @example
 * ```ts
 * onTinyMap([16, 512, 2, 2]); // true
 * onTinyMap([16, 256, 4, 4]); // false
 * ```
 */
export function onTinyMap(shape: readonly number[]): boolean {
  return shape[2] * shape[3] <= 4;
}

/**
 * Emits the column matrix of `x` ([N, C, H, W], batch may be unknown) for windows
 * giving an [ho, wo] output: [C·kh·kw, N·ho·wo], row c·taps + t holding tap t of
 * channel c (the filter's own [K, C, kh, kw] order), column (n, p, q) one window.
 *
 * @example
 * ```ts
 * const cols = emitColumns(l, l.inputs[0], x.shape, geometry, [ho, wo]); // then Gemm(filter [K, C·9], cols)
 * ```
 */
export function emitColumns<A>(l: Lowering<A>, x: string, xShape: readonly number[], g: WindowGeometry, [ho, wo]: number[]): string {
  const [, c, h, w] = xShape;
  const [kh, kw] = g.kernel;
  const taps = kh * kw;
  if (taps > 1 && taps * ho * wo * h * w <= SCATTER_MATRIX_LIMIT) {
    // Gathering is the scatter's transpose: [N·C, H·W] × [taps·ho·wo, H·W]ᵀ, one GEMM
    // instead of a Pad, a Slice per tap and a Concat.
    const [planes] = l.emit("Reshape", [x, l.int64s([-1, h * w])]);
    const gather = scatterConstant(l, g, [ho, wo], [h, w]);
    const [gathered] = l.emit("Gemm", [planes, gather], { attrs: { transB: 1 } });
    const [split] = l.emit("Reshape", [gathered, l.int64s([-1, c, taps, ho * wo])]);
    const [ordered] = l.emit("Transpose", [split], { attrs: { perm: [1, 2, 0, 3] } });
    return l.emit("Reshape", [ordered, l.int64s([c * taps, -1])])[0];
  }
  const [channelMajor] = l.emit("Transpose", [x], { attrs: { perm: [1, 0, 2, 3] } });
  const covers = g.pads.every((p) => p === 0) && taps === 1 && g.strides.every((s) => s === 1) && ho === xShape[2] && wo === xShape[3];
  if (covers) return l.emit("Reshape", [channelMajor, l.int64s([c, -1])])[0];
  const [padded] = g.pads.every((p) => p === 0)
    ? [channelMajor]
    : l.emit("Pad", [channelMajor, l.int64s([0, 0, g.pads[0], g.pads[1], 0, 0, g.pads[2], g.pads[3]])]);
  const parts: string[] = [];
  for (let i = 0; i < kh; i++) {
    for (let j = 0; j < kw; j++) {
      const [top, left] = [i * g.dilations[0], j * g.dilations[1]];
      const [window] = l.emit("Slice", [
        padded,
        l.int64s([top, left]),
        l.int64s([top + (ho - 1) * g.strides[0] + 1, left + (wo - 1) * g.strides[1] + 1]),
        l.int64s([2, 3]),
        l.int64s(g.strides),
      ]);
      parts.push(taps === 1 ? window : l.emit("Unsqueeze", [window, l.int64s([1])])[0]);
    }
  }
  const [stacked] = taps === 1 ? parts : l.emit("Concat", parts, { attrs: { axis: 1 } });
  return l.emit("Reshape", [stacked, l.int64s([c * taps, -1])])[0];
}

/**
 * The adjoint of `emitColumns`: sums column matrix `cols` ([C·kh·kw, N·ho·wo]) back
 * onto the input's pixels (overlapping windows add), written to `outputs` as
 * [N, C, H, W]. Strided windows are placed by interleaving zeros.
 *
 * @example
 * ```ts
 * const [dcols] = l.emit("Gemm", [filter, dyCols], { attrs: { transA: 1 } });
 * emitFromColumns(l, dcols, inputShape, geometry, [ho, wo], l.outputs);
 * ```
 */
export function emitFromColumns<A>(
  l: Lowering<A>,
  cols: string,
  inputShape: readonly number[],
  g: WindowGeometry,
  [ho, wo]: number[],
  outputs: string[],
): void {
  const [n, c, h, w] = inputShape;
  const [kh, kw] = g.kernel;
  const [sh, sw] = g.strides;
  const taps = kh * kw;
  if (taps * ho * wo * h * w <= SCATTER_MATRIX_LIMIT) {
    // One GEMM with the 0/1 matrix that sends (tap, window) to the input pixel it read:
    // [C·N, taps·ho·wo] × [taps·ho·wo, H·W]. Placing each tap by Pad and summing took
    // nine Pads on tiny innermost axes (10-18 ms a step of ResNet-50 at 64²).
    const [grouped] = l.emit("Reshape", [cols, l.int64s([c, taps, -1, ho * wo])]);
    const [byImage] = l.emit("Transpose", [grouped], { attrs: { perm: [0, 2, 1, 3] } });
    const [rows] = l.emit("Reshape", [byImage, l.int64s([-1, taps * ho * wo])]);
    const scatter = scatterConstant(l, g, [ho, wo], [h, w]);
    const [pixels] = l.emit("Gemm", [rows, scatter]);
    const [planes] = l.emit("Reshape", [pixels, l.int64s([c, n, h, w])]);
    l.emit("Transpose", [planes], { outputs, attrs: { perm: [1, 0, 2, 3] } });
    return;
  }
  // Each tap's values at their strided places: [C·taps·N, ho, 1, wo, 1] padded to [.., ho, sh, wo, sw].
  let [spread] = l.emit("Reshape", [cols, l.int64s([c * taps * n, ho, 1, wo, 1])]);
  if (sh > 1 || sw > 1) [spread] = l.emit("Pad", [spread, l.int64s([0, 0, 0, 0, 0, 0, 0, sh - 1, 0, sw - 1])]);
  const [span] = l.emit("Reshape", [spread, l.int64s([c, taps, n, ho * sh, wo * sw])]);
  const reach = [g.dilations[0] * (kh - 1), g.dilations[1] * (kw - 1)];
  const canvas = [ho * sh + reach[0], wo * sw + reach[1]];
  const pieces = taps === 1 ? [span] : l.emit("Split", [span], { count: taps, attrs: { axis: 1 } });
  const placed = pieces.map((piece, t) => {
    const [i, j] = [Math.floor(t / kw) * g.dilations[0], (t % kw) * g.dilations[1]];
    const [plane] = l.emit("Reshape", [piece, l.int64s([c, n, ho * sh, wo * sw])]);
    if (reach.every((r) => r === 0)) return plane;
    return l.emit("Pad", [plane, l.int64s([0, 0, i, j, 0, 0, reach[0] - i, reach[1] - j])])[0];
  });
  const [summed] = placed.length === 1 ? placed : l.emit("Sum", placed);
  // Canvas row r is input row r - top; input rows past the canvas were in no window.
  const [top, left] = g.pads;
  const rows = Math.min(h, canvas[0] - top), colsKept = Math.min(w, canvas[1] - left);
  let [inside] = top === 0 && left === 0 && rows === canvas[0] && colsKept === canvas[1]
    ? [summed]
    : l.emit("Slice", [summed, l.int64s([top, left]), l.int64s([top + rows, left + colsKept]), l.int64s([2, 3])]);
  if (rows < h || colsKept < w) [inside] = l.emit("Pad", [inside, l.int64s([0, 0, 0, 0, 0, 0, h - rows, w - colsKept])]);
  l.emit("Transpose", [inside], { outputs, attrs: { perm: [1, 0, 2, 3] } });
}

/** Entries of the im2col/col2im matrix above which Slices and Pads are used instead (it grows as (H·W)²·taps). */
const SCATTER_MATRIX_LIMIT = 1 << 20;

/** The scatter matrix as a constant shared by every lowering on the same geometry. */
function scatterConstant<A>(l: Lowering<A>, g: WindowGeometry, [ho, wo]: number[], [h, w]: number[]): string {
  const key = `scatter[${g.kernel}|${g.strides}|${g.dilations}|${g.pads}|${ho}x${wo}|${h}x${w}]`;
  const rows = g.kernel[0] * g.kernel[1] * ho * wo;
  return l.sharedConstant(key, () => ({ dtype: "float32", shape: [rows, h * w], data: scatterMatrix(g, [ho, wo], [h, w]) }));
}

/**
 * The col2im matrix (its transpose gathers im2col columns): row (tap, window) has a 1
 * in the column of the input pixel that tap of that window reads, none where it reads
 * padding.
 */
function scatterMatrix(g: WindowGeometry, [ho, wo]: number[], [h, w]: number[]): Float32Array {
  const [kh, kw] = g.kernel;
  const out = new Float32Array(kh * kw * ho * wo * h * w);
  for (let i = 0; i < kh; i++) {
    for (let j = 0; j < kw; j++) {
      for (let p = 0; p < ho; p++) {
        for (let q = 0; q < wo; q++) {
          const y = p * g.strides[0] + i * g.dilations[0] - g.pads[0];
          const x = q * g.strides[1] + j * g.dilations[1] - g.pads[1];
          if (y < 0 || y >= h || x < 0 || x >= w) continue;
          const row = ((i * kw + j) * ho + p) * wo + q;
          out[row * h * w + y * w + x] = 1;
        }
      }
    }
  }
  return out;
}
