import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { assert, assertClose, assertEquals, assertThrows, randomArray, rng, test } from "../../test/harness.ts";
import { MemoryFileSystem } from "../fs/memory_fs.ts";
import { NodeFileSystem } from "../fs/node_fs.ts";
import type { FileSystem } from "../fs/types.ts";
import { encodeRecord, RecordError } from "../io/tfrecord.ts";
import { readEvents } from "./event_reader.ts";
import { EventFileWriter, histogramBuckets } from "./event_writer.ts";

// ---- An independent reader: its own CRC32C table and protobuf wire parser. ----

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
  return c >>> 0;
});
function masked(b: Uint8Array): number {
  let c = 0xffffffff;
  for (const x of b) c = CRC_TABLE[(c ^ x) & 0xff] ^ (c >>> 8);
  c = (c ^ 0xffffffff) >>> 0;
  return ((((c >>> 15) | (c << 17)) >>> 0) + 0xa282ead8) >>> 0;
}

function splitRecords(bytes: Uint8Array): Uint8Array[] {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: Uint8Array[] = [];
  for (let p = 0; p < bytes.length;) {
    assert(dv.getUint32(p + 4, true) === 0, "record longer than 4 GiB");
    const n = dv.getUint32(p, true);
    assertEquals(dv.getUint32(p + 8, true), masked(bytes.subarray(p, p + 8)), `length CRC at ${p}`);
    out.push(bytes.subarray(p + 12, p + 12 + n));
    assertEquals(dv.getUint32(p + 12 + n, true), masked(bytes.subarray(p + 12, p + 12 + n)), `data CRC at ${p}`);
    p += n + 16;
  }
  return out;
}

interface Wire {
  no: number;
  type: number;
  int: bigint;
  bytes: Uint8Array;
}
function parse(b: Uint8Array): Wire[] {
  let p = 0;
  const varint = (): bigint => {
    let r = 0n;
    for (let shift = 0n;; shift += 7n) {
      assert(p < b.length, "varint runs past the end");
      const x = b[p++];
      r |= BigInt(x & 0x7f) << shift;
      if (!(x & 0x80)) return r;
    }
  };
  const out: Wire[] = [];
  while (p < b.length) {
    const key = Number(varint()), type = key & 7, w: Wire = { no: key >>> 3, type, int: 0n, bytes: new Uint8Array(0) };
    const take = (n: number) => {
      assert(p + n <= b.length, "field runs past the end");
      w.bytes = b.subarray(p, (p += n));
    };
    if (type === 0) w.int = varint();
    else if (type === 1) take(8);
    else if (type === 2) take(Number(varint()));
    else if (type === 5) take(4);
    else throw new Error(`wire type ${type}`);
    out.push(w);
  }
  return out;
}
const all = (m: Wire[], no: number) => m.filter((f) => f.no === no);
const get = (m: Wire[], no: number) => all(m, no).at(-1);
const text = (w?: Wire) => w && new TextDecoder().decode(w.bytes);
const dv = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset, b.byteLength);
function packed(w: Wire | undefined, size: 4 | 8): number[] {
  if (!w) return [];
  assertEquals(w.type, 2, "repeated numbers are packed");
  const out: number[] = [];
  for (let o = 0; o < w.bytes.length; o += size) out.push(size === 8 ? dv(w.bytes).getFloat64(o, true) : dv(w.bytes).getFloat32(o, true));
  return out;
}

interface Decoded {
  wallTime: number;
  step: number;
  fileVersion?: string;
  values: { tag?: string; plugin?: string; dataClass?: number; dtype?: number; shape: number[]; floats: number[]; doubles: number[] }[];
}
function decodeIndependently(bytes: Uint8Array): Decoded[] {
  return splitRecords(bytes).map((rec) => {
    const ev = parse(rec), wt = get(ev, 1), step = get(ev, 2);
    const values = all(parse(get(ev, 5)?.bytes ?? new Uint8Array(0)), 1).map((vf) => {
      const v = parse(vf.bytes), meta = parse(get(v, 9)?.bytes ?? new Uint8Array(0));
      const t = parse(get(v, 8)?.bytes ?? new Uint8Array(0));
      const dims = all(parse(get(t, 2)?.bytes ?? new Uint8Array(0)), 2).map((d) => Number(get(parse(d.bytes), 1)?.int ?? 0n));
      const dtype = get(t, 1)?.int;
      return {
        tag: text(get(v, 1)),
        plugin: text(get(parse(get(meta, 1)?.bytes ?? new Uint8Array(0)), 1)),
        dataClass: get(meta, 4) && Number(get(meta, 4)!.int),
        dtype: dtype === undefined ? undefined : Number(dtype),
        shape: dims,
        floats: packed(get(t, 5), 4),
        doubles: packed(get(t, 6), 8),
      };
    });
    return {
      wallTime: wt ? dv(wt.bytes).getFloat64(0, true) : 0,
      step: step ? Number(BigInt.asIntN(64, step.int)) : 0,
      ...(get(ev, 3) ? { fileVersion: text(get(ev, 3)) } : {}),
      values,
    };
  });
}

// ---- Tests. ----

const NAME = /^events\.out\.tfevents\.(\d{10})\.testhost\.[0-9a-f]+\.\d+(.*)$/;

test("EventFileWriter.create() names the file for TensorBoard and starts it with the file version", async () => {
  const fs = new MemoryFileSystem();
  const before = Date.now() / 1000;
  const w = await EventFileWriter.create(fs, "logs/run1", { hostname: "testhost", filenameSuffix: ".v2" });
  const name = w.path.slice("logs/run1/".length);
  const m = NAME.exec(name);
  assert(w.path.startsWith("logs/run1/") && m && m[2] === ".v2", `unexpected path ${w.path}`);
  assert(Math.abs(Number(m[1]) - before) <= 2, `timestamp ${m[1]} is not now`);
  const [first] = decodeIndependently(await fs.readFile(w.path));
  assertEquals(first.fileVersion, "brain.Event:2");
  assert(first.wallTime >= before - 1 && first.wallTime <= Date.now() / 1000 + 1, `wall time ${first.wallTime}`);
  await w.close();
});

test("EventFileWriter.create() gives writers made in the same second different files", async () => {
  const fs = new MemoryFileSystem();
  const ws = await Promise.all([0, 1, 2].map(() => EventFileWriter.create(fs, "logs", { hostname: "testhost" })));
  assertEquals(new Set(ws.map((w) => w.path)).size, 3);
  assertEquals((await fs.readDir("logs")).length, 3);
  // Even when a name is already taken (another process, a second copy of this module), it picks another.
  const taken = Object.assign(Object.create(fs) as FileSystem, { createExclusive: () => Promise.resolve(false) });
  let calls = 0;
  const flaky = Object.assign(Object.create(fs) as FileSystem, {
    createExclusive: (p: string, d: Uint8Array) => ++calls === 1 ? Promise.resolve(false) : fs.createExclusive(p, d),
  });
  const w = await EventFileWriter.create(flaky, "logs", { hostname: "testhost" });
  assert(calls === 2 && !ws.some((x) => x.path === w.path), "a taken name was not skipped");
  await assertThrows(() => EventFileWriter.create(taken, "logs2", { hostname: "h" }), "Cannot create an event file in logs2");
});

test("EventFileWriter.addScalar() writes scalars-plugin float tensors an independent decoder reads", async () => {
  const fs = new MemoryFileSystem();
  const w = await EventFileWriter.create(fs, "logs", { hostname: "testhost" });
  const values = randomArray(20, 21, -50, 50), r = rng(22);
  const steps = Array.from({ length: 20 }, (_, i) => i * 1000 + Math.floor(r() * 1000) - 3);
  steps[19] = 2 ** 40 + 7; // beyond 32 bits: the int64 varint must carry it
  values.forEach((v, i) => w.addScalar(`loss/${i % 3}`, v, steps[i], 1_700_000_000 + i / 4));
  await w.close();
  const events = decodeIndependently(await fs.readFile(w.path)).slice(1);
  assertEquals(events.map((e) => e.step), steps);
  assertEquals(events.map((e) => e.wallTime), steps.map((_, i) => 1_700_000_000 + i / 4));
  for (const [i, e] of events.entries()) {
    assertEquals(e.values.length, 1);
    const v = e.values[0];
    assertEquals([v.tag, v.plugin, v.dataClass, v.dtype, v.shape], [`loss/${i % 3}`, "scalars", 1, 1, []]);
    assertEquals(v.floats, [values[i]]);
  }
  const back = readEvents(await fs.readFile(w.path), { file: w.path }).slice(1);
  assertEquals(back.map((e) => e.values[0].value), Array.from(values));
  assertEquals(back.map((e) => [e.step, e.values[0].kind, e.values[0].pluginName]), steps.map((s) => [s, "scalar", "scalars"]));
});

test("EventFileWriter.addHistogram() counts every random value exactly once in [k, 3] double rows", async () => {
  const fs = new MemoryFileSystem();
  const w = await EventFileWriter.create(fs, "logs", { hostname: "testhost" });
  const values = randomArray(1000, 31, -3, 5);
  w.addHistogram("w", values, 7, { bins: 13 });
  w.addHistogram("same", new Float32Array(9).fill(values[3]), 8);
  w.addHistogram("empty", [], 9);
  await w.close();
  const [h, same, empty] = decodeIndependently(await fs.readFile(w.path)).slice(1).map((e) => e.values[0]);
  assertEquals([h.tag, h.plugin, h.dataClass, h.dtype, h.shape], ["w", "histograms", 2, 2, [13, 3]]);
  const rows = Array.from({ length: 13 }, (_, k) => h.doubles.slice(3 * k, 3 * k + 3));
  const min = Math.min(...values), max = Math.max(...values);
  assertClose([rows[0][0], rows[12][1]], [min, max], { atol: 0, rtol: 0 });
  for (let k = 0; k < 13; k++) {
    const [lo, hi, count] = rows[k];
    assertClose(hi - lo, (max - min) / 13, { rtol: 1e-9 });
    if (k > 0) assertEquals(lo, rows[k - 1][1], `bucket ${k} starts where ${k - 1} ends`);
    const inside = values.filter((v) => v >= lo && (v < hi || (k === 12 && v === hi))).length;
    assertEquals(count, inside, `bucket ${k}`);
  }
  assertEquals(rows.reduce((n, row) => n + row[2], 0), 1000);
  assertEquals([same.shape, same.doubles], [[1, 3], [values[3], values[3], 9]]);
  assertEquals([empty.shape, empty.doubles, empty.plugin], [[0, 3], [], "histograms"]);
  const back = readEvents(await fs.readFile(w.path)).slice(1).map((e) => e.values[0]);
  assertEquals(back[0].buckets, rows);
  assertEquals([back[1].kind, back[1].buckets, back[2].buckets], ["histogram", [[values[3], values[3], 9]], []]);
});

test("histogramBuckets() splits hand-made data and rejects non-finite values", async () => {
  assertEquals(histogramBuckets([0, 1, 2, 4], 2), [[0, 2, 2], [2, 4, 2]]);
  assertEquals(histogramBuckets([-1e308, 1e308, 0], 2), [[-1e308, 0, 1], [0, 1e308, 2]]);
  await assertThrows(() => histogramBuckets([1, NaN], 3), "values[1] is NaN");
  await assertThrows(() => histogramBuckets([1, 2], 0), "bins must be a positive integer");
});

test("EventFileWriter keeps records in memory until flush(), then appends them in order", async () => {
  const fs = new MemoryFileSystem();
  const w = await EventFileWriter.create(fs, "logs", { hostname: "testhost" });
  const size0 = (await fs.stat(w.path))!.size;
  const vals = randomArray(4, 41);
  w.addScalar("a", vals[0], 1);
  w.addScalar("a", vals[1], 2);
  assertEquals([(await fs.stat(w.path))!.size, w.pendingRecords], [size0, 2]);
  const first = w.flush();
  w.addScalar("a", vals[2], 3);
  const second = w.flush();
  w.addScalar("a", vals[3], 4);
  await Promise.all([first, second]);
  assertEquals(readEvents(await fs.readFile(w.path)).slice(1).map((e) => e.step), [1, 2, 3]);
  await w.close();
  assertEquals(readEvents(await fs.readFile(w.path)).slice(1).map((e) => e.values[0].value), Array.from(vals));
  await assertThrows(() => w.addScalar("a", 1, 5), /^addScalar\(a\): event file .* is closed/);
  await w.close(); // a second close is harmless
});

test("EventFileWriter flushes on its own after flushSecs", async () => {
  const fs = new MemoryFileSystem();
  const w = await EventFileWriter.create(fs, "logs", { hostname: "testhost", flushSecs: 0.03 });
  const v = randomArray(1, 51)[0];
  w.addScalar("auto", v, 11);
  assertEquals(readEvents(await fs.readFile(w.path)).length, 1);
  await new Promise((r) => setTimeout(r, 120));
  const events = readEvents(await fs.readFile(w.path));
  assertEquals([events.length, events[1].step, events[1].values[0].value], [2, 11, v]);
  await w.close();
});

test("EventFileWriter rejects bad steps and values, naming the tag", async () => {
  const w = await EventFileWriter.create(new MemoryFileSystem(), "logs", { hostname: "testhost" });
  await assertThrows(() => w.addScalar("lr", 0.1, 1.5), "addScalar(lr): step must be an integer, got 1.5");
  await assertThrows(() => w.addHistogram("w", [1, Infinity], 3), "addHistogram(w) at step 3: values[1] is Infinity");
  assertEquals(w.pendingRecords, 0);
  await assertThrows(() => EventFileWriter.create(new MemoryFileSystem(), "x", { hostname: "h", flushSecs: 0 }), "flushSecs must be positive");
});

test("EventFileWriter stops writing after a failed append and reports it on the next call", async () => {
  const fs = new MemoryFileSystem();
  let fail = false;
  const failing = Object.assign(Object.create(fs) as FileSystem, {
    openAppend: async (p: string) => {
      const h = await fs.openAppend(p);
      return { ...h, write: (d: Uint8Array) => fail ? Promise.reject(new Error("no space left on device")) : h.write(d) };
    },
  });
  const w = await EventFileWriter.create(failing, "logs", { hostname: "testhost" });
  w.addScalar("x", 0.5, 1);
  fail = true;
  await assertThrows(() => w.flush(), /^Event file logs\/.* can no longer be written: no space left on device/);
  fail = false;
  await assertThrows(() => w.addScalar("x", 0.7, 2), "can no longer be written");
  await assertThrows(() => w.close(), "can no longer be written");
});

test("EventFileWriter on NodeFileSystem leaves a file readable up to its last whole record after a torn append", async () => {
  const dir = mkdtempSync(join(tmpdir(), "slimtrain-events-"));
  try {
    const w = await EventFileWriter.create(new NodeFileSystem(), join(dir, "run"), { hostname: "testhost" });
    assert(NAME.test(w.path.slice(join(dir, "run").length + 1)), w.path);
    const vals = randomArray(5, 61), hist = randomArray(200, 62);
    vals.forEach((v, i) => w.addScalar("loss", v, i + 1));
    w.addHistogram("act", hist, 5, { bins: 8 });
    await w.flush();
    const flushed = readFileSync(w.path);
    const decoded = decodeIndependently(new Uint8Array(flushed));
    assertEquals(decoded.slice(1, 6).map((e) => e.values[0].floats[0]), Array.from(vals));
    const counts = decoded[6].values[0].doubles.filter((_, i) => i % 3 === 2);
    assertEquals([counts.length, counts.reduce((a, b) => a + b, 0)], [8, 200]);
    await w.close();
    // A crash mid-append leaves part of a record; readers stop before it.
    const torn = join(dir, "torn");
    const partial = encodeRecord(new Uint8Array(randomArray(10, 63).buffer)).subarray(0, 30);
    writeFileSync(torn, Buffer.concat([flushed, partial]));
    const bytes = new Uint8Array(readFileSync(torn));
    assertEquals(readEvents(bytes, { file: torn, allowTruncatedTail: true }).length, 7);
    const err = await assertThrows(() => readEvents(bytes, { file: torn }), `${torn} at byte offset ${flushed.length}`);
    assert(err instanceof RecordError && err.kind === "truncated");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("readEvents() also reads legacy simple_value and HistogramProto summaries", async () => {
  const fs = new MemoryFileSystem();
  const w = await EventFileWriter.create(fs, "logs", { hostname: "testhost" });
  const [a, b] = randomArray(2, 71);
  w.addEvent({ wallTime: 5, step: 3, summary: { value: [{ tag: "old", simpleValue: a }] } });
  w.addEvent({
    wallTime: 6,
    step: 4,
    summary: { value: [{ tag: "oldh", histo: { min: -1, max: 2, bucketLimit: [0, 2], bucket: [3, 4] } }, { tag: "x", simpleValue: b }] },
  });
  await w.close();
  const [, e1, e2] = readEvents(await fs.readFile(w.path));
  assertEquals([e1.step, e1.values], [3, [{ tag: "old", kind: "scalar", value: a }]]);
  assertEquals(e2.values.map((v) => [v.tag, v.kind, v.buckets ?? v.value]), [["oldh", "histogram", [[-1, 0, 3], [0, 2, 4]]], ["x", "scalar", b]]);
});
