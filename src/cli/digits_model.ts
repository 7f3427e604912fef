/**
 * The main job's model: slim's `vgg_16` on 32×32 digits (fc6 'SAME' lets VGG-16
 * take them), He initialization (slim's Xavier default stalls here), a train graph
 * and an inference graph that share variable names.
 * @module
 */
import { Graph } from "../graph/graph.ts";
import { varianceScalingInitializer } from "../graph/initializers.ts";
import type { Tensor } from "../graph/tensor.ts";
import { placeholder } from "../graph/variable.ts";
import { argScope, conv2d } from "../layers/mod.ts";
import { createTrainOp, type TrainOp } from "../learning/create_train_op.ts";
import type { LearningRate, Optimizer } from "../learning/optimizer.ts";
import { cosineDecay, exponentialDecay, polynomialDecay } from "../learning/schedules.ts";
import { adagrad, adam, gradientDescent, momentum, rmsprop } from "../learning/optimizers/mod.ts";
import { getTotalLoss, sparseSoftmaxCrossEntropy } from "../losses/mod.ts";
import { vgg16, vggArgScope } from "../nets/mod.ts";
import { cast, equal, mul, reduceMax, reduceSum, reshape } from "../ops/mod.ts";
import { constant } from "../graph/variable.ts";
import { scalar } from "../summary/summary_ops.ts";

/** Image side and classes of the bundled digits. */
export const DIGITS = { size: 32, channels: 1, classes: 10 } as const;

/** Optimizer names the CLI accepts. */
export const OPTIMIZERS = ["adam", "momentum", "sgd", "rmsprop", "adagrad"] as const;

/** Learning-rate decay types the CLI accepts (slim's `learning_rate_decay_type`, plus cosine). */
export const DECAY_TYPES = ["fixed", "exponential", "polynomial", "cosine"] as const;

/**
 * The learning rate of a run by decay type, as slim's train_image_classifier builds
 * it: `fixed` keeps it; `exponential` multiplies it by 0.94 every two epochs
 * (staircase, slim's defaults); `polynomial` falls linearly and `cosine` along a half
 * cosine, both to zero at `steps`, so the last steps take small, settling updates.
 *
 * @example
 * ```ts
 * const lr = learningRateByName("cosine", 1e-4, { steps: 1000, stepsPerEpoch: 250 });
 * ```
 */
export function learningRateByName(type: string, learningRate: number, { steps, stepsPerEpoch }: { steps: number; stepsPerEpoch: number }): LearningRate {
  switch (type) {
    case "fixed":
      return learningRate;
    case "exponential":
      return exponentialDecay({ learningRate, decaySteps: 2 * stepsPerEpoch, decayRate: 0.94, staircase: true });
    case "polynomial":
      return polynomialDecay({ learningRate, decaySteps: steps, endLearningRate: 0, power: 1 });
    case "cosine":
      return cosineDecay({ learningRate, decaySteps: steps });
    default:
      throw new Error(`Unknown learning-rate decay type ${type} (choose from ${DECAY_TYPES.join(", ")})`);
  }
}

/**
 * An optimizer by CLI name.
 *
 * @example
 * ```ts
 * const opt = optimizerByName("adam", 1e-4);
 * ```
 */
export function optimizerByName(name: string, learningRate: LearningRate): Optimizer {
  switch (name) {
    case "adam":
      return adam({ learningRate });
    case "momentum":
      return momentum({ learningRate, momentum: 0.9 });
    case "sgd":
      return gradientDescent({ learningRate });
    case "rmsprop":
      return rmsprop({ learningRate });
    case "adagrad":
      return adagrad({ learningRate });
    default:
      throw new Error(`Unknown optimizer ${name} (choose from ${OPTIMIZERS.join(", ")})`);
  }
}

function logits(images: Tensor, isTraining: boolean, weightDecay: number): Tensor {
  const scope = vggArgScope({ weightDecay, weightsInitializer: varianceScalingInitializer() });
  // On 32x32 digits fc6's 7x7 filter only ever uses its centre tap: train just that
  // tap (the other 48/49 of fc6 keep their initial values and skip weight decay).
  const [net] = argScope(scope, () =>
    argScope([conv2d], { trainDataTapsOnly: true }, () => vgg16(images, { numClasses: DIGITS.classes, isTraining, fcConvPadding: "SAME" }))
  );
  return net;
}

/**
 * The training graph: VGG-16, sparse softmax cross-entropy, weight decay, summaries.
 *
 * @example
 * ```ts
 * const { trainOp } = buildDigitsTrainGraph({ batchSize: 32, optimizer: adam({ learningRate: 1e-4 }) });
 * ```
 */
export function buildDigitsTrainGraph(
  { batchSize, optimizer, weightDecay = 0.0005, mixedPrecision }: {
    batchSize: number;
    optimizer: Optimizer;
    weightDecay?: number;
    /** createTrainOp's mixed precision. */
    mixedPrecision?: "float16";
  },
): {
  graph: Graph;
  trainOp: TrainOp;
} {
  const graph = new Graph();
  const trainOp = graph.asDefault(() => {
    const images = placeholder([batchSize, DIGITS.size, DIGITS.size, DIGITS.channels], "float32", "images");
    // int32 class ids (the digits' int64 ones are converted when fed): the WebGPU EP has no int64 kernels.
    const labels = placeholder([batchSize], "int32", "labels");
    const net = logits(images, true, weightDecay);
    sparseSoftmaxCrossEntropy(net, labels);
    const totalLoss = getTotalLoss();
    scalar("losses/total_loss", totalLoss);
    scalar("accuracy/train_batch", correctFraction(net, labels));
    return createTrainOp(totalLoss, optimizer, { mixedPrecision });
  });
  return { graph, trainOp };
}

/**
 * The inference graph (dropout off) with a correct-count output for evaluation.
 * `batchSize` null (the default) leaves the batch unknown, so the graph and a
 * model exported from it take any batch size; train steps keep a fixed one.
 *
 * @example
 * ```ts
 * const { logits, correct } = buildDigitsEvalGraph(); // any batch
 * const fixed = buildDigitsEvalGraph(250);
 * ```
 */
export function buildDigitsEvalGraph(batchSize: number | null = null): { graph: Graph; logits: Tensor; correct: Tensor } {
  const graph = new Graph();
  return graph.asDefault(() => {
    const images = placeholder([batchSize, DIGITS.size, DIGITS.size, DIGITS.channels], "float32", "images");
    const labels = placeholder([batchSize], "int32", "labels");
    const net = logits(images, false, 0);
    return { graph, logits: net, correct: reduceSum(rowHits(net, labels)) };
  });
}

/** Fraction of rows whose label's logit is the row maximum (of a fixed batch). */
function correctFraction(logitsT: Tensor, labels: Tensor): Tensor {
  return mul(reduceSum(rowHits(logitsT, labels)), 1 / logitsT.shape[0]);
}

/** 1 for each row whose label's logit is the row maximum, else 0 (comparisons only: every EP runs them). */
function rowHits(logitsT: Tensor, labels: Tensor): Tensor {
  const [n, k] = logitsT.shape;
  const classes = constant(Array.from({ length: k }, (_, i) => i), [1, k], labels.dtype);
  const onehot = cast(equal(reshape(labels, [n, 1]), classes), "float32");
  const labelLogit = reduceSum(mul(logitsT, onehot), 1);
  return cast(equal(labelLogit, reduceMax(logitsT, 1)), "float32");
}

