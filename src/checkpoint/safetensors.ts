/**
 * The safetensors container (https://github.com/huggingface/safetensors): an
 * 8-byte little-endian header length, a UTF-8 JSON header, then one contiguous
 * byte buffer. Chosen for checkpoints because any tool can read it and because
 * it needs no parser beyond JSON, so every field can be validated up front.
 * This module holds the format (dtype codes, byte order, the error type) and the
 * writer; safetensors_read.ts reads.
 * @module
 */
import { type DType, dtypeSize, formatShape, type HostTensor, numElements } from "../graph/host_tensor.ts";

/**
 * A checkpoint file that cannot be read back as written: truncated, damaged or
 * not a safetensors file. `offset` is the absolute byte offset in the file where
 * the problem was found, `tensor` the tensor it concerns, when either applies.
 *
 * @example
 * ```ts
 * try {
 *   decodeSafetensors(bytes, { file: "model.ckpt-5.safetensors" });
 * } catch (err) {
 *   if (err instanceof CheckpointError) console.error(err.file, err.tensor, err.offset);
 * }
 * ```
 */
export class CheckpointError extends Error {
  override name = "CheckpointError";
  readonly file: string;
  readonly offset?: number;
  readonly tensor?: string;

  constructor(reason: string, where: { file: string; offset?: number; tensor?: string; cause?: unknown }) {
    const parts = [`Checkpoint ${where.file}`];
    if (where.tensor !== undefined) parts.push(`tensor ${JSON.stringify(where.tensor)}`);
    if (where.offset !== undefined) parts.push(`byte offset ${where.offset}`);
    super(`${parts.join(", ")}: ${reason}`, where.cause === undefined ? undefined : { cause: where.cause });
    this.file = where.file;
    if (where.offset !== undefined) this.offset = where.offset;
    if (where.tensor !== undefined) this.tensor = where.tensor;
  }
}

/**
 * What `decodeSafetensors` returns.
 *
 * @example
 * ```ts
 * const { tensors, metadata }: DecodedSafetensors = decodeSafetensors(bytes, { file: "a.safetensors" });
 * ```
 */
export interface DecodedSafetensors {
  tensors: Map<string, HostTensor>;
  /** The `__metadata__` map; empty when the file has none. */
  metadata: Record<string, string>;
}

const CODES: Record<DType, string> = { float32: "F32", int64: "I64", int32: "I32", bool: "BOOL" };
/**
 * safetensors dtype codes → slimtrain dtypes (the reader's side of the writer's codes).
 *
 * @example
 * ```ts
 * DTYPES["F32"]; // "float32"
 * ```
 */
export const DTYPES: Record<string, DType> = { F32: "float32", I64: "int64", I32: "int32", BOOL: "bool" };
const ARRAYS: Record<DType, { name: string; is: (d: unknown) => boolean }> = {
  float32: { name: "Float32Array", is: (d) => d instanceof Float32Array },
  int64: { name: "BigInt64Array", is: (d) => d instanceof BigInt64Array },
  int32: { name: "Int32Array", is: (d) => d instanceof Int32Array },
  bool: { name: "Uint8Array", is: (d) => d instanceof Uint8Array },
};
/**
 * The reference implementation refuses larger headers, so a reader must too.
 *
 * @example
 * ```ts
 * if (headerLen > MAX_HEADER_SIZE) throw new Error("header too large");
 * ```
 */
export const MAX_HEADER_SIZE = 100_000_000;
/**
 * Whether this machine stores typed arrays little-endian, as the file does.
 *
 * @example
 * ```ts
 * if (!LITTLE_ENDIAN) swapBytes(bytes, 4);
 * ```
 */
export const LITTLE_ENDIAN: boolean = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * A tensor as a safetensors header records it: dtype and shape.
 *
 * @example
 * ```ts
 * const spec: TensorSpec = { dtype: "float32", shape: [3, 3, 64, 128] };
 * ```
 */
export interface TensorSpec {
  dtype: DType;
  shape: readonly number[];
}

/**
 * The 8-byte length and the JSON header of a safetensors file holding `specs` in
 * the order given, padded with spaces to a multiple of 8 bytes. The data that
 * follows it is each tensor's `tensorBytes`, in the same order.
 *
 * @example
 * ```ts
 * const header = encodeSafetensorsHeader([["w", { dtype: "float32", shape: [2] }]], { global_step: "10" });
 * ```
 */
export function encodeSafetensorsHeader(
  specs: readonly (readonly [string, TensorSpec])[],
  metadata: Record<string, string> = {},
): Uint8Array {
  const fields: string[] = [];
  const metaKeys = Object.keys(metadata).sort();
  if (metaKeys.length > 0) {
    const pairs = metaKeys.map((k) => {
      if (typeof metadata[k] !== "string") throw new Error(`encodeSafetensors(): metadata ${JSON.stringify(k)} is not a string`);
      return `${JSON.stringify(k)}:${JSON.stringify(metadata[k])}`;
    });
    fields.push(`"__metadata__":{${pairs.join(",")}}`);
  }
  let offset = 0;
  for (const [name, t] of specs) {
    checkSpec(name, t);
    const end = offset + numElements(t.shape) * dtypeSize(t.dtype);
    const info = `{"dtype":"${CODES[t.dtype]}","shape":${JSON.stringify(t.shape)},"data_offsets":[${offset},${end}]}`;
    fields.push(`${JSON.stringify(name)}:${info}`);
    offset = end;
  }
  const json = new TextEncoder().encode(`{${fields.join(",")}}`);
  const headerLen = Math.ceil(json.length / 8) * 8;
  const out = new Uint8Array(8 + headerLen);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerLen), true);
  out.set(json, 8);
  out.fill(0x20, 8 + json.length);
  return out;
}

/**
 * A tensor's data as the file stores it (little-endian, bools as 0/1 bytes): a
 * view of the tensor's own memory where that already is the layout, so writing a
 * checkpoint copies nothing on little-endian machines.
 *
 * @example
 * ```ts
 * await out.write(tensorBytes("w", hostTensor("float32", [2], new Float32Array([1, 2]))));
 * ```
 */
export function tensorBytes(name: string, t: HostTensor): Uint8Array {
  checkSpec(name, t);
  const what = `encodeSafetensors(): tensor ${JSON.stringify(name)}`;
  if (!ARRAYS[t.dtype].is(t.data)) throw new Error(`${what} has dtype ${t.dtype} but its data is not a ${ARRAYS[t.dtype].name}`);
  if (t.data.length !== numElements(t.shape)) {
    throw new Error(`${what} has ${t.data.length} values for shape ${formatShape(t.shape)}`);
  }
  if (t.dtype === "bool") return Uint8Array.from(t.data as Uint8Array, (x) => x ? 1 : 0);
  const view = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
  if (LITTLE_ENDIAN) return view;
  const swapped = view.slice();
  swapBytes(swapped, dtypeSize(t.dtype));
  return swapped;
}

/**
 * Encodes tensors and a string metadata map as safetensors bytes. Tensors are
 * laid out in sorted name order and the header is padded with spaces to a
 * multiple of 8 bytes, so equal inputs always give identical bytes.
 *
 * @example
 * ```ts
 * const bytes = encodeSafetensors(
 *   { w: hostTensor("float32", [2], new Float32Array([1, 2])) },
 *   { global_step: "10" },
 * );
 * ```
 */
export function encodeSafetensors(
  tensors: Map<string, HostTensor> | Record<string, HostTensor>,
  metadata: Record<string, string> = {},
): Uint8Array {
  const entries = sortedEntries(tensors);
  const parts = [encodeSafetensorsHeader(entries, metadata), ...entries.map(([name, t]) => tensorBytes(name, t))];
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/**
 * Entries in sorted name order, the order the header and the data follow.
 *
 * @example
 * ```ts
 * sortedEntries({ b: tb, a: ta }); // [["a", ta], ["b", tb]]
 * ```
 */
export function sortedEntries<T>(tensors: Map<string, T> | Record<string, T>): [string, T][] {
  return [...(tensors instanceof Map ? tensors.entries() : Object.entries(tensors))]
    .sort(([a], [b]) => a < b ? -1 : a > b ? 1 : 0);
}

function checkSpec(name: string, t: TensorSpec): void {
  const what = `encodeSafetensors(): tensor ${JSON.stringify(name)}`;
  if (name === "" || name === "__metadata__") throw new Error(`${what} has a reserved name`);
  if (!(t.dtype in CODES)) throw new Error(`${what} has unsupported dtype ${String(t.dtype)}`);
  if (!t.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    throw new Error(`${what} has an invalid shape ${formatShape(t.shape)}`);
  }
}

/**
 * Reverses every `size`-byte value in place (big-endian hosts).
 *
 * @example
 * ```ts
 * swapBytes(bytes, 8); // int64 values between file and host order
 * ```
 */
export function swapBytes(bytes: Uint8Array, size: number): void {
  if (size === 1) return;
  for (let i = 0; i < bytes.length; i += size) bytes.subarray(i, i + size).reverse();
}
