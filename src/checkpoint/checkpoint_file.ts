/**
 * One checkpoint file: safetensors plus the metadata slimtrain adds to it (the
 * global step, a format tag and two CRC32C checksums), so that a flipped bit
 * anywhere in the file is caught on restore.
 * @module
 */
import type { FileSystem } from "../fs/types.ts";
import type { HostTensor } from "../graph/host_tensor.ts";
import { crc32c } from "../io/crc32c.ts";
import { CheckpointError, decodeSafetensors, encodeSafetensors } from "./safetensors.ts";

/**
 * The `format` metadata value of checkpoints slimtrain writes.
 *
 * @example
 * ```ts
 * (await saver.restore(prefix)).metadata.format === CHECKPOINT_FORMAT; // true
 * ```
 */
export const CHECKPOINT_FORMAT = "slimtrain-1";
/**
 * The extension after a checkpoint prefix.
 *
 * @example
 * ```ts
 * await fs.stat("logs/model.ckpt-5" + SUFFIX);
 * ```
 */
export const SUFFIX = ".safetensors";
const RESERVED = ["global_step", "format", "crc32c", "header_crc32c"];
/** A fixed-width stand-in, so the real CRC can be patched in without moving any byte. */
const PLACEHOLDER = "00000000";

/**
 * What restoring a checkpoint returns.
 *
 * @example
 * ```ts
 * const { tensors, globalStep, path }: RestoredCheckpoint = await saver.restore("logs/model.ckpt-5");
 * ```
 */
export interface RestoredCheckpoint {
  tensors: Map<string, HostTensor>;
  globalStep: number;
  /** All metadata in the file, including `global_step`, `format` and the checksums. */
  metadata: Record<string, string>;
  /** The checkpoint prefix (`<logdir>/model.ckpt-<step>`, without `.safetensors`). */
  path: string;
}

/**
 * Encodes a checkpoint with metadata `global_step`, `format`, `crc32c` (of the
 * data bytes after the header, so any tool can check it) and `header_crc32c`
 * (of the names, dtypes, shapes and metadata, which the data CRC cannot see).
 *
 * @example
 * ```ts
 * const bytes = encodeCheckpoint({ w: hostTensor("float32", [1], new Float32Array([3])) }, 10, {});
 * ```
 */
export function encodeCheckpoint(
  tensors: Map<string, HostTensor> | Record<string, HostTensor>,
  globalStep: number,
  metadata: Record<string, string>,
): Uint8Array {
  if (!Number.isSafeInteger(globalStep) || globalStep < 0) {
    throw new Error(`Checkpoint global step must be a non-negative integer, got ${globalStep}`);
  }
  for (const key of RESERVED) {
    if (Object.hasOwn(metadata, key)) throw new Error(`Checkpoint metadata key "${key}" is reserved`);
  }
  const map = tensors instanceof Map ? tensors : new Map(Object.entries(tensors));
  const base = { ...metadata, global_step: String(globalStep), format: CHECKPOINT_FORMAT };
  const bytes = encodeSafetensors(map, { ...base, header_crc32c: describeHeader(map, base), crc32c: PLACEHOLDER });
  const dataStart = dataOffset(bytes);
  const crc = new TextEncoder().encode(hex(crc32c(bytes.subarray(dataStart))));
  // Reserved keys appear once, and quotes inside user strings are escaped, so the marker is unique.
  const marker = new TextEncoder().encode(`"crc32c":"${PLACEHOLDER}"`);
  const at = indexOf(bytes.subarray(0, dataStart), marker);
  bytes.set(crc, at + marker.length - 1 - PLACEHOLDER.length);
  return bytes;
}

/**
 * Reads and verifies a checkpoint by prefix (`logs/model.ckpt-5`) or file name.
 *
 * @throws CheckpointError naming the file when it is missing, malformed, not a
 * slimtrain checkpoint, or fails either checksum.
 * @example
 * ```ts
 * const { tensors, globalStep } = await restoreCheckpoint(fs, "logs/model.ckpt-5");
 * ```
 */
export async function restoreCheckpoint(fs: FileSystem, prefixOrFile: string): Promise<RestoredCheckpoint> {
  const file = prefixOrFile.endsWith(SUFFIX) ? prefixOrFile : prefixOrFile + SUFFIX;
  let bytes: Uint8Array;
  try {
    bytes = await fs.readFile(file);
  } catch (err) {
    throw new CheckpointError(`cannot be read (${(err as Error).message})`, { file, cause: err });
  }
  const { tensors, metadata } = decodeSafetensors(bytes, { file });
  const fail = (reason: string, offset: number): never => {
    throw new CheckpointError(reason, { file, offset });
  };
  if (metadata.format !== CHECKPOINT_FORMAT) {
    fail(`format is ${JSON.stringify(metadata.format)}, expected "${CHECKPOINT_FORMAT}"`, 8);
  }
  const dataStart = dataOffset(bytes);
  const dataCrc = hex(crc32c(bytes.subarray(dataStart)));
  if (metadata.crc32c !== dataCrc) {
    fail(`data checksum mismatch (stored ${JSON.stringify(metadata.crc32c)}, computed "${dataCrc}")`, dataStart);
  }
  const headerCrc = describeHeader(tensors, metadata);
  if (metadata.header_crc32c !== headerCrc) {
    fail(`header checksum mismatch (stored ${JSON.stringify(metadata.header_crc32c)}, computed "${headerCrc}")`, 8);
  }
  const step = metadata.global_step ?? "";
  if (!/^\d+$/.test(step) || !Number.isSafeInteger(Number(step))) {
    fail(`global_step ${JSON.stringify(step)} is not a non-negative integer`, 8);
  }
  return { tensors, globalStep: Number(step), metadata, path: file.slice(0, -SUFFIX.length) };
}

/** CRC of a canonical description of the header, independent of JSON spelling and key order. */
function describeHeader(tensors: Map<string, HostTensor>, metadata: Record<string, string>): string {
  const names = [...tensors.keys()].sort();
  const keys = Object.keys(metadata).filter((k) => k !== "crc32c" && k !== "header_crc32c").sort();
  const text = JSON.stringify([
    names.map((n) => [n, tensors.get(n)!.dtype, tensors.get(n)!.shape]),
    keys.map((k) => [k, metadata[k]]),
  ]);
  return hex(crc32c(new TextEncoder().encode(text)));
}

/** Only called on bytes decodeSafetensors or encodeSafetensors has vouched for. */
function dataOffset(bytes: Uint8Array): number {
  return 8 + Number(new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true));
}

function hex(crc: number): string {
  return (crc >>> 0).toString(16).padStart(8, "0");
}

function indexOf(haystack: Uint8Array, needle: Uint8Array): number {
  outer: for (let i = 0; i + needle.length <= haystack.length; i++) {
    for (let j = 0; j < needle.length; j++) if (haystack[i + j] !== needle[j]) continue outer;
    return i;
  }
  throw new Error("Checkpoint encoder: checksum placeholder missing from the header");
}
