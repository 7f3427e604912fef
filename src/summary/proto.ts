/**
 * The protobuf messages TensorBoard reads from event files, as a protobufjs JSON
 * descriptor built in code: no .proto file is loaded at run time, so this works
 * in a browser bundle as well as under Node.js, Deno and Bun. Field numbers follow
 * TensorFlow's event.proto, summary.proto, tensor.proto, tensor_shape.proto and
 * types.proto; only the fields slimtrain writes or reads are declared, and
 * decoders skip the rest.
 * @module
 */
// The `.js` extension is needed because protobufjs has no exports map and Deno
// resolves bare subpaths literally.
import protobuf from "protobufjs/light.js";

/**
 * TensorFlow element types used in summaries (types.proto numbering).
 *
 * @example
 * ```ts
 * const tensor = { dtype: DataType.DT_FLOAT, floatVal: [0.5] };
 * ```
 */
export const DataType = { DT_INVALID: 0, DT_FLOAT: 1, DT_DOUBLE: 2, DT_INT32: 3, DT_STRING: 7, DT_INT64: 9 } as const;

/**
 * How TensorBoard's data layer stores a summary series (summary.proto).
 *
 * @example
 * ```ts
 * const metadata = { pluginData: { pluginName: "scalars" }, dataClass: DataClass.DATA_CLASS_SCALAR };
 * ```
 */
export const DataClass = {
  DATA_CLASS_UNKNOWN: 0,
  DATA_CLASS_SCALAR: 1,
  DATA_CLASS_TENSOR: 2,
  DATA_CLASS_BLOB_SEQUENCE: 3,
} as const;

type Fields = Record<string, { type: string; id: number; rule?: "repeated"; options?: { packed: boolean } }>;
const packed = { packed: true };

const descriptor = {
  nested: {
    tensorflow: {
      nested: {
        DataType: { values: DataType },
        DataClass: { values: DataClass },
        TensorShapeProto: {
          fields: {
            dim: { rule: "repeated", type: "Dim", id: 2 },
            unknownRank: { type: "bool", id: 3 },
          } satisfies Fields,
          nested: {
            Dim: { fields: { size: { type: "int64", id: 1 }, name: { type: "string", id: 2 } } satisfies Fields },
          },
        },
        TensorProto: {
          fields: {
            dtype: { type: "DataType", id: 1 },
            tensorShape: { type: "TensorShapeProto", id: 2 },
            versionNumber: { type: "int32", id: 3 },
            tensorContent: { type: "bytes", id: 4 },
            floatVal: { rule: "repeated", type: "float", id: 5, options: packed },
            doubleVal: { rule: "repeated", type: "double", id: 6, options: packed },
            intVal: { rule: "repeated", type: "int32", id: 7, options: packed },
            stringVal: { rule: "repeated", type: "bytes", id: 8 },
            int64Val: { rule: "repeated", type: "int64", id: 10, options: packed },
          } satisfies Fields,
        },
        HistogramProto: {
          fields: {
            min: { type: "double", id: 1 },
            max: { type: "double", id: 2 },
            num: { type: "double", id: 3 },
            sum: { type: "double", id: 4 },
            sumSquares: { type: "double", id: 5 },
            bucketLimit: { rule: "repeated", type: "double", id: 6, options: packed },
            bucket: { rule: "repeated", type: "double", id: 7, options: packed },
          } satisfies Fields,
        },
        SummaryMetadata: {
          fields: {
            pluginData: { type: "PluginData", id: 1 },
            displayName: { type: "string", id: 2 },
            summaryDescription: { type: "string", id: 3 },
            dataClass: { type: "DataClass", id: 4 },
          } satisfies Fields,
          nested: {
            PluginData: {
              fields: { pluginName: { type: "string", id: 1 }, content: { type: "bytes", id: 2 } } satisfies Fields,
            },
          },
        },
        Summary: {
          fields: { value: { rule: "repeated", type: "Value", id: 1 } } satisfies Fields,
          nested: {
            Value: {
              oneofs: { value: { oneof: ["simpleValue", "histo", "tensor"] } },
              fields: {
                nodeName: { type: "string", id: 7 },
                tag: { type: "string", id: 1 },
                metadata: { type: "SummaryMetadata", id: 9 },
                simpleValue: { type: "float", id: 2 },
                histo: { type: "HistogramProto", id: 5 },
                tensor: { type: "TensorProto", id: 8 },
              } satisfies Fields,
            },
          },
        },
        Event: {
          oneofs: { what: { oneof: ["fileVersion", "graphDef", "summary"] } },
          fields: {
            wallTime: { type: "double", id: 1 },
            step: { type: "int64", id: 2 },
            fileVersion: { type: "string", id: 3 },
            graphDef: { type: "bytes", id: 4 },
            summary: { type: "Summary", id: 5 },
          } satisfies Fields,
        },
      },
    },
  },
};

const root = protobuf.Root.fromJSON(descriptor);

/**
 * The `tensorflow.Event` message type: one record of an event file.
 *
 * @example
 * ```ts
 * const bytes = EventType.encode(EventType.create({ wallTime: 1.5, fileVersion: "brain.Event:2" })).finish();
 * ```
 */
export const EventType: protobuf.Type = root.lookupType("tensorflow.Event");

/**
 * The `tensorflow.Summary` message type.
 *
 * @example
 * ```ts
 * SummaryType.verify({ value: [{ tag: "loss", simpleValue: 0.5 }] }); // null when valid
 * ```
 */
export const SummaryType: protobuf.Type = root.lookupType("tensorflow.Summary");

/** A dimension of a tensor shape. */
export interface DimMessage {
  size: number;
  name?: string;
}

/** Plain-object form of `tensorflow.TensorProto` as slimtrain writes it. */
export interface TensorMessage {
  dtype: number;
  tensorShape?: { dim?: DimMessage[] };
  tensorContent?: Uint8Array;
  floatVal?: number[];
  doubleVal?: number[];
  intVal?: number[];
  stringVal?: Uint8Array[];
  int64Val?: number[];
}

/** Plain-object form of `tensorflow.HistogramProto` (the legacy histogram). */
export interface HistogramMessage {
  min?: number;
  max?: number;
  num?: number;
  sum?: number;
  sumSquares?: number;
  bucketLimit?: number[];
  bucket?: number[];
}

/** Plain-object form of `tensorflow.SummaryMetadata`. */
export interface SummaryMetadataMessage {
  pluginData?: { pluginName?: string; content?: Uint8Array };
  displayName?: string;
  summaryDescription?: string;
  dataClass?: number;
}

/** Plain-object form of `tensorflow.Summary.Value`; set at most one of the value fields. */
export interface SummaryValueMessage {
  tag: string;
  metadata?: SummaryMetadataMessage;
  simpleValue?: number;
  histo?: HistogramMessage;
  tensor?: TensorMessage;
}

/** Plain-object form of `tensorflow.Event`. */
export interface EventMessage {
  wallTime: number;
  step?: number;
  fileVersion?: string;
  summary?: { value: SummaryValueMessage[] };
}

/**
 * Serializes an event, failing loudly on a malformed object rather than writing
 * bytes TensorBoard would misread.
 *
 * @example
 * ```ts
 * const bytes = encodeEvent({ wallTime: Date.now() / 1000, step: 3, summary: { value: [{ tag: "x", simpleValue: 1 }] } });
 * ```
 */
export function encodeEvent(event: EventMessage): Uint8Array {
  const problem = EventType.verify(event);
  if (problem) throw new Error(`Cannot encode event: ${problem}`);
  return EventType.encode(EventType.fromObject(event)).finish();
}

/**
 * Decodes an event into plain objects with 64-bit integers as numbers and enums
 * as their numeric values.
 *
 * @example
 * ```ts
 * const ev = decodeEvent(encodeEvent({ wallTime: 2, step: 7 }));
 * ev.step; // 7
 * ```
 */
export function decodeEvent(bytes: Uint8Array): EventMessage {
  const msg = EventType.decode(bytes);
  return EventType.toObject(msg, { longs: Number, enums: Number }) as EventMessage;
}
