/**
 * One `learning.train` run as the demo's two modes (training from scratch and
 * fine-tuning) report it: the loss and wall time of every step, the host-device
 * traffic of steps 2..n, and where each variable's value lived after the last
 * step. Nothing here touches the DOM or `node:` modules.
 * @module
 */
import type { FileSystem } from "../../src/fs/types.ts";
import type { HostTensor } from "../../src/graph/host_tensor.ts";
import type { TrainOp } from "../../src/learning/create_train_op.ts";
import { train } from "../../src/learning/train.ts";
import type { TrainSession } from "../../src/learning/train_session.ts";
import type { Runtime, TransferCounts } from "../../src/runtime/types.ts";

/** What both demo modes pass to `train`. */
export interface RunOptions {
  runtime: Runtime;
  fs: FileSystem;
  logdir: string;
  steps: number;
  seed: number;
  onStep?: (info: { step: number; loss: number; secPerStep: number }) => void;
  log?: (line: string) => void;
}

/** What a run recorded, in the fields both modes' results share. */
export interface RecordedRun {
  runtime: string;
  ep: string;
  steps: number;
  seed: number;
  batchSize: number;
  /** Loss before each step's update, step 1 first. */
  losses: number[];
  finalLoss: number;
  /** Wall time of each step in milliseconds. */
  stepMs: number[];
  /** Median of `stepMs` without the first step (which includes warm-up). */
  medianStepMs: number;
  /** Where each variable's value lived after the last step ("cpu", "gpu-buffer"). */
  stateLocations: Record<string, string>;
  /** Host-device traffic of steps 2..n, per step (step 1 also uploads the initial values). */
  transfersPerStep: TransferCounts;
}

/**
 * Trains `trainOp` with `learning.train` (summaries every step, a checkpoint at
 * the end) on `batchAt(step)`, recording what the demo reports.
 *
 * @example
 * ```ts
 * const run = await recordedTrain(trainOp, o, 16, (step) => batchAt(o.digits, step, 16));
 * run.medianStepMs;
 * ```
 */
export async function recordedTrain(
  trainOp: TrainOp,
  o: RunOptions,
  batchSize: number,
  batchAt: (step: number) => Record<string, HostTensor>,
): Promise<RecordedRun> {
  const losses: number[] = [], stepMs: number[] = [];
  let session: TrainSession | undefined;
  // Counts after step 1 and after the latest step: their difference is what steps
  // 2..n moved (step 1 also uploads the initial values; the final checkpoint reads them back).
  let afterFirst: TransferCounts | undefined, afterLast: TransferCounts | undefined;
  let stateLocations: Record<string, string> = {};
  await train(trainOp, o.logdir, {
    runtime: o.runtime,
    fs: o.fs,
    seed: o.seed,
    numberOfSteps: o.steps,
    saveSummariesSecs: 0,
    handleSignals: false,
    log: o.log ?? (() => {}),
    data: function* (start: number) {
      for (let s = start; ; s++) yield batchAt(s);
    },
    initFn: (ctx) => {
      session = ctx.session;
    },
    onStep: (info) => {
      losses.push(info.loss);
      stepMs.push(info.secPerStep * 1000);
      afterLast = { ...o.runtime.transfers };
      afterFirst ??= afterLast;
      // Read here, before `train` saves the final checkpoint and releases the session.
      if (session) stateLocations = Object.fromEntries([...session.state].map(([name, v]) => [name, v.location]));
      o.onStep?.(info);
    },
  });
  return {
    runtime: o.runtime.description,
    ep: o.runtime.executionProvider,
    steps: losses.length,
    seed: o.seed,
    batchSize,
    losses,
    finalLoss: losses[losses.length - 1],
    stepMs,
    medianStepMs: median(stepMs.slice(1)),
    stateLocations,
    transfersPerStep: perStep(afterFirst, afterLast, losses.length - 1),
  };
}

function perStep(first: TransferCounts | undefined, last: TransferCounts | undefined, steps: number): TransferCounts {
  const d = (key: keyof TransferCounts) => (first && last && steps > 0 ? (last[key] - first[key]) / steps : NaN);
  return { toHost: d("toHost"), toHostBytes: d("toHostBytes"), fromHost: d("fromHost"), fromHostBytes: d("fromHostBytes") };
}

function median(xs: number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}
