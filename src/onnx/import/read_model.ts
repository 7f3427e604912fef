/**
 * Decoding an ONNX file for import: the model's opset, its graph, and each
 * TensorProto as a host tensor. Errors name the file part that is wrong.
 * @module
 */
import type { DType, HostTensor } from "../../graph/host_tensor.ts";
import { numElements } from "../../graph/host_tensor.ts";
import { onnxTypes } from "../proto.ts";

/** A decoded AttributeProto (protobufjs plain object, int64 as numbers). */
export interface AttributeMessage {
  name: string;
  type?: number;
  f?: number;
  i?: number;
  s?: Uint8Array;
  t?: TensorMessage;
  floats?: number[];
  ints?: number[];
  strings?: Uint8Array[];
}

/** A decoded NodeProto. */
export interface NodeMessage {
  input?: string[];
  output?: string[];
  name?: string;
  opType: string;
  domain?: string;
  attribute?: AttributeMessage[];
}

/** A decoded TensorProto. */
export interface TensorMessage {
  dims?: number[];
  dataType?: number;
  floatData?: number[];
  int32Data?: number[];
  int64Data?: number[];
  doubleData?: number[];
  name?: string;
  rawData?: Uint8Array;
  dataLocation?: number;
}

/** A decoded ValueInfoProto. */
export interface ValueInfoMessage {
  name: string;
  type?: { tensorType?: { elemType?: number; shape?: { dim?: { dimValue?: number; dimParam?: string }[] } } };
}

/** A decoded GraphProto. */
export interface GraphMessage {
  node?: NodeMessage[];
  name?: string;
  initializer?: TensorMessage[];
  input?: ValueInfoMessage[];
  output?: ValueInfoMessage[];
}

/** The parts of a model the importer reads. */
export interface ModelMessage {
  graph: GraphMessage;
  /** The default-domain opset version. */
  opset: number;
}

/** The ONNX element types we read, by TensorProto.DataType number. */
const ELEMENT_TYPES: Record<number, { dtype: DType; name: string }> = {
  1: { dtype: "float32", name: "float" },
  6: { dtype: "int32", name: "int32" },
  7: { dtype: "int64", name: "int64" },
  9: { dtype: "bool", name: "bool" },
  11: { dtype: "float32", name: "double" },
  // uint8 and int8 tensors become int32 (their values fit); they appear in shape and index math.
  2: { dtype: "int32", name: "uint8" },
  3: { dtype: "int32", name: "int8" },
};

/**
 * The slimtrain dtype an ONNX element type is imported as (doubles become float32).
 *
 * @example
 * ```ts
 * dtypeOfElementType(1, "tensor x"); // "float32"
 * ```
 */
export function dtypeOfElementType(elemType: number | undefined, what: string): DType {
  const t = ELEMENT_TYPES[elemType ?? 0];
  if (!t) throw new Error(`importModel: ${what} has ONNX element type ${elemType}, which slimtrain cannot import (float, double, int64, int32, int8, uint8 and bool can)`);
  return t.dtype;
}

/**
 * Decodes model bytes; the error says the bytes are not an ONNX model, or that
 * the model has no default-domain opset.
 *
 * @example
 * ```ts
 * const { graph, opset } = decodeModel(bytes);
 * ```
 */
export function decodeModel(bytes: Uint8Array): ModelMessage {
  let decoded: Record<string, unknown>;
  try {
    const message = onnxTypes.ModelProto.decode(bytes);
    decoded = onnxTypes.ModelProto.toObject(message, { longs: Number, enums: Number, arrays: true, defaults: false });
  } catch (err) {
    throw new Error(`importModel: the bytes are not a valid ONNX model (${(err as Error).message})`, { cause: err });
  }
  const graph = decoded.graph as GraphMessage | undefined;
  if (!graph) throw new Error("importModel: the ONNX model has no graph");
  const opsets = (decoded.opsetImport ?? []) as { domain?: string; version?: number }[];
  const main = opsets.find((o) => !o.domain || o.domain === "ai.onnx");
  if (!main?.version) throw new Error("importModel: the ONNX model imports no default-domain (ai.onnx) opset");
  return { graph, opset: main.version };
}

/**
 * A TensorProto's value as a host tensor (float data as float32, int64 as
 * BigInt64Array). `what` names the tensor in errors.
 *
 * @example
 * ```ts
 * const w = tensorFromProto(initializer, "initializer conv1.weight");
 * ```
 */
export function tensorFromProto(t: TensorMessage, what: string): HostTensor {
  if (t.dataLocation === 1) throw new Error(`importModel: ${what} keeps its data in an external file, which importModel cannot read; embed the weights in the model`);
  const dtype = dtypeOfElementType(t.dataType, what);
  const shape = (t.dims ?? []).map(Number);
  const n = numElements(shape);
  const raw = t.rawData && t.rawData.length > 0 ? t.rawData : undefined;
  const type = t.dataType ?? 0;
  const check = (got: number) => {
    if (got !== n) throw new Error(`importModel: ${what} holds ${got} values but its shape [${shape.join(", ")}] needs ${n}`);
  };
  if (raw) {
    const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
    const width = { 1: 4, 6: 4, 7: 8, 9: 1, 11: 8, 2: 1, 3: 1 }[type]!;
    check(raw.byteLength / width);
    if (type === 1) return { dtype, shape, data: readFloats(view, n, (o) => view.getFloat32(o, true), 4) };
    if (type === 11) return { dtype, shape, data: readFloats(view, n, (o) => view.getFloat64(o, true), 8) };
    if (type === 7) {
      const data = new BigInt64Array(n);
      for (let i = 0; i < n; i++) data[i] = view.getBigInt64(i * 8, true);
      return { dtype, shape, data };
    }
    if (type === 6) return { dtype, shape, data: Int32Array.from({ length: n }, (_, i) => view.getInt32(i * 4, true)) };
    if (type === 3) return { dtype, shape, data: Int32Array.from({ length: n }, (_, i) => view.getInt8(i)) };
    if (type === 2) return { dtype, shape, data: Int32Array.from(raw.subarray(0, n)) };
    return { dtype, shape, data: Uint8Array.from(raw.subarray(0, n), (b) => (b ? 1 : 0)) };
  }
  if (type === 1 || type === 11) {
    const list = (type === 1 ? t.floatData : t.doubleData) ?? [];
    check(list.length);
    return { dtype, shape, data: Float32Array.from(list) };
  }
  if (type === 7) {
    const list = t.int64Data ?? [];
    check(list.length);
    return { dtype, shape, data: BigInt64Array.from(list, (v) => BigInt(Math.trunc(Number(v)))) };
  }
  // int32, int8, uint8 and bool all travel in int32_data.
  const list = t.int32Data ?? [];
  check(list.length);
  if (dtype === "bool") return { dtype, shape, data: Uint8Array.from(list, (v) => (v ? 1 : 0)) };
  return { dtype, shape, data: Int32Array.from(list) };
}

function readFloats(view: DataView, n: number, get: (offset: number) => number, width: number): Float32Array {
  // Copying aligns the bytes for a Float32Array view (targets are little-endian, as ONNX stores).
  if (width === 4) return new Float32Array(view.buffer.slice(view.byteOffset, view.byteOffset + n * 4));
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = get(i * width);
  return out;
}

/**
 * A ValueInfo's static shape; dimensions without a value come back as -1.
 *
 * @example
 * ```ts
 * declaredShape(graph.input[0]); // [-1, 3, 224, 224] for a dynamic batch
 * ```
 */
export function declaredShape(info: ValueInfoMessage): number[] | undefined {
  const dims = info.type?.tensorType?.shape?.dim;
  if (!dims) return undefined;
  return dims.map((d) => (d.dimValue !== undefined && d.dimValue > 0 ? Number(d.dimValue) : d.dimValue === 0 && !d.dimParam ? 0 : -1));
}
