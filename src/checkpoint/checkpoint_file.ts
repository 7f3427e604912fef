/**
 * One checkpoint file: safetensors plus the metadata slimtrain adds to it (the
 * global step, a format tag and two CRC32C checksums), so that a flipped bit
 * anywhere in the file is caught on restore.
 * @module
 */
import type { FileSystem, FileWriter, StagedFile } from "../fs/types.ts";
import { dtypeSize, formatShape, type HostTensor, numElements } from "../graph/host_tensor.ts";
import { crc32c } from "../io/crc32c.ts";
import { CheckpointError, encodeSafetensorsHeader, sortedEntries, tensorBytes, type TensorSpec } from "./safetensors.ts";
import { readSafetensors } from "./safetensors_read.ts";

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
 * Bytes per write while streaming: big enough that a 1.6 GB state takes ~100
 * system calls, small enough that checksumming one piece overlaps writing the last.
 */
const PIECE = 16 << 20;

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
 * A tensor a checkpoint is written from: its value, or its dtype and shape with a
 * `read` that produces the value when its turn comes. Lazy tensors let a large
 * training state be saved with one tensor's host copy alive at a time.
 *
 * @example
 * ```ts
 * const lazy: CheckpointTensor = { dtype: "float32", shape: [4096, 4096], read: () => session.readValue("fc7/weights") };
 * ```
 */
export type CheckpointTensor = HostTensor | LazyTensor;

/**
 * A tensor whose value is produced on demand (see `CheckpointTensor`).
 *
 * @example
 * ```ts
 * const lazy: LazyTensor = { dtype: "float32", shape: [2], read: async () => hostTensor("float32", [2], new Float32Array([1, 2])) };
 * ```
 */
export interface LazyTensor extends TensorSpec {
  read(): Promise<HostTensor> | HostTensor;
}

/**
 * Encodes a checkpoint with metadata `global_step`, `format`, `crc32c` (of the
 * data bytes after the header, so any tool can check it) and `header_crc32c`
 * (of the names, dtypes, shapes and metadata, which the data CRC cannot see).
 * For large states prefer `writeCheckpoint`, which never builds the file in memory.
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
  const entries = sortedEntries(tensors);
  const { header, crcAt } = checkpointHeader(entries, globalStep, metadata);
  const parts = entries.map(([name, t]) => tensorBytes(name, t));
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, header.length));
  out.set(header);
  let at = header.length, crc = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
    crc = crc32c(p, crc);
  }
  out.set(hexBytes(crc), crcAt);
  return out;
}

/**
 * Writes a checkpoint file atomically, tensor by tensor: the header goes first
 * with a fixed-width placeholder for the data CRC, each tensor's bytes follow
 * straight from its array (lazy ones are read when their turn comes and dropped
 * after), the CRC is computed as they pass, then patched into the header before
 * the file replaces `file`. The bytes are exactly `encodeCheckpoint`'s. Resolves
 * once the file is durable under its name (`stageCheckpoint` returns earlier).
 *
 * @example
 * ```ts
 * await writeCheckpoint(fs, "logs/model.ckpt-10.safetensors", { w: hostTensor("float32", [1], new Float32Array([3])) }, 10, {});
 * ```
 */
export async function writeCheckpoint(
  fs: FileSystem,
  file: string,
  tensors: Map<string, CheckpointTensor> | Record<string, CheckpointTensor>,
  globalStep: number,
  metadata: Record<string, string>,
): Promise<void> {
  await (await stageCheckpoint(fs, file, tensors, globalStep, metadata)).commit();
}

/**
 * `writeCheckpoint` up to the point where every byte is handed to the file
 * system, but not yet durable: the file sits under a temporary name until the
 * returned `commit` flushes it and renames it to `file`. A trainer resumes
 * stepping after this resolves and lets `commit` wait for the disk meanwhile;
 * the tensors are no longer read once it has resolved. On a file system without
 * `stageFileAtomic` (the browser's), the file is written and committed before
 * this resolves, and `commit`/`discard` do nothing.
 *
 * @example
 * ```ts
 * const staged = await stageCheckpoint(fs, "logs/model.ckpt-10.safetensors", session.checkpointTensors(), 10, {});
 * // ... more training steps ...
 * await staged.commit();
 * ```
 */
export async function stageCheckpoint(
  fs: FileSystem,
  file: string,
  tensors: Map<string, CheckpointTensor> | Record<string, CheckpointTensor>,
  globalStep: number,
  metadata: Record<string, string>,
): Promise<StagedFile> {
  const entries = sortedEntries(tensors);
  const { header, crcAt } = checkpointHeader(entries, globalStep, metadata);
  const content = (out: FileWriter) => streamTensors(out, header, crcAt, entries);
  if (fs.stageFileAtomic) return await fs.stageFileAtomic(file, content);
  await fs.writeFileAtomic(file, content);
  return { commit: async () => {}, discard: async () => {} };
}

/**
 * The header, then every tensor in pieces of `PIECE` bytes, each piece
 * checksummed while the previous one is being written; then the CRC is patched in.
 */
async function streamTensors(
  out: FileWriter,
  header: Uint8Array,
  crcAt: number,
  entries: readonly (readonly [string, CheckpointTensor])[],
): Promise<void> {
  let crc = 0;
  let pending = started(out.write(header));
  try {
    for (const [name, t] of entries) {
      // A lazy read allocates a host copy: two large ones alive at once would raise the peak.
      if (numElements(t.shape) * dtypeSize(t.dtype) > PIECE) await pending;
      const value = "data" in t ? t : await t.read();
      if (value.dtype !== t.dtype || value.shape.length !== t.shape.length || value.shape.some((d, i) => d !== t.shape[i])) {
        throw new Error(`writeCheckpoint(): tensor ${JSON.stringify(name)} was declared ${t.dtype} ${formatShape(t.shape)} but read as ${value.dtype} ${formatShape(value.shape)}`);
      }
      const bytes = tensorBytes(name, value);
      for (let at = 0; at < bytes.length; at += PIECE) {
        const piece = bytes.subarray(at, at + PIECE);
        crc = crc32c(piece, crc);
        await pending;
        pending = started(out.write(piece));
      }
    }
    await pending;
  } catch (err) {
    // Let an in-flight write settle before the caller closes and removes the file.
    await pending.catch(() => {});
    throw err;
  }
  await out.writeAt(crcAt, hexBytes(crc));
}

/** A write left running while the next piece is computed: its failure surfaces where it is awaited, not as an unhandled rejection. */
function started(write: Promise<void>): Promise<void> {
  write.catch(() => {});
  return write;
}

/** The header with a CRC placeholder, and where the 8 hex digits of the real CRC go. */
function checkpointHeader(
  entries: readonly (readonly [string, TensorSpec])[],
  globalStep: number,
  metadata: Record<string, string>,
): { header: Uint8Array; crcAt: number } {
  if (!Number.isSafeInteger(globalStep) || globalStep < 0) {
    throw new Error(`Checkpoint global step must be a non-negative integer, got ${globalStep}`);
  }
  for (const key of RESERVED) {
    if (Object.hasOwn(metadata, key)) throw new Error(`Checkpoint metadata key "${key}" is reserved`);
  }
  const base = { ...metadata, global_step: String(globalStep), format: CHECKPOINT_FORMAT };
  const specs = new Map<string, TensorSpec>(entries);
  const header = encodeSafetensorsHeader(entries, { ...base, header_crc32c: describeHeader(specs, base), crc32c: PLACEHOLDER });
  // Reserved keys appear once, and quotes inside user strings are escaped, so the marker is unique.
  const marker = new TextEncoder().encode(`"crc32c":"${PLACEHOLDER}"`);
  return { header, crcAt: indexOf(header, marker) + marker.length - 1 - PLACEHOLDER.length };
}

/**
 * Reads and verifies a checkpoint by prefix (`logs/model.ckpt-5`) or file name,
 * a tensor at a time (the file is never held whole); `names` keeps only those
 * tensors, though every byte is still checksummed.
 *
 * @throws CheckpointError naming the file when it is missing, malformed, not a
 * slimtrain checkpoint, or fails either checksum.
 * @example
 * ```ts
 * const { tensors, globalStep } = await restoreCheckpoint(fs, "logs/model.ckpt-5");
 * ```
 */
export async function restoreCheckpoint(
  fs: FileSystem,
  prefixOrFile: string,
  { names }: { names?: readonly string[] } = {},
): Promise<RestoredCheckpoint> {
  const file = prefixOrFile.endsWith(SUFFIX) ? prefixOrFile : prefixOrFile + SUFFIX;
  let dataCrc = 0;
  const { tensors, metadata, specs, dataStart } = await readSafetensors(fs, file, { names, onData: (b) => (dataCrc = crc32c(b, dataCrc)) });
  const fail = (reason: string, offset: number): never => {
    throw new CheckpointError(reason, { file, offset });
  };
  if (metadata.format !== CHECKPOINT_FORMAT) {
    fail(`format is ${JSON.stringify(metadata.format)}, expected "${CHECKPOINT_FORMAT}"`, 8);
  }
  if (metadata.crc32c !== hex(dataCrc)) {
    fail(`data checksum mismatch (stored ${JSON.stringify(metadata.crc32c)}, computed "${hex(dataCrc)}")`, dataStart);
  }
  const headerCrc = describeHeader(specs, metadata);
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
function describeHeader(tensors: ReadonlyMap<string, TensorSpec>, metadata: Record<string, string>): string {
  const names = [...tensors.keys()].sort();
  const keys = Object.keys(metadata).filter((k) => k !== "crc32c" && k !== "header_crc32c").sort();
  const text = JSON.stringify([
    names.map((n) => [n, tensors.get(n)!.dtype, tensors.get(n)!.shape]),
    keys.map((k) => [k, metadata[k]]),
  ]);
  return hex(crc32c(new TextEncoder().encode(text)));
}

function hex(crc: number): string {
  return (crc >>> 0).toString(16).padStart(8, "0");
}

function hexBytes(crc: number): Uint8Array {
  return new TextEncoder().encode(hex(crc));
}

function indexOf(haystack: Uint8Array, needle: Uint8Array): number {
  outer: for (let i = 0; i + needle.length <= haystack.length; i++) {
    for (let j = 0; j < needle.length; j++) if (haystack[i + j] !== needle[j]) continue outer;
    return i;
  }
  throw new Error("Checkpoint encoder: checksum placeholder missing from the header");
}
