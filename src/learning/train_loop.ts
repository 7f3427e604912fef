/**
 * The body of `train`: batches in, steps run (unrolled `stepsPerRun` at a time, or
 * through `trainStepFn`), log lines and `onStep`, summaries and checkpoints on
 * their timers.
 * @module
 */
import type { CheckpointTensor, Saver } from "../checkpoint/mod.ts";
import type { EventFileWriter } from "../summary/event_writer.ts";
import type { TrainOp } from "./create_train_op.ts";
import type { TrainContext, TrainOptions } from "./train.ts";
import { type Feeds, resolveTrainData } from "./train_data.ts";
import type { StepResult } from "./train_session.ts";
import { writeSummaries } from "./write_summaries.ts";

/**
 * Periodic and final checkpoints, and the step the newest one on disk holds.
 * `save` returns once the state is written out, before it is durable (see
 * `Saver.save`'s `syncInBackground`); `flush` waits for the disk.
 *
 * @example
 * ```ts
 * const checkpoints = new Checkpoints(ctx, new Saver({ fs }), restored, console.log);
 * if (checkpoints.due(600_000)) await checkpoints.save();
 * await checkpoints.flush(); // before train() returns
 * ```
 */
export class Checkpoints {
  /** The step of the newest checkpoint saved (-1: none; durable once `flush` resolves), so the final save is not a duplicate. */
  savedStep: number;
  private last = performance.now();

  constructor(
    private readonly ctx: TrainContext,
    private readonly saver: Saver,
    restored: { globalStep: number } | null,
    /** Told `Saved <prefix>` once each checkpoint is durable. */
    private readonly log: (line: string) => void = () => {},
  ) {
    this.savedStep = restored ? restored.globalStep : -1;
  }

  due(intervalMs: number): boolean {
    return performance.now() - this.last >= intervalMs;
  }

  /** Writes a checkpoint, returning once the state is read out; `note` follows the `Saved` line logged when it is durable. */
  async save(note = ""): Promise<string> {
    const { session, logdir } = this.ctx;
    // Read out one variable at a time as the writer reaches it, not the whole state at once.
    const tensors: Map<string, CheckpointTensor> = session.checkpointTensors();
    tensors.set("global_step", { dtype: "int64", shape: [], data: new BigInt64Array([BigInt(session.globalStep)]) });
    // Steps go on while the disk catches up; what resume trusts advances only once the file is durable.
    const path = await this.saver.save(logdir, tensors, {
      globalStep: session.globalStep,
      syncInBackground: true,
      onDurable: (prefix) => this.log(`Saved ${prefix}${note}`),
    });
    this.last = performance.now();
    this.savedStep = session.globalStep;
    return path;
  }

  /** Waits until every checkpoint saved so far is durable and recorded; throws a failure of that background work. */
  flush(): Promise<void> {
    return this.saver.flush();
  }
}

/**
 * What the loop needs besides the session.
 *
 * @example
 * ```ts
 * const parts: LoopParts = { trainOp, options, log, writer, checkpoints, stopped: () => false };
 * ```
 */
export interface LoopParts {
  trainOp: TrainOp;
  options: TrainOptions;
  log: (line: string) => void;
  writer: EventFileWriter;
  checkpoints: Checkpoints;
  stopped: () => boolean;
}

/**
 * Runs steps until done or stopped, writing summaries and checkpoints on their
 * timers; returns the last loss (NaN when no step ran).
 *
 * @example
 * ```ts
 * const loss = await trainLoop(ctx, { trainOp, options, log, writer, checkpoints, stopped: () => signal.aborted });
 * ```
 */
export async function trainLoop(ctx: TrainContext, { trainOp, options, log, writer, checkpoints, stopped }: LoopParts): Promise<number> {
  const { session } = ctx;
  const numberOfSteps = options.numberOfSteps ?? Infinity;
  const batches = resolveTrainData(trainOp, options.data, session.globalStep)[Symbol.asyncIterator]();
  const summariesMs = (options.saveSummariesSecs ?? 600) * 1000;
  const checkpointMs = (options.saveIntervalSecs ?? 600) * 1000;
  const logEvery = options.logEveryNSteps ?? 1;
  const stepsPerRun = options.trainStepFn ? 1 : options.stepsPerRun ?? 1;
  let lastSummary = -Infinity, lastLoss = NaN;
  let rateStart = { time: performance.now(), step: session.globalStep };
  while (session.globalStep < numberOfSteps && !stopped()) {
    const { taken, exhausted } = await nextBatches(batches, Math.min(stepsPerRun, numberOfSteps - session.globalStep));
    if (exhausted) log(`Input data ran out at global step ${session.globalStep + taken.length}`);
    if (taken.length === 0) break;
    const start = performance.now();
    const withSummaries = summariesMs === 0 || start - lastSummary >= summariesMs;
    const firstStep = session.globalStep;
    const { losses, summaries, shouldStop } = await runCall(ctx, taken, withSummaries, options);
    const secPerStep = (performance.now() - start) / 1000 / losses.length;
    losses.forEach((loss, i) => {
      // Numbered by the global step after the update, as slim logs and tags summaries.
      const step = firstStep + i + 1;
      if (logEvery > 0 && step % logEvery === 0) log(`global step ${step}: loss = ${loss.toFixed(4)} (${secPerStep.toFixed(3)} sec/step)`);
      options.onStep?.({ step, loss, secPerStep });
    });
    lastLoss = losses[losses.length - 1];
    if (summaries) {
      const now = performance.now(), step = session.globalStep;
      const rate = (step - rateStart.step) / Math.max(1e-9, (now - rateStart.time) / 1000);
      writeSummaries(writer, summaries, step, rateStart.step < step ? rate : undefined);
      rateStart = { time: now, step };
      lastSummary = start;
    }
    if (checkpoints.due(checkpointMs)) await checkpoints.save();
    if (shouldStop || exhausted) break;
  }
  return lastLoss;
}

/** Up to `want` batches; `exhausted` when the data ended first. */
async function nextBatches(it: AsyncIterator<Feeds>, want: number): Promise<{ taken: Feeds[]; exhausted: boolean }> {
  const taken: Feeds[] = [];
  while (taken.length < want) {
    const next = await it.next();
    if (next.done) return { taken, exhausted: true };
    taken.push(next.value);
  }
  return { taken, exhausted: false };
}

/** One ONNX Runtime call: `trainStepFn` around one step, or the batches as unrolled steps. */
async function runCall(
  ctx: TrainContext,
  batches: Feeds[],
  withSummaries: boolean,
  options: TrainOptions,
): Promise<{ losses: number[]; summaries?: StepResult["summaries"]; shouldStop: boolean }> {
  if (!options.trainStepFn) return { ...(await ctx.session.runSteps(batches, { withSummaries })), shouldStop: false };
  let summaries: StepResult["summaries"];
  const runStep = async (summarize = withSummaries) => {
    const r = await ctx.session.run(batches[0], { withSummaries: summarize });
    summaries = r.summaries;
    return r;
  };
  const r = await options.trainStepFn({ ...ctx, step: ctx.session.globalStep, runStep });
  return { losses: [r.loss], summaries, shouldStop: Boolean(r.shouldStop) };
}

