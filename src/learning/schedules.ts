/**
 * Learning-rate schedules with TF1's formulas (`tf.train.exponential_decay` and
 * friends), computed inside the train step from the float32 global step, so the
 * rate changes without recompiling. Each returns a function of the global step,
 * usable wherever an optimizer takes a `learningRate`.
 * @module
 */
import type { Tensor } from "../graph/tensor.ts";
import { constant } from "../graph/variable.ts";
import { add, cos, div, equal, floor, greater, minimum, mul, neg, pow, sub, where } from "../ops/mod.ts";
import { checkBoolean, checkKeys, checkNumber } from "./optimizers/slots.ts";

/**
 * A learning rate as a function of the global step (a float32 scalar).
 *
 * @example
 * ```ts
 * const halving: Schedule = exponentialDecay({ learningRate: 0.1, decaySteps: 1000, decayRate: 0.5 });
 * ```
 */
export type Schedule = (globalStep: Tensor) => Tensor;

function checkStep(owner: string, globalStep: Tensor): Tensor {
  if (globalStep.dtype !== "float32" || globalStep.rank !== 0) {
    throw new Error(`${owner}: the global step must be a float32 scalar, got ${globalStep.describe()}`);
  }
  return globalStep;
}

/**
 * learningRate * decayRate ^ (step / decaySteps); with `staircase` the exponent is
 * floored, so the rate drops once every `decaySteps` steps.
 *
 * @example
 * ```ts
 * const opt = momentum({ learningRate: exponentialDecay({ learningRate: 0.1, decaySteps: 1000, decayRate: 0.96 }), momentum: 0.9 });
 * ```
 */
export function exponentialDecay(
  options: { learningRate: number; decaySteps: number; decayRate: number; staircase?: boolean },
): Schedule {
  const owner = "exponentialDecay";
  checkKeys(owner, options, ["learningRate", "decaySteps", "decayRate", "staircase"]);
  const lr = checkNumber(owner, "learningRate", options.learningRate, { min: 0, minExclusive: true });
  const decaySteps = checkNumber(owner, "decaySteps", options.decaySteps, { min: 0, minExclusive: true });
  const decayRate = checkNumber(owner, "decayRate", options.decayRate, { min: 0, minExclusive: true });
  const staircase = checkBoolean(owner, "staircase", options.staircase ?? false);
  return (globalStep) => {
    const p = div(checkStep(owner, globalStep), decaySteps);
    return mul(lr, pow(decayRate, staircase ? floor(p) : p));
  };
}

/**
 * A step function: values[0] while step <= boundaries[0], values[i] while
 * boundaries[i-1] < step <= boundaries[i], and the last value after the last boundary.
 *
 * @example
 * ```ts
 * const lr = piecewiseConstant({ boundaries: [10000, 20000], values: [0.1, 0.01, 0.001] });
 * ```
 */
export function piecewiseConstant(options: { boundaries: number[]; values: number[] }): Schedule {
  const owner = "piecewiseConstant";
  checkKeys(owner, options, ["boundaries", "values"]);
  const { boundaries, values } = options;
  if (!Array.isArray(boundaries) || !Array.isArray(values)) throw new Error(`${owner}: boundaries and values must be arrays`);
  if (values.length !== boundaries.length + 1) {
    throw new Error(`${owner}: values must have one more element than boundaries, got ${values.length} values for ${boundaries.length} boundaries`);
  }
  boundaries.forEach((b, i) => {
    checkNumber(owner, `boundaries[${i}]`, b);
    if (i > 0 && !(b > boundaries[i - 1])) throw new Error(`${owner}: boundaries must increase, got ${boundaries[i - 1]} then ${b}`);
  });
  values.forEach((v, i) => checkNumber(owner, `values[${i}]`, v));
  const bounds = [...boundaries], vals = [...values];
  return (globalStep) => {
    const step = checkStep(owner, globalStep);
    // Nested selects rather than a sum of differences keep every value exact.
    let rate = constant(vals[vals.length - 1], [], "float32", step.graph);
    for (let i = bounds.length - 1; i >= 0; i--) rate = where(greater(step, bounds[i]), rate, vals[i]);
    return rate;
  };
}

/**
 * (learningRate - endLearningRate) * (1 - step / decaySteps) ^ power + endLearningRate,
 * holding endLearningRate after decaySteps; with `cycle`, decaySteps grows to the next
 * multiple of itself past the step, so the rate decays again from a lower peak.
 *
 * @example
 * ```ts
 * const lr = polynomialDecay({ learningRate: 0.1, decaySteps: 10000, endLearningRate: 0.001, power: 0.5 });
 * ```
 */
export function polynomialDecay(
  options: { learningRate: number; decaySteps: number; endLearningRate?: number; power?: number; cycle?: boolean },
): Schedule {
  const owner = "polynomialDecay";
  checkKeys(owner, options, ["learningRate", "decaySteps", "endLearningRate", "power", "cycle"]);
  const lr = checkNumber(owner, "learningRate", options.learningRate, { min: 0, minExclusive: true });
  const decaySteps = checkNumber(owner, "decaySteps", options.decaySteps, { min: 0, minExclusive: true });
  const end = checkNumber(owner, "endLearningRate", options.endLearningRate ?? 0.0001, { min: 0 });
  const power = checkNumber(owner, "power", options.power ?? 1, { min: 0, minExclusive: true });
  const cycle = checkBoolean(owner, "cycle", options.cycle ?? false);
  return (globalStep) => {
    let step = checkStep(owner, globalStep);
    let steps: Tensor | number = decaySteps;
    if (cycle) {
      // ceil(x) = -floor(-x); TF keeps multiplier 1 at step 0 so the first cycle is not empty.
      const multiplier = where(equal(step, 0), 1, neg(floor(neg(div(step, decaySteps)))));
      steps = mul(multiplier, decaySteps);
    } else {
      step = minimum(step, decaySteps);
    }
    const remaining = sub(1, div(step, steps));
    return add(mul(lr - end, pow(remaining, power)), end);
  };
}

/**
 * Cosine decay from learningRate to alpha * learningRate over decaySteps, then constant:
 * learningRate * ((1 - alpha) * 0.5 * (1 + cos(pi * min(step, decaySteps) / decaySteps)) + alpha).
 *
 * @example
 * ```ts
 * const lr = cosineDecay({ learningRate: 0.1, decaySteps: 50000, alpha: 0.01 });
 * ```
 */
export function cosineDecay(options: { learningRate: number; decaySteps: number; alpha?: number }): Schedule {
  const owner = "cosineDecay";
  checkKeys(owner, options, ["learningRate", "decaySteps", "alpha"]);
  const lr = checkNumber(owner, "learningRate", options.learningRate, { min: 0, minExclusive: true });
  const decaySteps = checkNumber(owner, "decaySteps", options.decaySteps, { min: 0, minExclusive: true });
  const alpha = checkNumber(owner, "alpha", options.alpha ?? 0, { min: 0, max: 1 });
  return (globalStep) => {
    const progress = div(minimum(checkStep(owner, globalStep), decaySteps), decaySteps);
    const cosine = mul(0.5, add(1, cos(mul(Math.PI, progress))));
    return mul(lr, add(mul(1 - alpha, cosine), alpha));
  };
}

