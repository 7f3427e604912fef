import { assert, assertClose, assertEquals, assertThrows, randomArray, rng, test } from "../../test/harness.ts";
import { defaultFileSystem } from "../fs/default.ts";
import { MemoryFileSystem } from "../fs/memory_fs.ts";
import { encodeRecord, readRecords, RecordError } from "../io/tfrecord.ts";
import { encodeExample, type Feature, parseExample } from "./example_proto.ts";
import { resizeBilinear } from "./image.ts";
import { tfrecordDataset } from "./tfrecord_dataset.ts";
import { digitFixtures, expectedPixels, FIXTURES } from "./test_fixtures.ts";

/**
 * The same bytes as a plain Uint8Array: protobufjs hands out Node Buffers where
 * the runtime has them, and strict equality tells a Buffer from a Uint8Array.
 */
function plain(bytes: Uint8Array): Uint8Array {
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

async function fixtureShard(): Promise<Uint8Array> {
  const fs = await defaultFileSystem();
  return fs.readFile(fs.join(FIXTURES, "digits.tfrecord"));
}

async function memoryShard(name: string, bytes: Uint8Array): Promise<MemoryFileSystem> {
  const fs = new MemoryFileSystem();
  if (name.includes("/")) await fs.mkdirp(name.slice(0, name.lastIndexOf("/")));
  await fs.writeFileAtomic(name, bytes);
  return fs;
}

test("tfrecordDataset() decodes the fixture shard to its labels and pixels", async () => {
  const expected = await digitFixtures();
  const fs = await defaultFileSystem();
  const file = fs.join(FIXTURES, expected.tfrecord.file);
  const got = await tfrecordDataset(fs, file, { height: 28, width: 28, channels: 1 }).toArray();
  const records = expected.tfrecord.records;
  assertEquals(got.length, records.length);
  assert(records.some((r) => r.format === "raw") && records.some((r) => r.format === "png"), "fixture formats");
  got.forEach(({ image, label }, i) => {
    const img = expected.images[records[i].image];
    assertEquals(label.shape, []);
    assertEquals(label.data, BigInt64Array.of(BigInt(records[i].label)));
    assertEquals(image.shape, [28, 28, 1]);
    assertClose(image.data as Float32Array, expectedPixels(img, 1), { atol: 1e-6, message: `record ${i} (${img.file})` });
  });
  const big = await tfrecordDataset(fs, [file, file], { height: 32, width: 30 }).batch(24).toArray();
  assertEquals(big.map((b) => [b.image.shape, b.label.shape]), [[[24, 32, 30, 3], [24]]]);
  const rgb = expected.images.findIndex((i) => i.channels === 3);
  const want = resizeBilinear({ dtype: "float32", shape: [28, 28, 3], data: Float32Array.from(expectedPixels(expected.images[rgb], 3)) }, 32, 30);
  const per = 32 * 30 * 3, at = records.findIndex((r) => r.image === rgb) + records.length;
  assertClose((big[0].image.data as Float32Array).subarray(at * per, (at + 1) * per), want.data as Float32Array, { atol: 1e-6 });
});

test("tfrecordDataset() names the file and offset of a bit-flipped or truncated record", async () => {
  const expected = await digitFixtures();
  const shard = await fixtureShard();
  const { offset } = expected.tfrecord.records[4];
  const flipped = shard.slice();
  flipped[offset + 40] ^= 0x04;
  const seen: number[] = [];
  const flippedFs = await memoryShard("data/flipped.tfrecord", flipped);
  const err = await assertThrows(async () => {
    for await (const { label } of tfrecordDataset(flippedFs, "data/flipped.tfrecord", { height: 28, width: 28 })) {
      seen.push(Number(label.data[0]));
    }
  }, "data/flipped.tfrecord");
  assert(err instanceof RecordError && err.kind === "data-crc", `not a CRC error: ${err.message}`);
  assert(err.message.includes(`offset ${offset}`), `offset ${offset} not named: ${err.message}`);
  assertEquals(seen, expected.tfrecord.records.slice(0, 4).map((r) => r.label));

  const last = expected.tfrecord.records.at(-1)!.offset;
  const cut = shard.slice(0, last + Math.floor((shard.length - last) / 2));
  const fs = await memoryShard("cut.tfrecord", cut);
  const err2 = await assertThrows(() => tfrecordDataset(fs, "cut.tfrecord", { height: 28, width: 28 }).toArray(), "cut.tfrecord");
  assert(err2 instanceof RecordError && err2.kind === "truncated", `not a truncation error: ${err2.message}`);
  assert(err2.message.includes(`offset ${last}`), `offset ${last} not named: ${err2.message}`);
});

test("tfrecordDataset() names the missing feature, the file and the record index", async () => {
  const shard = await fixtureShard();
  const first = readRecords(shard, { file: "fixture" }).next().value!.data;
  const features = parseExample(first);
  features.delete("image/class/label");
  const bad = encodeRecord(encodeExample(features));
  const bytes = new Uint8Array(encodeRecord(first).length + bad.length);
  bytes.set(encodeRecord(first));
  bytes.set(bad, encodeRecord(first).length);
  const fs = await memoryShard("m.tfrecord", bytes);
  await assertThrows(
    () => tfrecordDataset(fs, "m.tfrecord", { height: 28, width: 28 }).toArray(),
    /Feature image\/class\/label is missing from record 1 of m\.tfrecord/,
  );
  features.set("image/class/label", { kind: "float", value: Float32Array.of(3) });
  const fs2 = await memoryShard("k.tfrecord", encodeRecord(encodeExample(features)));
  await assertThrows(
    () => tfrecordDataset(fs2, "k.tfrecord", { height: 28, width: 28 }).toArray(),
    /Feature image\/class\/label of record 0 of k\.tfrecord .* is a float_list, expected a int64_list/,
  );
});

test("encodeExample() reproduces the Python-written records byte for byte", async () => {
  const shard = await fixtureShard();
  let n = 0;
  for (const { data } of readRecords(shard, { file: "digits.tfrecord" })) {
    const parsed = parseExample(data);
    assertEquals(parsed.get("image/height"), { kind: "int64", value: BigInt64Array.of(28n) });
    assertEquals(plain(encodeExample(parsed)), plain(data), `record ${n++}`);
  }
  assertEquals(n, 12);
});

test("parseExample() round-trips float, bytes and full-range int64 features", () => {
  const r = rng(141);
  const ints = BigInt64Array.from({ length: 6 }, () => BigInt.asIntN(64, BigInt(Math.floor(r() * 2 ** 32)) << 31n | 12345n));
  ints[0] = -(2n ** 63n);
  const floats = randomArray(7, 142, -1e3, 1e3);
  const blobs = [Uint8Array.from(randomArray(9, 143, 0, 256), Math.floor), new Uint8Array(0)];
  const features: Record<string, Feature> = {
    f: { kind: "float", value: floats },
    i: { kind: "int64", value: ints },
    b: { kind: "bytes", value: blobs },
  };
  const back = parseExample(encodeExample(features));
  assertEquals(back.get("f"), features.f);
  assertEquals(back.get("i"), features.i);
  const bytes = back.get("b")!;
  assertEquals({ ...bytes, value: (bytes.value as Uint8Array[]).map(plain) }, features.b);
  assert(ints.some((v) => v < 0n) && ints.some((v) => v > 2n ** 53n), "int64 range not covered");
});
