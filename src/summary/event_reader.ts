/**
 * Reads event files back into plain data, for tests, tools and anyone checking
 * what a run logged without starting TensorBoard.
 * @module
 */
import { readRecords } from "../io/tfrecord.ts";
import { DataType, decodeEvent, type HistogramMessage, type SummaryValueMessage, type TensorMessage } from "./proto.ts";

/** One summary value as read back. */
export interface EventValue {
  tag: string;
  /** "scalar" for the scalars plugin or a legacy simple value, "histogram" likewise. */
  kind: "scalar" | "histogram" | "other";
  value?: number;
  /** (left edge, right edge, count) rows. */
  buckets?: [number, number, number][];
  pluginName?: string;
}

/** One event as read back. */
export interface ReadEvent {
  /** Seconds since the epoch. */
  wallTime: number;
  step: number;
  /** Set on the first event of a file ("brain.Event:2"). */
  fileVersion?: string;
  values: EventValue[];
}

/**
 * Decodes every event in an event file's bytes. CRC failures and truncation throw
 * a `RecordError` naming `file` and the byte offset; pass `allowTruncatedTail` to
 * read a file whose writer is still running or crashed.
 *
 * @example
 * ```ts
 * const events = readEvents(await fs.readFile(writer.path), { file: writer.path });
 * const losses = events.flatMap((e) => e.values.filter((v) => v.tag === "loss").map((v) => [e.step, v.value]));
 * ```
 */
export function readEvents(
  bytes: Uint8Array,
  { file = "<bytes>", allowTruncatedTail = false }: { file?: string; allowTruncatedTail?: boolean } = {},
): ReadEvent[] {
  const out: ReadEvent[] = [];
  for (const { data, offset } of readRecords(bytes, { file, allowTruncatedTail })) {
    let ev;
    try {
      ev = decodeEvent(data);
    } catch (err) {
      throw new Error(`Cannot decode the event in ${file} at byte offset ${offset}: ${(err as Error).message}`);
    }
    const read: ReadEvent = { wallTime: ev.wallTime ?? 0, step: ev.step ?? 0, values: [] };
    if (ev.fileVersion !== undefined) read.fileVersion = ev.fileVersion;
    for (const v of ev.summary?.value ?? []) read.values.push(toValue(v));
    out.push(read);
  }
  return out;
}

function toValue(v: SummaryValueMessage): EventValue {
  const pluginName = v.metadata?.pluginData?.pluginName;
  const out: EventValue = { tag: v.tag ?? "", kind: "other" };
  if (pluginName) out.pluginName = pluginName;
  if (v.simpleValue !== undefined) {
    out.kind = "scalar";
    out.value = v.simpleValue;
  } else if (v.histo) {
    out.kind = "histogram";
    out.buckets = legacyBuckets(v.histo);
  } else if (v.tensor && pluginName === "scalars") {
    const values = tensorValues(v.tensor);
    if (values.length === 1) {
      out.kind = "scalar";
      out.value = values[0];
    }
  } else if (v.tensor && pluginName === "histograms") {
    const values = tensorValues(v.tensor);
    if (values.length % 3 === 0) {
      out.kind = "histogram";
      out.buckets = [];
      for (let i = 0; i < values.length; i += 3) out.buckets.push([values[i], values[i + 1], values[i + 2]]);
    }
  }
  return out;
}

/** Numeric contents of a tensor, from whichever field the writer used. */
function tensorValues(t: TensorMessage): number[] {
  if (t.floatVal?.length) return t.floatVal;
  if (t.doubleVal?.length) return t.doubleVal;
  if (t.intVal?.length) return t.intVal;
  if (t.int64Val?.length) return t.int64Val.map(Number);
  const c = t.tensorContent;
  if (!c?.length) return [];
  const view = new DataView(c.buffer, c.byteOffset, c.byteLength);
  const [size, get] = t.dtype === DataType.DT_DOUBLE
    ? [8, (o: number) => view.getFloat64(o, true)]
    : t.dtype === DataType.DT_FLOAT
    ? [4, (o: number) => view.getFloat32(o, true)]
    : t.dtype === DataType.DT_INT32
    ? [4, (o: number) => view.getInt32(o, true)]
    : t.dtype === DataType.DT_INT64
    ? [8, (o: number) => Number(view.getBigInt64(o, true))]
    : [0, () => 0];
  const out: number[] = [];
  for (let o = 0; size > 0 && o + size <= c.length; o += size) out.push(get(o));
  return out;
}

/**
 * The legacy HistogramProto stores only right edges; each bucket's left edge is
 * the previous right edge, and the first starts at the recorded minimum.
 */
function legacyBuckets(h: HistogramMessage): [number, number, number][] {
  const limits = h.bucketLimit ?? [], counts = h.bucket ?? [];
  return counts.map((c, i) => [i === 0 ? h.min ?? 0 : limits[i - 1], limits[i] ?? h.max ?? 0, c]);
}
