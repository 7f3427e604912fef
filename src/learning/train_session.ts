/**
 * One compiled training step on one ONNX Runtime session, with the variables'
 * current values held between steps as runtime values (on a GPU provider they stay
 * in device memory: outputs are fed straight back as the next step's inputs).
 * `train` drives it; users who write their own loop can too.
 * @module
 */
import { GraphKeys } from "../graph/graph.ts";
import type { HostTensor } from "../graph/host_tensor.ts";
import { seededRandom } from "../graph/random.ts";
import { fromStorage, toStorage } from "../graph/storage_layout.ts";
import type { Variable } from "../graph/variable.ts";
import { type CompiledModel, compileModel, updatedName } from "../onnx/compile.ts";
import { copyName, type UnrolledModel, unrollSteps } from "../onnx/unroll.ts";
import { createRuntime } from "../runtime/create.ts";
import { noiseFor } from "../runtime/evaluate.ts";
import { checkFeed } from "../runtime/feeds.ts";
import type { Runtime, RuntimeOptions, RuntimeSession, RuntimeValue } from "../runtime/types.ts";
import type { SummarySpec } from "../summary/summary_ops.ts";
import type { TrainOp } from "./create_train_op.ts";

/** The prefix of summary outputs in the train-step model. */
const SUMMARY_PREFIX = "summary:";

/** What one step returns. */
export interface StepResult {
  /** The loss before this step's update. */
  loss: number;
  /** Summary values by tag, present when requested. */
  summaries?: Map<string, { spec: SummarySpec; value: HostTensor }>;
}

/** What a run of several steps returns. */
export interface StepsResult {
  /** Each step's loss, before its update. */
  losses: number[];
  /** The last step's summaries, when requested. */
  summaries?: Map<string, { spec: SummarySpec; value: HostTensor }>;
}

/** Options of `TrainSession.create`. */
export interface TrainSessionOptions extends RuntimeOptions {
  runtime?: Runtime;
  /** Seed for initial values and dropout noise. Default 0. */
  seed?: number;
}

/**
 * A train step ready to run.
 *
 * @example
 * ```ts
 * const s = await TrainSession.create(trainOp, { executionProvider: "cpu" });
 * s.initialize();
 * const { loss } = await s.run({ images, labels });
 * ```
 */
export class TrainSession {
  /** Current values of every variable in the graph, by name. */
  readonly state = new Map<string, RuntimeValue>();
  /** Full values (checkpoint layout) of variables whose train step keeps only a region. */
  private readonly regionBase = new Map<string, HostTensor>();
  /** The number of steps applied so far. */
  globalStep = 0;
  readonly variables: Variable[];
  readonly summaries: SummarySpec[];

  /** Sessions by steps per run (1 always; more when `runSteps` is given several batches). */
  private readonly sessions = new Map<number, Promise<{ model: UnrolledModel; session: RuntimeSession }>>();

  private constructor(
    readonly trainOp: TrainOp,
    readonly runtime: Runtime,
    readonly model: CompiledModel,
    readonly evalModel: CompiledModel,
    session: RuntimeSession,
    readonly seed: number,
  ) {
    this.sessions.set(1, Promise.resolve({ model: unrollSteps(model, 1, { perStep: ["loss"] }), session }));
    this.variables = trainOp.totalLoss.graph.getCollection<Variable>(GraphKeys.GLOBAL_VARIABLES);
    this.summaries = trainOp.totalLoss.graph.getCollection<SummarySpec>(GraphKeys.SUMMARIES);
  }

  /** Compiles the train-step and eval models and opens a session on the train step. */
  static async create(trainOp: TrainOp, options: TrainSessionOptions = {}): Promise<TrainSession> {
    const graph = trainOp.totalLoss.graph;
    const summaries = graph.getCollection<SummarySpec>(GraphKeys.SUMMARIES);
    const summaryFetches = Object.fromEntries(summaries.map((s) => [SUMMARY_PREFIX + s.name, s.tensor]));
    const model = compileModel({
      name: "training_step",
      fetches: { loss: trainOp.totalLoss, ...summaryFetches },
      updates: trainOp.updates,
      docString: `slimtrain train step: loss, ${trainOp.updates.length} variable updates (${trainOp.optimizer.name})`,
    });
    const evalModel = compileModel({ name: "eval_step", fetches: { loss: trainOp.totalLoss, ...summaryFetches } });
    const runtime = options.runtime ?? (await createRuntime(options));
    const session = await runtime.createSession(model.bytes, { keepOnDevice: trainOp.updates.map((u) => updatedName(u.variable)) });
    return new TrainSession(trainOp, runtime, model, evalModel, session, options.seed ?? 0);
  }

  /** Names of the placeholders each step must be fed (besides the global step). */
  get feedNames(): string[] {
    return this.model.inputs.filter((i) => i.kind === "placeholder" && i.tensor !== this.trainOp.globalStep).map((i) => i.name);
  }

  /** Sets every variable to its initializer's value (a fresh start). */
  initialize(): void {
    for (const v of this.variables) {
      this.setValue(v.name, v.initializer.init(v.shape, v.dtype, seededRandom(this.seed, v.name)));
    }
    this.globalStep = 0;
  }

  /** Replaces one variable's value, checking name, shape and dtype. */
  assign(name: string, value: HostTensor): void {
    const v = this.variables.find((x) => x.name === name);
    if (!v) throw new Error(`TrainSession.assign: the graph has no variable ${name}`);
    checkFeed(`variable ${name}`, v, value);
    this.setValue(name, value);
  }

  /** Stores a checkpoint-layout value in the variable's storage layout. */
  private setValue(name: string, value: HostTensor): void {
    const v = this.variables.find((x) => x.name === name)!;
    this.state.get(name)?.dispose();
    if (v.storage?.region) this.regionBase.set(name, value);
    const stored = toStorage(value, v.storage);
    // A copy when not converted: with output reuse ORT later writes into this buffer, which must not be the caller's array.
    this.state.set(name, this.runtime.fromHost(stored === value ? { ...value, data: value.data.slice() } : stored));
  }

  /** Copies every variable's current value to host memory (for checkpoints). */
  async readState(): Promise<Map<string, HostTensor>> {
    const out = new Map<string, HostTensor>();
    for (const v of this.variables) {
      const value = this.state.get(v.name);
      if (!value) throw new Error(`TrainSession: variable ${v.name} has no value (initialize or restore first)`);
      out.set(v.name, fromStorage(await this.runtime.toHost(value), v.storage, this.regionBase.get(v.name)));
    }
    return out;
  }

  /**
   * Runs one step: feeds the batch, the variables, the dropout noise for this step
   * and the global step; keeps the updated variables; returns the loss (and the
   * summaries when asked). With `checkNumerics`, a NaN or Inf loss throws before any
   * state changes, so nothing poisoned is kept or saved.
   */
  async run(batch: Record<string, HostTensor>, { withSummaries = false } = {}): Promise<StepResult> {
    const { losses, summaries } = await this.runSteps([batch], { withSummaries });
    return { loss: losses[0], summaries };
  }

  /**
   * Runs one step per batch in a single ONNX Runtime call (the steps unrolled in
   * one model, compiled on first use for each count). Each step sees exactly what
   * `run` would feed it; summaries come from the last step. A NaN or Inf loss in any
   * step throws naming that step, and the variables keep their values from before
   * the call.
   */
  async runSteps(batches: readonly Record<string, HostTensor>[], { withSummaries = false } = {}): Promise<StepsResult> {
    const k = batches.length;
    if (k === 0) throw new Error("TrainSession.runSteps: no batches");
    batches.forEach((b, i) => {
      if (b === null || typeof b !== "object") throw new Error(`Step ${this.globalStep + i}: the batch is ${String(b)}, not feeds keyed by placeholder name`);
    });
    const { model, session } = await this.sessionFor(k);
    const feeds: Record<string, RuntimeValue> = {};
    const owned: RuntimeValue[] = [];
    for (const input of model.inputs) {
      if (input.kind === "variable") {
        const value = this.state.get(input.name);
        if (!value) throw new Error(`TrainSession: variable ${input.name} has no value (initialize or restore first)`);
        feeds[input.onnxName] = value;
        continue;
      }
      const step = this.globalStep + input.copy;
      let host: HostTensor;
      if (input.kind === "random") host = noiseFor(input.tensor, this.seed, step);
      else if (input.tensor === this.trainOp.globalStep) host = { dtype: "float32", shape: [], data: new Float32Array([step]) };
      else {
        const batch = batches[input.copy];
        const fed = batch[input.name];
        if (!fed) {
          throw new Error(`Step ${step}: no value fed for placeholder ${input.tensor.describe()} (fed: ${Object.keys(batch).join(", ") || "nothing"})`);
        }
        checkFeed(`placeholder ${input.name} at step ${step}`, input.tensor, fed);
        host = fed;
      }
      const value = this.runtime.fromHost(host);
      owned.push(value);
      feeds[input.onnxName] = value;
    }
    const lossNames = Array.from({ length: k }, (_, i) => copyName("loss", i, k));
    const fetches = [...lossNames, ...this.trainOp.updates.map((u) => updatedName(u.variable))];
    if (withSummaries) fetches.push(...this.summaries.map((s) => SUMMARY_PREFIX + s.name));
    const out = await session.run(feeds, fetches);
    for (const v of owned) v.dispose();
    const losses: number[] = [];
    for (const name of lossNames) losses.push(Number((await this.runtime.toHost(out[name])).data[0]));
    const bad = this.trainOp.checkNumerics ? losses.findIndex((l) => !Number.isFinite(l)) : -1;
    if (bad >= 0) {
      for (const f of fetches) out[f]?.dispose();
      throw new Error(
        `Step ${this.globalStep + bad}: LossTensor is inf or nan (loss = ${losses[bad]}); the variables keep their values from step ${this.globalStep}`,
      );
    }
    for (const u of this.trainOp.updates) {
      const name = u.variable.name;
      this.state.get(name)?.dispose();
      this.state.set(name, out[updatedName(u.variable)]);
    }
    let summaries: StepsResult["summaries"];
    if (withSummaries) {
      summaries = new Map();
      for (const spec of this.summaries) summaries.set(spec.name, { spec, value: await this.runtime.toHost(out[SUMMARY_PREFIX + spec.name]) });
    }
    for (const name of lossNames) out[name].dispose();
    this.globalStep += k;
    return { losses, summaries };
  }

  private sessionFor(k: number): Promise<{ model: UnrolledModel; session: RuntimeSession }> {
    let entry = this.sessions.get(k);
    if (!entry) {
      const model = unrollSteps(this.model, k, { perStep: ["loss"] });
      entry = this.runtime.createSession(model.bytes, { keepOnDevice: this.trainOp.updates.map((u) => updatedName(u.variable)) })
        .then((session) => ({ model, session }));
      this.sessions.set(k, entry);
    }
    return entry;
  }

  /** Ends ONNX Runtime profiling (when enabled) and returns the profile file's name. */
  async endProfiling(): Promise<string | undefined> {
    return (await this.sessions.get(1)!).session.endProfiling();
  }

  /** Ends the session and frees device memory. */
  async release(): Promise<void> {
    for (const v of this.state.values()) v.dispose();
    this.state.clear();
    for (const entry of this.sessions.values()) await (await entry).session.release();
  }
}
