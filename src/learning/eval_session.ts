/**
 * The compiled metric model behind `evaluateOnce` and `evaluationLoop`: one ONNX
 * session fetching every metric's per-batch sum and count, with the variables as
 * inputs, so one session serves every checkpoint a loop evaluates.
 * @module
 */
import type { RestoredCheckpoint } from "../checkpoint/checkpoint_file.ts";
import type { HostTensor } from "../graph/host_tensor.ts";
import type { Variable } from "../graph/variable.ts";
import { type CompiledModel, compileModel } from "../onnx/compile.ts";
import { type Metric, MetricAccumulator } from "../metrics/metrics.ts";
import { createRuntime } from "../runtime/create.ts";
import { disposeAll, FeedPlan } from "../runtime/feed_plan.ts";
import { loweringTargetFor, type Runtime, type RuntimeOptions, type RuntimeSession, type RuntimeValue } from "../runtime/types.ts";
import { checkpointMismatch } from "./checkpoint_match.ts";
import { type Feeds, INPUT_PIPELINES, type InputPipeline } from "./train_data.ts";

/**
 * Where evaluation batches come from: an iterable or async iterable of feeds, or
 * a function returning a fresh one (needed when several checkpoints are evaluated,
 * since a generator can only be read once; arrays can be read again).
 *
 * @example
 * ```ts
 * const data: EvalData = () => testBatches(); // a generator function
 * ```
 */
export type EvalData = Iterable<Feeds> | AsyncIterable<Feeds> | (() => Iterable<Feeds> | AsyncIterable<Feeds>);

/**
 * Options of `EvalSession.create`.
 *
 * @example
 * ```ts
 * const options: EvalSessionOptions = { executionProvider: "cpu", intraOpNumThreads: 2 };
 * ```
 */
export interface EvalSessionOptions extends RuntimeOptions {
  runtime?: Runtime;
  /** Seed of the noise fed to any dropout left in the eval graph. Default 0. */
  seed?: number;
}

/**
 * Runs metrics over data for one checkpoint at a time.
 *
 * @example
 * ```ts
 * const s = await EvalSession.create({ accuracy: accuracy(logits, labels) });
 * const { results } = await s.evaluate(await restoreCheckpoint(fs, prefix), batches);
 * await s.release();
 * ```
 */
export class EvalSession {
  private readonly plan: FeedPlan;

  private constructor(
    readonly model: CompiledModel,
    readonly runtime: Runtime,
    private readonly session: RuntimeSession,
    private readonly accumulator: MetricAccumulator,
    private readonly seed: number,
  ) {
    this.plan = FeedPlan.of(model, runtime);
  }

  /** Compiles the metrics' sums and counts into one model and opens a session on it. */
  static async create(metrics: Readonly<Record<string, Metric>>, options: EvalSessionOptions = {}): Promise<EvalSession> {
    const accumulator = new MetricAccumulator(metrics);
    const runtime = options.runtime ?? (await createRuntime(options));
    const model = compileModel({
      name: "eval_metrics",
      fetches: accumulator.fetches,
      docString: `slimtrain evaluation: ${Object.keys(metrics).join(", ")}`,
      target: loweringTargetFor(runtime.executionProvider),
    });
    const session = await runtime.createSession(model.bytes);
    return new EvalSession(model, runtime, session, accumulator, options.seed ?? 0);
  }

  /**
   * Streams `data` (at most `numEvals` batches) through the metrics with the
   * checkpoint's variable values; returns the final metric values and the
   * number of batches seen.
   */
  async evaluate(
    checkpoint: RestoredCheckpoint,
    data: EvalData | undefined,
    numEvals?: number,
  ): Promise<{ results: Record<string, number>; batches: number }> {
    if (numEvals !== undefined && !(Number.isInteger(numEvals) && numEvals > 0)) {
      throw new Error(`Evaluation: numEvals must be a positive integer, got ${numEvals}`);
    }
    const variables = this.uploadVariables(checkpoint);
    const where = `Evaluation of ${checkpoint.path}`;
    this.accumulator.reset();
    let batches = 0;
    try {
      const source = this.resolveData(data, numEvals);
      for await (const batch of source) {
        await this.runBatch(batch, variables, checkpoint.globalStep, `${where}, batch ${batches}`, batches);
        batches++;
        if (numEvals !== undefined && batches >= numEvals) break;
      }
    } finally {
      disposeAll(variables.values());
    }
    if (batches === 0) {
      throw new Error(`${where}: the data yielded no batches (to evaluate several checkpoints, pass data as a function returning a fresh iterable)`);
    }
    return { results: this.accumulator.results(), batches };
  }

  /** Ends the session. */
  async release(): Promise<void> {
    await this.session.release();
  }

  /** The checkpoint's variables, uploaded once and fed unchanged to every batch. */
  private uploadVariables(checkpoint: RestoredCheckpoint): Map<Variable, RuntimeValue> {
    return this.plan.uploadVariables((v) => checkpoint.tensors.get(v.name), (v, value, detail) =>
      value
        ? checkpointMismatch(checkpoint.path, v, value, detail, "Evaluate a checkpoint of the model the metrics are built on.")
        : new Error(`Checkpoint ${checkpoint.path} has no variable ${v.name}, which the metrics need`));
  }

  private async runBatch(batch: Feeds, variables: Map<Variable, RuntimeValue>, globalStep: number, where: string, index: number): Promise<void> {
    const names = Object.keys(this.accumulator.fetches);
    const out = await this.plan.run(this.session, names, {
      placeholders: () => batch,
      variable: (v) => variables.get(v),
      globalStep: () => globalStep,
      noiseStep: () => index,
      seed: this.seed,
      where: () => ({ label: where, at: ` (${where})` }),
    });
    try {
      const values: Record<string, HostTensor> = {};
      for (const name of names) values[name] = await this.runtime.toHost(out[name]);
      this.accumulator.update(values);
    } finally {
      disposeAll(Object.values(out));
    }
  }

  private resolveData(data: EvalData | undefined, numEvals: number | undefined): AsyncIterable<Feeds> | Iterable<Feeds> {
    if (data !== undefined) return typeof data === "function" ? data() : data;
    const graph = this.accumulator.fetches[Object.keys(this.accumulator.fetches)[0]].graph;
    const pipelines = graph.getCollection<InputPipeline>(INPUT_PIPELINES);
    if (pipelines.length === 0) {
      // A model without placeholders (data baked in as constants) still evaluates once.
      if (this.plan.placeholderNames.length === 0) return [{}];
      throw new Error("Evaluation: pass { data }: the graph has placeholders and no input pipeline");
    }
    if (pipelines.length > 1) throw new Error("Evaluation: the graph has several input pipelines; pass { data } to choose");
    if (numEvals === undefined) throw new Error("Evaluation: pass numEvals when evaluating the graph's input pipeline, which may not end");
    return pipelines[0].batchesFrom(0);
  }
}
