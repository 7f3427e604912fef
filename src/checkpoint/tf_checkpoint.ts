/**
 * `readTensorflowCheckpoint`: one entry point for both TensorFlow checkpoint
 * formats, told apart by the files present, as TensorFlow's own readers do.
 * @module
 */
import { defaultFileSystem } from "../fs/default.ts";
import type { FileSystem } from "../fs/types.ts";
import type { CheckpointTensors, ReadCheckpointOptions } from "./checkpoint_tensors.ts";
import { CheckpointError } from "./safetensors.ts";
import { decodeTensorSliceCheckpoint } from "./tf_checkpoint_v1.ts";
import { readTensorBundle } from "./tf_checkpoint_v2.ts";

/** `model.ckpt.data-00000-of-00001` → `model.ckpt`. */
const DATA_SHARD = /\.data-\d{5}-of-\d{5}$/;

/**
 * The V2 prefix `path` names (`model.ckpt`, `model.ckpt.index` or one of its
 * data shards), or undefined when `path` is not a V2 checkpoint.
 *
 * @example
 * ```ts
 * await tensorflowV2Prefix(fs, "logs/model.ckpt-100.index"); // "logs/model.ckpt-100"
 * ```
 */
export async function tensorflowV2Prefix(fs: FileSystem, path: string): Promise<string | undefined> {
  if (path.endsWith(".index")) return path.slice(0, -".index".length);
  if (DATA_SHARD.test(path)) return path.replace(DATA_SHARD, "");
  return (await fs.stat(`${path}.index`))?.isFile ? path : undefined;
}

/**
 * Reads a TensorFlow checkpoint into tensors by name: a V2 checkpoint by its
 * prefix (`model.ckpt-1000`, with `model.ckpt-1000.index` beside it; the `.index`
 * or a `.data-*` file name works too), or a V1 checkpoint file (`vgg_16.ckpt`, as
 * slim's model zoo ships them; for one saved in shards, any shard's name or the
 * pattern `model.ckpt-?????-of-00004` reads them all). Every tensor is checked against its checksums;
 * partitioned variables and tensors saved in slices are assembled whole.
 *
 * slimtrain holds float32, int32, int64 and bool tensors: float64, float16 and
 * bfloat16 become float32 and the narrow integers int32 (listed in `converted`);
 * strings and other types are listed in `skipped`, unless asked for in
 * `names`, where they are an error naming the tensor.
 *
 * @throws CheckpointError naming the file, tensor and byte offset when the
 * checkpoint is missing, truncated or damaged.
 * @example
 * ```ts
 * const { tensors, skipped } = await readTensorflowCheckpoint("pretrained/vgg_16.ckpt");
 * tensors.get("vgg_16/conv1/conv1_1/weights")?.shape; // [3, 3, 3, 64]
 * ```
 */
export async function readTensorflowCheckpoint(
  path: string,
  fs?: FileSystem,
  options: ReadCheckpointOptions = {},
): Promise<CheckpointTensors> {
  const files = fs ?? (await defaultFileSystem());
  const prefix = await tensorflowV2Prefix(files, path);
  if (prefix !== undefined) return readTensorBundle(files, prefix, options);
  const shards = V1_SHARD.exec(path);
  if (!shards || Number(shards[2]) <= 1) return decodeTensorSliceCheckpoint(await readV1(files, path, path), { file: path, ...options });
  // A V1 checkpoint saved in shards: each file lists and holds its own tensors.
  const count = Number(shards[2]);
  const merged: CheckpointTensors = { kind: "tensorflow-v1", path, tensors: new Map(), skipped: new Map(), converted: new Map() };
  for (let i = 0; i < count; i++) {
    const file = `${shards[1]}-${String(i).padStart(5, "0")}-of-${shards[2]}`;
    const part = decodeTensorSliceCheckpoint(await readV1(files, file, path), { file, ...options });
    for (const [name, t] of part.tensors) {
      if (merged.tensors.has(name)) {
        throw new CheckpointError("is saved in more than one shard (slices spread over files are not supported)", { file, tensor: name });
      }
      merged.tensors.set(name, t);
    }
    for (const [name, why] of part.skipped) merged.skipped.set(name, why);
    for (const [name, from] of part.converted) merged.converted.set(name, from);
  }
  return merged;
}

/** `model.ckpt-00001-of-00004` or the pattern `model.ckpt-?????-of-00004`: base and shard count. */
const V1_SHARD = /^(.*)-(?:\d{5}|\?{5})-of-(\d{5})$/;

/**
 * Whether `path` names one shard (or all, as `-?????-of-`) of a V1 checkpoint
 * saved in more than one file.
 *
 * @example
 * ```ts
 * isShardedV1("model.ckpt-00000-of-00002"); // true
 * isShardedV1("export-00000-of-00001"); // false: one file
 * ```
 */
export function isShardedV1(path: string): boolean {
  const m = V1_SHARD.exec(path);
  return m !== null && Number(m[2]) > 1;
}

async function readV1(fs: FileSystem, file: string, asked: string): Promise<Uint8Array> {
  try {
    return await fs.readFile(file);
  } catch (err) {
    const what = file === asked ? `is neither a V1 checkpoint file nor a V2 prefix with ${asked}.index beside it` : "cannot be read";
    throw new CheckpointError(`${what} (${(err as Error).message})`, { file, cause: err });
  }
}
