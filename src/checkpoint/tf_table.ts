/**
 * TensorFlow's immutable sorted table (the LevelDB table layout), the container
 * of a V2 checkpoint's `.index` file and of a whole V1 `.ckpt` file.
 *
 * Layout: data blocks, a metaindex block, an index block, then a 48-byte footer
 * (two block handles as varint64 pairs, zero padding, and the 64-bit magic
 * number). Every block is followed by a 5-byte trailer: its compression type and
 * the masked CRC32C of the block contents plus that type byte. A block holds
 * entries (shared key-prefix length, unshared length and value length as
 * varint32s, then the unshared key bytes and the value), an array of 32-bit
 * restart offsets where the prefix sharing starts over, and their count.
 *
 * The reader scans the whole table once, checking every checksum and bound, so
 * a damaged or hostile file ends in a `CheckpointError` naming the byte offset;
 * its work and memory are bounded by the file's size.
 * @module
 */
import { crc32c, maskCrc } from "../io/crc32c.ts";
import { CheckpointError } from "./safetensors.ts";
import { snappyUncompress } from "./tf_snappy.ts";

/**
 * One key/value pair of a table.
 *
 * @example
 * ```ts
 * const [header]: TableEntry[] = readTable(bytes, "model.ckpt.index"); // header.key is empty
 * ```
 */
export interface TableEntry {
  key: Uint8Array;
  value: Uint8Array;
  /** Absolute file offset of the block that holds the entry, for error messages. */
  blockOffset: number;
}

const FOOTER_SIZE = 48;
const TRAILER_SIZE = 5;
/** 0xdb4775248b80fb57 in little-endian byte order. */
const MAGIC = [0x57, 0xfb, 0x80, 0x8b, 0x24, 0x75, 0x47, 0xdb];
/** Tensor names are short; a key this long can only come from a damaged or hostile file. */
const MAX_KEY_BYTES = 1 << 16;

/**
 * Reads every entry of a table held in `bytes`, in key order. Values are views
 * into `bytes` (or into a decompressed block), so copy them before mutating.
 *
 * @throws CheckpointError naming `file` and the byte offset for a bad footer or
 * magic number, a block handle outside the file, a checksum mismatch, an
 * unknown compression type, malformed entries or keys out of order.
 * @example
 * ```ts
 * for (const { key, value } of readTable(await fs.readFile("model.ckpt.index"), "model.ckpt.index")) {
 *   console.log(new TextDecoder().decode(key), value.length);
 * }
 * ```
 */
export function readTable(bytes: Uint8Array, file: string): TableEntry[] {
  const fail = (reason: string, offset: number): never => {
    throw new CheckpointError(reason, { file, offset });
  };
  if (bytes.length < FOOTER_SIZE) fail(`file is ${bytes.length} bytes, too short for the ${FOOTER_SIZE}-byte table footer`, 0);
  const footerAt = bytes.length - FOOTER_SIZE;
  for (let i = 0; i < 8; i++) {
    if (bytes[footerAt + 40 + i] !== MAGIC[i]) fail("bad table magic number: not a TensorFlow table (.index or V1 .ckpt)", footerAt + 40);
  }
  const footer = new Cursor(bytes.subarray(footerAt, footerAt + 40), footerAt, fail);
  footer.handle("metaindex"); // TensorFlow writes no meta blocks; only the index is needed.
  const index = footer.handle("index");

  const indexBlock = readBlock(bytes, index, footerAt, "index", fail);
  const entries: TableEntry[] = [];
  // Shared prefixes let a few bytes stand for a long key; this caps what they may expand to.
  let keyBudget = 64 * bytes.length + (1 << 20);
  const charge = (n: number, at: number) => {
    keyBudget -= n;
    if (keyBudget < 0) fail("keys expand to more bytes than any real table holds", at);
  };
  let lastEnd = 0;
  let lastKey: Uint8Array | undefined;
  for (const { value } of parseBlock(indexBlock, index.offset, fail, charge)) {
    const c = new Cursor(value, index.offset, fail);
    const handle = c.handle("data block");
    // Blocks are written one after another; requiring that bounds the work by the file size.
    if (handle.offset < lastEnd) fail(`data block at ${handle.offset} overlaps the previous one, which ends at ${lastEnd}`, index.offset);
    if (handle.offset + handle.size + TRAILER_SIZE > index.offset) {
      fail(`data block [${handle.offset}, +${handle.size}] runs into the index block at ${index.offset}`, index.offset);
    }
    lastEnd = handle.offset + handle.size + TRAILER_SIZE;
    const block = readBlock(bytes, handle, footerAt, "data", fail);
    for (const entry of parseBlock(block, handle.offset, fail, charge)) {
      if (lastKey && compareBytes(lastKey, entry.key) >= 0) fail("keys are not in increasing order", handle.offset);
      lastKey = entry.key;
      entries.push({ key: entry.key, value: entry.value, blockOffset: handle.offset });
    }
  }
  return entries;
}

interface BlockHandle {
  offset: number;
  size: number;
}

type Fail = (reason: string, offset: number) => never;

/** Reads varints from a slice of the file; `base` is the slice's file offset, for messages. */
class Cursor {
  pos = 0;
  constructor(readonly bytes: Uint8Array, readonly base: number, readonly fail: Fail) {}

  /** A varint of at most 64 bits whose value must fit a safe integer. */
  varint(what: string): number {
    let value = 0;
    for (let shift = 0; ; shift += 7) {
      if (this.pos >= this.bytes.length) this.fail(`${what}: varint runs past the end`, this.base + this.pos);
      if (shift > 63) this.fail(`${what}: varint longer than 10 bytes`, this.base + this.pos);
      const b = this.bytes[this.pos++];
      value += (b & 0x7f) * 2 ** shift;
      if (b < 0x80) break;
    }
    if (!Number.isSafeInteger(value)) this.fail(`${what}: value ${value} is too large`, this.base + this.pos);
    return value;
  }

  handle(what: string): BlockHandle {
    return { offset: this.varint(`${what} handle offset`), size: this.varint(`${what} handle size`) };
  }
}

/** Checks a block's trailer and returns its (decompressed) contents. */
function readBlock(bytes: Uint8Array, h: BlockHandle, limit: number, what: string, fail: Fail): Uint8Array {
  if (h.offset + h.size + TRAILER_SIZE > limit) {
    fail(`${what} block [${h.offset}, +${h.size}] and its trailer run past the ${limit} bytes before the footer`, h.offset);
  }
  const end = h.offset + h.size;
  const type = bytes[end];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const stored = view.getUint32(end + 1, true);
  const actual = maskCrc(crc32c(bytes.subarray(h.offset, end + 1)));
  if (stored !== actual) {
    fail(`${what} block checksum mismatch (stored ${hex(stored)}, computed ${hex(actual)})`, h.offset);
  }
  const contents = bytes.subarray(h.offset, end);
  if (type === 0) return contents;
  if (type === 1) {
    try {
      return snappyUncompress(contents);
    } catch (err) {
      return fail(`${what} block does not decompress: ${(err as Error).message}`, h.offset);
    }
  }
  return fail(`${what} block has unknown compression type ${type} (expected 0, none, or 1, Snappy)`, end);
}

/** The entries of one block, with keys rebuilt from their shared prefixes. */
function* parseBlock(
  block: Uint8Array,
  at: number,
  fail: Fail,
  charge: (keyBytes: number, at: number) => void,
): Generator<{ key: Uint8Array; value: Uint8Array }> {
  if (block.length < 4) fail(`block of ${block.length} bytes is too short for its restart count`, at);
  const view = new DataView(block.buffer, block.byteOffset, block.byteLength);
  const restarts = view.getUint32(block.length - 4, true);
  if (restarts > (block.length - 4) / 4) fail(`block claims ${restarts} restart points, more than its ${block.length} bytes hold`, at);
  const limit = block.length - 4 - 4 * restarts;
  let previous: number | undefined;
  for (let i = 0; i < restarts; i++) {
    const r = view.getUint32(limit + 4 * i, true);
    if (r >= Math.max(limit, 1) || (previous !== undefined && r <= previous) || (i === 0 && r !== 0)) {
      fail(`restart point ${i} (${r}) is out of order or outside the ${limit} bytes of entries`, at + limit + 4 * i);
    }
    previous = r;
  }
  if (limit > 0 && restarts === 0) fail("block has entries but no restart points", at);
  const c = new Cursor(block.subarray(0, limit), at, fail);
  let key = new Uint8Array(0);
  while (c.pos < limit) {
    const entryAt = at + c.pos;
    const shared = c.varint("entry shared-prefix length");
    const unshared = c.varint("entry key length");
    const valueLength = c.varint("entry value length");
    if (shared > key.length) fail(`entry shares ${shared} key bytes, but the previous key has ${key.length}`, entryAt);
    if (unshared + valueLength > limit - c.pos) fail(`entry of ${unshared} key and ${valueLength} value bytes runs past its block`, entryAt);
    if (shared + unshared > MAX_KEY_BYTES) fail(`entry key of ${shared + unshared} bytes is longer than any tensor name`, entryAt);
    charge(shared + unshared, entryAt);
    const next = new Uint8Array(shared + unshared);
    next.set(key.subarray(0, shared));
    next.set(block.subarray(c.pos, c.pos + unshared), shared);
    key = next;
    c.pos += unshared;
    const value = block.subarray(c.pos, c.pos + valueLength);
    c.pos += valueLength;
    yield { key, value };
  }
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i] - b[i];
  return a.length - b.length;
}

function hex(n: number): string {
  return `0x${n.toString(16).padStart(8, "0")}`;
}
