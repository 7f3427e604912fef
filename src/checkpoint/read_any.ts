/**
 * `readAnyCheckpoint`: tensors by name from any weights file slimtrain reads,
 * told apart by name and content: slimtrain's own checkpoints (checksums and
 * global step verified), plain safetensors files, TensorFlow V2 checkpoints
 * (by prefix), TensorFlow V1 `.ckpt` files, and ONNX models' initializers.
 * @module
 */
import { defaultFileSystem } from "../fs/default.ts";
import type { FileSystem } from "../fs/types.ts";
import type { HostTensor } from "../graph/host_tensor.ts";
import { CHECKPOINT_FORMAT, restoreCheckpoint, SUFFIX } from "./checkpoint_file.ts";
import type { CheckpointTensors, ReadCheckpointOptions } from "./checkpoint_tensors.ts";
import { decodeOnnxInitializers } from "./onnx_initializers.ts";
import { CheckpointError } from "./safetensors.ts";
import { decodeSafetensors } from "./safetensors_read.ts";
import { decodeTensorSliceCheckpoint } from "./tf_checkpoint_v1.ts";
import { readTensorBundle } from "./tf_checkpoint_v2.ts";
import { isShardedV1, readTensorflowCheckpoint, tensorflowV2Prefix } from "./tf_checkpoint.ts";

/** The last 8 bytes of every TensorFlow table (0xdb4775248b80fb57, little-endian). */
const TABLE_MAGIC = [0x57, 0xfb, 0x80, 0x8b, 0x24, 0x75, 0x47, 0xdb];

/**
 * Options of `readAnyCheckpoint`.
 *
 * @example
 * ```ts
 * const options: ReadAnyCheckpointOptions = { fs, names: ["vgg_16/conv1/conv1_1/weights"] };
 * ```
 */
export interface ReadAnyCheckpointOptions extends ReadCheckpointOptions {
  /** Where the files live; default: the runtime's file system. */
  fs?: FileSystem;
}

/**
 * Reads the tensors of whatever checkpoint `path` names:
 * - a slimtrain checkpoint prefix (`logs/model.ckpt-5`, with `.safetensors` beside
 *   it) or file: verified against its checksums, with its global step;
 * - any other `.safetensors` file: tensors by name;
 * - a TensorFlow V2 checkpoint prefix (`model.ckpt`, with `model.ckpt.index`
 *   beside it), or its `.index` or `.data-*` file;
 * - a TensorFlow V1 checkpoint file (`vgg_16.ckpt` from slim's model zoo), or
 *   all files of one saved in shards (`model.ckpt-00000-of-00002`);
 * - an ONNX model: its initializers, by name.
 *
 * @throws CheckpointError naming the file (and tensor and byte offset where
 * they apply) when nothing readable is there or the file is damaged.
 * @example
 * ```ts
 * const { kind, tensors } = await readAnyCheckpoint("pretrained/vgg_16.ckpt");
 * kind; // "tensorflow-v1"
 * ```
 */
export async function readAnyCheckpoint(path: string, { fs, names }: ReadAnyCheckpointOptions = {}): Promise<CheckpointTensors> {
  const files = fs ?? (await defaultFileSystem());
  const options = { names };
  if (!path.endsWith(SUFFIX) && (await files.stat(path + SUFFIX))?.isFile) return readSafetensors(files, path + SUFFIX, options);
  const prefix = await tensorflowV2Prefix(files, path);
  if (prefix !== undefined) return readTensorBundle(files, prefix, options);
  if (isShardedV1(path)) return readTensorflowCheckpoint(path, files, options);
  let bytes: Uint8Array;
  try {
    bytes = await files.readFile(path);
  } catch (err) {
    throw new CheckpointError(
      `not found: no file there, nor ${path}${SUFFIX} (slimtrain) or ${path}.index (TensorFlow V2) beside it (${(err as Error).message})`,
      { file: path, cause: err },
    );
  }
  if (path.endsWith(SUFFIX) || looksLikeSafetensors(bytes)) return readSafetensors(files, path, options, bytes);
  if (endsWith(bytes, TABLE_MAGIC)) return decodeTensorSliceCheckpoint(bytes, { file: path, ...options });
  // ModelProto starts with ir_version (field 1, varint): tag byte 0x08.
  if (path.endsWith(".onnx") || bytes[0] === 0x08) return decodeOnnxInitializers(bytes, { file: path, ...options });
  throw new CheckpointError(
    "is not a checkpoint slimtrain reads (safetensors, TensorFlow V1 or V2, or ONNX)",
    { file: path, offset: 0 },
  );
}

async function readSafetensors(
  fs: FileSystem,
  file: string,
  { names }: ReadCheckpointOptions,
  bytes?: Uint8Array,
): Promise<CheckpointTensors> {
  bytes ??= await fs.readFile(file).catch((err: Error) => {
    throw new CheckpointError(`cannot be read (${err.message})`, { file, cause: err });
  });
  const decoded = decodeSafetensors(bytes, { file });
  const pick = (all: Map<string, HostTensor>) =>
    names ? new Map([...all].filter(([k]) => names.includes(k))) : all;
  const base = { skipped: new Map<string, string>(), converted: new Map<string, string>() };
  if (decoded.metadata.format === CHECKPOINT_FORMAT) {
    // slimtrain's own file: its checksums and step are checked as on any restore.
    const restored = await restoreCheckpoint(fs, file);
    return { kind: "slimtrain", path: restored.path, tensors: pick(restored.tensors), globalStep: restored.globalStep, ...base };
  }
  return { kind: "safetensors", path: file, tensors: pick(decoded.tensors), ...base };
}

/** An 8-byte little-endian header length that fits the file, then '{'. */
function looksLikeSafetensors(bytes: Uint8Array): boolean {
  if (bytes.length < 10 || bytes[8] !== 0x7b) return false;
  const n = new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true);
  return n <= BigInt(bytes.length - 8);
}

function endsWith(bytes: Uint8Array, tail: number[]): boolean {
  if (bytes.length < tail.length) return false;
  return tail.every((b, i) => bytes[bytes.length - tail.length + i] === b);
}
