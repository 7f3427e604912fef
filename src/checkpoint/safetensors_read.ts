/**
 * Reading safetensors checkpoints: whole files from bytes, or from a file system
 * tensor by tensor with every header field, offset and checksum validated before a
 * value is trusted. The format itself and the writer are in safetensors.ts.
 * @module
 */
import type { FileSystem } from "../fs/types.ts";
import { allocate, type DType, dtypeSize, formatShape, type HostTensor, numElements } from "../graph/host_tensor.ts";
import {
  CheckpointError, type DecodedSafetensors, DTYPES, LITTLE_ENDIAN, MAX_HEADER_SIZE, sortedEntries, swapBytes, type TensorSpec,
} from "./safetensors.ts";

/**
 * Decodes safetensors bytes, validating the header length, the JSON, every
 * dtype, shape and offset, and that the tensors tile the byte buffer exactly.
 * The data is copied into fresh typed arrays, so they are aligned whatever the
 * file's layout and do not keep `bytes` alive.
 *
 * @throws CheckpointError naming `file` (and the tensor and byte offset where
 * one applies) for anything malformed.
 * @example
 * ```ts
 * const { tensors, metadata } = decodeSafetensors(bytes, { file: "model.ckpt-5.safetensors" });
 * tensors.get("w")?.shape;
 * ```
 */
export function decodeSafetensors(bytes: Uint8Array, { file }: { file: string }): DecodedSafetensors {
  const fail = failIn(file);
  const headerLen = headerLength(bytes.subarray(0, 8), bytes.length, fail);
  const { metadata, tensors: layout, dataStart } = parseLayout(bytes.subarray(8, 8 + headerLen), bytes.length, fail);
  const tensors = new Map<string, HostTensor>();
  for (const t of [...layout].sort((a, b) => a.name < b.name ? -1 : a.name > b.name ? 1 : 0)) {
    tensors.set(t.name, { dtype: t.dtype, shape: t.shape, data: copyOut(bytes, dataStart + t.begin, t, fail) });
  }
  return { tensors, metadata };
}

/**
 * Reads a safetensors file a tensor at a time, with the validation of
 * `decodeSafetensors`, never holding the whole file: each tensor's bytes are read
 * straight into its own array. `names` keeps only those tensors (the others are
 * still read, in pieces, for `onData`); `onData` sees every data byte in file
 * order, to checksum the file as it goes. `specs` lists every tensor in the file.
 *
 * @throws CheckpointError naming `file` for anything malformed.
 * @example
 * ```ts
 * let crc = 0;
 * const { tensors } = await readSafetensors(fs, "model.ckpt-5.safetensors", { onData: (b) => (crc = crc32c(b, crc)) });
 * ```
 */
export async function readSafetensors(
  fs: FileSystem,
  file: string,
  { names, onData }: { names?: readonly string[]; onData?: (bytes: Uint8Array) => void } = {},
): Promise<DecodedSafetensors & { specs: Map<string, TensorSpec>; dataStart: number }> {
  const fail = failIn(file);
  const read = async (position: number, target: Uint8Array) => {
    try {
      await fs.readInto(file, position, target);
    } catch (err) {
      throw new CheckpointError(`cannot be read (${(err as Error).message})`, { file, cause: err });
    }
  };
  const info = await fs.stat(file).catch(() => null);
  if (!info?.isFile) throw new CheckpointError(`cannot be read (Cannot read ${file}: no such file or directory)`, { file });
  const first = new Uint8Array(Math.min(8, info.size));
  await read(0, first);
  const headerLen = headerLength(first, info.size, fail);
  const header = new Uint8Array(headerLen);
  await read(8, header);
  const { metadata, tensors: layout, dataStart } = parseLayout(header, info.size, fail);
  const wanted = names ? new Set(names) : null;
  const tensors = new Map<string, HostTensor>();
  let scratch: Uint8Array | undefined;
  for (const t of layout) {
    const at = dataStart + t.begin;
    if (wanted && !wanted.has(t.name)) {
      // Read through a bounded buffer: only the checksum needs these bytes.
      scratch ??= new Uint8Array(READ_CHUNK);
      for (let pos = at; pos < dataStart + t.end; pos += READ_CHUNK) {
        const piece = scratch.subarray(0, Math.min(READ_CHUNK, dataStart + t.end - pos));
        await read(pos, piece);
        onData?.(piece);
      }
      continue;
    }
    const data = allocate(t.dtype, numElements(t.shape));
    const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    await read(at, bytes);
    onData?.(bytes);
    toHostOrder(bytes, at, t, fail);
    tensors.set(t.name, { dtype: t.dtype, shape: t.shape, data });
  }
  const specs = new Map(layout.map((t) => [t.name, { dtype: t.dtype, shape: t.shape }]));
  return { tensors: new Map(sortedEntries(tensors)), metadata, specs, dataStart };
}

/** Tensors a reader skips are read for their checksum in pieces of this many bytes. */
const READ_CHUNK = 4 << 20;

interface TensorLayout {
  name: string;
  dtype: DType;
  shape: number[];
  begin: number;
  end: number;
}

function failIn(file: string): Fail {
  return (reason, offset, tensor, cause) => {
    throw new CheckpointError(reason, { file, offset, tensor, cause });
  };
}

/** The header length the first 8 bytes declare, checked against the file's size. */
function headerLength(first: Uint8Array, fileSize: number, fail: Fail): number {
  if (fileSize < 8) fail(`file is ${fileSize} bytes, too short for the 8-byte header length`, 0);
  const declared = new DataView(first.buffer, first.byteOffset, 8).getBigUint64(0, true);
  if (declared > BigInt(MAX_HEADER_SIZE)) fail(`header length ${declared} exceeds the ${MAX_HEADER_SIZE}-byte limit`, 0);
  if (declared > BigInt(fileSize - 8)) fail(`header length ${declared} exceeds the ${fileSize - 8} bytes after it`, 0);
  return Number(declared);
}

/** Parses the JSON header and checks that the tensors tile the data exactly; tensors in file order. */
function parseLayout(
  raw: Uint8Array,
  fileSize: number,
  fail: Fail,
): { metadata: Record<string, string>; tensors: TensorLayout[]; dataStart: number } {
  const dataStart = 8 + raw.length;
  const header = parseHeader(raw, fail);
  let metadata: Record<string, string> = {};
  const infos: TensorLayout[] = [];
  for (const [name, value] of Object.entries(header)) {
    if (name === "__metadata__") {
      metadata = parseMetadata(value, fail);
      continue;
    }
    const info = value as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (!info || typeof info !== "object" || Array.isArray(info)) fail("header entry is not an object", 8, name);
    const dtype = typeof info.dtype === "string" && Object.hasOwn(DTYPES, info.dtype) ? DTYPES[info.dtype] : undefined;
    if (!dtype) {
      fail(`unsupported dtype ${JSON.stringify(info.dtype)} (expected F32, I64, I32 or BOOL)`, 8, name);
    }
    const shape = info.shape;
    if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      fail(`shape ${JSON.stringify(shape)} is not a list of non-negative integers`, 8, name);
    }
    const offsets = info.data_offsets;
    if (
      !Array.isArray(offsets) || offsets.length !== 2 ||
      !offsets.every((o) => Number.isSafeInteger(o) && o >= 0) || offsets[0] > offsets[1]
    ) {
      fail(`data_offsets ${JSON.stringify(offsets)} is not a [begin, end] pair with begin <= end`, 8, name);
    }
    infos.push({ name, dtype, shape, begin: offsets[0], end: offsets[1] });
  }

  const dataLen = fileSize - dataStart;
  infos.sort((a, b) => a.begin - b.begin || a.end - b.end);
  let expected = 0;
  for (const t of infos) {
    const at = dataStart + t.begin;
    if (t.begin < expected) fail(`data_offsets [${t.begin}, ${t.end}] overlap the previous tensor, which ends at ${expected}`, at, t.name);
    if (t.begin > expected) fail(`data_offsets [${t.begin}, ${t.end}] leave bytes ${expected}..${t.begin} unused`, at, t.name);
    const need = numElements(t.shape) * dtypeSize(t.dtype);
    if (t.end - t.begin !== need) {
      fail(`data_offsets [${t.begin}, ${t.end}] hold ${t.end - t.begin} bytes but shape ${formatShape(t.shape)} ${t.dtype} needs ${need}`, at, t.name);
    }
    if (t.end > dataLen) fail(`data_offsets [${t.begin}, ${t.end}] run past the end of the file (data is ${dataLen} bytes)`, at, t.name);
    expected = t.end;
  }
  if (expected !== dataLen) fail(`${dataLen - expected} bytes after the last tensor belong to no tensor`, dataStart + expected);
  return { metadata, tensors: infos, dataStart };
}

/** Checks a bool tensor's bytes, or swaps a number tensor's bytes in place on big-endian machines. */
function toHostOrder(bytes: Uint8Array, at: number, t: TensorLayout, fail: Fail): void {
  if (t.dtype === "bool") {
    const i = bytes.findIndex((b) => b > 1);
    if (i >= 0) fail(`bool element ${i} has byte value ${bytes[i]} (expected 0 or 1)`, at + i, t.name);
  } else if (!LITTLE_ENDIAN) {
    swapBytes(bytes, dtypeSize(t.dtype));
  }
}

type Fail = (reason: string, offset?: number, tensor?: string, cause?: unknown) => never;

function parseHeader(raw: Uint8Array, fail: Fail): Record<string, unknown> {
  if (raw.length === 0 || raw[0] !== 0x7b) fail("header does not start with '{'", 8);
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(raw));
  } catch (err) {
    fail(`header is not valid UTF-8 JSON (${(err as Error).message})`, 8, undefined, err);
  }
  if (!parsed || typeof parsed !== "object" || Array.isArray(parsed)) fail("header is not a JSON object", 8);
  return parsed as Record<string, unknown>;
}

function parseMetadata(value: unknown, fail: Fail): Record<string, string> {
  if (!value || typeof value !== "object" || Array.isArray(value)) fail("__metadata__ is not an object", 8);
  const entries = Object.entries(value as Record<string, unknown>);
  for (const [k, v] of entries) {
    if (typeof v !== "string") fail(`__metadata__ value ${JSON.stringify(k)} is not a string`, 8);
  }
  // fromEntries defines own properties, so a "__proto__" key stays plain data.
  return Object.fromEntries(entries) as Record<string, string>;
}

function copyOut(
  bytes: Uint8Array,
  at: number,
  t: TensorLayout,
  fail: Fail,
): HostTensor["data"] {
  const src = bytes.subarray(at, at + t.end - t.begin);
  const n = numElements(t.shape);
  switch (t.dtype) {
    case "bool": {
      const i = src.findIndex((b) => b > 1);
      if (i >= 0) fail(`bool element ${i} has byte value ${src[i]} (expected 0 or 1)`, at + i, t.name);
      return src.slice();
    }
    case "float32":
      return fill(new Float32Array(n), src);
    case "int32":
      return fill(new Int32Array(n), src);
    case "int64":
      return fill(new BigInt64Array(n), src);
  }
}

/** Copying bytes into a fresh array sidesteps the alignment rules of typed-array views. */
function fill<T extends Float32Array | Int32Array | BigInt64Array>(out: T, src: Uint8Array): T {
  const dst = new Uint8Array(out.buffer);
  dst.set(src);
  if (!LITTLE_ENDIAN) swapBytes(dst, out.BYTES_PER_ELEMENT);
  return out;
}
