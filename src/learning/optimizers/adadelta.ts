/**
 * Adadelta (Zeiler 2012), as TensorFlow's `AdadeltaOptimizer`: step sizes from the
 * ratio of two running RMS values, so the learning rate mostly sets a scale.
 * @module
 */
import { assign } from "../../graph/variable.ts";
import { add, div, mul, sqrt, sub } from "../../ops/mod.ts";
import type { LearningRate, Optimizer } from "../optimizer.ts";
import { checkKeys, checkLearningRate, checkNumber, makeOptimizer, slotFor } from "./slots.ts";

/**
 * Options for `adadelta`; the defaults are TensorFlow's.
 *
 * @example
 * ```ts
 * const options: AdadeltaOptions = { learningRate: 1.0, rho: 0.95, epsilon: 1e-6 };
 * ```
 */
export interface AdadeltaOptions {
  /** A positive number, or a schedule of the global step. Default 0.001. */
  learningRate?: LearningRate;
  /** Decay of both running averages, in [0, 1). Default 0.95. */
  rho?: number;
  /** Added under both square roots; positive. Default 1e-8. */
  epsilon?: number;
}

/**
 * Adadelta; slots `<var>/Adadelta` (mean squared gradient) and `<var>/Adadelta_1`
 * (mean squared update), both starting at zero.
 *
 * @example
 * ```ts
 * const opt = adadelta({ learningRate: 1.0, epsilon: 1.0 }); // train_image_classifier's --opt_epsilon
 * ```
 */
export function adadelta(options: AdadeltaOptions = {}): Optimizer {
  checkKeys("adadelta", options, ["learningRate", "rho", "epsilon"]);
  const learningRate = checkLearningRate("adadelta", options.learningRate ?? 0.001);
  const rho = checkNumber("adadelta", "rho", options.rho ?? 0.95, { min: 0, max: 1, maxExclusive: true });
  const epsilon = checkNumber("adadelta", "epsilon", options.epsilon ?? 1e-8, { min: 0, minExclusive: true });
  return makeOptimizer("Adadelta", learningRate, (pairs, lr) =>
    pairs.flatMap(({ grad, variable }) => {
      const accum = slotFor(variable, "Adadelta", 0);
      const accumUpdate = slotFor(variable, "Adadelta_1", 0);
      const newAccum = add(mul(rho, accum.value), mul(1 - rho, mul(grad, grad)));
      const update = mul(div(sqrt(add(accumUpdate.value, epsilon)), sqrt(add(newAccum, epsilon))), grad);
      const newAccumUpdate = add(mul(rho, accumUpdate.value), mul(1 - rho, mul(update, update)));
      return [assign(accum, newAccum), assign(accumUpdate, newAccumUpdate), assign(variable, sub(variable.value, mul(lr, update)))];
    }));
}
