/**
 * TensorFlow's `tf.train.ExponentialMovingAverage`: shadow copies of variables
 * that follow them with `shadow -= (1 - decay) * (shadow - value)` every step,
 * named `<variable>/ExponentialMovingAverage` as TF names them in checkpoints.
 * Evaluating or exporting with the averages often beats the raw weights
 * (train_image_classifier's `--moving_average_decay`).
 * @module
 */
import type { Initializer } from "../graph/initializers.ts";
import type { Tensor } from "../graph/tensor.ts";
import { type Assignment, assign, type Variable, variable } from "../graph/variable.ts";
import { add, cast, div, minimum, mul, sub } from "../ops/mod.ts";

/** The collection shadow variables join (TF's `moving_average_variables` lists their sources). */
export const MOVING_AVERAGE_VARIABLES = "moving_average_variables";

/** Options of {@link ExponentialMovingAverage}. */
export interface ExponentialMovingAverageOptions {
  /**
   * The global step: when given, the decay is `min(decay, (1 + step) / (10 + step))`,
   * so early averages track the fast-moving start of training.
   */
  numUpdates?: Tensor;
  /** Suffix of the shadow variables. Default "ExponentialMovingAverage". */
  name?: string;
}

/**
 * Keeps moving averages of variables.
 *
 * @example
 * ```ts
 * const ema = new ExponentialMovingAverage(0.9999, { numUpdates: getOrCreateGlobalStep() });
 * for (const update of ema.apply(getTrainableVariables())) graph.addToCollection(GraphKeys.UPDATE_OPS, update);
 * ```
 */
export class ExponentialMovingAverage {
  readonly #averages = new Map<Variable, Variable>();
  readonly #name: string;

  constructor(readonly decay: number, private readonly options: ExponentialMovingAverageOptions = {}) {
    if (!(decay >= 0 && decay <= 1)) throw new Error(`ExponentialMovingAverage: decay must be in [0, 1], got ${decay}`);
    this.#name = options.name ?? "ExponentialMovingAverage";
  }

  /**
   * Creates each variable's shadow (starting at the variable's own initial value)
   * and returns the assignments that update them from the values at the start of
   * the step, as slim's update ops read them.
   *
   * @example
   * ```ts
   * const updates = ema.apply([w, b]); // createTrainOp(loss, opt, { updateOps: updates })
   * ```
   */
  apply(variables: readonly Variable[]): Assignment[] {
    const out: Assignment[] = [];
    for (const v of variables) {
      if (v.dtype !== "float32") throw new Error(`ExponentialMovingAverage: ${v.name} is ${v.dtype}; only float32 variables are averaged`);
      if (this.#averages.has(v)) throw new Error(`ExponentialMovingAverage: ${v.name} is already averaged`);
      const graph = v.value.graph;
      const shadow = graph.atRootScope(() =>
        variable(this.averageName(v), {
          shape: [...v.shape],
          initializer: sameInitialValue(v),
          trainable: false,
          collections: [MOVING_AVERAGE_VARIABLES],
          storage: v.storage,
        }, graph)
      );
      this.#averages.set(v, shadow);
      const decay = this.#decayTensor(v);
      out.push(assign(shadow, sub(shadow.value, mul(sub(1, decay), sub(shadow.value, v.value)))));
    }
    return out;
  }

  /**
   * The shadow of `v`, once `apply` made it.
   *
   * @example
   * ```ts
   * ema.average(w)?.name; // "net/w/ExponentialMovingAverage"
   * ```
   */
  average(v: Variable): Variable | undefined {
    return this.#averages.get(v);
  }

  /**
   * The checkpoint name of `v`'s average.
   *
   * @example
   * ```ts
   * ema.averageName(w); // "net/w/ExponentialMovingAverage"
   * ```
   */
  averageName(v: Variable): string {
    return `${v.name}/${this.#name}`;
  }

  /**
   * TF's `variables_to_restore` for the averaged `variables`: maps each one's
   * average name to the variable itself, so restoring fills an evaluation graph's
   * variables with the averages.
   *
   * @example
   * ```ts
   * const initFn = assignFromCheckpointFn(path, ema.variablesToRestore(getModelVariables()), { ignoreMissingVars: true });
   * ```
   */
  variablesToRestore(variables: readonly Variable[]): Record<string, Variable> {
    return Object.fromEntries(variables.map((v) => [this.averageName(v), v]));
  }

  #decayTensor(v: Variable): Tensor | number {
    const step = this.options.numUpdates;
    if (!step) return this.decay;
    const n = cast(step, "float32");
    return v.value.graph.withScope(this.#name, () => minimum(this.decay, div(add(n, 1), add(n, 10))));
  }
}

/** Draws exactly what `v`'s own initializer draws, from `v`'s random stream. */
function sameInitialValue(v: Variable): Initializer {
  return { name: `initial value of ${v.name}`, stream: v.name, init: (shape, dtype, random) => v.initializer.init(shape, dtype, random) };
}
