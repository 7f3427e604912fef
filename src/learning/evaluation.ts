/**
 * slim's `evaluation` module: `evaluateOnce` runs streaming metrics over data with
 * one checkpoint's variables and logs them as TensorBoard scalars at the
 * checkpoint's global step; `evaluationLoop` does so for every new checkpoint a
 * training run writes, the way slim's `evaluation_loop` runs beside `train`.
 * @module
 */
import { type RestoredCheckpoint, restoreCheckpoint, SUFFIX } from "../checkpoint/checkpoint_file.ts";
import type { Variable } from "../graph/variable.ts";
import { latestCheckpoint } from "../checkpoint/saver.ts";
import { defaultFileSystem } from "../fs/default.ts";
import type { FileSystem } from "../fs/types.ts";
import type { Metric } from "../metrics/metrics.ts";
import { EventFileWriter } from "../summary/event_writer.ts";
import { checkEvalArgs, checkIsCheckpoint, checkIsDirectory, checkPipelineCoverage, metricsGraph, requireFullBatches } from "./eval_args.ts";
import { type EvalData, EvalSession, type EvalSessionOptions } from "./eval_session.ts";

/**
 * Options of `evaluateOnce`.
 *
 * @example
 * ```ts
 * const options: EvaluateOnceOptions = { metrics: { accuracy: accuracy(logits, labels) }, data: testBatches, numEvals: 10 };
 * ```
 */
export interface EvaluateOnceOptions extends EvalSessionOptions {
  /** The metrics to compute, keyed by the name they are reported and logged under. */
  metrics: Readonly<Record<string, Metric>>;
  /** Batches keyed by placeholder name; default: the graph's input pipeline (needs numEvals). */
  data?: EvalData;
  /** Stop after this many batches (slim's `num_evals`); default: when the data ends. */
  numEvals?: number;
  fs?: FileSystem;
  /** Where the result lines go. Default console.log. */
  log?: (line: string) => void;
  /**
   * slim's `variables_to_restore` map: `{ nameInCheckpoint: variable }`, e.g.
   * `ema.variablesToRestore(modelVariables)` to evaluate moving averages. Variables
   * it does not name are read under their own names.
   */
  variablesToRestore?: Readonly<Record<string, Variable>>;
}

/**
 * Options of `evaluationLoop`.
 *
 * @example
 * ```ts
 * const options: EvaluationLoopOptions = { metrics, data: () => testBatches(), evalIntervalSecs: 300, timeoutSecs: 3600 };
 * ```
 */
export interface EvaluationLoopOptions extends EvaluateOnceOptions {
  /** The least time between two evaluations, and the polling period's upper bound. Default 60. */
  evalIntervalSecs?: number;
  /** Stop after this many evaluations; default: never. */
  maxNumberOfEvaluations?: number;
  /** Stop after waiting this long for a new checkpoint; default: never. */
  timeoutSecs?: number;
  /** Stops the loop (between evaluations, or while waiting). */
  signal?: AbortSignal;
  /** Called after each evaluation. */
  onEvaluation?: (info: { checkpointPath: string; globalStep: number; results: Record<string, number> }) => void | Promise<void>;
}

/**
 * slim's `evaluate_once`: computes `metrics` over `data` with the variables of
 * `checkpointPath` (a prefix or `.safetensors` file; for a logdir's newest, pass
 * `latestCheckpoint(fs, logdir)`, or use `evaluationLoop`) and returns the final
 * values. With a `logdir`, each value is written as the scalar `eval/<name>` at
 * the checkpoint's global step.
 *
 * @example
 * ```ts
 * const results = await evaluateOnce("logs/train/model.ckpt-1000", "logs/eval", {
 *   metrics: { accuracy: metrics.accuracy(logits, labels) }, data: () => testBatches(),
 * });
 * ```
 */
export async function evaluateOnce(checkpointPath: string, logdir: string | null, options: EvaluateOnceOptions): Promise<Record<string, number>> {
  checkEvalArgs("evaluateOnce", "checkpointPath", checkpointPath, logdir, options);
  const fs = options.fs ?? (await defaultFileSystem());
  const log = options.log ?? ((line: string) => console.log(line));
  await checkIsCheckpoint(fs, checkpointPath);
  if (options.data === undefined) checkPipelineCoverage("evaluateOnce", metricsGraph(options.metrics), options.numEvals);
  const checkpoint = renameForRestore(await restoreCheckpoint(fs, checkpointPath), options.variablesToRestore);
  const session = await EvalSession.create(options.metrics, options);
  const data = requireFullBatches("evaluateOnce", options.data, session.model.inputs);
  let results: Record<string, number>;
  try {
    ({ results } = await session.evaluate(checkpoint, data, options.numEvals));
  } finally {
    await session.release();
  }
  log(formatResults(checkpoint.path, checkpoint.globalStep, results));
  if (logdir !== null) {
    const writer = await EventFileWriter.create(fs, logdir, { flushSecs: Infinity });
    try {
      writeResults(writer, results, checkpoint.globalStep);
    } finally {
      await writer.close();
    }
  }
  return results;
}

/**
 * slim's `evaluation_loop`: watches `checkpointDir` and evaluates each new latest
 * checkpoint once, at most every `evalIntervalSecs`, logging into `logdir` (when
 * not null) at each checkpoint's global step. Ends after `maxNumberOfEvaluations`,
 * after `timeoutSecs` without a new checkpoint, or on `signal`; returns the last
 * results (null when nothing was evaluated).
 *
 * @example
 * ```ts
 * await evaluationLoop("logs/train", "logs/eval", {
 *   metrics: { accuracy: metrics.accuracy(logits, labels) }, data: () => testBatches(), evalIntervalSecs: 300,
 * });
 * ```
 */
export async function evaluationLoop(checkpointDir: string, logdir: string | null, options: EvaluationLoopOptions): Promise<Record<string, number> | null> {
  checkEvalArgs("evaluationLoop", "checkpointDir", checkpointDir, logdir, options);
  const { evalIntervalSecs = 60, maxNumberOfEvaluations, timeoutSecs, signal } = options;
  if (!(evalIntervalSecs >= 0)) throw new Error(`evaluationLoop: evalIntervalSecs must be non-negative, got ${evalIntervalSecs}`);
  if (maxNumberOfEvaluations !== undefined && !(Number.isInteger(maxNumberOfEvaluations) && maxNumberOfEvaluations > 0)) {
    throw new Error(`evaluationLoop: maxNumberOfEvaluations must be a positive integer, got ${maxNumberOfEvaluations}`);
  }
  if (timeoutSecs !== undefined && !(timeoutSecs >= 0)) throw new Error(`evaluationLoop: timeoutSecs must be non-negative, got ${timeoutSecs}`);
  const fs = options.fs ?? (await defaultFileSystem());
  const log = options.log ?? ((line: string) => console.log(line));
  await checkIsDirectory(fs, checkpointDir);
  if (options.data === undefined) checkPipelineCoverage("evaluationLoop", metricsGraph(options.metrics), options.numEvals);
  // TensorFlow polls for new checkpoints every second; a shorter interval polls faster.
  const pollMs = Math.min(1000, evalIntervalSecs * 1000);
  const session = await EvalSession.create(options.metrics, options);
  const data = requireFullBatches("evaluationLoop", options.data, session.model.inputs);
  let writer: EventFileWriter | undefined;
  let last: string | null = null, evaluations = 0, results: Record<string, number> | null = null;
  let waitingSince = performance.now();
  try {
    while (!signal?.aborted) {
      const path = await latestCheckpoint(fs, checkpointDir);
      if (path === null || path === last) {
        const waited = performance.now() - waitingSince;
        if (timeoutSecs !== undefined && waited >= timeoutSecs * 1000) {
          log(`Timed out after ${timeoutSecs} s waiting for a new checkpoint in ${checkpointDir}`);
          break;
        }
        await sleep(timeoutSecs === undefined ? pollMs : Math.min(pollMs, timeoutSecs * 1000 - waited), signal);
        continue;
      }
      const started = performance.now();
      last = path;
      const checkpoint = await restoreCheckpoint(fs, path).then((c) => renameForRestore(c, options.variablesToRestore)).catch(async (err) => {
        // Rotation may delete a checkpoint between listing and reading it; the next one will come.
        if (!(await fs.stat(path + SUFFIX))) return null;
        throw err;
      });
      if (checkpoint === null) {
        log(`Checkpoint ${path} was deleted before it could be evaluated`);
        continue;
      }
      ({ results } = await session.evaluate(checkpoint, data, options.numEvals));
      log(formatResults(checkpoint.path, checkpoint.globalStep, results));
      if (logdir !== null) {
        writer ??= await EventFileWriter.create(fs, logdir, { flushSecs: Infinity });
        writeResults(writer, results, checkpoint.globalStep);
        await writer.flush();
      }
      await options.onEvaluation?.({ checkpointPath: checkpoint.path, globalStep: checkpoint.globalStep, results });
      if (maxNumberOfEvaluations !== undefined && ++evaluations >= maxNumberOfEvaluations) break;
      await sleep(evalIntervalSecs * 1000 - (performance.now() - started), signal);
      waitingSince = performance.now();
    }
  } finally {
    await session.release();
    await writer?.close();
  }
  return results;
}

function writeResults(writer: EventFileWriter, results: Record<string, number>, step: number): void {
  for (const [name, value] of Object.entries(results)) writer.addScalar(`eval/${name}`, value, step);
}

function formatResults(path: string, step: number, results: Record<string, number>): string {
  const values = Object.entries(results).map(([k, v]) => `${k} = ${v.toFixed(4)}`).join(", ");
  return `Evaluation of ${path} (global step ${step}): ${values}`;
}

/** Resolves after `ms`, or at once when `signal` aborts. */
function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  if (ms <= 0 || signal?.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener("abort", done, { once: true });
  });
}

/** The checkpoint's tensors under the graph's variable names, following a `variablesToRestore` map. */
function renameForRestore(checkpoint: RestoredCheckpoint, map: Readonly<Record<string, Variable>> | undefined): RestoredCheckpoint {
  if (!map) return checkpoint;
  const tensors = new Map(checkpoint.tensors);
  for (const [name, v] of Object.entries(map)) {
    const t = checkpoint.tensors.get(name);
    if (!t) throw new Error(`Checkpoint ${checkpoint.path} has no tensor ${name} to restore ${v.name} from (variablesToRestore)`);
    tensors.set(v.name, t);
  }
  return { ...checkpoint, tensors };
}
