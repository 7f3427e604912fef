/**
 * TensorFlow's V2 checkpoint format (the tensor bundle), which `tf.train.Saver`
 * writes by default since TensorFlow 1.0: `<prefix>.index` is a sorted table whose
 * empty key holds a BundleHeaderProto (shard count, endianness, version) and whose
 * other keys are tensor names holding a BundleEntryProto (dtype, shape, shard,
 * byte offset and size, masked CRC32C of the bytes); the bytes themselves lie in
 * `<prefix>.data-00000-of-00002`, `<prefix>.data-00001-of-00002`... A partitioned
 * variable's entry lists its slices instead, each stored like a tensor under a
 * key of its own (`tf_slice_key.ts`).
 * @module
 */
import type { FileSystem } from "../fs/types.ts";
import type { HostTensor } from "../graph/host_tensor.ts";
import { crc32c, maskCrc } from "../io/crc32c.ts";
import { type CheckpointTensors, elementCount, type ReadCheckpointOptions, shapeFromProto, sliceExtents } from "./checkpoint_tensors.ts";
import { CheckpointError } from "./safetensors.ts";
import { type BundleEntry, decodeMessage, int64ToNumber } from "./tf_proto.ts";
import { TensorAssembly } from "./tensor_assembly.ts";
import { keyString, tensorSliceKey } from "./tf_slice_key.ts";
import { readTable } from "./tf_table.ts";
import { fromRawBytes, isConversion, tfDtype, tfDtypeName } from "./tf_values.ts";

/** The bundle format version this reader implements (TensorFlow's kTensorBundleVersion). */
const BUNDLE_VERSION = 1;
/** TensorFlow names shards with five digits. */
const MAX_SHARDS = 99_999;

/**
 * The name of a V2 checkpoint's data shard.
 *
 * @example
 * ```ts
 * dataShardName("logs/model.ckpt-100", 1, 2); // "logs/model.ckpt-100.data-00001-of-00002"
 * ```
 */
export function dataShardName(prefix: string, shard: number, numShards: number): string {
  const five = (n: number) => String(n).padStart(5, "0");
  return `${prefix}.data-${five(shard)}-of-${five(numShards)}`;
}

/**
 * Reads a V2 checkpoint by prefix (`model.ckpt-1000`, without `.index`): every
 * tensor slimtrain can hold (or only `names`), each checked against its CRC32C.
 * Data shards are read only when a wanted tensor lies in them. Partitioned
 * variables are assembled from their slices. Tensors of types slimtrain has no
 * dtype for are listed in `skipped` (or, when asked for by name, are an error).
 *
 * @throws CheckpointError naming the file, tensor and byte offset for a missing
 * or damaged index or shard, a checksum mismatch, or an entry that does not fit
 * its shard.
 * @example
 * ```ts
 * const { tensors } = await readTensorBundle(fs, "pretrained/model.ckpt-1000");
 * ```
 */
export async function readTensorBundle(
  fs: FileSystem,
  prefix: string,
  { names }: ReadCheckpointOptions = {},
): Promise<CheckpointTensors> {
  const indexFile = `${prefix}.index`;
  const table = readTable(await readFile(fs, indexFile), indexFile);
  const first = table[0];
  if (!first || first.key.length !== 0) throw new CheckpointError("has no header entry (the empty key)", { file: indexFile, offset: 0 });
  const header = decodeMessage("BundleHeaderProto", first.value, { file: indexFile, offset: first.blockOffset });
  const headerAt = { file: indexFile, offset: first.blockOffset };
  if (!(header.numShards >= 1 && header.numShards <= MAX_SHARDS)) {
    throw new CheckpointError(`header says ${header.numShards} data shards (expected 1 to ${MAX_SHARDS})`, headerAt);
  }
  if (header.endianness !== 0 && header.endianness !== 1) throw new CheckpointError(`header has unknown endianness ${header.endianness}`, headerAt);
  const version = header.version ?? { producer: 0, minConsumer: 0, badConsumers: [] };
  if (version.minConsumer > BUNDLE_VERSION || version.badConsumers.includes(BUNDLE_VERSION)) {
    throw new CheckpointError(`was written for bundle readers of version ${version.minConsumer} or later; this one is ${BUNDLE_VERSION}`, headerAt);
  }

  const wanted = names ? new Set(names) : undefined;
  const data = new ShardReader(fs, prefix, header.numShards, header.endianness === 1);
  const result: CheckpointTensors = { kind: "tensorflow-v2", path: prefix, tensors: new Map(), skipped: new Map(), converted: new Map() };
  // Slices of partitioned variables sit under binary keys that start with a zero byte, so
  // they sort before every name; their full tensor's entry lists them.
  const sliceEntries = new Map<string, { value: Uint8Array; blockOffset: number }>();
  const decoder = new TextDecoder("utf-8", { fatal: false });
  for (const { key, value, blockOffset } of table.slice(1)) {
    if (key[0] === 0) {
      sliceEntries.set(keyString(key), { value, blockOffset });
      continue;
    }
    const name = decoder.decode(key);
    if (wanted && !wanted.has(name)) continue;
    const place = { file: indexFile, offset: blockOffset, tensor: name };
    const entry = decodeMessage("BundleEntryProto", value, place);
    const dtype = tfDtype(entry.dtype);
    if (!dtype) {
      const reason = `dtype ${tfDtypeName(entry.dtype)}`;
      if (wanted) throw new CheckpointError(`${reason}: slimtrain cannot restore it`, place);
      result.skipped.set(name, reason);
      continue;
    }
    const shape = shapeFromProto(entry.shape, place);
    const tensor = entry.slices.length === 0
      ? data.tensor(await data.locate(entry, shape, place)).tensor
      : await readPartitioned(data, entry, shape, sliceEntries, place);
    result.tensors.set(name, tensor);
    if (isConversion(dtype)) result.converted.set(name, dtype.name);
  }
  return result;
}

type Place = { file: string; offset: number; tensor: string };

/** A tensor's bytes, checked to lie inside its shard and to fit its shape. */
interface Located {
  entry: BundleEntry;
  shape: number[];
  bytes: Uint8Array;
  place: Place;
}

/** Reads data shards once each, and tensors out of them. */
class ShardReader {
  private readonly shards = new Map<number, Promise<Uint8Array>>();
  /** Bytes handed out per shard: tensors never share bytes, so more than the shard holds means overlap. */
  private readonly consumed = new Map<number, number>();

  constructor(readonly fs: FileSystem, readonly prefix: string, readonly numShards: number, readonly bigEndian: boolean) {}

  /** Checks `entry`'s shard, offset, size and shape, without reading the values yet. */
  async locate(entry: BundleEntry, shape: number[], indexPlace: Place): Promise<Located> {
    if (!(entry.shardId >= 0 && entry.shardId < this.numShards)) {
      throw new CheckpointError(`entry names shard ${entry.shardId}, but the checkpoint has ${this.numShards}`, indexPlace);
    }
    const file = dataShardName(this.prefix, entry.shardId, this.numShards);
    let pending = this.shards.get(entry.shardId);
    if (!pending) {
      pending = readFile(this.fs, file);
      this.shards.set(entry.shardId, pending);
    }
    const shard = await pending;
    const dtype = tfDtype(entry.dtype)!;
    const offset = int64ToNumber(entry.offset);
    const size = int64ToNumber(entry.size);
    const place = { file, offset: offset ?? 0, tensor: indexPlace.tensor };
    if (offset === undefined || size === undefined || offset < 0 || size < 0 || offset + size > shard.length) {
      throw new CheckpointError(`bytes [${String(entry.offset)}, +${String(entry.size)}] lie outside the ${shard.length}-byte shard`, place);
    }
    const n = elementCount(shape, shard.length, place);
    if (n * dtype.size !== size) {
      throw new CheckpointError(`entry holds ${size} bytes, but shape [${shape.join(", ")}] of ${dtype.name} needs ${n * dtype.size}`, place);
    }
    // Holding entries to disjoint bytes keeps a hostile index that points thousands of
    // entries at one large span from costing thousands of copies of it.
    const used = (this.consumed.get(entry.shardId) ?? 0) + size;
    if (used > shard.length) throw new CheckpointError(`entries claim ${used} bytes of a ${shard.length}-byte shard: they overlap`, place);
    this.consumed.set(entry.shardId, used);
    return { entry, shape, bytes: shard.subarray(offset, offset + size), place };
  }

  /** Checks the CRC32C of located bytes and converts them. */
  tensor({ entry, shape, bytes, place }: Located): { tensor: HostTensor; place: Place } {
    const actual = maskCrc(crc32c(bytes));
    if (actual !== entry.crc32c >>> 0) {
      throw new CheckpointError(`checksum mismatch (index says ${hex(entry.crc32c >>> 0)}, data gives ${hex(actual)})`, place);
    }
    const dtype = tfDtype(entry.dtype)!;
    const n = bytes.length / dtype.size;
    return { tensor: { dtype: dtype.to, shape, data: fromRawBytes(dtype, bytes, n, this.bigEndian) }, place };
  }
}

/**
 * A partitioned variable: its entry lists the slices, each stored like a tensor
 * under its own key. Every slice is located (and so bounded by the shards' sizes)
 * before the full tensor is allocated.
 */
async function readPartitioned(
  data: ShardReader,
  entry: BundleEntry,
  shape: number[],
  sliceEntries: Map<string, { value: Uint8Array; blockOffset: number }>,
  place: Place,
): Promise<HostTensor> {
  const dtype = tfDtype(entry.dtype)!;
  const parts: { extents: { start: number; length: number }[]; located: Located }[] = [];
  let total = 0;
  for (const slice of entry.slices) {
    const extents = sliceExtents(slice, shape, place);
    // The key spells the slice as saved: a whole dimension as start 0, length -1.
    const spelled = slice.extent.map((e, d) => ({ start: extents[d].start, length: Object.hasOwn(e, "length") ? extents[d].length : -1 }));
    const found = sliceEntries.get(tensorSliceKey(place.tensor, spelled));
    const what = `slice ${extents.map((e) => `${e.start}:${e.start + e.length}`).join(",")}`;
    if (!found) throw new CheckpointError(`${what} of the partitioned variable is missing from the index`, place);
    const slicePlace = { ...place, offset: found.blockOffset };
    const sliceEntry = decodeMessage("BundleEntryProto", found.value, slicePlace);
    if (sliceEntry.dtype !== entry.dtype) {
      throw new CheckpointError(`${what} is ${tfDtypeName(sliceEntry.dtype)}, the variable ${dtype.name}`, slicePlace);
    }
    const sliceShape = extents.map((e) => e.length);
    if (shapeFromProto(sliceEntry.shape, slicePlace).join(",") !== sliceShape.join(",")) {
      throw new CheckpointError(`${what} is stored with shape [${shapeFromProto(sliceEntry.shape, slicePlace).join(", ")}]`, slicePlace);
    }
    parts.push({ extents, located: await data.locate(sliceEntry, sliceShape, slicePlace) });
    total += sliceShape.reduce((n, d) => n * d, 1);
  }
  const size = shape.reduce((n, d) => n * d, 1);
  if (total !== size) throw new CheckpointError(`slices hold ${total} elements, but shape [${shape.join(", ")}] has ${size}`, place);
  const assembly = new TensorAssembly(dtype.to, shape);
  for (const { extents, located } of parts) {
    const { tensor, place: at } = data.tensor(located);
    assembly.add(extents, tensor.data, at);
  }
  return assembly.finish(place);
}

async function readFile(fs: FileSystem, file: string): Promise<Uint8Array> {
  try {
    return await fs.readFile(file);
  } catch (err) {
    throw new CheckpointError(`cannot be read (${(err as Error).message})`, { file, cause: err });
  }
}

function hex(n: number): string {
  return `0x${n.toString(16).padStart(8, "0")}`;
}
