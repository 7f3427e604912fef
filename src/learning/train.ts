/**
 * slim's `learning.train`: the loop that measures the loss, applies gradients,
 * writes TensorBoard summaries and checkpoints on timers, resumes from the latest
 * checkpoint in the logdir, and saves a final checkpoint when it stops.
 * @module
 */
import { Saver, restoreLatest } from "../checkpoint/mod.ts";
import { defaultFileSystem } from "../fs/default.ts";
import type { FileSystem } from "../fs/types.ts";
import type { HostTensor } from "../graph/host_tensor.ts";
import type { Runtime, RuntimeOptions } from "../runtime/types.ts";
import { onTerminationSignal } from "../runtime/signals.ts";
import { EventFileWriter } from "../summary/event_writer.ts";
import type { TrainOp } from "./create_train_op.ts";
import { acquireLogdirLock } from "./logdir_lock.ts";
import { type StepResult, TrainSession } from "./train_session.ts";
import { resolveTrainData, type TrainData } from "./train_data.ts";
import { writeSummaries } from "./write_summaries.ts";

/** What `initFn` and `trainStepFn` can use. */
export interface TrainContext {
  session: TrainSession;
  fs: FileSystem;
  logdir: string;
}

/** Options of `train`, as slim names them (camelCase), plus the runtime's. */
export interface TrainOptions extends RuntimeOptions {
  /** Batches keyed by placeholder name; default: the graph's input pipeline (`data.inputs`). */
  data?: TrainData;
  /** Stop when the global step reaches this (required unless `signal` stops the run). */
  numberOfSteps?: number;
  /** Print `global step N: loss = X (Y sec/step)` every N steps (0: never). Default 1. */
  logEveryNSteps?: number;
  /** Default 600. */
  saveSummariesSecs?: number;
  /** Default 600. */
  saveIntervalSecs?: number;
  /** Runs on a fresh start only (not when resuming), after variables are initialized. */
  initFn?: (ctx: TrainContext) => void | Promise<void>;
  /** Replaces one step; call `runStep` to run the train op. Return shouldStop to end early. */
  trainStepFn?: (ctx: TrainContext & { step: number; runStep: (withSummaries?: boolean) => Promise<StepResult> }) =>
    Promise<{ loss: number; shouldStop?: boolean }>;
  /** Stops after the current step with a final checkpoint. */
  signal?: AbortSignal;
  /** Stop cleanly on SIGINT/SIGTERM. Default true. */
  handleSignals?: boolean;
  fs?: FileSystem;
  runtime?: Runtime;
  /** Seed for initial values and dropout noise. Default 0. */
  seed?: number;
  maxToKeep?: number;
  keepCheckpointEveryNHours?: number;
  /** Where log lines go. Default console.log. */
  log?: (line: string) => void;
  /** Called after every step (progress bars). */
  onStep?: (info: { step: number; loss: number; secPerStep: number }) => void;
  /** Restore from an older checkpoint when the latest is damaged (default false: fail). */
  fallbackToPreviousCheckpoint?: boolean;
  /**
   * Train steps per ONNX Runtime call (Keras's steps_per_execution): the steps are
   * unrolled in one model, so per-call costs (onnxruntime-node copies every updated
   * weight out after each call) are paid once per k steps. Results are identical to
   * k=1; summaries and checkpoints happen between calls. Default 1.
   */
  stepsPerRun?: number;
}

const KNOWN = new Set([
  "data", "numberOfSteps", "logEveryNSteps", "saveSummariesSecs", "saveIntervalSecs", "initFn", "trainStepFn", "signal",
  "handleSignals", "fs", "runtime", "seed", "maxToKeep", "keepCheckpointEveryNHours", "log", "onStep",
  "fallbackToPreviousCheckpoint", "executionProvider", "package", "intraOpNumThreads", "allowCpuFallback", "profileFilePrefix",
  "wasmPaths", "stepsPerRun",
]);

/** Temporary files of `writeFileAtomic` for the two models `train` writes into the logdir. */
const MODEL_LEFTOVER = /^(?:training_model|eval_model)\.onnx\.tmp-/;

/**
 * Trains until `numberOfSteps` (or a stop signal), returning the last loss.
 *
 * @example
 * ```ts
 * const loss = await train(trainOp, "logs/vgg16", { numberOfSteps: 1000, saveSummariesSecs: 300, saveIntervalSecs: 600 });
 * ```
 */
export async function train(trainOp: TrainOp, logdir: string, options: TrainOptions = {}): Promise<number> {
  if (!trainOp || typeof trainOp !== "object" || !trainOp.totalLoss || !Array.isArray(trainOp.updates)) {
    throw new Error(`train: the first argument must be the TrainOp that createTrainOp returns, got ${String(trainOp)}`);
  }
  validateOptions(options);
  const fs = options.fs ?? (await defaultFileSystem());
  const log = options.log ?? ((line: string) => console.log(line));
  const stat = await fs.stat(logdir);
  if (stat && !stat.isDirectory) throw new Error(`train: logdir ${logdir} is a file, not a directory`);
  await fs.mkdirp(logdir);
  const lock = await acquireLogdirLock(fs, logdir);
  const stopSignal = new AbortController();
  const stopOnSignal = (options.handleSignals ?? true)
    ? onTerminationSignal((sig) => {
      log(`Received ${sig}: stopping after the current step`);
      stopSignal.abort();
    })
    : () => {};
  let session: TrainSession | undefined;
  let writer: EventFileWriter | undefined;
  let failed = false;
  try {
    // Holding the lock, these can only be a killed trainer's half-written models; nothing else would remove them.
    for (const name of await fs.readDir(logdir)) {
      if (MODEL_LEFTOVER.test(name)) await fs.remove(fs.join(logdir, name));
    }
    session = await TrainSession.create(trainOp, { ...options, seed: options.seed ?? 0 });
    await fs.writeFileAtomic(fs.join(logdir, "training_model.onnx"), session.model.bytes);
    await fs.writeFileAtomic(fs.join(logdir, "eval_model.onnx"), session.evalModel.bytes);
    const ctx: TrainContext = { session, fs, logdir };
    const saver = new Saver({ fs, maxToKeep: options.maxToKeep, keepCheckpointEveryNHours: options.keepCheckpointEveryNHours });
    const restored = await restoreLatest(fs, logdir, { fallbackToPrevious: options.fallbackToPreviousCheckpoint ?? false });
    if (restored) {
      for (const s of restored.skipped) log(`Skipped damaged checkpoint ${s.path}: ${s.error.message}`);
      loadCheckpoint(session, restored.tensors, restored.path);
      session.globalStep = restored.globalStep;
      log(`Restored ${restored.path} (global step ${restored.globalStep})`);
    } else {
      session.initialize();
      await options.initFn?.(ctx);
    }
    const numberOfSteps = options.numberOfSteps ?? Infinity;
    const batches_ = resolveTrainData(trainOp, options.data, session.globalStep)[Symbol.asyncIterator]();
    writer = await EventFileWriter.create(fs, logdir, { flushSecs: Math.max(1, Math.min(120, options.saveSummariesSecs ?? 600)) });
    const summariesMs = (options.saveSummariesSecs ?? 600) * 1000;
    const checkpointMs = (options.saveIntervalSecs ?? 600) * 1000;
    const logEvery = options.logEveryNSteps ?? 1;
    let lastSummary = -Infinity, lastCheckpoint = performance.now(), lastLoss = NaN;
    // The step the newest checkpoint on disk holds, so the final save is not a duplicate.
    let savedStep = restored ? restored.globalStep : -1;
    let rateStart = { time: performance.now(), step: session.globalStep };
    const save = async () => {
      const tensors = await session!.readState();
      tensors.set("global_step", { dtype: "int64", shape: [], data: new BigInt64Array([BigInt(session!.globalStep)]) });
      const path = await saver.save(logdir, tensors, { globalStep: session!.globalStep });
      lastCheckpoint = performance.now();
      savedStep = session!.globalStep;
      return path;
    };

    const stepsPerRun = options.stepsPerRun ?? 1;
    let exhausted = false;
    while (!exhausted && session.globalStep < numberOfSteps && !options.signal?.aborted && !stopSignal.signal.aborted) {
      const batches: Record<string, HostTensor>[] = [];
      const want = options.trainStepFn ? 1 : Math.min(stepsPerRun, numberOfSteps - session.globalStep);
      while (batches.length < want) {
        const next = await batches_.next();
        if (next.done) {
          log(`Input data ran out at global step ${session.globalStep + batches.length}`);
          exhausted = true;
          break;
        }
        batches.push(next.value as Record<string, HostTensor>);
      }
      if (batches.length === 0) break;
      const start = performance.now();
      const summariesDue = summariesMs === 0 || start - lastSummary >= summariesMs;
      const firstStep = session.globalStep;
      let losses: number[], summaries: StepResult["summaries"], shouldStop = false;
      if (options.trainStepFn) {
        const runStep = async (withSummaries = summariesDue) => {
          const r = await session!.run(batches[0], { withSummaries });
          summaries = r.summaries;
          return r;
        };
        const r = await options.trainStepFn({ ...ctx, step: firstStep, runStep });
        losses = [r.loss];
        shouldStop = Boolean(r.shouldStop);
      } else {
        ({ losses, summaries } = await session.runSteps(batches, { withSummaries: summariesDue }));
      }
      const secPerStep = (performance.now() - start) / 1000 / losses.length;
      losses.forEach((loss, i) => {
        const step = firstStep + i + 1;
        if (logEvery > 0 && step % logEvery === 0) log(`global step ${step}: loss = ${loss.toFixed(4)} (${secPerStep.toFixed(3)} sec/step)`);
        options.onStep?.({ step, loss, secPerStep });
      });
      lastLoss = losses[losses.length - 1];
      const step = session.globalStep;
      if (summaries) {
        const now = performance.now();
        const rate = (step - rateStart.step) / Math.max(1e-9, (now - rateStart.time) / 1000);
        // Tagged with the global step after the update, like the log line (slim's convention).
        writeSummaries(writer, summaries, step, rateStart.step < step ? rate : undefined);
        rateStart = { time: now, step };
        lastSummary = start;
      }
      if (performance.now() - lastCheckpoint >= checkpointMs) log(`Saved ${await save()}`);
      if (shouldStop) break;
    }
    if (savedStep !== session.globalStep) log(`Saved ${await save()} (final)`);
    else log(`Checkpoint for global step ${savedStep} is already saved`);
    return lastLoss;
  } catch (err) {
    failed = true;
    throw err;
  } finally {
    stopOnSignal();
    await writer?.close().catch((err) => log(`Could not close the event file: ${(err as Error).message}`));
    await session?.release();
    // After a failure the logdir may be unwritable (full, read-only): the first error is the one to report,
    // and the lock left behind is stale once this process exits.
    await lock.release().catch((err) => {
      if (!failed) throw err;
      log(`Could not remove the lock ${lock.path}: ${(err as Error).message}`);
    });
  }
}

function loadCheckpoint(session: TrainSession, tensors: Map<string, HostTensor>, path: string): void {
  for (const v of session.variables) {
    const value = tensors.get(v.name);
    if (!value) throw new Error(`Checkpoint ${path} has no variable ${v.name}: it was written by a different graph`);
    try {
      session.assign(v.name, value);
    } catch (err) {
      throw new Error(`Checkpoint ${path}: ${(err as Error).message}`, { cause: err });
    }
  }
}

function validateOptions(options: TrainOptions): void {
  for (const k of Object.keys(options)) {
    if (!KNOWN.has(k)) throw new Error(`train: unknown option ${k}`);
  }
  const n = options.numberOfSteps;
  if (n !== undefined && !(Number.isInteger(n) && n > 0)) throw new Error(`train: numberOfSteps must be a positive integer, got ${n}`);
  if (n === undefined && !options.signal) throw new Error("train: pass numberOfSteps or a signal that stops the run");
  const k = options.stepsPerRun;
  if (k !== undefined && !(Number.isInteger(k) && k > 0)) throw new Error(`train: stepsPerRun must be a positive integer, got ${k}`);
  for (const key of ["saveSummariesSecs", "saveIntervalSecs", "logEveryNSteps"] as const) {
    const v = options[key];
    if (v !== undefined && !(v >= 0)) throw new Error(`train: ${key} must be a non-negative number, got ${v}`);
  }
}
