// kill -9 at random moments: a child process trains the tiny net with a checkpoint
// and a summary every step and is SIGKILLed at seeded random moments (during
// startup, during steps, on checkpoint and state-file writes, on event-file flushes).
// After every kill: the latest checkpoint restores with its checksums intact, the
// step never falls behind the last checkpoint reported saved, every event file
// reads up to its last complete record, and the next run takes over the stale lock
// and resumes from exactly that checkpoint. At the end a run to completion must give
// bit-for-bit the weights of an uninterrupted run, and leave no temporary files.
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { restoreLatest } from "../../src/checkpoint/mod.ts";
import { NodeFileSystem } from "../../src/fs/node_fs.ts";
import { LOCK_FILE } from "../../src/learning/logdir_lock.ts";
import { train } from "../../src/learning/train.ts";
import { readEvents } from "../../src/summary/event_reader.ts";
import { assert, assertEquals, rng, test } from "../harness.ts";
import { startScript } from "./child_process.ts";
import { buildTinyModel, tinyBatchesFrom } from "./tiny_model.ts";

const fs = new NodeFileSystem();
const CHILD = "test/reliability/trainer_child.ts";
const TRIALS = 20;
/** Past this, no new trial starts (a loaded machine); the suite must stay bounded. */
const DEADLINE_MS = 45_000;
/** A child that neither dies nor reaches its kill point in this long has hung. */
const CHILD_TIMEOUT_MS = 20_000;

type Mode = "startup" | "steps" | "checkpoint" | "state" | "events";

interface Trial {
  lines: string[];
  steps: number[];
  saved: number[];
  restored: number | null;
  pid: number;
  exit: { code: number | null; signal: string | null };
  stderr: string;
}

/** Runs the child until `killAt` says so (or it exits), then reaps it. */
async function runChild(
  logdir: string,
  steps: number,
  killAt: (line: string, ms: number, t: Trial) => number | null,
  killAfterMs?: number,
): Promise<Trial> {
  const t: Trial = { lines: [], steps: [], saved: [], restored: null, pid: 0, exit: { code: null, signal: null }, stderr: "" };
  let killed = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const kill = () => {
    if (!killed) {
      killed = true;
      child.proc.kill("SIGKILL");
    }
  };
  const child = startScript(CHILD, [logdir, String(steps)], (line, ms) => {
    t.lines.push(line);
    const m = /^(step|saved|restored) (\d+)$/.exec(line);
    if (m?.[1] === "step") t.steps.push(Number(m[2]));
    if (m?.[1] === "saved") t.saved.push(Number(m[2]));
    if (m?.[1] === "restored") t.restored = Number(m[2]);
    if (killed) return;
    const delay = killAt(line, ms, t);
    if (delay === 0) kill();
    else if (delay !== null && timer === undefined) timer = setTimeout(kill, delay);
  });
  t.pid = child.proc.pid ?? 0;
  if (killAfterMs !== undefined) timer = setTimeout(kill, killAfterMs);
  const hang = setTimeout(() => {
    t.lines.push("<hung: killed by the test's timeout>");
    kill();
  }, CHILD_TIMEOUT_MS);
  t.exit = await child.exited;
  clearTimeout(hang);
  clearTimeout(timer);
  t.stderr = child.stderr();
  return t;
}

/** Which phase the last line the child printed puts the kill in. */
function phaseOf(t: Trial): string {
  const last = t.lines[t.lines.length - 1] ?? "";
  if (t.steps.length === 0) return "startup";
  if (last.startsWith("W+ model.ckpt-")) return "checkpoint write";
  if (last === "W+ checkpoint") return "state file write";
  if (last === "A+" || last === "S+") return "event flush";
  return "step";
}

function eventFiles(dir: string): string[] {
  return readdirSync(dir).filter((f) => f.startsWith("events.out.tfevents.")).map((f) => join(dir, f));
}

test("train() killed with SIGKILL at random moments always resumes from a complete checkpoint", async () => {
  const dir = mkdtempSync(join(tmpdir(), "slimtrain-kill-"));
  const started = performance.now();
  try {
    const r = rng(20_240_917);
    const modes: Mode[] = [];
    for (let i = 0; i < TRIALS; i++) modes.push((["startup", "steps", "checkpoint", "state", "events"] as const)[i % 5]);
    for (let i = modes.length - 1; i > 0; i--) {
      const j = Math.floor(r() * (i + 1));
      [modes[i], modes[j]] = [modes[j], modes[i]];
    }
    // Grows with each trial's measured startup, so "startup" kills land in startup on every runtime.
    let startupMs = 300;
    let floor = -1; // the newest step a child reported as saved: restores may never go below it
    let highest = 0; // the newest step any child reached
    let expectRestore: number | null = null;
    const phases: Record<string, number> = {};
    let trials = 0;
    const killedPids = new Set<number>();
    for (const mode of modes) {
      if (performance.now() - started > DEADLINE_MS) break;
      const delayMs = Math.floor(r() * (mode === "startup" ? startupMs : 300));
      const nth = 1 + Math.floor(r() * 8);
      let seen = 0;
      const t = await runChild(dir, 1_000_000, (line, ms, t) => {
        if (line.startsWith("step ") && t.steps.length === 1) startupMs = Math.max(startupMs, ms);
        switch (mode) {
          case "startup":
            // Every other one aims at the model writes, where a kill leaves a temporary file behind.
            return nth % 2 && /^W\+ (training|eval)_model/.test(line) ? 1 + Math.floor(delayMs / 100) : null;
          case "steps":
            return line.startsWith("step ") && t.steps.length === 1 ? delayMs : null;
          case "checkpoint":
            return line.startsWith("W+ model.ckpt-") && ++seen === nth ? 0 : null;
          case "state":
            return line === "W+ checkpoint" && ++seen === nth ? 0 : null;
          case "events":
            // The first timed flush comes a second after the writer opens: kill on its append or on its sync.
            return line === (nth % 2 ? "A+" : "S+") ? 0 : null;
        }
      }, mode === "startup" && !(nth % 2) ? delayMs : undefined);
      trials++;
      const what = `trial ${trials} (${mode}, pid ${t.pid}, last line ${JSON.stringify(t.lines.at(-1))})`;
      assertEquals(t.exit.signal, "SIGKILL", `${what}: the child must die by our SIGKILL, not on its own; stderr: ${t.stderr.slice(-2000)}`);
      assert(!t.lines.some((l) => l.startsWith("<hung")), `${what}: hung`);
      const phase = phaseOf(t);
      phases[phase] = (phases[phase] ?? 0) + 1;

      // The previous kill's stale lock was taken over, and the run resumed from the checkpoint that was latest.
      if (t.steps.length > 0) {
        assertEquals(t.restored, expectRestore, `${what}: resumed from`);
        assertEquals(t.steps[0], (expectRestore ?? 0) + 1, `${what}: first step after the restart`);
      }
      highest = Math.max(highest, ...t.steps);
      floor = Math.max(floor, ...t.saved);

      // restoreLatest verifies both checksums; without fallback, a damaged latest throws.
      const restored = await restoreLatest(fs, dir);
      if (floor >= 0) {
        assert(restored !== null, `${what}: no checkpoint, but step ${floor} was reported saved`);
        assert(restored.globalStep >= floor, `${what}: restored step ${restored.globalStep} is behind the saved step ${floor}`);
      }
      if (restored) assert(restored.globalStep <= highest, `${what}: restored step ${restored.globalStep} was never reached (${highest})`);
      expectRestore = restored?.globalStep ?? null;

      for (const file of eventFiles(dir)) {
        let events;
        try {
          events = readEvents(readFileSync(file), { file, allowTruncatedTail: true });
        } catch (err) {
          throw new Error(`${what}: event file unreadable: ${(err as Error).message}`, { cause: err });
        }
        for (const e of events) assert(e.step <= highest, `${what}: ${file} has an event at step ${e.step} > ${highest}`);
      }
      const lock = readdirSync(dir).includes(LOCK_FILE) ? readFileSync(join(dir, LOCK_FILE), "utf8") : "";
      killedPids.add(t.pid);
      // A kill before the lock was taken leaves an earlier victim's lock: still a dead owner.
      if (lock.trim()) assert(killedPids.has(JSON.parse(lock).pid), `${what}: the lock left behind names ${lock.trim()}, no killed child`);
    }
    assert(trials >= Math.min(TRIALS, 8), `only ${trials} kill trials fitted in ${DEADLINE_MS} ms`);
    const midWrite = (phases["checkpoint write"] ?? 0) + (phases["state file write"] ?? 0) + (phases["event flush"] ?? 0);
    assert(midWrite >= 1, `no kill landed inside a write: ${JSON.stringify(phases)}`);

    // Finish the run: it must reach the end normally, from the last intact checkpoint.
    const target = highest + 3;
    const last = await runChild(dir, target, () => null);
    assertEquals(last.exit.code, 0, `final run exit; stderr: ${last.stderr.slice(-2000)}`);
    assertEquals(last.restored, expectRestore, "final run resumed from");
    assertEquals(last.lines.at(-1), `done ${target}`);
    const leftovers = readdirSync(dir).filter((f) => f.includes(".tmp-") || f === LOCK_FILE);
    assertEquals(leftovers, [], "temporary files or a lock left behind after a clean finish");

    // Interrupted ~20 times or not, the result is the same bits.
    const straightDir = mkdtempSync(join(tmpdir(), "slimtrain-kill-straight-"));
    try {
      await train(buildTinyModel().trainOp, straightDir, {
        data: tinyBatchesFrom, numberOfSteps: target, log: () => {}, handleSignals: false, intraOpNumThreads: 1,
      });
      const a = (await restoreLatest(fs, straightDir))!, b = (await restoreLatest(fs, dir))!;
      assertEquals(b.globalStep, target);
      assertEquals([...b.tensors.keys()], [...a.tensors.keys()], "variables");
      for (const [name, t] of a.tensors) assertEquals(b.tensors.get(name)!.data, t.data, `${name} after ${trials} kills`);
    } finally {
      rmSync(straightDir, { recursive: true, force: true });
    }
    const secs = (performance.now() - started) / 1000;
    console.log(`      kill: ${trials} SIGKILL trials, ${target} steps, ${secs.toFixed(1)} s; kills by phase ${JSON.stringify(phases)}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("train() clears the half-written files and the stale lock a killed trainer left", async () => {
  const dir = mkdtempSync(join(tmpdir(), "slimtrain-kill-"));
  try {
    const leftovers = [
      "training_model.onnx.tmp-4242-1700000000000-0",
      "eval_model.onnx.tmp-4242-1700000000000-1",
      "model.ckpt-3.safetensors.tmp-4242-1700000000000-2",
      "checkpoint.tmp-4242-1700000000000-3",
    ];
    for (const f of leftovers) writeFileSync(join(dir, f), "half");
    const { defaultHostname } = await import("../../src/summary/hostname.ts");
    // A pid above Linux's maximum (2^22) cannot be alive.
    writeFileSync(join(dir, LOCK_FILE), JSON.stringify({ pid: 2 ** 22 + 7, hostname: await defaultHostname(), startedAt: "then" }));
    await train(buildTinyModel().trainOp, dir, {
      data: tinyBatchesFrom, numberOfSteps: 2, saveIntervalSecs: 0, log: () => {}, handleSignals: false,
    });
    const left = readdirSync(dir).filter((f) => f.includes(".tmp-") || f === LOCK_FILE);
    assertEquals(left, [], "left in the logdir");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
