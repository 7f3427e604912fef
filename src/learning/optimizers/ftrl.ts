/**
 * FTRL-Proximal (McMahan et al. 2013), as TensorFlow's `FtrlOptimizer` without
 * L2 shrinkage: per-coordinate rates from accumulated squared gradients, and L1
 * that sets small weights exactly to zero.
 * @module
 */
import { assign } from "../../graph/variable.ts";
import { abs, add, cast, div, greater, mul, pow, sign, sub, where } from "../../ops/mod.ts";
import type { LearningRate, Optimizer } from "../optimizer.ts";
import { checkKeys, checkLearningRate, checkNumber, makeOptimizer, slotFor } from "./slots.ts";

/**
 * Options for `ftrl`; the defaults are TensorFlow's.
 *
 * @example
 * ```ts
 * const options: FtrlOptions = { learningRate: 0.1, l1RegularizationStrength: 0.01 };
 * ```
 */
export interface FtrlOptions {
  /** A positive number, or a schedule of the global step. */
  learningRate: LearningRate;
  /** How the rate falls with the accumulator; ≤ 0. Default -0.5. */
  learningRatePower?: number;
  /** The accumulator's starting value; positive. Default 0.1. */
  initialAccumulatorValue?: number;
  /** L1 strength; ≥ 0. Default 0. */
  l1RegularizationStrength?: number;
  /** L2 strength; ≥ 0. Default 0. */
  l2RegularizationStrength?: number;
}

/**
 * FTRL; slots `<var>/Ftrl` (accumulated squared gradients, starting at
 * `initialAccumulatorValue`) and `<var>/Ftrl_1` (the linear term, starting at zero).
 *
 * @example
 * ```ts
 * const opt = ftrl({ learningRate: 0.05, l1RegularizationStrength: 0.001 });
 * ```
 */
export function ftrl(options: FtrlOptions): Optimizer {
  checkKeys("ftrl", options, ["learningRate", "learningRatePower", "initialAccumulatorValue", "l1RegularizationStrength", "l2RegularizationStrength"]);
  const learningRate = checkLearningRate("ftrl", options.learningRate);
  const power = checkNumber("ftrl", "learningRatePower", options.learningRatePower ?? -0.5, { max: 0 });
  const initial = checkNumber("ftrl", "initialAccumulatorValue", options.initialAccumulatorValue ?? 0.1, { min: 0, minExclusive: true });
  const l1 = checkNumber("ftrl", "l1RegularizationStrength", options.l1RegularizationStrength ?? 0, { min: 0 });
  const l2 = checkNumber("ftrl", "l2RegularizationStrength", options.l2RegularizationStrength ?? 0, { min: 0 });
  return makeOptimizer("Ftrl", learningRate, (pairs, lr) =>
    pairs.flatMap(({ grad, variable }) => {
      const accum = slotFor(variable, "Ftrl", initial);
      const linear = slotFor(variable, "Ftrl_1", 0);
      const newAccum = add(accum.value, mul(grad, grad));
      // σ = (n_new^-p - n^-p) / lr: how much the per-coordinate rate fell this step.
      const sigma = div(sub(pow(newAccum, -power), pow(accum.value, -power)), lr);
      const newLinear = sub(add(linear.value, grad), mul(sigma, variable.value));
      const quadratic = add(div(pow(newAccum, -power), lr), 2 * l2);
      const shrunk = div(sub(mul(sign(newLinear), l1), newLinear), quadratic);
      const active = greater(abs(newLinear), l1);
      const newVar = l1 > 0 ? where(active, shrunk, 0) : mul(shrunk, cast(active, "float32"));
      return [assign(accum, newAccum), assign(linear, newLinear), assign(variable, newVar)];
    }));
}
