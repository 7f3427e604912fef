// A full disk or a logdir that turns read-only: train() stops with an error that
// says what happened and names the file, the previous checkpoint still restores,
// no temporary file is left, the lock is released, and once the disk is usable
// again the run resumes to exactly the weights of an uninterrupted run.
// The disk is a small tmpfs and the read-only logdir a read-only bind mount, so
// these tests need root and a working `mount` (they skip, saying so, otherwise).
import { spawnSync } from "node:child_process";
import { closeSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { restoreLatest } from "../../src/checkpoint/mod.ts";
import { NodeFileSystem } from "../../src/fs/node_fs.ts";
import { LOCK_FILE } from "../../src/learning/logdir_lock.ts";
import { train, type TrainOptions } from "../../src/learning/train.ts";
import { readEvents } from "../../src/summary/event_reader.ts";
import { assert, assertEquals, assertThrows, test } from "../harness.ts";
import { buildTinyModel, tinyBatchesFrom } from "./tiny_model.ts";

const fs = new NodeFileSystem();

function run(cmd: string, args: string[]): string | null {
  const r = spawnSync(cmd, args, { encoding: "utf8" });
  if (r.error) return `${cmd}: ${r.error.message}`;
  return r.status === 0 ? null : `${cmd} ${args.join(" ")} exited with ${r.status}: ${(r.stderr || "").trim()}`;
}

/** A fresh tmpfs of `kb` KiB, or the reason there cannot be one. */
function mountTmpfs(kb: number): { dir: string } | { reason: string } {
  const dir = mkdtempSync(join(tmpdir(), "slimtrain-disk-"));
  const failed = run("mount", ["-t", "tmpfs", "-o", `size=${kb}k,mode=0755`, "tmpfs", dir]);
  if (failed) {
    rmSync(dir, { recursive: true, force: true });
    return { reason: failed };
  }
  return { dir };
}

function unmount(dir: string): void {
  const failed = run("umount", [dir]);
  if (failed) throw new Error(`cleanup: ${failed}`);
}

/** Makes `dir` read-only in place: a read-only bind mount over itself (root ignores chmod). */
function makeReadOnly(dir: string): () => void {
  const failed = run("mount", ["--bind", dir, dir]) ?? run("mount", ["-o", "remount,ro,bind", dir]);
  if (failed) throw new Error(`setup: ${failed}`);
  return () => unmount(dir);
}

/** Fills the file system holding `dir` to the last byte. */
function fillDisk(dir: string): string {
  const path = join(dir, "filler");
  const fd = openSync(path, "w");
  try {
    for (const size of [1 << 16, 1 << 12, 1]) {
      const chunk = new Uint8Array(size).fill(0xab);
      try {
        while (true) writeSync(fd, chunk);
      } catch (err) {
        if ((err as { code?: string }).code !== "ENOSPC") throw err;
      }
    }
  } finally {
    closeSync(fd);
  }
  return path;
}

const probe = mountTmpfs(64);
const skipReason = "reason" in probe ? `cannot mount a tmpfs (needs root and mount(8)): ${probe.reason}` : null;
if (!("reason" in probe)) unmount(probe.dir), rmSync(probe.dir, { recursive: true, force: true });

const base: TrainOptions = { data: tinyBatchesFrom, handleSignals: false, intraOpNumThreads: 1, saveSummariesSecs: 0 };

/** The checkpoint of an uninterrupted `steps`-step run, to compare a recovered run against. */
async function straightRun(steps: number) {
  const dir = mkdtempSync(join(tmpdir(), "slimtrain-disk-straight-"));
  try {
    await train(buildTinyModel().trainOp, dir, { ...base, numberOfSteps: steps, log: () => {} });
    return (await restoreLatest(fs, dir))!;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** What a run must leave after failing: the previous checkpoint, no temporary file, no lock, readable events. */
async function checkAftermath(logdir: string, step: number) {
  const restored = await restoreLatest(fs, logdir);
  assert(restored, `no checkpoint restores in ${logdir}`);
  assertEquals(restored.globalStep, step, "the checkpoint from before the failure restores");
  const names = readdirSync(logdir);
  assertEquals(names.filter((f) => f.includes(".tmp-")), [], "temporary files left");
  assert(!names.includes(LOCK_FILE), "the lock is released after the failure");
  for (const f of names.filter((f) => f.startsWith("events.out.tfevents."))) {
    readEvents(readFileSync(join(logdir, f)), { file: f, allowTruncatedTail: true });
  }
}

/** Resumes in `logdir` to `steps` and compares with an uninterrupted run, bit for bit. */
async function resumeAndCompare(logdir: string, from: number, steps: number) {
  const lines: string[] = [];
  await train(buildTinyModel().trainOp, logdir, { ...base, numberOfSteps: steps, log: (l) => lines.push(l) });
  assert(lines.some((l) => l.includes(`(global step ${from})`)), `resumed from step ${from}: ${lines.join(" | ")}`);
  const a = await straightRun(steps), b = (await restoreLatest(fs, logdir))!;
  assertEquals(b.globalStep, steps);
  for (const [name, t] of a.tensors) assertEquals(b.tensors.get(name)!.data, t.data, `${name} after the recovery`);
}

/** The step of the checkpoint `err` names, one of `steps` (the one being written, or the one before, still being flushed). */
function failedCheckpoint(err: Error, logdir: string, steps: number[]): number {
  const step = steps.find((s) => err.message.includes(join(logdir, `model.ckpt-${s}.safetensors`)));
  assert(step !== undefined, `the message names checkpoint ${steps.join(" or ")}: ${err.message}`);
  return step;
}

if (skipReason) {
  test.skip("train() on a full disk fails naming the checkpoint, keeps the previous one and resumes", skipReason);
  test.skip("train() on a full disk at startup names the file it could not write", skipReason);
  test.skip("train() in a logdir that turns read-only mid-run keeps the error and the previous checkpoint", skipReason);
  test.skip("train() in a read-only logdir names the lock file and the cause", skipReason);
} else {
  test("train() on a full disk fails naming the checkpoint, keeps the previous one and resumes", async () => {
    const m = mountTmpfs(1024);
    if ("reason" in m) throw new Error(m.reason);
    try {
      const logdir = join(m.dir, "run");
      let filler = "";
      const lines: string[] = [];
      const err = await assertThrows(() =>
        train(buildTinyModel().trainOp, logdir, {
          ...base, numberOfSteps: 100, saveIntervalSecs: 0, maxToKeep: Infinity, log: (l) => lines.push(l),
          onStep: ({ step }) => void (step === 5 && (filler = fillDisk(m.dir))),
        }), "no space left on device");
      // Checkpoint 4 may still have been on its way to the disk (its flush runs during step 5).
      const failed = failedCheckpoint(err, logdir, [4, 5]);
      await checkAftermath(logdir, failed - 1);
      rmSync(filler);
      await resumeAndCompare(logdir, failed - 1, 8);
    } finally {
      unmount(m.dir);
      rmSync(m.dir, { recursive: true, force: true });
    }
  });

  test("train() on a full disk at startup names the file it could not write", async () => {
    const m = mountTmpfs(1024);
    if ("reason" in m) throw new Error(m.reason);
    try {
      const logdir = join(m.dir, "run");
      mkdirSync(logdir);
      await train(buildTinyModel().trainOp, logdir, { ...base, numberOfSteps: 2, log: () => {} });
      const filler = fillDisk(m.dir);
      const err = await assertThrows(
        () => train(buildTinyModel().trainOp, logdir, { ...base, numberOfSteps: 4, log: () => {} }),
        "no space left on device",
      );
      // Whichever write comes first on a full disk (the lock, a model, the event file), the message names it.
      assert(new RegExp(`Cannot (write|create) ${logdir}/\\S+: no space left on device`).test(err.message), err.message);
      await checkAftermath(logdir, 2);
      rmSync(filler);
      await resumeAndCompare(logdir, 2, 4);
    } finally {
      unmount(m.dir);
      rmSync(m.dir, { recursive: true, force: true });
    }
  });

  test("train() in a logdir that turns read-only mid-run keeps the error and the previous checkpoint", async () => {
    const logdir = mkdtempSync(join(tmpdir(), "slimtrain-ro-"));
    let undo: (() => void) | undefined;
    try {
      const lines: string[] = [];
      const err = await assertThrows(() =>
        train(buildTinyModel().trainOp, logdir, {
          ...base, numberOfSteps: 100, saveIntervalSecs: 0, log: (l) => lines.push(l),
          onStep: ({ step }) => void (step === 4 && (undo = makeReadOnly(logdir))),
        }), "read-only file system");
      // The first failure is the one to report: the lock that cannot be removed afterwards must not replace it.
      const failed = failedCheckpoint(err, logdir, [3, 4]);
      undo!();
      undo = undefined;
      assert(lines.some((l) => l.startsWith(`Could not remove the lock ${join(logdir, LOCK_FILE)}`)), `lock removal failure logged: ${lines.join(" | ")}`);
      // The lock names this (live) process, so only a new process would take it over as stale (kill_test
      // covers that); a retry in the same process needs it removed, as the lock's message says.
      rmSync(join(logdir, LOCK_FILE));
      const restored = await restoreLatest(fs, logdir);
      assertEquals(restored?.globalStep, failed - 1, "the checkpoint from before the failure restores");
      // A checkpoint written before the logdir turned read-only could not be removed then; the next run clears it.
      const leftovers = readdirSync(logdir).filter((f) => f.includes(".tmp-"));
      assert(leftovers.every((f) => f.startsWith(`model.ckpt-${failed}.safetensors.tmp-`)), `temporary files left: ${leftovers.join(", ")}`);
      await resumeAndCompare(logdir, failed - 1, 6);
      assertEquals(readdirSync(logdir).filter((f) => f.includes(".tmp-")), [], "temporary files left after the resume");
    } finally {
      undo?.();
      rmSync(logdir, { recursive: true, force: true });
    }
  });

  test("train() in a read-only logdir names the lock file and the cause", async () => {
    const logdir = mkdtempSync(join(tmpdir(), "slimtrain-ro-"));
    let undo: (() => void) | undefined;
    try {
      await train(buildTinyModel().trainOp, logdir, { ...base, numberOfSteps: 2, log: () => {} });
      undo = makeReadOnly(logdir);
      await assertThrows(
        () => train(buildTinyModel().trainOp, logdir, { ...base, numberOfSteps: 4, log: () => {} }),
        `Cannot create ${join(logdir, LOCK_FILE)}: read-only file system`,
      );
      undo();
      undo = undefined;
      await checkAftermath(logdir, 2);
      await resumeAndCompare(logdir, 2, 4);
    } finally {
      undo?.();
      rmSync(logdir, { recursive: true, force: true });
    }
  });
}
