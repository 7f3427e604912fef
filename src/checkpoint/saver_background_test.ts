import { assert, assertEquals, assertThrows, randomArray, test } from "../../test/harness.ts";
import { hasNodeFs } from "../fs/default.ts";
import { MemoryFileSystem } from "../fs/memory_fs.ts";
import type { FileContent, StagedFile } from "../fs/types.ts";
import { type HostTensor, hostTensor } from "../graph/host_tensor.ts";
import { encodeCheckpoint } from "./checkpoint_file.ts";
import { latestCheckpoint, restoreLatest, Saver } from "./saver.ts";

function tensorsFor(seed: number): Map<string, HostTensor> {
  return new Map<string, HostTensor>([
    ["conv1/weights", hostTensor("float32", [2, 3], randomArray(6, seed))],
    ["global_step", hostTensor("int64", [], BigInt64Array.from([BigInt(seed)]))],
  ]);
}

/**
 * A memory file system whose staged files reach their names only when the test
 * releases them (or fail then, as a full disk would fail an fsync): the moment
 * between writing a checkpoint and its flush, held open.
 */
class HeldCommits extends MemoryFileSystem {
  hold = false;
  private readonly gates: ((failure?: Error) => void)[] = [];

  override async stageFileAtomic(path: string, content: FileContent): Promise<StagedFile> {
    const staged = await super.stageFileAtomic(path, content);
    if (!this.hold) return staged;
    const gate = new Promise<Error | undefined>((resolve) => this.gates.push(resolve));
    return {
      commit: async () => {
        const failure = await gate;
        if (!failure) return await staged.commit();
        await staged.discard();
        throw failure;
      },
      discard: () => staged.discard(),
    };
  }

  /** Lets the oldest held commit finish, or fail with `failure`. */
  release(failure?: Error): void {
    const gate = this.gates.shift();
    assert(gate, "no commit is held");
    gate(failure);
  }

  /** What a process that died now would find on its disk. */
  crashCopy(): MemoryFileSystem {
    const copy = new MemoryFileSystem();
    for (const [path, f] of this.files) copy.files.set(path, { ...f, data: f.data.slice() });
    for (const dir of this.dirs) copy.dirs.add(dir);
    return copy;
  }
}

const names = (fs: MemoryFileSystem, logdir: string) => fs.readDir(logdir);
const settle = () => new Promise((resolve) => setTimeout(resolve, 0));

test("Saver.save() with syncInBackground resolves before the flush; a crash then resumes from the previous checkpoint", async () => {
  const fs = new HeldCommits();
  const saver = new Saver({ fs });
  await saver.save("logs", tensorsFor(1), { globalStep: 1 });
  fs.hold = true;
  const prefix = await saver.save("logs", tensorsFor(2), { globalStep: 2, syncInBackground: true });
  assertEquals(prefix, "logs/model.ckpt-2");
  // Written, but only under a temporary name, and not what resume trusts.
  const listed = await names(fs, "logs");
  assert(!listed.includes("model.ckpt-2.safetensors"), listed.join(", "));
  assert(listed.some((n) => n.startsWith("model.ckpt-2.safetensors.tmp-")), listed.join(", "));
  assertEquals(await latestCheckpoint(fs, "logs"), "logs/model.ckpt-1");

  const crashed = fs.crashCopy();
  const resumed = await restoreLatest(crashed, "logs");
  assertEquals(resumed?.globalStep, 1);
  assertEquals(resumed?.tensors.get("conv1/weights"), tensorsFor(1).get("conv1/weights"));
  // The next run's first save clears the dead save's temporary file.
  await new Saver({ fs: crashed }).save("logs", tensorsFor(3), { globalStep: 3 });
  assertEquals(await names(crashed, "logs"), ["checkpoint", "model.ckpt-1.safetensors", "model.ckpt-3.safetensors"]);

  fs.release();
  await saver.flush();
  assertEquals(await latestCheckpoint(fs, "logs"), "logs/model.ckpt-2");
  assertEquals(await names(fs, "logs"), ["checkpoint", "model.ckpt-1.safetensors", "model.ckpt-2.safetensors"]);
  assertEquals(await fs.readFile("logs/model.ckpt-2.safetensors"), encodeCheckpoint(tensorsFor(2), 2, {}));
});

test("Saver.save() with syncInBackground deletes old checkpoints only once the new one is durable, and the next save waits for that", async () => {
  const fs = new HeldCommits();
  const saver = new Saver({ fs, maxToKeep: 1 });
  await saver.save("logs", tensorsFor(1), { globalStep: 1 });
  fs.hold = true;
  await saver.save("logs", tensorsFor(2), { globalStep: 2, syncInBackground: true });
  let thirdSaved = false;
  const third = saver.save("logs", tensorsFor(3), { globalStep: 3, syncInBackground: true }).then(() => (thirdSaved = true));
  await settle();
  assert(!thirdSaved, "save 3 went ahead while checkpoint 2 was still on its way to the disk");
  assert((await names(fs, "logs")).includes("model.ckpt-1.safetensors"), "checkpoint 1 deleted before 2 was durable");
  fs.release();
  await third;
  assertEquals((await names(fs, "logs")).filter((n) => !n.includes(".tmp-")), ["checkpoint", "model.ckpt-2.safetensors"]);
  assertEquals(await latestCheckpoint(fs, "logs"), "logs/model.ckpt-2");
  fs.release();
  await saver.flush();
  assertEquals(await names(fs, "logs"), ["checkpoint", "model.ckpt-3.safetensors"]);
});

test("Saver: a failed background flush is thrown by flush() and keeps the previous checkpoint the latest", async () => {
  const fs = new HeldCommits();
  const saver = new Saver({ fs });
  await saver.save("logs", tensorsFor(1), { globalStep: 1 });
  fs.hold = true;
  await saver.save("logs", tensorsFor(2), { globalStep: 2, syncInBackground: true });
  fs.release(new Error("Cannot write logs/model.ckpt-2.safetensors: no space left on device"));
  await assertThrows(() => saver.flush(), /model\.ckpt-2\.safetensors \(global step 2\) was written but could not be made durable and recorded: .*no space left on device/);
  assertEquals(await latestCheckpoint(fs, "logs"), "logs/model.ckpt-1");
  assertEquals(await names(fs, "logs"), ["checkpoint", "model.ckpt-1.safetensors"]);
  // Reported once: the saver goes on.
  await saver.flush();
  fs.hold = false;
  await saver.save("logs", tensorsFor(3), { globalStep: 3, syncInBackground: true });
  await saver.flush();
  assertEquals(await latestCheckpoint(fs, "logs"), "logs/model.ckpt-3");
});

test("Saver: a failed background flush is thrown by the next save(), which then writes nothing", async () => {
  const fs = new HeldCommits();
  const saver = new Saver({ fs });
  fs.hold = true;
  await saver.save("logs", tensorsFor(1), { globalStep: 1, syncInBackground: true });
  fs.release(new Error("Cannot write logs/model.ckpt-1.safetensors: disk quota exceeded"));
  await settle();
  await assertThrows(() => saver.save("logs", tensorsFor(2), { globalStep: 2, syncInBackground: true }), /global step 1\) was written but could not be made durable and recorded: .*disk quota exceeded/);
  assertEquals(await latestCheckpoint(fs, "logs"), null);
  assertEquals(await names(fs, "logs"), []);
});

if (!hasNodeFs()) test.skip("Saver.save() with syncInBackground on the local disk", "no node:fs in this runtime");
else {
  test("Saver.save() with syncInBackground on the local disk: flush() leaves encodeCheckpoint's bytes under the final name", async () => {
    const fs = new (await import("../fs/node_fs.ts")).NodeFileSystem();
    const url = new URL("../../test-output/", import.meta.url);
    const root = decodeURIComponent(url.pathname).replace(/^\/([A-Za-z]:)/, "$1");
    const logdir = fs.join(root, "saver_background", `${Date.now()}-${Math.floor(Math.random() * 1e9)}`);
    try {
      const saver = new Saver({ fs, maxToKeep: 1 });
      await saver.save(logdir, tensorsFor(1), { globalStep: 1, syncInBackground: true });
      await saver.save(logdir, tensorsFor(2), { globalStep: 2, syncInBackground: true });
      await saver.flush();
      assertEquals(await fs.readDir(logdir), ["checkpoint", "model.ckpt-2.safetensors"]);
      assertEquals(await fs.readFile(fs.join(logdir, "model.ckpt-2.safetensors")), encodeCheckpoint(tensorsFor(2), 2, {}));
    } finally {
      if (await fs.stat(logdir)) for (const f of await fs.readDir(logdir)) await fs.remove(fs.join(logdir, f));
    }
  });
}
