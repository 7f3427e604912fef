/**
 * The weights of an ONNX model (its graph's initializers) as checkpoint tensors,
 * so a model exported elsewhere can seed variables named like its initializers.
 * @module
 */
import type { HostTensor } from "../graph/host_tensor.ts";
import { onnxTypes } from "../onnx/proto.ts";
import type { CheckpointTensors, ReadCheckpointOptions } from "./checkpoint_tensors.ts";
import { elementCount } from "./checkpoint_tensors.ts";
import { CheckpointError } from "./safetensors.ts";
import { int64ToNumber } from "./tf_proto.ts";
import { fromRawBytes, isConversion, tfDtype, type TfDtype } from "./tf_values.ts";

/** ONNX TensorProto.DataType → the TensorFlow DataType with the same bytes, whose conversion is reused. */
const ONNX_TO_TF: Record<number, number> = { 1: 1, 2: 4, 3: 6, 4: 17, 5: 5, 6: 3, 7: 9, 9: 10, 10: 19, 11: 2, 16: 14 };
const ONNX_NAMES: Record<number, string> = { 8: "string", 12: "uint32", 13: "uint64", 14: "complex64", 15: "complex128" };

interface OnnxTensor {
  name: string;
  dims: (number | { low: number; high: number })[];
  dataType: number;
  rawData?: Uint8Array;
  floatData?: number[];
  int32Data?: number[];
  int64Data?: (number | { low: number; high: number })[];
}

/**
 * Decodes an ONNX model's initializers (weights stored in the file; external
 * data is not read). Initializers of types slimtrain has no dtype for are listed
 * in `skipped`, or are an error when asked for in `names`.
 *
 * @throws CheckpointError naming the file and initializer when the model does
 * not decode or an initializer's data does not match its shape.
 * @example
 * ```ts
 * const { tensors } = decodeOnnxInitializers(await fs.readFile("resnet18.onnx"), { file: "resnet18.onnx" });
 * tensors.get("conv1.weight")?.shape; // [64, 3, 7, 7]
 * ```
 */
export function decodeOnnxInitializers(bytes: Uint8Array, { file, names }: { file: string } & ReadCheckpointOptions): CheckpointTensors {
  let model: { graph?: { initializer?: OnnxTensor[] } };
  try {
    model = onnxTypes.ModelProto.decode(bytes) as unknown as typeof model;
  } catch (err) {
    throw new CheckpointError(`is not an ONNX model (${(err as Error).message})`, { file, offset: 0, cause: err });
  }
  if (!model.graph) throw new CheckpointError("ONNX model has no graph", { file, offset: 0 });
  const wanted = names ? new Set(names) : undefined;
  const result: CheckpointTensors = { kind: "onnx", path: file, tensors: new Map(), skipped: new Map(), converted: new Map() };
  for (const init of model.graph.initializer ?? []) {
    if (wanted && !wanted.has(init.name)) continue;
    const place = { file, offset: 0, tensor: init.name };
    const dtype = ONNX_TO_TF[init.dataType] === undefined ? undefined : tfDtype(ONNX_TO_TF[init.dataType]);
    if (!dtype) {
      const reason = `ONNX data type ${ONNX_NAMES[init.dataType] ?? init.dataType}`;
      if (wanted) throw new CheckpointError(`${reason}: slimtrain cannot restore it`, place);
      result.skipped.set(init.name, reason);
      continue;
    }
    if (result.tensors.has(init.name)) throw new CheckpointError("initializer name appears twice", place);
    result.tensors.set(init.name, initializerTensor(init, dtype, bytes.length, place));
    if (isConversion(dtype)) result.converted.set(init.name, dtype.name);
  }
  return result;
}

function initializerTensor(init: OnnxTensor, dtype: TfDtype, limit: number, place: { file: string; offset: number; tensor: string }): HostTensor {
  const shape = init.dims.map((d, i) => {
    const n = int64ToNumber(d);
    if (n === undefined || n < 0) throw new CheckpointError(`dimension ${i} is ${String(d)}`, place);
    return n;
  });
  const n = elementCount(shape, limit, place);
  const raw = init.rawData;
  if (raw && raw.length > 0) {
    if (raw.length !== n * dtype.size) {
      throw new CheckpointError(`raw_data has ${raw.length} bytes, but ${n} ${dtype.name} elements need ${n * dtype.size}`, place);
    }
    return { dtype: dtype.to, shape, data: fromRawBytes(dtype, raw, n, false) };
  }
  const typed: ArrayLike<number | { low: number; high: number }> | undefined =
    dtype.name === "float" ? init.floatData : dtype.name === "int64" ? init.int64Data : dtype.name === "double" ? undefined : init.int32Data;
  const got = typed?.length ?? 0;
  if (got !== n) {
    throw new CheckpointError(`holds ${got} values for shape [${shape.join(", ")}] (external or double_data is not supported)`, place);
  }
  if (dtype.to === "int64") {
    return { dtype: "int64", shape, data: BigInt64Array.from(typed as ArrayLike<number | { low: number; high: number }>, toBigInt) };
  }
  // int32_data holds float16 and bfloat16 as bit patterns: reuse the raw-byte conversion on them.
  if (dtype.size === 2 && dtype.to === "float32") {
    return { dtype: dtype.to, shape, data: fromRawBytes(dtype, new Uint8Array(Uint16Array.from(typed as ArrayLike<number>).buffer), n, false) };
  }
  const values = typed as ArrayLike<number>;
  const data = dtype.to === "float32" ? Float32Array.from(values)
    : dtype.to === "bool" ? Uint8Array.from(values, (v) => v ? 1 : 0)
    : Int32Array.from(values);
  return { dtype: dtype.to, shape, data };
}

function toBigInt(v: number | { low: number; high: number }): bigint {
  return typeof v === "number" ? BigInt(v) : (BigInt(v.high | 0) << 32n) | BigInt(v.low >>> 0);
}
