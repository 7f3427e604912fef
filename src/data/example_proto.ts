/**
 * `tf.train.Example`, the record payload of TFRecord data sets, parsed and
 * written with protobufjs from a JSON descriptor built in code (field numbers from
 * TensorFlow's example.proto and feature.proto), so no .proto file is loaded and
 * browser bundles work too.
 * @module
 */
// The `.js` extension is needed because protobufjs has no exports map and Deno
// resolves bare subpaths literally.
import protobuf from "protobufjs/light.js";

/** One feature's values: the `oneof kind` of `tf.train.Feature`. */
export type Feature =
  | { kind: "bytes"; value: Uint8Array[] }
  | { kind: "float"; value: Float32Array }
  | { kind: "int64"; value: BigInt64Array };

/** The proto field name of each kind, for error messages that users can grep. */
export const FEATURE_LIST_NAME = { bytes: "bytes_list", float: "float_list", int64: "int64_list" } as const;

const packed = { packed: true };

const descriptor = {
  nested: {
    tensorflow: {
      nested: {
        Example: { fields: { features: { type: "Features", id: 1 } } },
        Features: { fields: { feature: { keyType: "string", type: "Feature", id: 1 } } },
        Feature: {
          oneofs: { kind: { oneof: ["bytesList", "floatList", "int64List"] } },
          fields: {
            bytesList: { type: "BytesList", id: 1 },
            floatList: { type: "FloatList", id: 2 },
            int64List: { type: "Int64List", id: 3 },
          },
        },
        BytesList: { fields: { value: { rule: "repeated", type: "bytes", id: 1 } } },
        FloatList: { fields: { value: { rule: "repeated", type: "float", id: 1, options: packed } } },
        Int64List: { fields: { value: { rule: "repeated", type: "int64", id: 1, options: packed } } },
      },
    },
  },
};
// A variable rather than an inline literal: IField does not declare the map field's keyType.
const ExampleType = protobuf.Root.fromJSON(descriptor).lookupType("tensorflow.Example");

/** int64 as protobufjs hands it over: a Long (or {low, high}) when `long` is loadable, else a number. */
type Int64Like = number | { low: number; high: number };

interface FeatureMessage {
  bytesList?: { value?: Uint8Array[] };
  floatList?: { value?: number[] };
  int64List?: { value?: Int64Like[] };
}

interface ExampleMessage {
  features?: { feature?: Record<string, FeatureMessage> };
}

function toBigInt(v: Int64Like): bigint {
  if (typeof v === "number") return BigInt(v);
  return BigInt.asIntN(64, (BigInt(v.high >>> 0) << 32n) | BigInt(v.low >>> 0));
}

function toInt64Like(v: bigint): { low: number; high: number } {
  const u = BigInt.asUintN(64, v);
  return { low: Number(u & 0xffffffffn) | 0, high: Number(u >> 32n) | 0 };
}

/**
 * Parses a serialized `tf.train.Example` into a map from feature name to values.
 * A feature with no list set is left out (TensorFlow reads it as empty). Bytes
 * values are views into `bytes`. `what` names the input in error messages.
 *
 * @example
 * ```ts
 * for (const { data } of readRecords(shard, { file: "train-00000.tfrecord" })) {
 *   const ex = parseExample(data);
 *   const label = ex.get("image/class/label"); // { kind: "int64", value: BigInt64Array [3n] }
 * }
 * ```
 */
export function parseExample(bytes: Uint8Array, what = "the input"): Map<string, Feature> {
  let message: ExampleMessage;
  try {
    message = ExampleType.decode(bytes) as unknown as ExampleMessage;
  } catch (err) {
    throw new Error(`Cannot parse ${what} as a tf.train.Example: ${(err as Error).message}`);
  }
  const out = new Map<string, Feature>();
  for (const [name, f] of Object.entries(message.features?.feature ?? {})) {
    if (f.bytesList) out.set(name, { kind: "bytes", value: f.bytesList.value ?? [] });
    else if (f.floatList) out.set(name, { kind: "float", value: Float32Array.from(f.floatList.value ?? []) });
    else if (f.int64List) {
      out.set(name, { kind: "int64", value: BigInt64Array.from(f.int64List.value ?? [], toBigInt) });
    }
  }
  return out;
}

/**
 * Serializes features as a `tf.train.Example`, ready for `encodeRecord`.
 *
 * @example
 * ```ts
 * const payload = encodeExample({
 *   "image/encoded": { kind: "bytes", value: [pngBytes] },
 *   "image/format": { kind: "bytes", value: [new TextEncoder().encode("png")] },
 *   "image/class/label": { kind: "int64", value: BigInt64Array.of(7n) },
 * });
 * ```
 */
export function encodeExample(features: Record<string, Feature> | Map<string, Feature>): Uint8Array {
  const feature: Record<string, FeatureMessage | { int64List: { value: { low: number; high: number }[] } }> = {};
  const entries = features instanceof Map ? [...features] : Object.entries(features);
  for (const [name, f] of entries) {
    switch (f.kind) {
      case "bytes":
        feature[name] = { bytesList: { value: f.value } };
        break;
      case "float":
        feature[name] = { floatList: { value: Array.from(f.value) } };
        break;
      case "int64":
        feature[name] = { int64List: { value: Array.from(f.value, toInt64Like) } };
        break;
      default:
        throw new Error(`Feature ${name} has unknown kind ${(f as { kind: unknown }).kind}`);
    }
  }
  return ExampleType.encode({ features: { feature } }).finish();
}
