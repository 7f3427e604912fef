import { assert, assertEquals, assertThrows, rng, test } from "../../test/harness.ts";
import { encodeRecord, encodeRecords, readRecords, RecordError } from "./tfrecord.ts";

function randomBytes(n: number, seed: number): Uint8Array {
  const r = rng(seed);
  return Uint8Array.from({ length: n }, () => Math.floor(r() * 256));
}

test("encodeRecord() lays out length, masked CRCs and data as hand-computed", () => {
  const rec = encodeRecord(new TextEncoder().encode("hello"));
  // Masked CRC32C of the header 05 00.. is 0x3e04b2ea and of "hello" 0x191c1fbb.
  assertEquals(Array.from(rec), [
    5, 0, 0, 0, 0, 0, 0, 0,
    0xea, 0xb2, 0x04, 0x3e,
    0x68, 0x65, 0x6c, 0x6c, 0x6f,
    0xbb, 0x1f, 0x1c, 0x19,
  ]);
});

test("readRecords() returns random payloads and their offsets unchanged", () => {
  const payloads = [randomBytes(37, 1), randomBytes(1, 2), randomBytes(0, 3), randomBytes(300, 4)];
  const bytes = encodeRecords(payloads);
  const got = [...readRecords(bytes, { file: "r.tfrecord" })];
  assertEquals(got.map((r) => Array.from(r.data)), payloads.map((p) => Array.from(p)));
  assertEquals(got.map((r) => r.offset), [0, 53, 70, 86]);
});

test("readRecords() works on a view that does not start at its buffer's start", () => {
  const payload = randomBytes(20, 5);
  const padded = new Uint8Array(7 + 36);
  padded.set(encodeRecord(payload), 7);
  const got = [...readRecords(padded.subarray(7))];
  assertEquals(Array.from(got[0].data), Array.from(payload));
});

test("readRecords() names the file and offset of a flipped data bit", async () => {
  const payloads = [randomBytes(10, 6), randomBytes(25, 7)];
  const r = rng(8);
  for (let trial = 0; trial < 20; trial++) {
    const bytes = encodeRecords(payloads);
    // Somewhere in the second record's data or data CRC (offset 26 onwards).
    const at = 26 + 12 + Math.floor(r() * 29);
    bytes[at] ^= 1 << Math.floor(r() * 8);
    const err = await assertThrows(() => [...readRecords(bytes, { file: "d.tfrecord" })], "d.tfrecord at byte offset 26");
    assert(err instanceof RecordError && err.kind === "data-crc" && err.offset === 26 && err.file === "d.tfrecord", err.message);
  }
});

test("readRecords() rejects a flipped length bit as a length CRC error, even with allowTruncatedTail", async () => {
  const bytes = encodeRecords([randomBytes(10, 9), randomBytes(12, 10)]);
  bytes[26 + 2] ^= 0x10;
  const err = await assertThrows(
    () => [...readRecords(bytes, { file: "l.tfrecord", allowTruncatedTail: true })],
    /^Bad length CRC in record in l\.tfrecord at byte offset 26/,
  );
  assert(err instanceof RecordError && err.kind === "length-crc");
  const crcFlip = encodeRecord(randomBytes(4, 11));
  crcFlip[9] ^= 0x80;
  await assertThrows(() => [...readRecords(crcFlip)], "Bad length CRC in record in <bytes> at byte offset 0");
});

test("readRecords() reports every truncation point of the last record, or stops quietly when allowed", async () => {
  const first = randomBytes(9, 12), second = randomBytes(14, 13);
  const whole = encodeRecords([first, second]);
  for (let cut = 25 + 1; cut < whole.length; cut++) {
    const bytes = whole.subarray(0, cut);
    const err = await assertThrows(() => [...readRecords(bytes, { file: "t.tfrecord" })], "Truncated record in t.tfrecord at byte offset 25");
    assert(err instanceof RecordError && err.kind === "truncated" && err.offset === 25);
    const got = [...readRecords(bytes, { file: "t.tfrecord", allowTruncatedTail: true })];
    assertEquals(got.map((g) => Array.from(g.data)), [Array.from(first)], `cut at ${cut}`);
  }
});

test("readRecords() yields records before the damage and throws only when it reaches it", async () => {
  const bytes = encodeRecords([randomBytes(5, 14), randomBytes(6, 15)]);
  bytes[bytes.length - 1] ^= 0xff;
  const it = readRecords(bytes);
  assertEquals(it.next().value?.offset, 0);
  await assertThrows(() => it.next(), "at byte offset 21");
});
