/**
 * The learning rate and optimizer of `slimtrain train --model-name`, built from
 * the flags exactly as train_image_classifier's `_configure_learning_rate` and
 * `_configure_optimizer` build them.
 * @module
 */
import type { LearningRate, Optimizer } from "../../learning/optimizer.ts";
import { adadelta, adagrad, adam, ftrl, gradientDescent, momentum, rmsprop } from "../../learning/optimizers/mod.ts";
import { cosineDecay, exponentialDecay, polynomialDecay } from "../../learning/schedules.ts";

type Flags = Record<string, unknown>;

const num = (flags: Flags, name: string): number => Number(flags[name]);

/**
 * The learning-rate schedule: decays every `numEpochsPerDecay` epochs of
 * `samplesPerEpoch` images (staircase exponential, or polynomial to
 * `endLearningRate` over that span), fixed, or cosine to zero at `maxSteps`.
 *
 * @example
 * ```ts
 * const lr = configureLearningRate(flags, { samplesPerEpoch: 3320, maxSteps: 1000 });
 * ```
 */
export function configureLearningRate(flags: Flags, { samplesPerEpoch, maxSteps }: { samplesPerEpoch: number; maxSteps?: number }): LearningRate {
  const learningRate = num(flags, "learning-rate");
  const decaySteps = Math.max(1, Math.floor((samplesPerEpoch * num(flags, "num-epochs-per-decay")) / num(flags, "batch-size")));
  switch (flags["learning-rate-decay-type"]) {
    case "fixed":
      return learningRate;
    case "exponential":
      return exponentialDecay({ learningRate, decaySteps, decayRate: num(flags, "learning-rate-decay-factor"), staircase: true });
    case "polynomial":
      return polynomialDecay({ learningRate, decaySteps, endLearningRate: num(flags, "end-learning-rate"), power: 1 });
    case "cosine":
      if (!maxSteps) throw new Error("--learning-rate-decay-type cosine needs --max-number-of-steps (it decays to 0 there)");
      return cosineDecay({ learningRate, decaySteps: maxSteps });
    default:
      throw new Error(`Unknown --learning-rate-decay-type ${String(flags["learning-rate-decay-type"])}`);
  }
}

/**
 * The optimizer named by `--optimizer`, with its flags.
 *
 * @example
 * ```ts
 * const opt = configureOptimizer(flags, 0.01); // rmsprop(decay 0.9, momentum 0.9, epsilon 1.0) by default
 * ```
 */
export function configureOptimizer(flags: Flags, learningRate: LearningRate): Optimizer {
  const epsilon = num(flags, "opt-epsilon");
  switch (flags.optimizer) {
    case "adadelta":
      return adadelta({ learningRate, rho: num(flags, "adadelta-rho"), epsilon });
    case "adagrad":
      return adagrad({ learningRate, initialAccumulatorValue: num(flags, "adagrad-initial-accumulator-value") });
    case "adam":
      return adam({ learningRate, beta1: num(flags, "adam-beta1"), beta2: num(flags, "adam-beta2"), epsilon });
    case "ftrl":
      return ftrl({
        learningRate,
        learningRatePower: num(flags, "ftrl-learning-rate-power"),
        initialAccumulatorValue: num(flags, "ftrl-initial-accumulator-value"),
        l1RegularizationStrength: num(flags, "ftrl-l1"),
        l2RegularizationStrength: num(flags, "ftrl-l2"),
      });
    case "momentum":
      return momentum({ learningRate, momentum: num(flags, "momentum") });
    case "rmsprop":
      return rmsprop({ learningRate, decay: num(flags, "rmsprop-decay"), momentum: num(flags, "rmsprop-momentum"), epsilon });
    case "sgd":
      return gradientDescent({ learningRate });
    default:
      throw new Error(`Unknown --optimizer ${String(flags.optimizer)}`);
  }
}
