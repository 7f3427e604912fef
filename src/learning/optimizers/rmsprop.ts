/**
 * RMSProp in TF1's form (`RMSPropOptimizer`): ms = decay * ms + (1 - decay) * g²;
 * centered, also mg = decay * mg + (1 - decay) * g and the denominator ms - mg²;
 * mom = momentum * mom + lr * g / sqrt(denominator + epsilon); var -= mom.
 * Epsilon sits inside the square root and the learning rate inside the momentum
 * accumulator, unlike PyTorch's RMSprop.
 * @module
 */
import { assign } from "../../graph/variable.ts";
import { add, div, mul, sqrt, sub } from "../../ops/mod.ts";
import type { LearningRate, Optimizer } from "../optimizer.ts";
import { checkBoolean, checkKeys, checkLearningRate, checkNumber, makeOptimizer, slotFor } from "./slots.ts";

/**
 * Options for `rmsprop`; the defaults are TensorFlow's.
 *
 * @example
 * ```ts
 * const options: RmspropOptions = { learningRate: 0.01, momentum: 0.9, centered: true };
 * ```
 */
export interface RmspropOptions {
  /** A positive number, or a schedule of the global step. */
  learningRate: LearningRate;
  /** Decay of the moving averages, in [0, 1). Default 0.9. */
  decay?: number;
  /** Decay of the momentum accumulator, in [0, 1). Default 0. */
  momentum?: number;
  /** Added to the denominator inside the square root; positive. Default 1e-10. */
  epsilon?: number;
  /** Normalise by the estimated variance instead of the second moment. Default false. */
  centered?: boolean;
}

/**
 * RMSProp. Slots, named in TensorFlow's creation order: `<var>/RMSProp` (mean square),
 * then, when centered, `<var>/RMSProp_1` (mean gradient), then the momentum
 * accumulator (`<var>/RMSProp_1`, or `<var>/RMSProp_2` when centered).
 *
 * @example
 * ```ts
 * const opt = rmsprop({ learningRate: 0.045, decay: 0.9, momentum: 0.9, epsilon: 1.0 }); // Inception's
 * const updates = opt.applyGradients(gradsAndVars, getOrCreateGlobalStep());
 * ```
 */
export function rmsprop(options: RmspropOptions): Optimizer {
  checkKeys("rmsprop", options, ["learningRate", "decay", "momentum", "epsilon", "centered"]);
  const learningRate = checkLearningRate("rmsprop", options.learningRate);
  const decay = checkNumber("rmsprop", "decay", options.decay ?? 0.9, { min: 0, max: 1, maxExclusive: true });
  const momentum = checkNumber("rmsprop", "momentum", options.momentum ?? 0, { min: 0, max: 1, maxExclusive: true });
  const epsilon = checkNumber("rmsprop", "epsilon", options.epsilon ?? 1e-10, { min: 0, minExclusive: true });
  const centered = checkBoolean("rmsprop", "centered", options.centered ?? false);
  return makeOptimizer("RMSProp", learningRate, (pairs, lr) =>
    pairs.flatMap(({ grad, variable }) => {
      // TensorFlow starts the mean square at ONES, not zeros: the first steps are
      // then damped instead of being divided by a tiny (1 - decay) * g².
      const msSlot = slotFor(variable, "RMSProp", 1);
      const mgSlot = centered ? slotFor(variable, "RMSProp_1", 0) : undefined;
      const momSlot = slotFor(variable, centered ? "RMSProp_2" : "RMSProp_1", 0);
      const ms = add(mul(decay, msSlot.value), mul(1 - decay, mul(grad, grad)));
      const out = [assign(msSlot, ms)];
      let denominator = ms;
      if (mgSlot) {
        const mg = add(mul(decay, mgSlot.value), mul(1 - decay, grad));
        out.push(assign(mgSlot, mg));
        denominator = sub(ms, mul(mg, mg));
      }
      const mom = add(mul(momentum, momSlot.value), div(mul(lr, grad), sqrt(add(denominator, epsilon))));
      out.push(assign(momSlot, mom), assign(variable, sub(variable.value, mom)));
      return out;
    }));
}
