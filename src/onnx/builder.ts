/**
 * Small pure factories for ONNX protos, in the spirit of onnx's `helper.py`:
 * every model is stamped with the IR version and opset slimtrain targets.
 * @module
 */
import { type DType, type HostTensor, UNKNOWN_DIM } from "../graph/host_tensor.ts";
import { onnxDType } from "../ops/compare.ts";
import type { OnnxAttr } from "../ops/registry.ts";
import { onnxTypes } from "./proto.ts";

/** ONNX IR version 8 pairs with opset 17, which every ONNX Runtime EP we target runs. */
export const IR_VERSION = 8;
/** The default-domain opset the emitted graphs use. */
export const OPSET = 17;

/** A plain-object NodeProto. */
export interface NodeProtoLike {
  name: string;
  opType: string;
  input: string[];
  output: string[];
  attribute: Record<string, unknown>[];
}

/**
 * A TensorProto holding `value` as raw little-endian bytes.
 *
 * @example
 * ```ts
 * makeTensor("scale", { dtype: "float32", shape: [], data: new Float32Array([2]) });
 * ```
 */
export function makeTensor(name: string, value: HostTensor): Record<string, unknown> {
  const d = value.data;
  return {
    name,
    dims: value.shape,
    dataType: onnxDType(value.dtype),
    rawData: new Uint8Array(d.buffer, d.byteOffset, d.byteLength),
  };
}

/**
 * An AttributeProto from a JS value: integer → INT, other number → FLOAT, string →
 * STRING, number[] → INTS, `{ float }` / `{ floats }` → FLOAT / FLOATS, a host tensor → TENSOR.
 *
 * @example
 * ```ts
 * makeAttribute("strides", [1, 1]);
 * ```
 */
export function makeAttribute(name: string, value: OnnxAttr): Record<string, unknown> {
  if (typeof value === "number") {
    return Number.isInteger(value) ? { name, type: 2, i: value } : { name, type: 1, f: value };
  }
  if (typeof value === "string") return { name, type: 3, s: new TextEncoder().encode(value) };
  if (Array.isArray(value)) return { name, type: 7, ints: value };
  if ("float" in value) return { name, type: 1, f: value.float };
  if ("floats" in value) return { name, type: 6, floats: value.floats };
  return { name, type: 4, t: makeTensor("", value) };
}

/**
 * A NodeProto.
 *
 * @example
 * ```ts
 * makeNode("Relu", ["x"], ["y"], {}, "relu1");
 * ```
 */
export function makeNode(opType: string, input: string[], output: string[], attrs: Record<string, OnnxAttr> = {}, name = ""): NodeProtoLike {
  return { name, opType, input, output, attribute: Object.entries(attrs).map(([k, v]) => makeAttribute(k, v)) };
}

/** The symbolic name an unknown (-1) dimension gets in a model's inputs and outputs. */
export const BATCH_DIM_PARAM = "batch";

/**
 * A ValueInfoProto for a tensor's shape; an unknown dimension (-1, the batch)
 * becomes the symbolic dimension `batch`, so the model takes any size there.
 *
 * @example
 * ```ts
 * makeValueInfo("images", "float32", [32, 224, 224, 3]);
 * makeValueInfo("images", "float32", [-1, 224, 224, 3]); // dims: batch, 224, 224, 3
 * ```
 */
export function makeValueInfo(name: string, dtype: DType, shape: readonly number[]): Record<string, unknown> {
  const dim = shape.map((d) => (d === UNKNOWN_DIM ? { dimParam: BATCH_DIM_PARAM } : { dimValue: d }));
  return { name, type: { tensorType: { elemType: onnxDType(dtype), shape: { dim } } } };
}

/**
 * A ModelProto around one graph, stamped with IR version and opset, serialised.
 *
 * @example
 * ```ts
 * const bytes = makeModel({ name: "g", nodes, inputs, outputs, initializers });
 * ```
 */
export function makeModel(
  { name, nodes, inputs, outputs, initializers, docString = "", metadata = {} }: {
    name: string;
    nodes: NodeProtoLike[];
    inputs: Record<string, unknown>[];
    outputs: Record<string, unknown>[];
    initializers: Record<string, unknown>[];
    docString?: string;
    metadata?: Record<string, string>;
  },
): Uint8Array {
  const model = {
    irVersion: IR_VERSION,
    opsetImport: [{ domain: "", version: OPSET }],
    producerName: "slimtrain",
    producerVersion: "0.1.0",
    docString,
    graph: { name, node: nodes, input: inputs, output: outputs, initializer: initializers },
    metadataProps: Object.entries(metadata).map(([key, value]) => ({ key, value })),
  };
  const { ModelProto } = onnxTypes;
  return ModelProto.encode(ModelProto.fromObject(model)).finish();
}
