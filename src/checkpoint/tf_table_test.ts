// Hostile tables, built here byte by byte: what a crafted file claims (huge keys,
// shapes, sizes, offsets) must end in a CheckpointError before anything of that
// size is allocated.
import protobuf from "protobufjs/light.js";
import { MemoryFileSystem } from "../fs/memory_fs.ts";
import { crc32c, maskCrc } from "../io/crc32c.ts";
import { assertEquals, assertThrows, test } from "../../test/harness.ts";
import { readTensorflowCheckpoint } from "./tf_checkpoint.ts";
import { decodeTensorSliceCheckpoint } from "./tf_checkpoint_v1.ts";
import { readTable } from "./tf_table.ts";

/** One raw entry: the shared-prefix length is given, not computed, so it can lie. */
interface RawEntry {
  shared: number;
  key: Uint8Array;
  value: Uint8Array;
}

function varint(n: number): number[] {
  const out: number[] = [];
  while (n >= 0x80) {
    out.push((n % 0x80) | 0x80);
    n = Math.floor(n / 0x80);
  }
  out.push(n);
  return out;
}

function block(entries: RawEntry[]): number[] {
  const out: number[] = [];
  for (const e of entries) out.push(...varint(e.shared), ...varint(e.key.length), ...varint(e.value.length), ...e.key, ...e.value);
  return [...out, 0, 0, 0, 0, 1, 0, 0, 0]; // one restart point at 0
}

/** A table of one data block holding `entries`, with valid checksums everywhere. */
function table(entries: RawEntry[]): Uint8Array {
  const out: number[] = [];
  const put = (contents: number[]) => {
    const handle = [...varint(out.length), ...varint(contents.length)];
    const withType = [...contents, 0];
    const crc = maskCrc(crc32c(Uint8Array.from(withType)));
    out.push(...withType, crc & 0xff, (crc >>> 8) & 0xff, (crc >>> 16) & 0xff, crc >>> 24);
    return handle;
  };
  const data = put(block(entries));
  const meta = put(block([]));
  const index = put(block([{ shared: 0, key: new Uint8Array([0xff]), value: Uint8Array.from(data) }]));
  const footer = [...meta, ...index];
  while (footer.length < 40) footer.push(0);
  footer.push(0x57, 0xfb, 0x80, 0x8b, 0x24, 0x75, 0x47, 0xdb);
  return Uint8Array.from([...out, ...footer]);
}

const text = (s: string) => new TextEncoder().encode(s);

test("readTable() reads a table built by hand, and refuses keys out of order or sharing more than the previous key has", async () => {
  const ok = table([{ shared: 0, key: text("abc"), value: text("1") }, { shared: 2, key: text("d"), value: text("22") }]);
  assertEquals(readTable(ok, "t").map((e) => new TextDecoder().decode(e.key)), ["abc", "abd"]);
  const entry = (shared: number, key: string) => ({ shared, key: text(key), value: text("") });
  await assertThrows(() => readTable(table([entry(0, "b"), entry(0, "a")]), "t"), "keys are not in increasing order");
  await assertThrows(() => readTable(table([entry(0, "a"), entry(5, "b")]), "t"), "entry shares 5 key bytes, but the previous key has 1");
});

test("readTable() stops a table whose shared prefixes expand a few bytes into gigabytes of keys", async () => {
  const long = new Uint8Array(60_000).fill(0x61);
  // Each further entry is 6 bytes on disk but a 60 kB key: 2,000 of them would be 120 MB.
  const entries = [{ shared: 0, key: long, value: new Uint8Array(0) }];
  for (let i = 1; i < 2000; i++) entries.push({ shared: 59_998, key: Uint8Array.of(0x62 + (i >> 8), i & 0xff), value: new Uint8Array(0) });
  await assertThrows(() => readTable(table(entries), "bomb.index"), "keys expand to more bytes than any real table holds");
});

/** A protobuf message from (field, wire type, value) triples; nested messages as Uint8Array. */
function message(fields: [number, "varint" | "bytes", number | Uint8Array][]): Uint8Array {
  const w = protobuf.Writer.create();
  for (const [id, kind, v] of fields) {
    if (kind === "varint") w.uint32((id << 3) | 0).int64(v as number);
    else w.uint32((id << 3) | 2).bytes(v as Uint8Array);
  }
  return w.finish();
}

const shape = (...dims: number[]) => message(dims.map((d) => [2, "bytes", message([[1, "varint", d]])]));

test("decodeTensorSliceCheckpoint() refuses a table of contents claiming a tensor larger than the file, before allocating it", async () => {
  const huge = message([[1, "bytes", text("huge")], [2, "bytes", shape(1e6, 1e6)], [3, "varint", 1]]);
  const meta = message([[1, "bytes", message([[1, "bytes", huge]])]]);
  const bytes = table([{ shared: 0, key: new Uint8Array(0), value: meta }]);
  await assertThrows(
    () => decodeTensorSliceCheckpoint(bytes, { file: "huge.ckpt" }),
    /tensor "huge".*shape \[1000000, 1000000\] has 1000000000000 elements, more than the file can hold/,
  );
});

test("readTensorflowCheckpoint() refuses V2 entries whose offset, size or shard lie outside the data", async () => {
  const fs = new MemoryFileSystem();
  await fs.writeFileAtomic("m.data-00000-of-00001", new Uint8Array(16));
  const header = message([[1, "varint", 1]]);
  const cases: [string, [number, "varint" | "bytes", number | Uint8Array][], RegExp][] = [
    ["size", [[1, "varint", 1], [2, "bytes", shape(2 ** 40)], [5, "varint", 2 ** 42]], /bytes \[0, \+4398046511104\] lie outside the 16-byte shard/],
    ["offset", [[1, "varint", 1], [2, "bytes", shape(2)], [4, "varint", 12], [5, "varint", 8]], /bytes \[12, \+8\] lie outside/],
    ["shape", [[1, "varint", 1], [2, "bytes", shape(3)], [5, "varint", 8]], /entry holds 8 bytes, but shape \[3\] of float needs 12/],
    ["shard", [[1, "varint", 1], [2, "bytes", shape(2)], [3, "varint", 7], [5, "varint", 8]], /entry names shard 7, but the checkpoint has 1/],
  ];
  for (const [what, entry, pattern] of cases) {
    await fs.writeFileAtomic("m.index", table([
      { shared: 0, key: new Uint8Array(0), value: header },
      { shared: 0, key: text("t"), value: message(entry) },
    ]));
    const err = await assertThrows(() => readTensorflowCheckpoint("m", fs), pattern);
    assertEquals((err as { tensor?: string }).tensor, "t", what);
  }
  // Two valid entries over the same 16 bytes: the second is refused, whatever its checksum says.
  const zeros = message([[1, "varint", 1], [2, "bytes", shape(4)], [5, "varint", 16], [6, "varint", 0]]);
  const crc = maskCrc(crc32c(new Uint8Array(16)));
  const entry = Uint8Array.from([...zeros.subarray(0, zeros.length - 2), 0x35, crc & 0xff, (crc >>> 8) & 0xff, (crc >>> 16) & 0xff, crc >>> 24]);
  await fs.writeFileAtomic("m.index", table([
    { shared: 0, key: new Uint8Array(0), value: header },
    { shared: 0, key: text("t1"), value: entry },
    { shared: 1, key: text("2"), value: entry },
  ]));
  await assertThrows(() => readTensorflowCheckpoint("m", fs), /tensor "t2".*entries claim 32 bytes of a 16-byte shard: they overlap/);
  assertEquals((await readTensorflowCheckpoint("m", fs, { names: ["t1"] })).tensors.get("t1")!.data, new Float32Array(4));
});
