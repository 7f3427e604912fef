/**
 * TFRecord framing, shared by event files and the data pipeline. Each record is
 * `uint64 length (LE) | uint32 masked CRC32C of those 8 bytes | data |
 * uint32 masked CRC32C of data`, so a reader can tell a torn tail from corruption.
 * @module
 */
import { maskedCrc32c } from "./crc32c.ts";

/**
 * Bytes of framing around each record's data: 8 + 4 before it, 4 after.
 *
 * @example
 * ```ts
 * encodeRecord(payload).length === payload.length + RECORD_OVERHEAD; // true
 * ```
 */
export const RECORD_OVERHEAD = 16;

/** Why a record could not be read. */
export type RecordErrorKind = "truncated" | "length-crc" | "data-crc";

/**
 * A record that is cut short or fails a CRC check. `offset` is where the record
 * starts, so the message can point at the exact bytes.
 *
 * @example
 * ```ts
 * try {
 *   for (const r of readRecords(bytes, { file: "a.tfrecord" })) use(r.data);
 * } catch (err) {
 *   if (err instanceof RecordError) console.log(err.file, err.offset, err.kind);
 * }
 * ```
 */
export class RecordError extends Error {
  override name = "RecordError";
  /** The file name the caller passed to `readRecords`. */
  readonly file: string;
  /** Byte offset of the start of the bad record. */
  readonly offset: number;
  readonly kind: RecordErrorKind;

  constructor(kind: RecordErrorKind, file: string, offset: number, detail: string) {
    const what = kind === "truncated"
      ? "Truncated record"
      : kind === "length-crc"
      ? "Bad length CRC in record"
      : "Bad data CRC in record";
    super(`${what} in ${file} at byte offset ${offset}: ${detail}`);
    this.kind = kind;
    this.file = file;
    this.offset = offset;
  }
}

/** One record's payload and where its framing starts in the input. */
export interface TFRecord {
  /** A view into the input bytes (not a copy). */
  data: Uint8Array;
  /** Byte offset of the record's length field. */
  offset: number;
}

/** Options for {@link readRecords}. */
export interface ReadRecordsOptions {
  /** Named in error messages; defaults to "<bytes>". */
  file?: string;
  /**
   * Stop without an error when the last record is cut short, as happens when the
   * writer crashed mid-append. CRC mismatches still throw: they mean corruption.
   */
  allowTruncatedTail?: boolean;
}

/**
 * Frames `data` as one TFRecord.
 *
 * @example
 * ```ts
 * const rec = encodeRecord(new TextEncoder().encode("hello"));
 * rec.length; // 5 + 16
 * ```
 */
export function encodeRecord(data: Uint8Array): Uint8Array {
  const out = new Uint8Array(data.length + RECORD_OVERHEAD);
  const view = new DataView(out.buffer);
  // Split into two uint32 halves because DataView's 64-bit setter needs a BigInt.
  view.setUint32(0, data.length % 0x100000000, true);
  view.setUint32(4, Math.floor(data.length / 0x100000000), true);
  view.setUint32(8, maskedCrc32c(out.subarray(0, 8)), true);
  out.set(data, 12);
  view.setUint32(12 + data.length, maskedCrc32c(data), true);
  return out;
}

/**
 * Concatenates the framed forms of several payloads, ready for one append.
 *
 * @example
 * ```ts
 * const bytes = encodeRecords([a, b]);
 * ```
 */
export function encodeRecords(payloads: readonly Uint8Array[]): Uint8Array {
  const framed = payloads.map(encodeRecord);
  const out = new Uint8Array(framed.reduce((n, r) => n + r.length, 0));
  let at = 0;
  for (const r of framed) {
    out.set(r, at);
    at += r.length;
  }
  return out;
}

/**
 * Yields each record in `bytes`, checking both CRCs. Throws a {@link RecordError}
 * naming the file and byte offset at the first bad or truncated record.
 *
 * @example
 * ```ts
 * const bytes = encodeRecords([new Uint8Array([1]), new Uint8Array([2, 3])]);
 * for (const { data, offset } of readRecords(bytes, { file: "x.tfrecord" })) {
 *   console.log(offset, data);
 * }
 * ```
 */
export function* readRecords(
  bytes: Uint8Array,
  { file = "<bytes>", allowTruncatedTail = false }: ReadRecordsOptions = {},
): Generator<TFRecord, void, undefined> {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let offset = 0;
  while (offset < bytes.length) {
    const left = bytes.length - offset;
    if (left < 12) {
      if (allowTruncatedTail) return;
      throw new RecordError("truncated", file, offset, `header needs 12 bytes, ${left} left`);
    }
    const stored = view.getUint32(offset + 8, true);
    if (maskedCrc32c(bytes.subarray(offset, offset + 8)) !== stored) {
      throw new RecordError("length-crc", file, offset, "the length field is corrupt");
    }
    const length = view.getUint32(offset, true) + view.getUint32(offset + 4, true) * 0x100000000;
    const need = length + RECORD_OVERHEAD;
    if (left < need) {
      if (allowTruncatedTail) return;
      throw new RecordError("truncated", file, offset, `record of ${length} data bytes needs ${need} bytes, ${left} left`);
    }
    const data = bytes.subarray(offset + 12, offset + 12 + length);
    if (maskedCrc32c(data) !== view.getUint32(offset + 12 + length, true)) {
      throw new RecordError("data-crc", file, offset, `${length} data bytes do not match their checksum`);
    }
    yield { data, offset };
    offset += need;
  }
}
