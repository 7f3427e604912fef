import { assert, assertEquals, assertThrows, randomArray, rng, test } from "../../test/harness.ts";
import { hasNodeFs } from "../fs/default.ts";
import { MemoryFileSystem } from "../fs/memory_fs.ts";
import type { FileSystem } from "../fs/types.ts";
import { type HostTensor, hostTensor } from "../graph/host_tensor.ts";
import { encodeCheckpoint } from "./checkpoint_file.ts";
import { CheckpointError, encodeSafetensors } from "./safetensors.ts";
import { decodeSafetensors } from "./safetensors_read.ts";
import { latestCheckpoint, restoreLatest, Saver } from "./saver.ts";
import { formatState, parseState } from "./state.ts";

const T0 = 1_700_000_000_000;
const HOUR = 3_600_000;

function tensorsFor(seed: number): Map<string, HostTensor> {
  const r = rng(seed);
  return new Map<string, HostTensor>([
    ["conv1/weights", hostTensor("float32", [2, 3], randomArray(6, seed))],
    ["global_step", hostTensor("int64", [], BigInt64Array.from([BigInt(Math.floor(r() * 1e9))]))],
    ["logits/bias", hostTensor("float32", [3], randomArray(3, seed + 7))],
  ]);
}

/** A clock the test moves by hand, in milliseconds. */
function manualClock(start = T0): { now: () => number; set(ms: number): void } {
  let t = start;
  return { now: () => t, set: (ms) => void (t = ms) };
}

let dirCounter = 0;
/** Registers `body` once on an in-memory file system and once on the local disk. */
function testBoth(name: string, body: (fs: FileSystem, logdir: string) => Promise<void>): void {
  test(`${name} (MemoryFileSystem)`, async () => {
    const fs = new MemoryFileSystem();
    await body(fs, "logs/run1");
  });
  if (!hasNodeFs()) return test.skip(`${name} (NodeFileSystem)`, "no node:fs in this runtime");
  test(`${name} (NodeFileSystem)`, async () => {
    // Imported here so the suite still loads where there is no node:fs.
    const fs = new (await import("../fs/node_fs.ts")).NodeFileSystem();
    const url = new URL("../../test-output/", import.meta.url);
    const root = decodeURIComponent(url.pathname).replace(/^\/([A-Za-z]:)/, "$1");
    const logdir = fs.join(root, "checkpoint", `${Date.now()}-${Math.floor(Math.random() * 1e9)}-${dirCounter++}`);
    try {
      await body(fs, logdir);
    } finally {
      if (await fs.stat(logdir)) for (const f of await fs.readDir(logdir)) await fs.remove(fs.join(logdir, f));
    }
  });
}

async function files(fs: FileSystem, logdir: string): Promise<string[]> {
  return (await fs.readDir(logdir)).filter((f) => f !== "checkpoint");
}

const text = async (fs: FileSystem, path: string) => new TextDecoder().decode(await fs.readFile(path));

testBoth("Saver.save() and restore() round-trip tensors, the global step and metadata", async (fs, logdir) => {
  const saver = new Saver({ fs });
  const tensors = tensorsFor(1);
  const prefix = await saver.save(logdir, tensors, { globalStep: 1234, metadata: { model: "lenet" } });
  assertEquals(prefix, fs.join(logdir, "model.ckpt-1234"));
  for (const path of [prefix, prefix + ".safetensors"]) {
    const restored = await saver.restore(path);
    assertEquals(restored.globalStep, 1234);
    assertEquals(restored.path, prefix);
    assertEquals([restored.metadata.model, restored.metadata.format], ["lenet", "slimtrain-1"]);
    assert(/^[0-9a-f]{8}$/.test(restored.metadata.crc32c), restored.metadata.crc32c);
    assertEquals([...restored.tensors.keys()], [...tensors.keys()]);
    for (const [name, t] of tensors) assertEquals(restored.tensors.get(name), t, name);
  }
  assertEquals(await latestCheckpoint(fs, logdir), prefix);
  await assertThrows(() => saver.save(logdir, tensors, { globalStep: 1, metadata: { crc32c: "x" } }), /"crc32c" is reserved/);
});

testBoth("Saver rotates beyond maxToKeep and writes TensorFlow's state file", async (fs, logdir) => {
  const clock = manualClock();
  const saver = new Saver({ fs, maxToKeep: 3, now: clock.now });
  for (const [i, step] of [10, 20, 30, 40, 50].entries()) {
    clock.set(T0 + i * 60_500);
    await saver.save(logdir, tensorsFor(step), { globalStep: step });
  }
  assertEquals(await files(fs, logdir), ["model.ckpt-30.safetensors", "model.ckpt-40.safetensors", "model.ckpt-50.safetensors"]);
  assertEquals(
    await text(fs, fs.join(logdir, "checkpoint")),
    'model_checkpoint_path: "model.ckpt-50"\n' +
      'all_model_checkpoint_paths: "model.ckpt-30"\n' +
      'all_model_checkpoint_paths: "model.ckpt-40"\n' +
      'all_model_checkpoint_paths: "model.ckpt-50"\n' +
      "all_model_checkpoint_timestamps: 1700000121.0\n" +
      "all_model_checkpoint_timestamps: 1700000181.5\n" +
      "all_model_checkpoint_timestamps: 1700000242.0\n" +
      "last_preserved_timestamp: 1700000000.0\n",
  );
});

testBoth("Saver continues rotation across a restart and adopts a checkpoint the state missed", async (fs, logdir) => {
  await new Saver({ fs, maxToKeep: 2 }).save(logdir, tensorsFor(1), { globalStep: 1 });
  const first = new Saver({ fs, maxToKeep: 2 });
  for (const step of [2, 3]) await first.save(logdir, tensorsFor(step), { globalStep: step });
  // A save that died between writing the file and updating the state file.
  await fs.writeFileAtomic(fs.join(logdir, "model.ckpt-4.safetensors"), encodeCheckpoint(tensorsFor(4), 4, {}));
  const second = new Saver({ fs, maxToKeep: 2 });
  await second.save(logdir, tensorsFor(5), { globalStep: 5 });
  assertEquals(await files(fs, logdir), ["model.ckpt-4.safetensors", "model.ckpt-5.safetensors"]);
  const state = parseState(await text(fs, fs.join(logdir, "checkpoint")))!;
  assertEquals([state.latest, state.paths], ["model.ckpt-5", ["model.ckpt-4", "model.ckpt-5"]]);
});

testBoth("Saver.restore() names the file of a truncated or bit-flipped checkpoint", async (fs, logdir) => {
  const saver = new Saver({ fs });
  const prefix = await saver.save(logdir, tensorsFor(3), { globalStep: 7, metadata: { note: "abc" } });
  const file = prefix + ".safetensors";
  const good = await fs.readFile(file);
  const dataStart = 8 + Number(new DataView(good.buffer, good.byteOffset).getBigUint64(0, true));
  const r = rng(99);
  const damage = async (edit: (b: Uint8Array) => Uint8Array, pattern: RegExp) => {
    await fs.writeFileAtomic(file, edit(good.slice()));
    const err = await assertThrows(() => saver.restore(prefix), pattern);
    assert(err instanceof CheckpointError && err.file === file, String(err));
    assert(err.message.includes(file), err.message);
  };
  await damage((b) => b.subarray(0, b.length - 3), /data_offsets .* run past the end/);
  await damage((b) => b.subarray(0, 5), /too short/);
  for (let i = 0; i < 4; i++) {
    const bit = Math.floor(r() * (good.length - dataStart) * 8);
    await damage((b) => (b[dataStart + (bit >> 3)] ^= 1 << (bit & 7), b), /data checksum mismatch/);
  }
  // "abc" -> "abb": still valid JSON, so only the header checksum can notice.
  const at = new TextDecoder().decode(good.subarray(0, dataStart)).indexOf('"abc"') + 3;
  await damage((b) => (b[at] ^= 0x01, b), /header checksum mismatch/);
  await assertThrows(() => saver.restore(fs.join(logdir, "model.ckpt-8")), /model\.ckpt-8\.safetensors: cannot be read/);
  // A valid safetensors file that slimtrain did not write is refused rather than trusted.
  const foreign = encodeSafetensors(tensorsFor(3), { global_step: "7" });
  await damage(() => foreign, /format is undefined, expected "slimtrain-1"/);
});

testBoth("restoreLatest() falls back to older checkpoints only when asked", async (fs, logdir) => {
  assertEquals(await restoreLatest(fs, logdir), null);
  const saver = new Saver({ fs });
  for (const step of [100, 200, 300]) await saver.save(logdir, tensorsFor(step), { globalStep: step });
  const flip = async (step: number) => {
    const file = fs.join(logdir, `model.ckpt-${step}.safetensors`);
    const b = await fs.readFile(file);
    b[b.length - 2] ^= 0x10;
    await fs.writeFileAtomic(file, b);
  };
  assertEquals((await restoreLatest(fs, logdir))!.globalStep, 300);
  await flip(300);
  // Without fallback the latest checkpoint's own error surfaces, not a summary.
  await assertThrows(() => restoreLatest(fs, logdir), /^Checkpoint \S*model\.ckpt-300\.safetensors, byte offset \d+: data checksum/);
  await flip(200);
  const restored = (await restoreLatest(fs, logdir, { fallbackToPrevious: true }))!;
  assertEquals([restored.globalStep, restored.path], [100, fs.join(logdir, "model.ckpt-100")]);
  assertEquals(restored.tensors.get("conv1/weights"), tensorsFor(100).get("conv1/weights"));
  assertEquals(restored.skipped.map((s) => s.path), [300, 200].map((s) => fs.join(logdir, `model.ckpt-${s}`)));
  assert(restored.skipped.every((s) => s.error instanceof CheckpointError), "skipped errors are CheckpointErrors");
  await flip(100);
  await assertThrows(() => restoreLatest(fs, logdir, { fallbackToPrevious: true }), /no intact checkpoint/);
});

testBoth("latestCheckpoint() ignores leftover temp files, which the next save removes", async (fs, logdir) => {
  const saver = new Saver({ fs });
  await saver.save(logdir, tensorsFor(1), { globalStep: 5 });
  const junk = new Uint8Array([1, 2, 3]);
  for (const name of ["model.ckpt-9.safetensors.tmp-123-456-0", "checkpoint.tmp-1-2-3"]) {
    await fs.writeFileAtomic(fs.join(logdir, name), junk);
  }
  await fs.writeFileAtomic(fs.join(logdir, "events.out.tfevents.1.host"), junk);
  assertEquals(await latestCheckpoint(fs, logdir), fs.join(logdir, "model.ckpt-5"));
  await fs.remove(fs.join(logdir, "checkpoint"));
  assertEquals(await latestCheckpoint(fs, logdir), fs.join(logdir, "model.ckpt-5"));
  // The state file can also name a checkpoint someone deleted.
  await fs.writeFileAtomic(fs.join(logdir, "checkpoint"), new TextEncoder().encode('model_checkpoint_path: "model.ckpt-6"\n'));
  assertEquals(await latestCheckpoint(fs, logdir), fs.join(logdir, "model.ckpt-5"));
  await saver.save(logdir, tensorsFor(2), { globalStep: 6 });
  assertEquals(await files(fs, logdir), ["events.out.tfevents.1.host", "model.ckpt-5.safetensors", "model.ckpt-6.safetensors"]);
  assertEquals(await latestCheckpoint(fs, fs.join(logdir, "missing")), null);
});

testBoth("Saver.save() with an existing step overwrites it and moves it to the end", async (fs, logdir) => {
  const saver = new Saver({ fs, maxToKeep: 2 });
  await saver.save(logdir, tensorsFor(1), { globalStep: 5 });
  await saver.save(logdir, tensorsFor(2), { globalStep: 6 });
  await saver.save(logdir, tensorsFor(3), { globalStep: 5 });
  const restored = await saver.restore(fs.join(logdir, "model.ckpt-5"));
  assertEquals(restored.tensors.get("logits/bias"), tensorsFor(3).get("logits/bias"));
  assertEquals(parseState(await text(fs, fs.join(logdir, "checkpoint")))!.paths, ["model.ckpt-6", "model.ckpt-5"]);
  assertEquals(await files(fs, logdir), ["model.ckpt-5.safetensors", "model.ckpt-6.safetensors"]);
});

testBoth("Saver keeps one checkpoint every N hours, also across a restart", async (fs, logdir) => {
  const clock = manualClock();
  const options = { fs, maxToKeep: 2, keepCheckpointEveryNHours: 1, now: clock.now };
  let saver = new Saver(options);
  for (let step = 0; step <= 11; step++) {
    if (step === 10) saver = new Saver(options);
    clock.set(T0 + step * HOUR / 3);
    await saver.save(logdir, tensorsFor(step), { globalStep: step });
  }
  // Preserved once an hour had passed since the last one (3, 6, 9); 10 and 11 are the kept two.
  const steps = (await files(fs, logdir)).map((f) => Number(/\d+/.exec(f)![0])).sort((a, b) => a - b);
  assertEquals(steps, [3, 6, 9, 10, 11]);
  const state = parseState(await text(fs, fs.join(logdir, "checkpoint")))!;
  assertEquals(state.paths, ["model.ckpt-10", "model.ckpt-11"]);
  assertEquals(state.lastPreservedTimestamp, (T0 + 9 * HOUR / 3) / 1000);
});

test("parseState() reads what TensorFlow writes: escapes, absolute paths, old files without timestamps", async () => {
  const state = parseState(
    'model_checkpoint_path: "/abs/caf\\303\\251/model.ckpt-20"\n' +
      'all_model_checkpoint_paths: "model.ckpt-10"\n' +
      "all_model_checkpoint_timestamps: 1690000000.25\n",
  )!;
  assertEquals(state.latest, "/abs/café/model.ckpt-20");
  assertEquals(state.paths, ["model.ckpt-10", "/abs/café/model.ckpt-20"]);
  assertEquals(state.timestamps, [1690000000.25]);
  assertEquals(parseState('model_checkpoint_path: "unterminated\n'), null);
  const odd = 'dir "x"\\y\n\x01é/model.ckpt-1';
  assertEquals(parseState(formatState({ latest: odd, paths: [odd], timestamps: [2.5] }))!.paths, [odd]);
  const fs = new MemoryFileSystem();
  await fs.mkdirp("logs");
  await fs.writeFileAtomic("logs/model.ckpt-20.safetensors", encodeCheckpoint(tensorsFor(1), 20, {}));
  await fs.writeFileAtomic("logs/checkpoint", new TextEncoder().encode('model_checkpoint_path: "/elsewhere/model.ckpt-20"\n'));
  // The absolute path is missing, so the scan of the logdir answers.
  assertEquals(await latestCheckpoint(fs, "logs"), "logs/model.ckpt-20");
  assertEquals(decodeSafetensors(await fs.readFile("logs/model.ckpt-20.safetensors"), { file: "x" }).metadata.global_step, "20");
});
