/**
 * The one place model inputs are fed. A feed plan is compiled from a model's typed
 * inputs; every session (train step, evaluation, `evaluate`) runs through it, so
 * placeholders are checked the same way everywhere, noise is drawn from the same
 * stream, and the values it uploads are released after the run, on success and
 * on error alike.
 * @module
 */
import type { HostTensor } from "../graph/host_tensor.ts";
import { fillUniform, seededRandom } from "../graph/random.ts";
import { toStorage } from "../graph/storage_layout.ts";
import type { Tensor } from "../graph/tensor.ts";
import type { Variable } from "../graph/variable.ts";
import type { ModelInput } from "../onnx/compile.ts";
import { batchSizeOf, checkFeed, widthOfFeed } from "./feeds.ts";
import type { Runtime, RuntimeSession, RuntimeValue } from "./types.ts";

/** Host values for placeholders, keyed by placeholder name. */
export type Feeds = Record<string, HostTensor>;

/** A model input with the step copy it feeds (0 unless steps are unrolled) and its ONNX name. */
export type PlannedInput = ModelInput & { copy: number; onnxName: string };

/** Where the values of one run come from. Copy i is the i-th step of an unrolled run (0 otherwise). */
export interface FeedSources {
  /** Placeholder values of copy `copy`. */
  placeholders(copy: number): Feeds;
  /** A variable's current value; the caller keeps owning it. */
  variable(variable: Variable): RuntimeValue | undefined;
  /** The global step fed to copy `copy` (`name`: the global step's input name). */
  globalStep(copy: number, name: string): number;
  /** The step whose noise copy `copy` draws (each step gets its own, reproducible, stream). */
  noiseStep(copy: number): number;
  /** Seed of the noise streams. */
  seed: number;
  /** Where copy `copy` runs, for messages. */
  where(copy: number): FeedContext;
}

/**
 * How messages name a run: `label` starts a sentence ("Global step 3",
 * "Evaluation of logs/model.ckpt-3, batch 2", "evaluate"), `at` follows a
 * placeholder's name (" at global step 3"; empty where nothing needs saying).
 */
export interface FeedContext {
  label: string;
  at: string;
}

/**
 * The feeds of one compiled (or unrolled) model.
 *
 * @example
 * ```ts
 * const plan = FeedPlan.of(model, runtime);
 * const out = await plan.run(session, ["loss"], sources);
 * ```
 */
export class FeedPlan {
  private constructor(readonly inputs: readonly PlannedInput[], private readonly runtime: Runtime) {}

  /** The plan of a model whose inputs are listed as compiled or unrolled. */
  static of(model: { inputs: readonly (ModelInput | PlannedInput)[] }, runtime: Runtime): FeedPlan {
    return new FeedPlan(model.inputs.map((i) => ("onnxName" in i ? i : { ...i, copy: 0, onnxName: i.name })), runtime);
  }

  /** The variables the model reads. */
  get variables(): Variable[] {
    return this.inputs.flatMap((i) => (i.kind === "variable" ? [i.variable] : []));
  }

  /** The placeholders each step must be fed (the global step and noise are fed by the plan). */
  get placeholderNames(): string[] {
    return [...new Set(this.inputs.filter((i) => i.kind === "placeholder").map((i) => i.name))];
  }

  /**
   * Feeds every input from `sources`, runs `fetches`, and releases what it
   * uploaded (the caller's variable values stay alive).
   */
  async run(session: RuntimeSession, fetches: readonly string[], sources: FeedSources): Promise<Record<string, RuntimeValue>> {
    const { feeds, release } = this.feeds(sources);
    try {
      return await session.run(feeds, fetches);
    } finally {
      release();
    }
  }

  /**
   * The feeds of one run, and `release` to free the values uploaded for it (not
   * the caller's variable values). On an error nothing is left uploaded.
   */
  feeds(sources: FeedSources): { feeds: Record<string, RuntimeValue>; release(): void } {
    const owned: RuntimeValue[] = [];
    const feeds: Record<string, RuntimeValue> = {};
    const batches = new BatchAgreement();
    try {
      for (const input of this.inputs) {
        if (input.kind === "variable") {
          const value = sources.variable(input.variable);
          if (!value) throw new Error(`Variable ${input.name} has no value (initialize or restore first)`);
          feeds[input.onnxName] = value;
        } else {
          const value = this.runtime.fromHost(hostValue(input, sources, batches));
          owned.push(value);
          feeds[input.onnxName] = value;
        }
      }
    } catch (err) {
      disposeAll(owned);
      throw err;
    }
    return { feeds, release: () => disposeAll(owned) };
  }

  /**
   * Uploads one value per variable the model reads, in its storage layout,
   * checked against the variable. On a missing or mismatched value it releases
   * what it uploaded and throws what `problem` makes of it (`value` undefined:
   * missing; `detail`: what does not fit).
   */
  uploadVariables(
    lookup: (v: Variable) => HostTensor | undefined,
    problem: (v: Variable, value: HostTensor | undefined, detail: string) => Error,
  ): Map<Variable, RuntimeValue> {
    const out = new Map<Variable, RuntimeValue>();
    try {
      for (const v of this.variables) {
        if (out.has(v)) continue;
        const value = lookup(v);
        if (!value) throw problem(v, undefined, `no value for variable ${v.name}`);
        try {
          checkFeed(`variable ${v.name}`, v, value);
        } catch (err) {
          throw problem(v, value, (err as Error).message);
        }
        out.set(v, this.runtime.fromHost(toStorage(value, v.storage)));
      }
    } catch (err) {
      disposeAll(out.values());
      throw err;
    }
    return out;
  }
}

/**
 * Frees runtime values now.
 *
 * @example
 * ```ts
 * disposeAll(variables.values());
 * ```
 */
export function disposeAll(values: Iterable<RuntimeValue>): void {
  for (const v of values) v.dispose();
}

/** The batch size fed to the placeholders of each step copy, which must agree (see `batchSizeOf`). */
class BatchAgreement {
  private readonly first = new Map<number, { name: string; size: number }>();

  check(input: PlannedInput, value: HostTensor, sources: FeedSources): void {
    const size = batchSizeOf(input.tensor, value);
    if (size === undefined) return;
    const first = this.first.get(input.copy);
    if (!first) return void this.first.set(input.copy, { name: input.name, size });
    if (first.size !== size) {
      throw new Error(
        `Feed for placeholder ${input.name}${sources.where(input.copy).at}: batch of ${size}, but placeholder ${first.name} ` +
          `was fed a batch of ${first.size}; placeholders of unknown batch must be fed the same batch size`,
      );
    }
  }
}

function hostValue(input: PlannedInput, sources: FeedSources, batches: BatchAgreement): HostTensor {
  if (input.kind === "globalStep") return { dtype: "float32", shape: [], data: new Float32Array([sources.globalStep(input.copy, input.name)]) };
  if (input.kind === "noise") return noiseFor(input.tensor, sources.seed, sources.noiseStep(input.copy));
  const batch = sources.placeholders(input.copy);
  if (!batch[input.name]) {
    const names = Object.keys(batch).join(", ") || "nothing";
    throw new Error(`${sources.where(input.copy).label}: no value fed for placeholder ${input.tensor.describe()} (fed: ${names})`);
  }
  const what = `placeholder ${input.name}${sources.where(input.copy).at}`;
  const fed = widthOfFeed(what, input.tensor, batch[input.name]);
  checkFeed(what, input.tensor, fed);
  batches.check(input, fed, sources);
  return fed;
}

/**
 * Uniform noise for a noise input, a pure function of (seed, step, input name).
 *
 * @example
 * ```ts
 * const noise = noiseFor(input.tensor, 0, 12);
 * ```
 */
export function noiseFor(t: Tensor, seed: number, step: number): HostTensor {
  const data = fillUniform(new Float32Array(t.size), seededRandom(seed ^ Math.imul(step + 1, 0x27d4eb2d), t.name));
  return { dtype: "float32", shape: [...t.shape], data };
}
