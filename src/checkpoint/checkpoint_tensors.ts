/**
 * What every checkpoint reader returns (slimtrain's own files, plain
 * safetensors, TensorFlow V1 and V2 checkpoints, ONNX initializers), and the
 * shape checks the TensorFlow readers share.
 * @module
 */
import type { HostTensor } from "../graph/host_tensor.ts";
import { CheckpointError } from "./safetensors.ts";
import { int64ToNumber, type ShapeMessage, type SliceMessage } from "./tf_proto.ts";

/**
 * Which kind of file a checkpoint was read from.
 *
 * @example
 * ```ts
 * const kind: CheckpointKind = (await readAnyCheckpoint("vgg_16.ckpt")).kind; // "tensorflow-v1"
 * ```
 */
export type CheckpointKind = "slimtrain" | "safetensors" | "tensorflow-v2" | "tensorflow-v1" | "onnx";

/**
 * Tensors read from a checkpoint, by name.
 *
 * @example
 * ```ts
 * const { tensors, skipped } = await readTensorflowCheckpoint("pretrained/vgg_16.ckpt");
 * tensors.get("vgg_16/conv1/conv1_1/weights")?.shape; // [3, 3, 3, 64]
 * ```
 */
export interface CheckpointTensors {
  kind: CheckpointKind;
  /** The path read: a file, or a V2 checkpoint's prefix. */
  path: string;
  tensors: Map<string, HostTensor>;
  /** Tensors in the file that were not read because slimtrain cannot hold them: name → why. */
  skipped: Map<string, string>;
  /** Tensors converted to a slimtrain dtype: name → the stored dtype (`double`, `half`, `uint8`...). */
  converted: Map<string, string>;
  /** The global step, where the file records one. */
  globalStep?: number;
}

/**
 * Options of the checkpoint readers.
 *
 * @example
 * ```ts
 * const options: ReadCheckpointOptions = { names: ["vgg_16/conv1/conv1_1/weights"] };
 * ```
 */
export interface ReadCheckpointOptions {
  /**
   * Read only these tensors (names absent from the file are simply not
   * returned). A listed tensor slimtrain cannot hold is an error naming it,
   * where without `names` it would only be listed in `skipped`.
   */
  names?: readonly string[];
}

/**
 * Checks a TensorShapeProto and returns its dimensions.
 *
 * @example
 * ```ts
 * shapeFromProto(entry.shape, { file: "m.index", offset: 0, tensor: "w" }); // [3, 3, 3, 64]
 * ```
 */
export function shapeFromProto(shape: ShapeMessage | undefined, place: { file: string; offset: number; tensor: string }): number[] {
  if (shape?.unknownRank) throw new CheckpointError("shape has unknown rank", place);
  return (shape?.dim ?? []).map((d, i) => {
    const n = int64ToNumber(d.size);
    if (n === undefined || n < 0) throw new CheckpointError(`dimension ${i} has invalid size ${String(d.size)}`, place);
    return n;
  });
}

/**
 * The element count of `shape`, or a CheckpointError when it exceeds `limit`:
 * a tensor cannot hold more elements than its file has bytes for, so a huge
 * shape is refused before anything is allocated for it.
 *
 * @example
 * ```ts
 * elementCount([3, 3, 3, 64], bytes.length, { file: "vgg_16.ckpt", offset: 0, tensor: "w" }); // 1728
 * ```
 */
export function elementCount(shape: number[], limit: number, place: { file: string; offset: number; tensor: string }): number {
  let n = 1;
  for (const d of shape) n *= d;
  if (n > limit) throw new CheckpointError(`shape [${shape.join(", ")}] has ${n} elements, more than the file can hold`, place);
  return n;
}

/**
 * A TensorSliceProto resolved against the full shape: start and length per
 * dimension (an extent without a length spans its whole dimension).
 *
 * @example
 * ```ts
 * sliceExtents(saved.slice, [4, 5], place); // [{ start: 0, length: 4 }, { start: 2, length: 3 }]
 * ```
 */
export function sliceExtents(
  slice: SliceMessage | undefined,
  shape: number[],
  place: { file: string; offset: number; tensor: string },
): { start: number; length: number }[] {
  const extents = slice?.extent ?? [];
  if (extents.length !== shape.length) {
    throw new CheckpointError(`slice has ${extents.length} extents for a rank-${shape.length} tensor`, place);
  }
  return extents.map((e, i) => {
    const start = int64ToNumber(e.start);
    const hasLength = Object.hasOwn(e, "length");
    const raw = hasLength ? int64ToNumber(e.length) : -1;
    const length = raw === -1 ? shape[i] - (start ?? 0) : raw;
    if (start === undefined || length === undefined || start < 0 || length < 0 || start + length > shape[i]) {
      throw new CheckpointError(`slice extent ${i} (start ${String(e.start)}, length ${String(e.length)}) lies outside dimension ${shape[i]}`, place);
    }
    return { start, length };
  });
}
