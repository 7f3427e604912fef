/**
 * TensorFlow's element types (the `DataType` enum of types.proto) and their
 * conversion to slimtrain's host dtypes: raw little-endian bytes as a V2 data
 * shard holds them, and the typed value fields of a TensorProto as a V1
 * checkpoint holds them (read straight from the protobuf wire format).
 *
 * slimtrain's tensors are float32, int32, int64 or bool, so float64, float16 and
 * bfloat16 become float32 (rounded to nearest), and the narrow integer types
 * become int32 (exactly). Strings, complex, quantized, resource and variant
 * tensors have no slimtrain dtype.
 * @module
 */
import protobuf from "protobufjs/light.js";
import { allocate, type DType, type HostTensor } from "../graph/host_tensor.ts";
import { CheckpointError } from "./safetensors.ts";

/**
 * What slimtrain makes of one TensorFlow element type.
 *
 * @example
 * ```ts
 * const { name, size, to }: TfDtype = tfDtype(19)!; // "half", 2, "float32"
 * ```
 */
export interface TfDtype {
  /** TensorFlow's name, as in error messages: `float`, `int64`, `half`. */
  name: string;
  /** Bytes per element in a V2 data shard. */
  size: number;
  /** The slimtrain dtype it becomes. */
  to: DType;
  /** The TensorProto field a V1 checkpoint stores it in (field number). */
  field: number;
}

const FLOAT_VAL = 5, DOUBLE_VAL = 6, INT_VAL = 7, INT64_VAL = 10, BOOL_VAL = 11, HALF_VAL = 13;

/** DataType enum values from types.proto. */
const SUPPORTED: Record<number, TfDtype> = {
  1: { name: "float", size: 4, to: "float32", field: FLOAT_VAL },
  2: { name: "double", size: 8, to: "float32", field: DOUBLE_VAL },
  3: { name: "int32", size: 4, to: "int32", field: INT_VAL },
  4: { name: "uint8", size: 1, to: "int32", field: INT_VAL },
  5: { name: "int16", size: 2, to: "int32", field: INT_VAL },
  6: { name: "int8", size: 1, to: "int32", field: INT_VAL },
  9: { name: "int64", size: 8, to: "int64", field: INT64_VAL },
  10: { name: "bool", size: 1, to: "bool", field: BOOL_VAL },
  14: { name: "bfloat16", size: 2, to: "float32", field: HALF_VAL },
  17: { name: "uint16", size: 2, to: "int32", field: INT_VAL },
  19: { name: "half", size: 2, to: "float32", field: HALF_VAL },
};
const UNSUPPORTED: Record<number, string> = {
  0: "invalid", 7: "string", 8: "complex64", 11: "qint8", 12: "quint8", 13: "qint32", 15: "qint16", 16: "quint16",
  18: "complex128", 20: "resource", 21: "variant", 22: "uint32", 23: "uint64",
};
const LITTLE_ENDIAN_HOST = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
/** Reference dtypes (`float_ref`) are the plain ones plus this. */
const REF_OFFSET = 100;

/**
 * The slimtrain view of a TensorFlow `DataType` code, or undefined when slimtrain
 * has no dtype for it.
 *
 * @example
 * ```ts
 * tfDtype(2); // { name: "double", size: 8, to: "float32", field: 6 }
 * tfDtype(7); // undefined (string)
 * ```
 */
export function tfDtype(code: number): TfDtype | undefined {
  return SUPPORTED[code > REF_OFFSET ? code - REF_OFFSET : code];
}

const NATIVE: Record<DType, string> = { float32: "float", int32: "int32", int64: "int64", bool: "bool" };

/**
 * Whether reading `t` changes its element type (float64 to float32, uint8 to
 * int32...), which readers report in `converted`.
 *
 * @example
 * ```ts
 * isConversion(tfDtype(2)!); // true: double becomes float32
 * ```
 */
export function isConversion(t: TfDtype): boolean {
  return NATIVE[t.to] !== t.name;
}

/**
 * TensorFlow's name of a `DataType` code, for messages.
 *
 * @example
 * ```ts
 * tfDtypeName(7); // "string"
 * ```
 */
export function tfDtypeName(code: number): string {
  const base = code > REF_OFFSET ? code - REF_OFFSET : code;
  return SUPPORTED[base]?.name ?? UNSUPPORTED[base] ?? `DataType ${code}`;
}

/**
 * Converts `n` elements of raw tensor bytes (a V2 shard's layout, or a
 * TensorProto's `tensor_content`) to a fresh slimtrain array. `bigEndian` says
 * the bytes were written by a big-endian machine.
 *
 * @example
 * ```ts
 * const data = fromRawBytes(tfDtype(1)!, bytes, 6, false); // Float32Array(6)
 * ```
 */
export function fromRawBytes(t: TfDtype, bytes: Uint8Array, n: number, bigEndian: boolean): HostTensor["data"] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const le = !bigEndian;
  // Same layout as the host's: one copy, the common case for large weights.
  if (le === LITTLE_ENDIAN_HOST) {
    const same = t.name === "float" ? new Float32Array(n)
      : t.name === "int32" ? new Int32Array(n)
      : t.name === "int64" ? new BigInt64Array(n)
      : undefined;
    if (same) {
      new Uint8Array(same.buffer).set(bytes.subarray(0, n * t.size));
      return same;
    }
  }
  switch (t.name) {
    case "float":
      return fill(new Float32Array(n), (i) => view.getFloat32(4 * i, le));
    case "double":
      return fill(new Float32Array(n), (i) => view.getFloat64(8 * i, le));
    case "half":
      return fill(new Float32Array(n), (i) => halfToFloat(view.getUint16(2 * i, le)));
    case "bfloat16":
      return fill(new Float32Array(n), (i) => bfloat16ToFloat(view.getUint16(2 * i, le)));
    case "int32":
      return fill(new Int32Array(n), (i) => view.getInt32(4 * i, le));
    case "int16":
      return fill(new Int32Array(n), (i) => view.getInt16(2 * i, le));
    case "uint16":
      return fill(new Int32Array(n), (i) => view.getUint16(2 * i, le));
    case "int8":
      return fill(new Int32Array(n), (i) => view.getInt8(i));
    case "uint8":
      return fill(new Int32Array(n), (i) => view.getUint8(i));
    case "int64": {
      const out = new BigInt64Array(n);
      for (let i = 0; i < n; i++) out[i] = view.getBigInt64(8 * i, le);
      return out;
    }
    case "bool":
      return fill(new Uint8Array(n), (i) => bytes[i] === 0 ? 0 : 1);
  }
  throw new Error(`fromRawBytes: no conversion for ${t.name}`);
}

function fill<T extends Float32Array | Int32Array | Uint8Array>(out: T, at: (i: number) => number): T {
  for (let i = 0; i < out.length; i++) out[i] = at(i);
  return out;
}

/** IEEE 754 binary16 bits to a number. */
function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >>> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 0x1f) return frac === 0 ? sign * Infinity : NaN;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

const scratch = new DataView(new ArrayBuffer(4));
/** bfloat16 is the top half of a float32. */
function bfloat16ToFloat(b: number): number {
  scratch.setUint32(0, b << 16);
  return scratch.getFloat32(0);
}

/**
 * Reads the values of a serialized TensorProto as a V1 checkpoint stores a
 * slice: the typed repeated field of `t` (packed or not), or `tensor_content`.
 * Exactly `n` elements must be present.
 *
 * @throws CheckpointError at `place` when the message is malformed or holds a
 * different number of elements.
 * @example
 * ```ts
 * const data = fromTensorProto(tfDtype(1)!, savedSlice.data, 6, { file: "vgg_16.ckpt", offset: 0, tensor: "w" });
 * ```
 */
export function fromTensorProto(
  t: TfDtype,
  proto: Uint8Array,
  n: number,
  place: { file: string; offset: number; tensor: string },
): HostTensor["data"] {
  const fail = (reason: string): never => {
    throw new CheckpointError(reason, place);
  };
  const r = protobuf.Reader.create(proto);
  // Written straight into the output: a large slice must not pass through a JavaScript array.
  let out: HostTensor["data"] | undefined;
  let count = 0;
  const take = () => {
    if (count >= n) fail(`TensorProto holds more than the ${n} elements of the slice`);
    readInto(r, t, (out ??= allocate(t.to, n)), count++);
  };
  let content: Uint8Array | undefined;
  try {
    while (r.pos < r.len) {
      const tag = r.uint32();
      const field = tag >>> 3, wire = tag & 7;
      if (field === 4 && wire === 2) {
        content = r.bytes();
      } else if (field === t.field && wire === 2) {
        // Packed: a length, then the elements back to back.
        const end = r.uint32() + r.pos;
        if (end > r.len) fail(`TensorProto field ${field} runs past the end of the slice`);
        if (t.field === FLOAT_VAL && count === 0 && end - r.pos === 4 * n) {
          // All the floats in one packed run, as TensorFlow writes them: one bulk conversion.
          out = fromRawBytes(t, proto.subarray(r.pos, end), n, false);
          count = n;
          r.pos = end;
        }
        while (r.pos < end) take();
        if (r.pos !== end) fail(`TensorProto field ${field} ends inside an element`);
      } else if (field === t.field && wire === wireOf(t)) {
        take();
      } else {
        r.skipType(wire);
      }
    }
  } catch (err) {
    if (err instanceof CheckpointError) throw err;
    fail(`TensorProto does not decode (${(err as Error).message})`);
  }
  if (content !== undefined && content.length > 0) {
    if (count > 0) fail("TensorProto holds both tensor_content and typed values");
    if (content.length !== n * t.size) fail(`tensor_content has ${content.length} bytes, but ${n} ${t.name} elements need ${n * t.size}`);
    return fromRawBytes(t, content, n, false);
  }
  if (count !== n) fail(`TensorProto holds ${count} ${t.name} values, but the slice has ${n} elements`);
  return out ?? allocate(t.to, 0);
}

function wireOf(t: TfDtype): number {
  return t.field === FLOAT_VAL ? 5 : t.field === DOUBLE_VAL ? 1 : 0;
}

function readInto(r: protobuf.Reader, t: TfDtype, out: HostTensor["data"], i: number): void {
  switch (t.field) {
    case FLOAT_VAL:
      out[i] = r.float();
      return;
    case DOUBLE_VAL:
      out[i] = r.double();
      return;
    case INT64_VAL: {
      const v = r.int64() as unknown as number | { low: number; high: number };
      out[i] = typeof v === "number" ? BigInt(v) : (BigInt(v.high | 0) << 32n) | BigInt(v.low >>> 0);
      return;
    }
    case BOOL_VAL:
      out[i] = r.bool() ? 1 : 0;
      return;
    case HALF_VAL: {
      const bits = r.int32() & 0xffff;
      out[i] = t.name === "half" ? halfToFloat(bits) : bfloat16ToFloat(bits);
      return;
    }
    default: {
      const v = r.int32();
      // int_val holds every narrow integer type; each keeps its own range.
      out[i] = t.name === "uint8" ? v & 0xff : t.name === "int8" ? (v << 24) >> 24 : t.name === "int16" ? (v << 16) >> 16 :
        t.name === "uint16" ? v & 0xffff : v;
    }
  }
}
