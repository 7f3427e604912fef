/**
 * How a variable is stored while training versus how checkpoints and users see it.
 * A conv filter is saved in slim's [kh, kw, in, out] but kept in ONNX's
 * [out, in, kh, kw] between steps (no transpose in every step, forward and back);
 * a variable whose graph only ever reads one region (fc6's centre tap on a 1×1 map)
 * can keep just that region in the step, the rest held on the host unchanged.
 * Conversions happen at the boundaries only: initialization, assignment,
 * checkpoints, export.
 * @module
 */
import { allocate, formatShape, type HostTensor, numElements } from "./host_tensor.ts";

/** A permutation of the checkpoint layout, then optionally a region of the permuted array. */
export interface StorageLayout {
  /** storage axis i = checkpoint axis perm[i]. */
  perm?: number[];
  /** The region kept in the train step, in permuted coordinates. */
  region?: { begin: number[]; size: number[] };
}

/**
 * The storage shape for a checkpoint shape.
 *
 * @example
 * ```ts
 * storageShape([3, 3, 64, 128], { perm: [3, 2, 0, 1] }); // [128, 64, 3, 3]
 * ```
 */
export function storageShape(shape: readonly number[], layout?: StorageLayout): number[] {
  const permuted = layout?.perm ? layout.perm.map((p) => shape[p]) : [...shape];
  return layout?.region ? [...layout.region.size] : permuted;
}

/**
 * Permutes a host tensor's axes (storage axis i = source axis perm[i]).
 *
 * @example
 * ```ts
 * transposeHost(hwio, [3, 2, 0, 1]); // HWIO → OIHW
 * ```
 */
export function transposeHost(t: HostTensor, perm: readonly number[]): HostTensor {
  if (perm.every((p, i) => p === i)) return t;
  const shape = perm.map((p) => t.shape[p]);
  const blocked = transposeBlocked(t, perm);
  if (blocked) return { dtype: t.dtype, shape, data: blocked };
  const rank = t.shape.length;
  const srcStrides = new Array(rank).fill(1);
  for (let i = rank - 2; i >= 0; i--) srcStrides[i] = srcStrides[i + 1] * t.shape[i + 1];
  const stepFor = perm.map((p) => srcStrides[p]);
  const out = allocate(t.dtype, t.data.length);
  const src = t.data as unknown as ArrayLike<number>, dst = out as unknown as { [i: number]: number };
  const index = new Array(rank).fill(0);
  const last = rank - 1, innerN = shape[last] ?? 1, innerStep = stepFor[last] ?? 1;
  let offset = 0;
  // Walk the output in order; the innermost axis is a strided read of the source.
  for (let o = 0; o < out.length; o += innerN) {
    for (let k = 0, s = offset; k < innerN; k++, s += innerStep) dst[o + k] = src[s];
    for (let ax = last - 1; ax >= 0; ax--) {
      index[ax]++;
      offset += stepFor[ax];
      if (index[ax] < shape[ax]) break;
      offset -= stepFor[ax] * shape[ax];
      index[ax] = 0;
    }
  }
  return { dtype: t.dtype, shape, data: out };
}

/**
 * The permutation with size-1 axes dropped and source axes that stay neighbours
 * merged: HWIO → OIHW becomes [H·W, I, O] → [O, I, H·W], fc7's [1, 1, 4096, 4096]
 * → [4096, 4096, 1, 1] a plain 2-D transpose.
 */
function simplifyPermutation(shape: readonly number[], perm: readonly number[]): { dims: number[]; perm: number[] } {
  const kept = perm.filter((p) => shape[p] !== 1);
  // Runs of consecutive source axes, in output order.
  const runs: number[][] = [];
  for (const p of kept) {
    const last = runs[runs.length - 1];
    if (last && last[last.length - 1] + 1 === p) last.push(p);
    else runs.push([p]);
  }
  // Number the merged axes by their position in the source.
  const order = runs.map((r, i) => [r[0], i] as const).sort((a, b) => a[0] - b[0]);
  const dims = order.map(([, i]) => runs[i].reduce((n, p) => n * shape[p], 1));
  const rank = new Array(runs.length);
  order.forEach(([, i], sourcePos) => (rank[i] = sourcePos));
  return { dims, perm: rank };
}

/**
 * A cache-blocked transpose for the permutations checkpoints meet (a 2-D swap,
 * or [A, B, C] → [C, B, A] for conv filters): tiles of 32×32 keep both the reads
 * and the writes within a few cache lines, where a walk along one side strides
 * through memory (fc7's 16.7M weights took ~1 s that way). Returns null for
 * other permutations.
 */
function transposeBlocked(t: HostTensor, perm: readonly number[]): HostTensor["data"] | null {
  const { dims, perm: p } = simplifyPermutation(t.shape, perm);
  const is2d = p.length === 2 && p[0] === 1;
  const is3dReversal = p.length === 3 && p[0] === 2 && p[1] === 1 && p[2] === 0;
  if (!is2d && !is3dReversal) return null;
  const out = allocate(t.dtype, t.data.length);
  const src = t.data as unknown as ArrayLike<number>, dst = out as unknown as { [i: number]: number };
  // out[c, b, a] = src[a, b, c]; a 2-D swap is the case b of size 1.
  const [a, b, c] = is2d ? [dims[0], 1, dims[1]] : dims;
  const tile = 32;
  for (let j = 0; j < b; j++) {
    const srcRow = b * c, dstRow = b * a, srcBase = j * c, dstBase = j * a;
    for (let r0 = 0; r0 < a; r0 += tile) {
      const r1 = Math.min(r0 + tile, a);
      for (let c0 = 0; c0 < c; c0 += tile) {
        const c1 = Math.min(c0 + tile, c);
        for (let r = r0; r < r1; r++) {
          const s = srcBase + r * srcRow;
          for (let k = c0; k < c1; k++) dst[dstBase + k * dstRow + r] = src[s + k];
        }
      }
    }
  }
  return out;
}

/**
 * Visits a region of the permuted (storage) array and the matching flat index in
 * the unpermuted (checkpoint) array: O(region), no transpose of the whole value
 * (fc6's centre tap is 1/49 of its 103M weights).
 */
function forRegion(
  fullShape: readonly number[],
  perm: readonly number[],
  begin: readonly number[],
  size: readonly number[],
  visit: (regionIndex: number, fullIndex: number) => void,
): void {
  const rank = size.length;
  const fullStrides = new Array(rank).fill(1);
  for (let i = rank - 2; i >= 0; i--) fullStrides[i] = fullStrides[i + 1] * fullShape[i + 1];
  // Storage axis a walks checkpoint axis perm[a].
  const step = perm.map((p) => fullStrides[p]);
  const idx = new Array(rank).fill(0);
  let off = begin.reduce((acc, b, a) => acc + b * step[a], 0);
  const n = numElements(size);
  for (let k = 0; k < n; k++) {
    visit(k, off);
    for (let a = rank - 1; a >= 0; a--) {
      off += step[a];
      if (++idx[a] < size[a]) break;
      off -= step[a] * size[a];
      idx[a] = 0;
    }
  }
}

/**
 * Checkpoint layout → storage layout.
 *
 * @example
 * ```ts
 * const stored = toStorage(filterHWIO, { perm: [3, 2, 0, 1] });
 * ```
 */
export function toStorage(value: HostTensor, layout?: StorageLayout): HostTensor {
  if (!layout) return value;
  if (!layout.region) return layout.perm ? transposeHost(value, layout.perm) : value;
  const { begin, size } = layout.region;
  const out: HostTensor = { dtype: value.dtype, shape: [...size], data: allocate(value.dtype, numElements(size)) };
  const src = value.data as unknown as ArrayLike<number>, dst = out.data as unknown as { [i: number]: number };
  forRegion(value.shape, layout.perm ?? value.shape.map((_, i) => i), begin, size, (r, f) => (dst[r] = src[f]));
  return out;
}

/**
 * Storage layout → checkpoint layout. A region needs the full value it was cut
 * from (`base`, checkpoint layout), whose other elements it keeps.
 *
 * @example
 * ```ts
 * const saved = fromStorage(stored, { perm: [3, 2, 0, 1] });
 * ```
 */
export function fromStorage(stored: HostTensor, layout?: StorageLayout, base?: HostTensor): HostTensor {
  if (!layout) return stored;
  if (layout.region) {
    if (!base) throw new Error(`fromStorage: a region of shape ${formatShape(layout.region.size)} needs the full value it came from`);
    return writeRegionInto({ ...base, shape: [...base.shape], data: base.data.slice() }, stored, layout);
  }
  if (!layout.perm) return stored;
  const inverse = new Array(layout.perm.length);
  layout.perm.forEach((p, i) => (inverse[p] = i));
  return transposeHost(stored, inverse);
}

/**
 * Writes a stored region back into its full value (checkpoint layout) in place and
 * returns that value: `fromStorage` without the copy of the whole base, for a
 * caller that owns the base (fc6's full 7×7 weights are 411 MB; the region is 1/49).
 *
 * @example
 * ```ts
 * const full = writeRegionInto(fc6Full, centreTap, { perm: [3, 2, 0, 1], region: { begin: [0, 0, 3, 3], size: [4096, 512, 1, 1] } });
 * ```
 */
export function writeRegionInto(base: HostTensor, stored: HostTensor, layout: StorageLayout): HostTensor {
  if (!layout.region) throw new Error("writeRegionInto: the layout has no region");
  const { begin, size } = layout.region;
  if (numElements(size) !== stored.data.length) {
    throw new Error(`writeRegionInto: the stored value has ${stored.data.length} elements, its region ${formatShape(size)} needs ${numElements(size)}`);
  }
  const src = stored.data as unknown as ArrayLike<number>, dst = base.data as unknown as { [i: number]: number };
  forRegion(base.shape, layout.perm ?? base.shape.map((_, i) => i), begin, size, (r, f) => (dst[f] = src[r]));
  return base;
}
