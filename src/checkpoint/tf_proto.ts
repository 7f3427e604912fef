/**
 * The TensorFlow protobuf messages that checkpoints store, declared as a
 * protobufjs JSON descriptor with the official field numbers (tensor_bundle.proto,
 * saved_tensor_slice.proto, tensor_shape.proto, tensor_slice.proto,
 * versions.proto), so no .proto file is loaded and browser bundles work too.
 * TensorProto's values are not decoded here: `tf_values.ts` reads them straight
 * from the wire, because protobufjs would turn a packed float field of a large
 * tensor into a JavaScript array of numbers first.
 * @module
 */
// The `.js` extension is needed because protobufjs has no exports map and Deno
// resolves bare subpaths literally.
import protobuf from "protobufjs/light.js";
import { CheckpointError } from "./safetensors.ts";

const descriptor = {
  nested: {
    tensorflow: {
      nested: {
        TensorShapeProto: {
          fields: { dim: { rule: "repeated", type: "Dim", id: 2 }, unknownRank: { type: "bool", id: 3 } },
          nested: { Dim: { fields: { size: { type: "int64", id: 1 }, name: { type: "string", id: 2 } } } },
        },
        TensorSliceProto: {
          fields: { extent: { rule: "repeated", type: "Extent", id: 1 } },
          nested: {
            Extent: {
              oneofs: { hasLength: { oneof: ["length"] } },
              fields: { start: { type: "int64", id: 1 }, length: { type: "int64", id: 2 } },
            },
          },
        },
        VersionDef: {
          fields: {
            producer: { type: "int32", id: 1 },
            minConsumer: { type: "int32", id: 2 },
            badConsumers: { rule: "repeated", type: "int32", id: 3 },
          },
        },
        BundleHeaderProto: {
          fields: {
            numShards: { type: "int32", id: 1 },
            endianness: { type: "int32", id: 2 },
            version: { type: "VersionDef", id: 3 },
          },
        },
        BundleEntryProto: {
          fields: {
            dtype: { type: "int32", id: 1 },
            shape: { type: "TensorShapeProto", id: 2 },
            shardId: { type: "int32", id: 3 },
            offset: { type: "int64", id: 4 },
            size: { type: "int64", id: 5 },
            crc32c: { type: "fixed32", id: 6 },
            slices: { rule: "repeated", type: "TensorSliceProto", id: 7 },
          },
        },
        SavedSliceMeta: {
          fields: {
            name: { type: "string", id: 1 },
            shape: { type: "TensorShapeProto", id: 2 },
            type: { type: "int32", id: 3 },
            slice: { rule: "repeated", type: "TensorSliceProto", id: 4 },
          },
        },
        SavedTensorSliceMeta: {
          fields: { tensor: { rule: "repeated", type: "SavedSliceMeta", id: 1 }, versions: { type: "VersionDef", id: 2 } },
        },
        // `data` (a TensorProto, field 3) is left as bytes for tf_values.ts.
        SavedSlice: {
          fields: { name: { type: "string", id: 1 }, slice: { type: "TensorSliceProto", id: 2 }, data: { type: "bytes", id: 3 } },
        },
        SavedTensorSlices: {
          fields: { meta: { type: "SavedTensorSliceMeta", id: 1 }, data: { type: "SavedSlice", id: 2 } },
        },
      },
    },
  },
};

const root = protobuf.Root.fromJSON(descriptor);
const types = {
  BundleHeaderProto: root.lookupType("tensorflow.BundleHeaderProto"),
  BundleEntryProto: root.lookupType("tensorflow.BundleEntryProto"),
  SavedTensorSlices: root.lookupType("tensorflow.SavedTensorSlices"),
};

/** An int64 as protobufjs returns it: a number, or a Long when long.js is loaded. */
type Int64 = number | { low: number; high: number; unsigned?: boolean };

/**
 * `TensorShapeProto` as decoded.
 *
 * @example
 * ```ts
 * const dims = (entry.shape as ShapeMessage).dim.map((d) => int64ToNumber(d.size));
 * ```
 */
export interface ShapeMessage {
  dim: { size: Int64 }[];
  unknownRank: boolean;
}

/**
 * `TensorSliceProto` as decoded; `length` is an own property only when present.
 *
 * @example
 * ```ts
 * const whole = !Object.hasOwn((slice as SliceMessage).extent[0], "length");
 * ```
 */
export interface SliceMessage {
  extent: { start: Int64; length?: Int64 }[];
}

/**
 * `VersionDef` as decoded.
 *
 * @example
 * ```ts
 * const { producer, minConsumer }: VersionMessage = header.version!;
 * ```
 */
export interface VersionMessage {
  producer: number;
  minConsumer: number;
  badConsumers: number[];
}

/**
 * `BundleHeaderProto` as decoded.
 *
 * @example
 * ```ts
 * const { numShards }: BundleHeader = decodeMessage("BundleHeaderProto", value, place);
 * ```
 */
export interface BundleHeader {
  numShards: number;
  endianness: number;
  version?: VersionMessage;
}

/**
 * `BundleEntryProto` as decoded.
 *
 * @example
 * ```ts
 * const { dtype, shardId, offset, size, crc32c }: BundleEntry = decodeMessage("BundleEntryProto", value, place);
 * ```
 */
export interface BundleEntry {
  dtype: number;
  shape?: ShapeMessage;
  shardId: number;
  offset: Int64;
  size: Int64;
  crc32c: number;
  slices: SliceMessage[];
}

/**
 * `SavedTensorSlices` as decoded, with the slice data left as TensorProto bytes.
 *
 * @example
 * ```ts
 * const { meta, data }: SavedTensorSlices = decodeMessage("SavedTensorSlices", value, place);
 * ```
 */
export interface SavedTensorSlices {
  meta?: { tensor: { name: string; shape?: ShapeMessage; type: number; slice: SliceMessage[] }[]; versions?: VersionMessage };
  data?: { name: string; slice?: SliceMessage; data: Uint8Array };
}

/**
 * Where a message sits, for the CheckpointError a malformed one becomes.
 *
 * @example
 * ```ts
 * const place: MessagePlace = { file: "vgg_16.ckpt", offset: 4096, tensor: "vgg_16/fc8/biases" };
 * ```
 */
export interface MessagePlace {
  file: string;
  offset: number;
  tensor?: string;
}

/**
 * Decodes one of the checkpoint messages, turning protobufjs's errors into a
 * CheckpointError at `place`.
 *
 * @example
 * ```ts
 * const header = decodeMessage("BundleHeaderProto", value, { file: "model.ckpt.index", offset: 0 });
 * ```
 */
export function decodeMessage(type: "BundleHeaderProto", bytes: Uint8Array, place: MessagePlace): BundleHeader;
export function decodeMessage(type: "BundleEntryProto", bytes: Uint8Array, place: MessagePlace): BundleEntry;
export function decodeMessage(type: "SavedTensorSlices", bytes: Uint8Array, place: MessagePlace): SavedTensorSlices;
export function decodeMessage(type: keyof typeof types, bytes: Uint8Array, place: MessagePlace): unknown {
  try {
    return types[type].decode(bytes);
  } catch (err) {
    throw new CheckpointError(`${type} does not decode (${(err as Error).message})`, { ...place, cause: err });
  }
}

/**
 * An int64 field as a JavaScript number, or undefined when it is outside the
 * safe-integer range (callers say what the field was).
 *
 * @example
 * ```ts
 * int64ToNumber(entry.offset); // 1024
 * ```
 */
export function int64ToNumber(v: Int64 | undefined): number | undefined {
  if (v === undefined) return 0;
  if (typeof v === "number") return Number.isSafeInteger(v) ? v : undefined;
  const high = v.unsigned ? v.high >>> 0 : v.high | 0;
  const n = high * 2 ** 32 + (v.low >>> 0);
  return Number.isSafeInteger(n) ? n : undefined;
}
