// TensorFlow checkpoints: fixtures from an independent Python writer (V1, V2,
// multi-shard, Snappy-compressed index, damaged copies), a small V2 checkpoint
// written by TensorFlow itself, and the Snappy decoder's bounds.
import { hasNodeFs } from "../fs/default.ts";
import { MemoryFileSystem } from "../fs/memory_fs.ts";
import { assert, assertEquals, assertThrows, test } from "../../test/harness.ts";
import { CheckpointError } from "./safetensors.ts";
import { readTensorflowCheckpoint } from "./tf_checkpoint.ts";
import { decodeTensorSliceCheckpoint } from "./tf_checkpoint_v1.ts";
import { keyString, tensorSliceKey } from "./tf_slice_key.ts";
import { snappyUncompress } from "./tf_snappy.ts";
import { readTable } from "./tf_table.ts";
import { assertMatchesExpected, expectedCheckpoints, fixtureFs, TF_FIXTURES } from "./tf_test_fixtures.ts";

const fixtureTest = (name: string, fn: () => Promise<void>) =>
  hasNodeFs() ? test(name, fn) : test.skip(name, "reading the fixtures needs node:fs");

fixtureTest("readTensorflowCheckpoint() reads a V2 checkpoint bit for bit: float32, float64, float16, int32, int64, bool, empty, partitioned", async () => {
  const fs = await fixtureFs();
  const expected = await expectedCheckpoints(fs);
  const r = await readTensorflowCheckpoint(`${TF_FIXTURES}/v2/model.ckpt-12`, fs);
  assertEquals(r.kind, "tensorflow-v2");
  assertMatchesExpected(r.tensors, r.skipped, expected["v2/model.ckpt-12"]);
  assertEquals([...r.converted].sort(), [["extra/half", "half"], ["extra/moving_variance_f64", "double"]]);
});

fixtureTest("readTensorflowCheckpoint() reads a two-shard V2 checkpoint (a variable partitioned across both) by prefix, .index or data file", async () => {
  const fs = await fixtureFs();
  const expected = (await expectedCheckpoints(fs))["v2_sharded/model.ckpt"];
  for (const path of ["model.ckpt", "model.ckpt.index", "model.ckpt.data-00001-of-00002"]) {
    const r = await readTensorflowCheckpoint(`${TF_FIXTURES}/v2_sharded/${path}`, fs);
    assertEquals(r.path, `${TF_FIXTURES}/v2_sharded/model.ckpt`);
    assertMatchesExpected(r.tensors, r.skipped, expected);
  }
});

fixtureTest("readTensorflowCheckpoint() reads a V2 index whose blocks are Snappy-compressed", async () => {
  const fs = await fixtureFs();
  const expected = (await expectedCheckpoints(fs))["v2_snappy/model.ckpt"];
  const r = await readTensorflowCheckpoint(`${TF_FIXTURES}/v2_snappy/model.ckpt`, fs);
  assertMatchesExpected(r.tensors, r.skipped, expected);
});

fixtureTest("readTensorflowCheckpoint() reads a V1 .ckpt file and assembles a tensor saved as two slices", async () => {
  const fs = await fixtureFs();
  const expected = (await expectedCheckpoints(fs))["vgg_16.ckpt"];
  const r = await readTensorflowCheckpoint(`${TF_FIXTURES}/vgg_16.ckpt`, fs);
  assertEquals(r.kind, "tensorflow-v1");
  assertMatchesExpected(r.tensors, r.skipped, expected);
});

fixtureTest("readTensorflowCheckpoint() reads a V2 checkpoint TensorFlow wrote, checking TensorFlow's own checksums", async () => {
  const fs = await fixtureFs();
  const r = await readTensorflowCheckpoint(`${TF_FIXTURES}/real_tf/regression/variables`, fs);
  const summary = [...r.tensors].map(([k, t]) => [k, t.dtype, t.shape]);
  assertEquals(summary, [
    ["b/.ATTRIBUTES/VARIABLE_VALUE", "float32", [1]],
    ["optimizer/decay/.ATTRIBUTES/VARIABLE_VALUE", "float32", []],
    ["optimizer/iter/.ATTRIBUTES/VARIABLE_VALUE", "int64", []],
    ["optimizer/learning_rate/.ATTRIBUTES/VARIABLE_VALUE", "float32", []],
    ["optimizer/momentum/.ATTRIBUTES/VARIABLE_VALUE", "float32", []],
    ["w/.ATTRIBUTES/VARIABLE_VALUE", "float32", [1]],
  ]);
  assertEquals([...r.skipped], [["_CHECKPOINTABLE_OBJECT_GRAPH", "dtype string"]]);
  // What its script set: SGD(0.5), b = zeros([1]), w uniform in [-1, 1).
  assertEquals(r.tensors.get("optimizer/learning_rate/.ATTRIBUTES/VARIABLE_VALUE")!.data[0], 0.5);
  assertEquals(r.tensors.get("b/.ATTRIBUTES/VARIABLE_VALUE")!.data[0], 0);
  assert(Math.abs(r.tensors.get("w/.ATTRIBUTES/VARIABLE_VALUE")!.data[0] as number) < 1);
});

fixtureTest("readTensorflowCheckpoint() reads a V1 checkpoint saved in two files by either file's name or the ?????-pattern", async () => {
  const fs = await fixtureFs();
  const expected = (await expectedCheckpoints(fs))["v1_sharded/model.ckpt"];
  for (const name of ["model.ckpt-00001-of-00002", "model.ckpt-?????-of-00002"]) {
    const r = await readTensorflowCheckpoint(`${TF_FIXTURES}/v1_sharded/${name}`, fs);
    assertMatchesExpected(r.tensors, r.skipped, expected);
  }
  await assertThrows(() => readTensorflowCheckpoint(`${TF_FIXTURES}/v1_sharded/model.ckpt-00002-of-00003`, fs), /model\.ckpt-00000-of-00003: cannot be read/);
});

fixtureTest("readTensorflowCheckpoint() reads V1 files TensorFlow wrote (half_plus_two: a = 0.5, b = 2)", async () => {
  const fs = await fixtureFs();
  for (const [path, names] of [["half_plus_two/export-00000-of-00001", ["a", "b"]], ["bad_half_plus_two/export", ["Variable", "Variable_1"]]]) {
    const r = await readTensorflowCheckpoint(`${TF_FIXTURES}/real_tf/${path}`, fs);
    assertEquals(r.kind, "tensorflow-v1");
    assertEquals([...r.tensors].map(([k, t]) => [k, t.dtype, t.shape, Array.from(t.data as Float32Array)]), [
      [names[0], "float32", [], [0.5]],
      [names[1], "float32", [], [2]],
    ]);
  }
});

fixtureTest("tensorSliceKey() spells keys as TensorFlow's V1 files and the fixture writer do", async () => {
  const fs = await fixtureFs();
  const real = readTable(await fs.readFile(`${TF_FIXTURES}/real_tf/half_plus_two/export-00000-of-00001`), "tf");
  assertEquals(real.slice(1).map((e) => keyString(e.key)), [tensorSliceKey("a", []), tensorSliceKey("b", [])]);
  // vgg_16.ckpt's fc8 slices: extents [*, *, *, 0:2] and [*, *, *, 2:5], whole dimensions spelled start 0, length -1.
  const keys = new Set(readTable(await fs.readFile(`${TF_FIXTURES}/vgg_16.ckpt`), "v1").map((e) => keyString(e.key)));
  const whole = { start: 0, length: -1 };
  assert(keys.has(tensorSliceKey("vgg_16/fc8/weights", [whole, whole, whole, { start: 0, length: 2 }])));
  assert(keys.has(tensorSliceKey("vgg_16/fc8/weights", [whole, whole, whole, { start: 2, length: 3 }])));
  // Two-byte codes for starts of 64 and more, in the sharded fixture's index.
  const v2 = new Set(readTable(await fs.readFile(`${TF_FIXTURES}/v2_sharded/model.ckpt.index`), "v2").map((e) => keyString(e.key)));
  assert(v2.has(tensorSliceKey("net/part/weights", [{ start: 66, length: 4 }, whole])));
});

fixtureTest("readTensorflowCheckpoint() with names reads only those, and a named string tensor is an error naming it", async () => {
  const fs = await fixtureFs();
  for (const path of ["v2/model.ckpt-12", "vgg_16.ckpt"]) {
    const r = await readTensorflowCheckpoint(`${TF_FIXTURES}/${path}`, fs, { names: ["vgg_16/fc8/biases", "global_step", "absent"] });
    assertEquals([...r.tensors.keys()].sort(), ["global_step", "vgg_16/fc8/biases"]);
    const err = await assertThrows(
      () => readTensorflowCheckpoint(`${TF_FIXTURES}/${path}`, fs, { names: ["extra/labels"] }),
      "dtype string: slimtrain cannot restore it",
    );
    assert(err instanceof CheckpointError && err.tensor === "extra/labels", err.message);
  }
});

fixtureTest("readTensorflowCheckpoint() on damaged fixtures: CheckpointError naming the file, the tensor or block, and the offset", async () => {
  const fs = await fixtureFs();
  const { corrupt } = await expectedCheckpoints(fs);
  const v2 = corrupt["v2_corrupt/model.ckpt-12"];
  const err = await assertThrows(() => readTensorflowCheckpoint(`${TF_FIXTURES}/v2_corrupt/model.ckpt-12`, fs), "checksum mismatch");
  assert(err instanceof CheckpointError);
  assertEquals([err.file.endsWith(v2.file), err.tensor, err.offset], [true, v2.tensor, v2.offset]);
  const v1 = await assertThrows(() => readTensorflowCheckpoint(`${TF_FIXTURES}/vgg_16_corrupt_block.ckpt`, fs), "data block checksum mismatch");
  assert(v1 instanceof CheckpointError);
  assertEquals([v1.file.endsWith("vgg_16_corrupt_block.ckpt"), v1.offset], [true, corrupt["vgg_16_corrupt_block.ckpt"].block_offset]);
});

fixtureTest("readTensorflowCheckpoint() names the missing shard, and a missing path says which files it looked for", async () => {
  const real = await fixtureFs();
  const mem = new MemoryFileSystem();
  await mem.mkdirp("c");
  await mem.writeFileAtomic("c/m.index", await real.readFile(`${TF_FIXTURES}/v2_sharded/model.ckpt.index`));
  await mem.writeFileAtomic("c/m.data-00000-of-00002", await real.readFile(`${TF_FIXTURES}/v2_sharded/model.ckpt.data-00000-of-00002`));
  await assertThrows(() => readTensorflowCheckpoint("c/m", mem), /Checkpoint c\/m\.data-00001-of-00002: cannot be read/);
  await assertThrows(() => readTensorflowCheckpoint("c/nothing", mem), "is neither a V1 checkpoint file nor a V2 prefix with c/nothing.index");
});

fixtureTest("decodeTensorSliceCheckpoint() throws CheckpointError for every truncation of a V1 file", async () => {
  const fs = await fixtureFs();
  const bytes = await fs.readFile(`${TF_FIXTURES}/vgg_16.ckpt`);
  for (let n = 0; n < bytes.length; n += 7) {
    await assertThrows(() => decodeTensorSliceCheckpoint(bytes.subarray(0, n), { file: "t.ckpt" }), "Checkpoint t.ckpt");
  }
});

test("readTable() refuses a footer that points outside the file, and a file without the magic number", async () => {
  const footer = new Uint8Array(48);
  footer.set([0x57, 0xfb, 0x80, 0x8b, 0x24, 0x75, 0x47, 0xdb], 40);
  footer.set([0, 0, 0, 0x80, 0x80, 0x80, 0x80, 0x10], 0); // metaindex (0, 0); index: offset 0, size 2^32
  await assertThrows(() => readTable(footer, "f.index"), /index block \[0, \+4294967296\] and its trailer run past/);
  await assertThrows(() => readTable(new Uint8Array(60), "f.index"), "bad table magic number");
  await assertThrows(() => readTable(new Uint8Array(10), "f.index"), "too short for the 48-byte table footer");
});

test("snappyUncompress() decodes literals and overlapping copies, and refuses lies about lengths and offsets", async () => {
  // "abcabcabcab": literal "abc", then a 1-byte-offset copy of 8 bytes reaching back 3.
  const ok = new Uint8Array([11, 2 << 2, 0x61, 0x62, 0x63, ((8 - 4) << 2) | 1, 3]);
  assertEquals(new TextDecoder().decode(snappyUncompress(ok)), "abcabcabcab");
  await assertThrows(() => snappyUncompress(new Uint8Array([0xff, 0xff, 0xff, 0x7f, 0])), "is more than 5 compressed bytes can hold");
  await assertThrows(() => snappyUncompress(new Uint8Array([4, 0x08, 0x61])), "runs past the end");
  await assertThrows(() => snappyUncompress(new Uint8Array([4, ((4 - 4) << 2) | 1, 1])), "reaches back 1 bytes with 0 written");
  await assertThrows(() => snappyUncompress(new Uint8Array([2, 2 << 2, 0x61, 0x62, 0x63])), "overflows the declared length 2");
  await assertThrows(() => snappyUncompress(new Uint8Array([5, 2 << 2, 0x61, 0x62, 0x63])), "produced 3 bytes, but the block declares 5");
});
