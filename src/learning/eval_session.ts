/**
 * The compiled metric model behind `evaluateOnce` and `evaluationLoop`: one ONNX
 * session fetching every metric's per-batch sum and count, with the variables as
 * inputs, so one session serves every checkpoint a loop evaluates.
 * @module
 */
import type { RestoredCheckpoint } from "../checkpoint/checkpoint_file.ts";
import { GraphKeys } from "../graph/graph.ts";
import { toStorage } from "../graph/storage_layout.ts";
import type { HostTensor } from "../graph/host_tensor.ts";
import type { Tensor } from "../graph/tensor.ts";
import { type CompiledModel, compileModel } from "../onnx/compile.ts";
import { type Metric, MetricAccumulator } from "../metrics/metrics.ts";
import { createRuntime } from "../runtime/create.ts";
import { noiseFor } from "../runtime/evaluate.ts";
import { checkFeed } from "../runtime/feeds.ts";
import type { Runtime, RuntimeOptions, RuntimeSession, RuntimeValue } from "../runtime/types.ts";
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
  private constructor(
    readonly model: CompiledModel,
    readonly runtime: Runtime,
    private readonly session: RuntimeSession,
    private readonly accumulator: MetricAccumulator,
    private readonly globalStep: Tensor | undefined,
    private readonly seed: number,
  ) {}

  /** Compiles the metrics' sums and counts into one model and opens a session on it. */
  static async create(metrics: Readonly<Record<string, Metric>>, options: EvalSessionOptions = {}): Promise<EvalSession> {
    const accumulator = new MetricAccumulator(metrics);
    const model = compileModel({
      name: "eval_metrics",
      fetches: accumulator.fetches,
      docString: `slimtrain evaluation: ${Object.keys(metrics).join(", ")}`,
    });
    const graph = Object.values(metrics)[0].sum.graph;
    const globalStep = graph.getCollection<Tensor>(GraphKeys.GLOBAL_STEP)[0];
    const runtime = options.runtime ?? (await createRuntime(options));
    const session = await runtime.createSession(model.bytes);
    return new EvalSession(model, runtime, session, accumulator, globalStep, options.seed ?? 0);
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
    const fixed = this.fixedFeeds(checkpoint);
    const where = `Evaluation of ${checkpoint.path}`;
    this.accumulator.reset();
    let batches = 0;
    try {
      const source = this.resolveData(data, numEvals);
      for await (const batch of source) {
        await this.runBatch(batch, fixed, `${where}, batch ${batches}`, batches);
        batches++;
        if (numEvals !== undefined && batches >= numEvals) break;
      }
    } finally {
      for (const v of fixed.values()) v.dispose();
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

  /** Variables from the checkpoint and the global step, fed unchanged to every batch. */
  private fixedFeeds(checkpoint: RestoredCheckpoint): Map<string, RuntimeValue> {
    const out = new Map<string, RuntimeValue>();
    try {
      for (const input of this.model.inputs) {
        let value: HostTensor;
        if (input.kind === "variable") {
          const found = checkpoint.tensors.get(input.name);
          if (!found) throw new Error(`Checkpoint ${checkpoint.path} has no variable ${input.name}, which the metrics need`);
          const v = input.variable!;
          if (found.dtype !== v.dtype || found.shape.join(",") !== v.shape.join(",")) {
            throw new Error(`Checkpoint ${checkpoint.path}: variable ${v.name} is ${found.dtype} [${found.shape.join(", ")}], the graph has ${v.dtype} [${v.shape.join(", ")}]`);
          }
          value = toStorage(found, v.storage);
        } else if (input.tensor === this.globalStep) {
          value = { dtype: "float32", shape: [], data: new Float32Array([checkpoint.globalStep]) };
        } else {
          continue;
        }
        try {
          checkFeed(`${input.kind === "variable" ? "variable" : "global step"} ${input.name}`, input.tensor, value);
        } catch (err) {
          throw new Error(`Checkpoint ${checkpoint.path}: ${(err as Error).message}`, { cause: err });
        }
        out.set(input.name, this.runtime.fromHost(value));
      }
    } catch (err) {
      for (const v of out.values()) v.dispose();
      throw err;
    }
    return out;
  }

  private async runBatch(batch: Feeds, fixed: Map<string, RuntimeValue>, where: string, index: number): Promise<void> {
    const feeds: Record<string, RuntimeValue> = {};
    const owned: RuntimeValue[] = [];
    try {
      for (const input of this.model.inputs) {
        const given = fixed.get(input.name);
        if (given) {
          feeds[input.name] = given;
          continue;
        }
        let host: HostTensor;
        if (input.kind === "random") host = noiseFor(input.tensor, this.seed, index);
        else {
          const fed = batch[input.name];
          if (!fed) throw new Error(`${where}: no value fed for placeholder ${input.tensor.describe()} (fed: ${Object.keys(batch).join(", ") || "nothing"})`);
          checkFeed(`placeholder ${input.name} (${where})`, input.tensor, fed);
          host = fed;
        }
        const value = this.runtime.fromHost(host);
        owned.push(value);
        feeds[input.name] = value;
      }
      const names = Object.keys(this.accumulator.fetches);
      const out = await this.session.run(feeds, names);
      const values: Record<string, HostTensor> = {};
      for (const name of names) {
        values[name] = await this.runtime.toHost(out[name]);
        out[name].dispose();
      }
      this.accumulator.update(values);
    } finally {
      for (const v of owned) v.dispose();
    }
  }

  private resolveData(data: EvalData | undefined, numEvals: number | undefined): AsyncIterable<Feeds> | Iterable<Feeds> {
    if (data !== undefined) return typeof data === "function" ? data() : data;
    const graph = this.accumulator.fetches[Object.keys(this.accumulator.fetches)[0]].graph;
    const pipelines = graph.getCollection<InputPipeline>(INPUT_PIPELINES);
    if (pipelines.length === 0) {
      // A model without placeholders (data baked in as constants) still evaluates once.
      if (this.model.inputs.every((i) => i.kind !== "placeholder" || i.tensor === this.globalStep)) return [{}];
      throw new Error("Evaluation: pass { data }: the graph has placeholders and no input pipeline");
    }
    if (pipelines.length > 1) throw new Error("Evaluation: the graph has several input pipelines; pass { data } to choose");
    if (numEvals === undefined) throw new Error("Evaluation: pass numEvals when evaluating the graph's input pipeline, which may not end");
    return pipelines[0].batchesFrom(0);
  }
}
