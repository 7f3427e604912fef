/**
 * Momentum (TF's `MomentumOptimizer`): accum = momentum * accum + grad, then
 * var -= lr * accum, or with Nesterov var -= lr * (grad + momentum * accum).
 * The learning rate stays outside the accumulator, so a schedule that changes
 * it rescales the whole step at once.
 * @module
 */
import { assign } from "../../graph/variable.ts";
import { add, mul, sub } from "../../ops/mod.ts";
import type { LearningRate, Optimizer } from "../optimizer.ts";
import { checkBoolean, checkKeys, checkLearningRate, checkNumber, makeOptimizer, slotFor } from "./slots.ts";

/**
 * Options for `momentum`.
 *
 * @example
 * ```ts
 * const options: MomentumOptions = { learningRate: 0.01, momentum: 0.9 };
 * ```
 */
export interface MomentumOptions {
  /** A positive number, or a schedule of the global step. */
  learningRate: LearningRate;
  /** The accumulator's decay, in [0, 1). */
  momentum: number;
  /** Look ahead along the accumulator (Nesterov's accelerated gradient). Default false. */
  useNesterov?: boolean;
}

/**
 * Gradient descent with momentum; one slot per variable, `<var>/Momentum`, starting at zero.
 *
 * @example
 * ```ts
 * const opt = momentum({ learningRate: 0.01, momentum: 0.9, useNesterov: true });
 * const updates = opt.applyGradients(gradsAndVars, getOrCreateGlobalStep());
 * ```
 */
export function momentum(options: MomentumOptions): Optimizer {
  checkKeys("momentum", options, ["learningRate", "momentum", "useNesterov"]);
  const learningRate = checkLearningRate("momentum", options.learningRate);
  const m = checkNumber("momentum", "momentum", options.momentum, { min: 0, max: 1, maxExclusive: true });
  const nesterov = checkBoolean("momentum", "useNesterov", options.useNesterov ?? false);
  return makeOptimizer("Momentum", learningRate, (pairs, lr) =>
    pairs.flatMap(({ grad, variable }) => {
      const accumSlot = slotFor(variable, "Momentum", 0);
      const accum = add(mul(m, accumSlot.value), grad);
      const step = nesterov ? add(grad, mul(m, accum)) : accum;
      return [assign(accumSlot, accum), assign(variable, sub(variable.value, mul(lr, step)))];
    }));
}
