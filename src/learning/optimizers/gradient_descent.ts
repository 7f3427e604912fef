/**
 * Plain gradient descent (TF's `GradientDescentOptimizer`): var -= lr * grad.
 * @module
 */
import { assign } from "../../graph/variable.ts";
import { mul, sub } from "../../ops/mod.ts";
import type { LearningRate, Optimizer } from "../optimizer.ts";
import { checkKeys, checkLearningRate, makeOptimizer } from "./slots.ts";

/**
 * Options for `gradientDescent`.
 *
 * @example
 * ```ts
 * const options: GradientDescentOptions = { learningRate: 0.01 };
 * ```
 */
export interface GradientDescentOptions {
  /** A positive number, or a schedule of the global step. */
  learningRate: LearningRate;
}

/**
 * Gradient descent without slots.
 *
 * @example
 * ```ts
 * const opt = gradientDescent({ learningRate: 0.01 });
 * const updates = opt.applyGradients(gradsAndVars, getOrCreateGlobalStep());
 * ```
 */
export function gradientDescent(options: GradientDescentOptions): Optimizer {
  checkKeys("gradientDescent", options, ["learningRate"]);
  const learningRate = checkLearningRate("gradientDescent", options.learningRate);
  return makeOptimizer("GradientDescent", learningRate, (pairs, lr) =>
    pairs.map(({ grad, variable }) => assign(variable, sub(variable.value, mul(lr, grad)))));
}
