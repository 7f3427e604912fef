/**
 * A full tensor put together from slices, as TensorFlow saves partitioned
 * variables (and, in V1 files, tensors too large for one message): each slice
 * is a row-major block at given offsets, and together they must cover every
 * element exactly once.
 * @module
 */
import { allocate, type DType, type HostTensor } from "../graph/host_tensor.ts";
import { CheckpointError } from "./safetensors.ts";

/** Where a slice came from, for errors. */
type Place = { file: string; offset: number; tensor: string };

/**
 * Collects the slices of one tensor.
 *
 * @example
 * ```ts
 * const t = new TensorAssembly("float32", [4, 5]);
 * t.add([{ start: 0, length: 4 }, { start: 0, length: 2 }], left, place);
 * t.add([{ start: 0, length: 4 }, { start: 2, length: 3 }], right, place);
 * const full = t.finish(place); // { dtype: "float32", shape: [4, 5], data }
 * ```
 */
export class TensorAssembly {
  readonly size: number;
  /** Allocated at the first partial slice; a single full slice is used as it is. */
  private data?: HostTensor["data"];
  /** One flag per element, so overlapping or missing slices are caught. */
  private covered?: Uint8Array;
  private filled = 0;

  constructor(readonly dtype: DType, readonly shape: number[]) {
    this.size = shape.reduce((n, d) => n * d, 1);
  }

  /** Copies a slice's row-major `values` into place at `extents` (start and length per dimension). */
  add(extents: { start: number; length: number }[], values: HostTensor["data"], place: Place): void {
    const shape = this.shape;
    if (extents.every((e, d) => e.start === 0 && e.length === shape[d]) && this.filled === 0) {
      this.data = values;
      this.filled = values.length;
      return;
    }
    if (this.data && !this.covered) throw new CheckpointError("a slice overlaps the full slice saved before it", place);
    const data = (this.data ??= allocate(this.dtype, this.size)) as unknown as { [i: number]: number | bigint };
    const covered = (this.covered ??= new Uint8Array(this.size));
    const rank = shape.length;
    const strides = new Array<number>(rank);
    for (let d = rank - 1, s = 1; d >= 0; d--) {
      strides[d] = s;
      s *= shape[d];
    }
    const index = new Array<number>(rank).fill(0);
    const src = values as unknown as { [i: number]: number | bigint };
    for (let i = 0; i < values.length; i++) {
      let flat = 0;
      for (let d = 0; d < rank; d++) flat += (extents[d].start + index[d]) * strides[d];
      if (covered[flat]) throw new CheckpointError(`slices overlap at element ${flat}`, place);
      covered[flat] = 1;
      data[flat] = src[i];
      for (let d = rank - 1; d >= 0; d--) {
        if (++index[d] < extents[d].length) break;
        index[d] = 0;
      }
    }
    this.filled += values.length;
  }

  /** The full tensor, or a CheckpointError when the slices left elements uncovered. */
  finish(place: Place, hint = ""): HostTensor {
    if (this.filled !== this.size || !this.data) {
      throw new CheckpointError(`slices cover ${this.filled} of ${this.size} elements${hint}`, place);
    }
    return { dtype: this.dtype, shape: this.shape, data: this.data };
  }
}
