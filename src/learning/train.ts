/**
 * slim's `learning.train`: the loop that measures the loss, applies gradients,
 * writes TensorBoard summaries and checkpoints on timers, resumes from the latest
 * checkpoint in the logdir, and saves a final checkpoint when it stops.
 * @module
 */
import { restoreLatest, Saver } from "../checkpoint/mod.ts";
import { defaultFileSystem } from "../fs/default.ts";
import type { FileSystem } from "../fs/types.ts";
import type { Runtime, RuntimeOptions } from "../runtime/types.ts";
import { onTerminationSignal } from "../runtime/signals.ts";
import { EventFileWriter } from "../summary/event_writer.ts";
import type { TrainOp } from "./create_train_op.ts";
import { checkpointMismatch } from "./checkpoint_match.ts";
import { acquireLogdirLock } from "./logdir_lock.ts";
import { type StepResult, TrainSession } from "./train_session.ts";
import type { TrainData } from "./train_data.ts";
import { Checkpoints, trainLoop } from "./train_loop.ts";

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
  /**
   * Stop when the global step reaches this. Without it, train until stopped: by
   * `signal`, SIGINT/SIGTERM, `trainStepFn`'s shouldStop, or the data running out
   * (slim's `number_of_steps=None`).
   */
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
  /** Under mixed precision: float16 kernels or float16 rounding in float32 ones (see `TrainSessionOptions`). */
  float16Compute?: "native" | "emulate";
}

const KNOWN = new Set([
  "data", "numberOfSteps", "logEveryNSteps", "saveSummariesSecs", "saveIntervalSecs", "initFn", "trainStepFn", "signal",
  "handleSignals", "fs", "runtime", "seed", "maxToKeep", "keepCheckpointEveryNHours", "log", "onStep",
  "fallbackToPreviousCheckpoint", "executionProvider", "package", "intraOpNumThreads", "allowCpuFallback", "profileFilePrefix", "cpuMemArena",
  "cpuMemPattern",
  "wasmPaths", "stepsPerRun", "float16Compute",
]);

/** Temporary files of `writeFileAtomic` for the two models `train` writes into the logdir. */
const MODEL_LEFTOVER = /^(?:training_model|eval_model)\.onnx\.tmp-/;

/**
 * Trains until the global step reaches `numberOfSteps`, or until stopped (a
 * signal, SIGINT/SIGTERM, `trainStepFn`, the data running out) when it is not
 * given, and returns the last step's loss. A run that resumes at or past
 * `numberOfSteps` trains nothing (slim's train does no further step either): it
 * logs `Global step N already reached numberOfSteps M: nothing to train` and
 * returns NaN.
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
  const lock = await openLogdir(fs, logdir);
  const stop = new AbortController();
  const stopOnSignal = (options.handleSignals ?? true)
    ? onTerminationSignal((sig) => {
      log(`Received ${sig}: stopping after the current step`);
      stop.abort();
    })
    : () => {};
  let session: TrainSession | undefined;
  let writer: EventFileWriter | undefined;
  let checkpoints: Checkpoints | undefined;
  let failed = false;
  try {
    session = await TrainSession.create(trainOp, { ...options, seed: options.seed ?? 0 });
    await fs.writeFileAtomic(fs.join(logdir, "training_model.onnx"), session.model.bytes);
    await fs.writeFileAtomic(fs.join(logdir, "eval_model.onnx"), session.evalModel.bytes);
    const ctx: TrainContext = { session, fs, logdir };
    const restored = await restoreOrInitialize(ctx, options, log);
    const numberOfSteps = options.numberOfSteps ?? Infinity;
    if (session.globalStep >= numberOfSteps) {
      log(`Global step ${session.globalStep} already reached numberOfSteps ${numberOfSteps}: nothing to train (${restored?.path})`);
      return NaN;
    }
    writer = await EventFileWriter.create(fs, logdir, { flushSecs: Math.max(1, Math.min(120, options.saveSummariesSecs ?? 600)) });
    checkpoints = new Checkpoints(ctx, new Saver({ fs, maxToKeep: options.maxToKeep, keepCheckpointEveryNHours: options.keepCheckpointEveryNHours }), restored, log);
    const lastLoss = await trainLoop(ctx, { trainOp, options, log, writer, checkpoints, stopped: () => Boolean(options.signal?.aborted || stop.signal.aborted) });
    if (checkpoints.savedStep !== session.globalStep) await checkpoints.save(" (final)");
    else log(`Checkpoint for global step ${checkpoints.savedStep} is already saved`);
    await checkpoints.flush();
    return lastLoss;
  } catch (err) {
    failed = true;
    throw err;
  } finally {
    stopOnSignal();
    // Checkpoints still reaching the disk finish before the lock goes, even after a failure.
    if (failed) await checkpoints?.flush().catch((err) => log(`Could not make a checkpoint durable: ${(err as Error).message}`));
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

/** Creates the logdir, takes its lock, and removes a killed trainer's half-written models. */
async function openLogdir(fs: FileSystem, logdir: string): ReturnType<typeof acquireLogdirLock> {
  const stat = await fs.stat(logdir);
  if (stat && !stat.isDirectory) throw new Error(`train: logdir ${logdir} is a file, not a directory`);
  await fs.mkdirp(logdir);
  const lock = await acquireLogdirLock(fs, logdir);
  try {
    // Holding the lock, these can only be a killed trainer's; nothing else would remove them.
    for (const name of await fs.readDir(logdir)) {
      if (MODEL_LEFTOVER.test(name)) await fs.remove(fs.join(logdir, name));
    }
  } catch (err) {
    await lock.release().catch(() => {});
    throw err;
  }
  return lock;
}

/**
 * Resumes from the logdir's latest checkpoint, or initializes the variables and runs
 * `initFn`. Returns where it resumed from, not the restored tensors: the session
 * holds its own copies, and the run must not keep a second one alive.
 */
async function restoreOrInitialize(
  ctx: TrainContext,
  options: TrainOptions,
  log: (line: string) => void,
): Promise<{ path: string; globalStep: number } | null> {
  const { session, fs, logdir } = ctx;
  const restored = await restoreLatest(fs, logdir, { fallbackToPrevious: options.fallbackToPreviousCheckpoint ?? false });
  if (!restored) {
    session.initialize();
    await options.initFn?.(ctx);
    return null;
  }
  for (const s of restored.skipped) log(`Skipped damaged checkpoint ${s.path}: ${s.error.message}`);
  for (const v of session.variables) {
    const value = restored.tensors.get(v.name);
    try {
      if (!value) throw new Error("missing");
      session.assign(v.name, value);
    } catch (err) {
      throw checkpointMismatch(
        restored.path, v, value, (err as Error).message,
        `The logdir ${logdir} holds another model's checkpoints: train in a new logdir, or start over (\`slimtrain train --fresh\`, or remove its checkpoints).`,
      );
    }
  }
  session.globalStep = restored.globalStep;
  log(`Restored ${restored.path} (global step ${restored.globalStep})`);
  return { path: restored.path, globalStep: restored.globalStep };
}

function validateOptions(options: TrainOptions): void {
  for (const k of Object.keys(options)) {
    if (!KNOWN.has(k)) throw new Error(`train: unknown option ${k}`);
  }
  const n = options.numberOfSteps;
  if (n !== undefined && !(Number.isInteger(n) && n > 0)) throw new Error(`train: numberOfSteps must be a positive integer, got ${n}`);
  const k = options.stepsPerRun;
  if (k !== undefined && !(Number.isInteger(k) && k > 0)) throw new Error(`train: stepsPerRun must be a positive integer, got ${k}`);
  for (const key of ["saveSummariesSecs", "saveIntervalSecs", "logEveryNSteps"] as const) {
    const v = options[key];
    if (v !== undefined && !(v >= 0)) throw new Error(`train: ${key} must be a non-negative number, got ${v}`);
  }
}
