/**
 * Adam in TF1's form (`AdamOptimizer`): the bias correction goes into the step size,
 * lr_t = lr * sqrt(1 - beta2^t) / (1 - beta1^t), and epsilon is added to sqrt(v)
 * without correction, so for the same epsilon it weighs differently from the paper's
 * (and PyTorch's) epsilon-hat.
 *
 * The powers beta1^t and beta2^t are kept as two non-slot variables, `beta1_power`
 * and `beta2_power`, multiplied by beta after every step, as TensorFlow keeps them,
 * rather than derived from the global step: a TF-Slim checkpoint then restores into
 * exactly these names, and the bias correction counts this optimizer's own updates
 * even when the global step is shared, reset for fine-tuning, or not incremented.
 * @module
 */
import { assign } from "../../graph/variable.ts";
import { add, div, mul, sqrt, sub } from "../../ops/mod.ts";
import type { LearningRate, Optimizer } from "../optimizer.ts";
import { checkKeys, checkLearningRate, checkNumber, makeOptimizer, nonSlotVariable, slotFor } from "./slots.ts";

/**
 * Options for `adam`; the defaults are TensorFlow's.
 *
 * @example
 * ```ts
 * const options: AdamOptions = { learningRate: 1e-4, epsilon: 1e-6 };
 * ```
 */
export interface AdamOptions {
  /** A positive number, or a schedule of the global step. Default 0.001. */
  learningRate?: LearningRate;
  /** Decay of the first-moment estimate, in [0, 1). Default 0.9. */
  beta1?: number;
  /** Decay of the second-moment estimate, in [0, 1). Default 0.999. */
  beta2?: number;
  /** Added to sqrt(v); positive. Default 1e-8. */
  epsilon?: number;
}

/**
 * Adam; slots `<var>/Adam` (first moment) and `<var>/Adam_1` (second moment), both
 * starting at zero, plus the scalars `beta1_power` and `beta2_power`.
 *
 * @example
 * ```ts
 * const opt = adam({ learningRate: 1e-4 });
 * const updates = opt.applyGradients(gradsAndVars, getOrCreateGlobalStep());
 * ```
 */
export function adam(options: AdamOptions = {}): Optimizer {
  checkKeys("adam", options, ["learningRate", "beta1", "beta2", "epsilon"]);
  const learningRate = checkLearningRate("adam", options.learningRate ?? 0.001);
  const beta1 = checkNumber("adam", "beta1", options.beta1 ?? 0.9, { min: 0, max: 1, maxExclusive: true });
  const beta2 = checkNumber("adam", "beta2", options.beta2 ?? 0.999, { min: 0, max: 1, maxExclusive: true });
  const epsilon = checkNumber("adam", "epsilon", options.epsilon ?? 1e-8, { min: 0, minExclusive: true });
  return makeOptimizer("Adam", learningRate, (pairs, lr, graph) => {
    const beta1Power = nonSlotVariable(graph, "beta1_power", beta1);
    const beta2Power = nonSlotVariable(graph, "beta2_power", beta2);
    const stepSize = div(mul(lr, sqrt(sub(1, beta2Power.value))), sub(1, beta1Power.value));
    const updates = pairs.flatMap(({ grad, variable }) => {
      const mSlot = slotFor(variable, "Adam", 0);
      const vSlot = slotFor(variable, "Adam_1", 0);
      const m = add(mul(beta1, mSlot.value), mul(1 - beta1, grad));
      const v = add(mul(beta2, vSlot.value), mul(1 - beta2, mul(grad, grad)));
      const delta = div(mul(stepSize, m), add(sqrt(v), epsilon));
      return [assign(mSlot, m), assign(vSlot, v), assign(variable, sub(variable.value, delta))];
    });
    // The powers advance after the step that used them (TF's `_finish`).
    updates.push(assign(beta1Power, mul(beta1Power.value, beta1)), assign(beta2Power, mul(beta2Power.value, beta2)));
    return updates;
  });
}
