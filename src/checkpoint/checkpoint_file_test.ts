import { assertEquals, assertThrows, randomArray, rng, test } from "../../test/harness.ts";
import { hasNodeFs } from "../fs/default.ts";
import { MemoryFileSystem } from "../fs/memory_fs.ts";
import type { FileSystem } from "../fs/types.ts";
import { type HostTensor, hostTensor } from "../graph/host_tensor.ts";
import { crc32c } from "../io/crc32c.ts";
import { type CheckpointTensor, encodeCheckpoint, restoreCheckpoint, writeCheckpoint } from "./checkpoint_file.ts";
import { restoreLatest, Saver } from "./saver.ts";

function tensors(seed: number): Map<string, HostTensor> {
  const r = rng(seed);
  return new Map<string, HostTensor>([
    ["b/bias", hostTensor("float32", [5], randomArray(5, seed))],
    ["a/weights", hostTensor("float32", [3, 4], randomArray(12, seed + 1))],
    ["mask", hostTensor("bool", [3], Uint8Array.from([1, 0, 1]))],
    ["step", hostTensor("int64", [], BigInt64Array.from([BigInt(Math.floor(r() * 1e9))]))],
  ]);
}

/** The same tensors, every one lazy, counting the reads. */
function lazily(values: Map<string, HostTensor>, reads: string[]): Map<string, CheckpointTensor> {
  return new Map([...values].map(([name, t]) => [name, { dtype: t.dtype, shape: t.shape, read: () => Promise.resolve((reads.push(name), t)) }]));
}

let dirCounter = 0;
/** Registers `body` once on an in-memory file system and once on the local disk. */
function testBoth(name: string, body: (fs: FileSystem, dir: string) => Promise<void>): void {
  test(`${name} (MemoryFileSystem)`, async () => {
    const fs = new MemoryFileSystem();
    await fs.mkdirp("ckpt");
    await body(fs, "ckpt");
  });
  if (!hasNodeFs()) return test.skip(`${name} (NodeFileSystem)`, "no node:fs in this runtime");
  test(`${name} (NodeFileSystem)`, async () => {
    const fs = new (await import("../fs/node_fs.ts")).NodeFileSystem();
    const url = new URL("../../test-output/", import.meta.url);
    const root = decodeURIComponent(url.pathname).replace(/^\/([A-Za-z]:)/, "$1");
    const dir = fs.join(root, "checkpoint_file", `${Date.now()}-${Math.floor(Math.random() * 1e9)}-${dirCounter++}`);
    await fs.mkdirp(dir);
    try {
      await body(fs, dir);
    } finally {
      for (const f of await fs.readDir(dir)) await fs.remove(fs.join(dir, f));
    }
  });
}

test("crc32c() continued from a previous CRC equals the CRC of the whole", () => {
  const bytes = new Uint8Array(randomArray(1000, 3).buffer);
  for (const cut of [0, 1, 15, 16, 17, 2000, 4000]) {
    assertEquals(crc32c(bytes.subarray(cut), crc32c(bytes.subarray(0, cut))), crc32c(bytes), `cut at ${cut}`);
  }
});

testBoth("writeCheckpoint() streams exactly encodeCheckpoint()'s bytes, reading lazy tensors once each in name order", async (fs, dir) => {
  const values = tensors(1);
  const reads: string[] = [];
  const file = fs.join(dir, "model.ckpt-7.safetensors");
  await writeCheckpoint(fs, file, lazily(values, reads), 7, { model: "tiny" });
  assertEquals(await fs.readFile(file), encodeCheckpoint(values, 7, { model: "tiny" }));
  assertEquals(reads, ["a/weights", "b/bias", "mask", "step"]);
  assertEquals(await fs.readDir(dir), ["model.ckpt-7.safetensors"]);
});

testBoth("restoreCheckpoint() reads tensor by tensor; names keeps only those and still checks every byte", async (fs, dir) => {
  const values = tensors(2);
  const file = fs.join(dir, "model.ckpt-3.safetensors");
  await writeCheckpoint(fs, file, values, 3, {});
  const all = await restoreCheckpoint(fs, file);
  assertEquals([...all.tensors.keys()], ["a/weights", "b/bias", "mask", "step"]);
  for (const [name, t] of values) assertEquals(all.tensors.get(name), t, name);
  const some = await restoreCheckpoint(fs, file.slice(0, -".safetensors".length), { names: ["b/bias"] });
  assertEquals([...some.tensors.keys()], ["b/bias"]);
  assertEquals(some.globalStep, 3);
  // A flipped bit in a tensor that is not kept is still caught.
  const bytes = await fs.readFile(file);
  bytes[bytes.length - 20] ^= 4;
  await fs.writeFileAtomic(file, bytes);
  await assertThrows(() => restoreCheckpoint(fs, file, { names: ["step"] }), /data checksum mismatch/);
});

testBoth("writeCheckpoint() that fails mid-file leaves the previous checkpoint whole and no temporary file", async (fs, dir) => {
  const file = fs.join(dir, "model.ckpt-5.safetensors");
  await writeCheckpoint(fs, file, tensors(3), 5, {});
  const before = await fs.readFile(file);
  const broken = lazily(tensors(4), []);
  broken.set("mask", { dtype: "bool", shape: [3], read: () => Promise.reject(new Error("device lost")) });
  await assertThrows(() => writeCheckpoint(fs, file, broken, 5, {}), /device lost/);
  assertEquals(await fs.readFile(file), before);
  assertEquals(await fs.readDir(dir), ["model.ckpt-5.safetensors"]);
});

testBoth("writeCheckpoint() refuses a lazy tensor that reads back with another shape, naming it", async (fs, dir) => {
  const lying: CheckpointTensor = { dtype: "float32", shape: [2, 2], read: () => hostTensor("float32", [4], randomArray(4, 5)) };
  await assertThrows(
    () => writeCheckpoint(fs, fs.join(dir, "x.safetensors"), { w: lying }, 1, {}),
    /tensor "w" was declared float32 \[2, 2\] but read as float32 \[4\]/,
  );
  assertEquals(await fs.readDir(dir), []);
});

testBoth("FileSystem.readInto() fills a range and refuses to read past the end, naming the file", async (fs, dir) => {
  const file = fs.join(dir, "r.bin");
  await fs.writeFileAtomic(file, Uint8Array.from({ length: 100 }, (_, i) => i));
  const into = new Uint8Array(10);
  await fs.readInto(file, 90, into);
  assertEquals([...into], [90, 91, 92, 93, 94, 95, 96, 97, 98, 99]);
  await assertThrows(() => fs.readInto(file, 95, new Uint8Array(10)), /r\.bin.*ends/);
  await assertThrows(() => fs.readInto(fs.join(dir, "missing.bin"), 0, into), /missing\.bin/);
});

testBoth("restoreLatest() with names restores only those tensors of the latest checkpoint", async (fs, dir) => {
  const saver = new Saver({ fs });
  await saver.save(dir, tensors(6), { globalStep: 1 });
  const values = tensors(7);
  await saver.save(dir, values, { globalStep: 2 });
  const restored = await restoreLatest(fs, dir, { names: ["a/weights", "step"] });
  assertEquals(restored?.globalStep, 2);
  assertEquals([...restored!.tensors.keys()], ["a/weights", "step"]);
  assertEquals(restored!.tensors.get("a/weights"), values.get("a/weights"));
});
