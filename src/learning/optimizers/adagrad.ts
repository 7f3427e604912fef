/**
 * Adagrad in TF1's form (`AdagradOptimizer`): accum += g²; var -= lr * g / sqrt(accum),
 * with no epsilon: the accumulator starts positive instead.
 * @module
 */
import { assign } from "../../graph/variable.ts";
import { add, div, mul, sqrt, sub } from "../../ops/mod.ts";
import type { LearningRate, Optimizer } from "../optimizer.ts";
import { checkKeys, checkLearningRate, checkNumber, makeOptimizer, slotFor } from "./slots.ts";

/**
 * Options for `adagrad`.
 *
 * @example
 * ```ts
 * const options: AdagradOptions = { learningRate: 0.1, initialAccumulatorValue: 0.01 };
 * ```
 */
export interface AdagradOptions {
  /** A positive number, or a schedule of the global step. */
  learningRate: LearningRate;
  /** The accumulator's starting value; positive (it is the only guard against dividing by zero). Default 0.1. */
  initialAccumulatorValue?: number;
}

/**
 * Adagrad; one slot per variable, `<var>/Adagrad`.
 *
 * @example
 * ```ts
 * const opt = adagrad({ learningRate: 0.1 });
 * const updates = opt.applyGradients(gradsAndVars, getOrCreateGlobalStep());
 * ```
 */
export function adagrad(options: AdagradOptions): Optimizer {
  checkKeys("adagrad", options, ["learningRate", "initialAccumulatorValue"]);
  const learningRate = checkLearningRate("adagrad", options.learningRate);
  const initial = checkNumber("adagrad", "initialAccumulatorValue", options.initialAccumulatorValue ?? 0.1, {
    min: 0,
    minExclusive: true,
  });
  return makeOptimizer("Adagrad", learningRate, (pairs, lr) =>
    pairs.flatMap(({ grad, variable }) => {
      const accumSlot = slotFor(variable, "Adagrad", initial);
      const accum = add(accumSlot.value, mul(grad, grad));
      return [assign(accumSlot, accum), assign(variable, sub(variable.value, div(mul(lr, grad), sqrt(accum))))];
    }));
}
