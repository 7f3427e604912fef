// A long run of the tiny net with summaries and checkpoints every 0.5 s: memory
// stays flat (the floor of RSS and of the JS heap, forced GC before each sample,
// compared between the second and last quarter), checkpoints and summaries keep
// their schedule, event flushes keep the file current, and rotation keeps exactly
// maxToKeep checkpoints. The figures are printed for BENCHMARKS.md.
// Default: SOAK_SECS=8 seconds (at most SOAK_STEPS=1000000 steps). A long variant:
//   SOAK_SECS=1800 SOAK_STEPS=100000000 npx tsx test/run.ts soak
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as v8 from "node:v8";
import * as vm from "node:vm";
import { readState } from "../../src/checkpoint/state.ts";
import { NodeFileSystem } from "../../src/fs/node_fs.ts";
import { train } from "../../src/learning/train.ts";
import { readEvents } from "../../src/summary/event_reader.ts";
import { assert, assertEquals, test } from "../harness.ts";
import { buildTinyModel, tinyBatchesFrom } from "./tiny_model.ts";

function envNumber(name: string, fallback: number): number {
  const g = globalThis as { Deno?: { env: { get(k: string): string | undefined } }; process?: { env: Record<string, string | undefined> } };
  const v = g.Deno ? g.Deno.env.get(name) : g.process?.env[name];
  return v === undefined || v === "" ? fallback : Number(v);
}

const SECS = envNumber("SOAK_SECS", 8);
const STEPS = envNumber("SOAK_STEPS", 1_000_000);
const INTERVAL_SECS = 0.5;
const SAMPLE_MS = 200;

/** A full collection where the runtime offers one: without it the heap floor is noisier. */
function findGc(): (() => void) | undefined {
  const g = globalThis as { gc?: () => void; Bun?: { gc(force: boolean): void } };
  if (g.Bun) return () => g.Bun!.gc(true);
  if (g.gc) return g.gc;
  try {
    v8.setFlagsFromString("--expose-gc");
    return vm.runInNewContext("gc") as () => void;
  } catch {
    return undefined;
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const mb = (bytes: number) => (bytes / 2 ** 20).toFixed(1);

test("train() soak: flat memory, checkpoints and summaries on schedule", async () => {
  const dir = mkdtempSync(join(tmpdir(), "slimtrain-soak-"));
  try {
    const gc = findGc();
    const samples: { step: number; rss: number; heap: number }[] = [];
    const saves: number[] = [];
    const freshness: number[] = [];
    let lastSample = -Infinity, lastFreshness = performance.now();
    let steps = 0;
    const start = performance.now();
    await train(buildTinyModel().trainOp, dir, {
      data: tinyBatchesFrom,
      numberOfSteps: STEPS,
      signal: AbortSignal.timeout(SECS * 1000),
      saveSummariesSecs: INTERVAL_SECS,
      saveIntervalSecs: INTERVAL_SECS,
      logEveryNSteps: 0,
      handleSignals: false,
      intraOpNumThreads: 1,
      log: (line) => {
        if (line.startsWith("Saved ") && !line.endsWith("(final)")) saves.push(performance.now());
      },
      onStep: ({ step }) => {
        steps = step;
        const now = performance.now();
        if (now - lastSample >= SAMPLE_MS) {
          gc?.();
          const m = process.memoryUsage();
          samples.push({ step, rss: m.rss, heap: m.heapUsed });
          lastSample = performance.now();
        }
        // How stale the event file is on disk: the newest flushed summary against the clock.
        if (now - lastFreshness >= 1500) {
          const file = readdirSync(dir).find((f) => f.startsWith("events.out.tfevents."));
          if (file) {
            const events = readEvents(readFileSync(join(dir, file)), { allowTruncatedTail: true });
            const newest = Math.max(...events.map((e) => e.wallTime));
            freshness.push(Date.now() / 1000 - newest);
          }
          lastFreshness = performance.now();
        }
      },
    });
    const elapsed = (performance.now() - start) / 1000;
    const rate = steps / elapsed;

    // Memory: the floor of a quarter, so a GC that happened to run (or not) before a sample does not count.
    // The baseline is the second quarter: RSS fills up in the first seconds (allocator pools, ONNX
    // Runtime's and the runtime's caches; measured 129 -> 157 MiB within 5 s, then flat through 40 s).
    const q = Math.max(1, Math.floor(samples.length / 4));
    const first = samples.slice(q, 2 * q), last = samples.slice(-q);
    const floor = (xs: typeof samples, k: "rss" | "heap") => Math.min(...xs.map((s) => s[k]));
    const rss0 = floor(first, "rss"), rss1 = floor(last, "rss"), heap0 = floor(first, "heap"), heap1 = floor(last, "heap");
    const perStepRss = (rss1 - rss0) / Math.max(1, last[0].step - first[0].step);

    // Schedule: checkpoints ~every INTERVAL_SECS, never sooner.
    const gaps = saves.slice(1).map((t, i) => t - saves[i]);
    const events = readdirSync(dir).filter((f) => f.startsWith("events.out.tfevents."))
      .flatMap((f) => readEvents(readFileSync(join(dir, f)), { file: f }));
    const losses = events.filter((e) => e.values.some((v) => v.tag === "losses/total_loss"));
    const summaryGaps = losses.slice(1).map((e, i) => e.wallTime - losses[i].wallTime);
    const rates = events.flatMap((e) => e.values.filter((v) => v.tag === "global_step/sec").map((v) => v.value!));
    const kept = readdirSync(dir).filter((f) => /^model\.ckpt-\d+\.safetensors$/.test(f));

    console.log(
      `      soak: ${steps} steps in ${elapsed.toFixed(1)} s = ${rate.toFixed(0)} steps/s; ` +
        `RSS ${mb(rss0)} -> ${mb(rss1)} MiB (${perStepRss.toFixed(1)} B/step), heap ${mb(heap0)} -> ${mb(heap1)} MiB (floors of second/last quarter, ${samples.length} samples, gc ${gc ? "forced" : "not available"}); ` +
        `${saves.length} checkpoints (gap median ${median(gaps).toFixed(0)} ms, max ${Math.max(...gaps).toFixed(0)} ms), ` +
        `${losses.length} summaries (gap median ${(median(summaryGaps) * 1000).toFixed(0)} ms), event file at most ${Math.max(...freshness).toFixed(2)} s stale`,
    );

    assert(samples.length >= 8, `only ${samples.length} memory samples`);
    // Noise on this machine is a few MiB; a leak of 1 KiB per step would show as tens.
    assert(rss1 - rss0 < Math.max(24 * 2 ** 20, 0.2 * rss0), `RSS grew from ${mb(rss0)} to ${mb(rss1)} MiB (${perStepRss.toFixed(0)} B/step)`);
    assert(heap1 - heap0 < 4 * 2 ** 20, `JS heap grew from ${mb(heap0)} to ${mb(heap1)} MiB`);

    const expected = elapsed / INTERVAL_SECS;
    assert(saves.length >= expected * 0.6 - 2 && saves.length <= expected + 1, `${saves.length} checkpoints in ${elapsed.toFixed(1)} s`);
    // "Saved" is logged once a checkpoint is durable (its fsync runs in the background while training
    // goes on), so the log lags each save by a varying few milliseconds: no bursts is what must hold.
    assert(Math.min(...gaps) >= INTERVAL_SECS * 1000 * 0.5, `checkpoints ${Math.min(...gaps).toFixed(0)} ms apart`);
    assert(median(gaps) < INTERVAL_SECS * 1000 * 1.5, `checkpoint gap median ${median(gaps).toFixed(0)} ms`);
    assert(losses.length >= expected * 0.6 - 2 && losses.length <= expected + 2, `${losses.length} summaries in ${elapsed.toFixed(1)} s`);
    // Due by step start times, but an event's wall time is taken after its step (and
    // after a checkpoint saved in the same iteration), so a late one shortens the next
    // gap by its delay: 0.33 s for a 0.5 s interval was seen under Bun on a busy
    // machine. What must hold is no burst: never two summaries within half an interval.
    assert(Math.min(...summaryGaps) >= INTERVAL_SECS * 0.5, `summaries ${Math.min(...summaryGaps).toFixed(3)} s apart`);
    assert(median(summaryGaps) < INTERVAL_SECS * 1.5, `summary gap median ${median(summaryGaps).toFixed(3)} s`);
    assert(losses.every((e, i) => i === 0 || e.step > losses[i - 1].step), "summary steps increase");
    assert(rates.length >= losses.length - 1 && rates.every((r) => r > 0), "global_step/sec logged with each summary after the first");
    // Flushed every second (flushSecs is at least 1) with summaries every 0.5 s: at most ~1.5 s behind.
    assert(freshness.length > 0 && Math.max(...freshness) < 3, `event file ${Math.max(...freshness).toFixed(2)} s stale`);
    assertEquals(kept.length, 5, "checkpoints kept (maxToKeep 5)");
    const state = await readState(new NodeFileSystem(), dir);
    assertEquals(state?.paths.length, 5, "the state file lists the kept checkpoints");
    assertEquals(state?.latest, `model.ckpt-${steps}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
