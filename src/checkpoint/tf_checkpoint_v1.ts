/**
 * TensorFlow's V1 checkpoint format (tensor slices), the single `.ckpt` file that
 * TensorFlow wrote before 1.0 and in which slim's model zoo ships VGG, Inception
 * and ResNet weights. The file is one sorted table: the empty key holds a
 * SavedTensorSlices message with the table of contents (each tensor's name,
 * shape, dtype and the slices saved), and every other entry holds one slice's
 * values (name, extents, TensorProto). A tensor may be saved as several slices,
 * which are assembled here into the full tensor.
 * @module
 */
import { type CheckpointTensors, elementCount, type ReadCheckpointOptions, shapeFromProto, sliceExtents } from "./checkpoint_tensors.ts";
import { CheckpointError } from "./safetensors.ts";
import { decodeMessage } from "./tf_proto.ts";
import { TensorAssembly } from "./tensor_assembly.ts";
import { readTable } from "./tf_table.ts";
import { fromTensorProto, isConversion, tfDtype, type TfDtype, tfDtypeName } from "./tf_values.ts";

interface Pending {
  dtype: TfDtype;
  assembly: TensorAssembly;
}

/**
 * Decodes a V1 checkpoint file held in `bytes`: every tensor slimtrain can hold
 * (or only `names`), assembled from its slices. Tensors of types slimtrain has
 * no dtype for are listed in `skipped` (or, when asked for by name, are an
 * error). `file` names the file in errors.
 *
 * @throws CheckpointError naming the file, tensor and byte offset for a damaged
 * table (each block has a CRC32C), a malformed message, a slice outside its
 * tensor, or a tensor whose slices do not cover it exactly once.
 * @example
 * ```ts
 * const { tensors } = decodeTensorSliceCheckpoint(await fs.readFile("vgg_16.ckpt"), { file: "vgg_16.ckpt" });
 * tensors.get("vgg_16/fc8/biases")?.shape; // [1000]
 * ```
 */
export function decodeTensorSliceCheckpoint(
  bytes: Uint8Array,
  { file, names }: { file: string } & ReadCheckpointOptions,
): CheckpointTensors {
  const table = readTable(bytes, file);
  const first = table[0];
  if (!first || first.key.length !== 0) throw new CheckpointError("has no table of contents (the empty key)", { file, offset: 0 });
  const meta = decodeMessage("SavedTensorSlices", first.value, { file, offset: first.blockOffset }).meta;
  if (!meta) throw new CheckpointError("first entry holds no SavedTensorSliceMeta", { file, offset: first.blockOffset });

  const wanted = names ? new Set(names) : undefined;
  const result: CheckpointTensors = { kind: "tensorflow-v1", path: file, tensors: new Map(), skipped: new Map(), converted: new Map() };
  const pending = new Map<string, Pending>();
  let total = 0;
  for (const t of meta.tensor) {
    const place = { file, offset: first.blockOffset, tensor: t.name };
    if (pending.has(t.name) || result.skipped.has(t.name)) throw new CheckpointError("is listed twice in the table of contents", place);
    if (wanted && !wanted.has(t.name)) continue;
    const dtype = tfDtype(t.type);
    if (!dtype) {
      const reason = `dtype ${tfDtypeName(t.type)}`;
      if (wanted) throw new CheckpointError(`${reason}: slimtrain cannot restore it`, place);
      result.skipped.set(t.name, reason);
      continue;
    }
    const shape = shapeFromProto(t.shape, place);
    // Slices hold their own bytes, so all tensors together have no more elements than the file has bytes.
    const n = elementCount(shape, bytes.length - total, place);
    total += n;
    pending.set(t.name, { dtype, assembly: new TensorAssembly(dtype.to, shape) });
  }

  for (const { key, value, blockOffset } of table.slice(1)) {
    const place = { file, offset: blockOffset };
    const saved = decodeMessage("SavedTensorSlices", value, { file, offset: blockOffset }).data;
    if (!saved) throw new CheckpointError(`an entry with a ${key.length}-byte key holds no SavedSlice`, place);
    const target = pending.get(saved.name);
    if (!target) continue;
    const at = { file, offset: blockOffset, tensor: saved.name };
    const extents = sliceExtents(saved.slice, target.assembly.shape, at);
    const count = extents.reduce((n, e) => n * e.length, 1);
    target.assembly.add(extents, fromTensorProto(target.dtype, saved.data, count, at), at);
  }

  for (const [name, t] of pending) {
    const place = { file, offset: first.blockOffset, tensor: name };
    result.tensors.set(name, t.assembly.finish(place, " (a V1 checkpoint sharded over several files is not supported)"));
    if (isConversion(t.dtype)) result.converted.set(name, t.dtype.name);
  }
  return result;
}
