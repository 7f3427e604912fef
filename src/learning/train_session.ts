/**
 * One compiled training step on one ONNX Runtime session, with the variables'
 * current values held between steps as runtime values (on a GPU provider they stay
 * in device memory: outputs are fed straight back as the next step's inputs).
 * `train` drives it; users who write their own loop can too.
 * @module
 */
import type { LazyTensor } from "../checkpoint/checkpoint_file.ts";
import { GraphKeys } from "../graph/graph.ts";
import { allocate, type HostTensor, numElements } from "../graph/host_tensor.ts";
import { seededRandom } from "../graph/random.ts";
import { fromStorage, storageShape, toStorage, writeRegionInto } from "../graph/storage_layout.ts";
import type { Variable } from "../graph/variable.ts";
import { type CompiledModel, compileModel, type ModelOutput, updatedName } from "../onnx/compile.ts";
import { copyName, type UnrolledModel, unrollSteps } from "../onnx/unroll.ts";
import { createRuntime } from "../runtime/create.ts";
import { disposeAll, FeedPlan, type FeedSources } from "../runtime/feed_plan.ts";
import { checkFeed } from "../runtime/feeds.ts";
import { float16Unsupported } from "../runtime/float16_support.ts";
import { loweringTargetFor, type Runtime, type RuntimeOptions, type RuntimeSession, type RuntimeValue, type SessionOptions } from "../runtime/types.ts";
import type { SummarySpec } from "../summary/summary_ops.ts";
import type { TrainOp } from "./create_train_op.ts";

/** Names of the initializers whose every value is +0 (`zerosInitializer`, `constantInitializer(0)`: optimizer slots). */
const ZERO_INITIALIZERS = new Set(["zeros", "constant(0)"]);

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

/** A train step unrolled k times, its session and its feed plan. */
interface UnrolledSession {
  model: UnrolledModel;
  session: RuntimeSession;
  plan: FeedPlan;
}

/** Options of `TrainSession.create`. */
export interface TrainSessionOptions extends RuntimeOptions {
  runtime?: Runtime;
  /** Seed for initial values and dropout noise. Default 0. */
  seed?: number;
  /**
   * Under `mixedPrecision`, how float16 is computed: "native" hands the provider
   * float16 operands (GPU providers whose adapter has shader-f16); "emulate" keeps
   * float32 kernels and rounds every operand and result of the convolutions and
   * matrix products to float16, which gives float16's numerics (not its speed)
   * anywhere. Default "emulate" on the CPU and wasm providers (ONNX Runtime has no
   * float16 convolution there and would drop the rounding), "native" on GPUs.
   */
  float16Compute?: "native" | "emulate";
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
  readonly state: Map<string, RuntimeValue> = new Map();
  /**
   * Full values (checkpoint layout) of variables whose train step keeps only a
   * region, owned by this session: a checkpoint writes the trained region back into
   * them in place. An all-zero full value (fc6's Adam slots on a fresh start, 411 MB
   * each) is not kept: `zeroBase` names it and a checkpoint makes the zeros.
   */
  private readonly regionBase = new Map<string, HostTensor>();
  private readonly zeroBase = new Set<string>();
  /** The number of steps applied so far. */
  globalStep = 0;
  readonly variables: Variable[];
  readonly summaries: SummarySpec[];

  /** Sessions by steps per run (1 always; more when `runSteps` is given several batches). */
  private readonly sessions = new Map<number, Promise<UnrolledSession>>();

  private constructor(
    readonly trainOp: TrainOp,
    readonly runtime: Runtime,
    readonly model: CompiledModel,
    readonly evalModel: CompiledModel,
    session: RuntimeSession,
    readonly seed: number,
  ) {
    const one = unrollSteps(model, 1, { perStep: ["loss"] });
    this.sessions.set(1, Promise.resolve({ model: one, session, plan: FeedPlan.of(one, runtime) }));
    this.variables = trainOp.totalLoss.graph.getCollection<Variable>(GraphKeys.GLOBAL_VARIABLES);
    this.summaries = trainOp.totalLoss.graph.getCollection<SummarySpec>(GraphKeys.SUMMARIES);
  }

  /** Compiles the train-step and eval models and opens a session on the train step. */
  static async create(trainOp: TrainOp, options: TrainSessionOptions = {}): Promise<TrainSession> {
    const graph = trainOp.totalLoss.graph;
    const summaries = graph.getCollection<SummarySpec>(GraphKeys.SUMMARIES);
    const summaryFetches = Object.fromEntries(summaries.map((s) => [SUMMARY_PREFIX + s.name, s.tensor]));
    const runtime = options.runtime ?? (await createRuntime(options));
    // Forms for the EP the step runs on: the CPU and wasm EPs have faster ones than the portable forms.
    const target = loweringTargetFor(runtime.executionProvider);
    const float16 = options.float16Compute ?? (target === "cpu" ? "emulate" : "native");
    if (float16 !== "native" && float16 !== "emulate") {
      throw new Error(`TrainSession: float16Compute must be "native" or "emulate", got ${JSON.stringify(float16)}`);
    }
    if (trainOp.mixedPrecision && float16 === "native") await expectFloat16(runtime);
    const model = compileModel({
      name: "training_step",
      fetches: { loss: trainOp.totalLoss, ...summaryFetches },
      updates: trainOp.updates,
      docString: `slimtrain train step: loss, ${trainOp.updates.length} variable updates (${trainOp.optimizer.name})`,
      target,
      autocast: trainOp.mixedPrecision,
      autocastMode: float16 === "native" ? "cast" : "emulate",
    });
    const evalModel = compileModel({ name: "eval_step", fetches: { loss: trainOp.totalLoss, ...summaryFetches }, target });
    const session = await runtime.createSession(model.bytes, sessionOptionsFor(trainOp, model));
    return new TrainSession(trainOp, runtime, model, evalModel, session, options.seed ?? 0);
  }

  /** Names of the placeholders each step must be fed (besides the global step). */
  get feedNames(): string[] {
    return this.model.inputs.filter((i) => i.kind === "placeholder").map((i) => i.name);
  }

  /** Sets every variable to its initializer's value (a fresh start). */
  initialize(): void {
    for (const v of this.variables) {
      if (v.storage?.region && ZERO_INITIALIZERS.has(v.initializer.name)) {
        // Only the region is made: the full value (411 MB for each of fc6's Adam slots) would be garbage at once.
        this.state.get(v.name)?.dispose();
        this.regionBase.delete(v.name);
        this.zeroBase.add(v.name);
        const shape = storageShape(v.shape, v.storage);
        this.state.set(v.name, this.runtime.fromHost({ dtype: v.dtype, shape, data: allocate(v.dtype, numElements(shape)) }));
        continue;
      }
      const value = v.initializer.init(v.shape, v.dtype, seededRandom(this.seed, v.initializer.stream ?? v.name));
      this.setValue(v.name, value, { owned: true });
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

  /**
   * Stores a checkpoint-layout value in the variable's storage layout. `owned`: the
   * value is this session's (fresh from an initializer), so a region's full value
   * may be kept without a copy.
   */
  private setValue(name: string, value: HostTensor, { owned = false } = {}): void {
    const v = this.variables.find((x) => x.name === name)!;
    this.state.get(name)?.dispose();
    this.regionBase.delete(name);
    this.zeroBase.delete(name);
    if (v.storage?.region) {
      if (allBitsZero(value)) this.zeroBase.add(name);
      else this.regionBase.set(name, owned ? value : { ...value, shape: [...value.shape], data: value.data.slice() });
    }
    const stored = toStorage(value, v.storage);
    // A copy of a caller's value when not converted: with output reuse ORT later writes into this buffer.
    this.state.set(name, this.runtime.fromHost(stored === value && !owned ? { ...value, data: value.data.slice() } : stored));
  }

  /** Copies every variable's current value to host memory. */
  async readState(): Promise<Map<string, HostTensor>> {
    const out = new Map<string, HostTensor>();
    for (const v of this.variables) {
      const value = this.valueOf(v.name);
      out.set(v.name, fromStorage(await this.runtime.toHost(value), v.storage, this.regionBase.get(v.name) ?? this.zerosFor(v)));
    }
    return out;
  }

  /**
   * Every variable as a checkpoint tensor read when the writer reaches it, so a
   * save holds one variable's host copy at a time instead of the whole state. A
   * region variable's read writes the trained region into the session's full value
   * and returns that value itself: it stays valid until the next step, and must not
   * be modified.
   *
   * @example
   * ```ts
   * await saver.save("logs", session.checkpointTensors(), { globalStep: session.globalStep });
   * ```
   */
  checkpointTensors(): Map<string, LazyTensor> {
    const out = new Map<string, LazyTensor>();
    for (const v of this.variables) {
      const value = this.valueOf(v.name);
      const read = async (): Promise<HostTensor> => {
        const stored = await this.runtime.toHost(value);
        if (!v.storage?.region) return fromStorage(stored, v.storage);
        const base = this.regionBase.get(v.name) ?? this.zerosFor(v);
        if (!base) throw new Error(`TrainSession: variable ${v.name} keeps a region but has no full value (initialize or restore first)`);
        return writeRegionInto(base, stored, v.storage);
      };
      out.set(v.name, { dtype: v.dtype, shape: [...v.shape], read });
    }
    return out;
  }

  private valueOf(name: string): RuntimeValue {
    const value = this.state.get(name);
    if (!value) throw new Error(`TrainSession: variable ${name} has no value (initialize or restore first)`);
    return value;
  }

  /** The all-zero full value of a region variable that keeps none (undefined for the others). */
  private zerosFor(v: Variable): HostTensor | undefined {
    if (!this.zeroBase.has(v.name)) return undefined;
    return { dtype: v.dtype, shape: [...v.shape], data: allocate(v.dtype, v.shape.reduce((a, b) => a * b, 1)) };
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
      if (b === null || typeof b !== "object") {
        throw new Error(`Global step ${this.globalStep + i + 1}: the batch is ${String(b)}, not feeds keyed by placeholder name`);
      }
    });
    const { session, plan } = await this.sessionFor(k);
    const lossNames = Array.from({ length: k }, (_, i) => copyName("loss", i, k));
    const updateNames = this.trainOp.updates.map((u) => updatedName(u.variable));
    const summaryNames = withSummaries ? this.summaries.map((s) => SUMMARY_PREFIX + s.name) : [];
    const out = await plan.run(session, [...lossNames, ...updateNames, ...summaryNames], this.sources(batches));
    // Until the updates are kept, every output is this call's to free, whatever fails.
    let kept = false;
    try {
      const losses: number[] = [];
      for (const name of lossNames) losses.push(Number((await this.runtime.toHost(out[name])).data[0]));
      const bad = this.trainOp.checkNumerics ? losses.findIndex((l) => !Number.isFinite(l)) : -1;
      if (bad >= 0) {
        throw new Error(
          `Global step ${this.globalStep + bad + 1}: LossTensor is inf or nan (loss = ${losses[bad]}); ` +
            `the variables keep their values from global step ${this.globalStep}`,
        );
      }
      let summaries: StepsResult["summaries"];
      if (withSummaries) {
        summaries = new Map();
        for (const spec of this.summaries) summaries.set(spec.name, { spec, value: await this.runtime.toHost(out[SUMMARY_PREFIX + spec.name]) });
      }
      for (const u of this.trainOp.updates) {
        this.state.get(u.variable.name)?.dispose();
        this.state.set(u.variable.name, out[updatedName(u.variable)]);
      }
      kept = true;
      this.globalStep += k;
      return { losses, summaries };
    } finally {
      disposeAll([...lossNames, ...summaryNames, ...(kept ? [] : updateNames)].map((n) => out[n]).filter((v) => v !== undefined));
    }
  }

  /** Where the values of steps `globalStep + 1 ...` come from: copy i is the i-th batch. */
  private sources(batches: readonly Record<string, HostTensor>[]): FeedSources {
    const base = this.globalStep;
    return {
      placeholders: (copy) => batches[copy],
      variable: (v) => this.state.get(v.name),
      // The step count before the update, which schedules read; the log names the step after it.
      globalStep: (copy) => base + copy,
      noiseStep: (copy) => base + copy,
      seed: this.seed,
      where: (copy) => ({ label: `Global step ${base + copy + 1}`, at: ` at global step ${base + copy + 1}` }),
    };
  }

  private sessionFor(k: number): Promise<UnrolledSession> {
    let entry = this.sessions.get(k);
    if (!entry) {
      const model = unrollSteps(this.model, k, { perStep: ["loss"] });
      entry = this.runtime.createSession(model.bytes, sessionOptionsFor(this.trainOp, model))
        .then((session) => ({ model, session, plan: FeedPlan.of(model, this.runtime) }));
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

/** Whether every byte of the value is zero (so zeros made later are bit-identical: no -0). */
function allBitsZero(t: HostTensor): boolean {
  const d = t.data;
  if (d.byteLength % 4 !== 0 || d.byteOffset % 4 !== 0) return false;
  const words = new Uint32Array(d.buffer, d.byteOffset, d.byteLength / 4);
  for (let i = 0; i < words.length; i++) if (words[i] !== 0) return false;
  return true;
}

/** Refuses mixed precision, before compiling, where the provider has no float16 kernels. */
async function expectFloat16(runtime: Runtime): Promise<void> {
  const why = await float16Unsupported(runtime);
  if (why) {
    throw new Error(
      `createTrainOp mixedPrecision "float16": the ${runtime.executionProvider} execution provider cannot compute in float16 here ` +
        `(${why}); use a GPU whose WebGPU adapter has shader-f16, train in float32 (leave mixedPrecision out), ` +
        `or check float16's numerics slowly with the option float16Compute: "emulate"`,
    );
  }
}

/**
 * A train step's session: updates stay on the device (GPU providers), and updates
 * the step writes as matrices (fused into their gradient's GEMM) come back viewed in
 * the variable's storage shape.
 */
function sessionOptionsFor(trainOp: TrainOp, model: { outputs: readonly (ModelOutput & { onnxName?: string })[] }): SessionOptions {
  // An unrolled model's outputs carry their ONNX names apart from the graph's.
  const viewAs = Object.fromEntries(model.outputs.filter((o) => o.written).map((o) => [o.onnxName ?? o.name, o.tensor.shape]));
  return { keepOnDevice: trainOp.updates.map((u) => updatedName(u.variable)), viewAs };
}
