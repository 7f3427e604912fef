/**
 * The graphs of `slimtrain train|eval --model-name`: any net of the factory on
 * NHWC image placeholders, slim's one-hot cross-entropy with label smoothing
 * (and Inception's auxiliary head at weight 0.4), and the eval metrics
 * (accuracy and recall@5, weighted so a padded last batch counts only its images).
 * @module
 */
import { Graph, GraphKeys } from "../../graph/graph.ts";
import type { Tensor } from "../../graph/tensor.ts";
import { constant, placeholder, type Variable } from "../../graph/variable.ts";
import { createTrainOp, type TrainOp } from "../../learning/create_train_op.ts";
import { getOrCreateGlobalStep } from "../../learning/global_step.ts";
import { ExponentialMovingAverage } from "../../learning/moving_averages.ts";
import type { Optimizer } from "../../learning/optimizer.ts";
import { getTotalLoss, softmaxCrossEntropy } from "../../losses/mod.ts";
import { accuracy, type Metric, topKAccuracy } from "../../metrics/metrics.ts";
import { getNetworkFn } from "../../nets/nets_factory.ts";
import { cast, equal, reshape, sub } from "../../ops/mod.ts";
import { scalar } from "../../summary/summary_ops.ts";

/** The input shape of a classifier graph. */
export interface ClassifierShape {
  modelName: string;
  batchSize: number;
  imageSize: number;
  channels: 1 | 3;
  numClasses: number;
  /** Subtracted from every label (slim's `labels_offset`). */
  labelsOffset?: number;
}

function inputs(shape: ClassifierShape): { images: Tensor; labels: Tensor; classIds: Tensor } {
  const { batchSize, imageSize, channels, labelsOffset = 0 } = shape;
  const images = placeholder([batchSize, imageSize, imageSize, channels], "float32", "images");
  // int32 class ids (datasets' int64 ones are converted when fed): the WebGPU EP has no int64 kernels.
  const labels = placeholder([batchSize], "int32", "labels");
  const classIds = labelsOffset ? sub(labels, constant([labelsOffset], [1], "int32")) : labels;
  return { images, labels, classIds };
}

function oneHot(classIds: Tensor, numClasses: number): Tensor {
  const ids = constant(Array.from({ length: numClasses }, (_, i) => i), [1, numClasses], classIds.dtype);
  return cast(equal(reshape(classIds, [classIds.shape[0], 1]), ids), "float32");
}

/**
 * The training graph and train op.
 *
 * @example
 * ```ts
 * const { trainOp } = buildClassifierTrainGraph(shape, { optimizer, weightDecay: 4e-5, labelSmoothing: 0.1 });
 * ```
 */
export function buildClassifierTrainGraph(
  shape: ClassifierShape,
  { optimizer, weightDecay, labelSmoothing = 0, trainableScopes = [], movingAverageDecay, mixedPrecision }: {
    optimizer: Optimizer;
    weightDecay: number;
    labelSmoothing?: number;
    trainableScopes?: string[];
    /** Keeps `ExponentialMovingAverage`s of the model variables, updated with every step. */
    movingAverageDecay?: number;
    /** createTrainOp's mixed precision. */
    mixedPrecision?: "float16";
  },
): { graph: Graph; trainOp: TrainOp; variablesToTrain: Variable[] } {
  const graph = new Graph();
  return graph.asDefault(() => {
    const { images, classIds } = inputs(shape);
    const networkFn = getNetworkFn(shape.modelName, { numClasses: shape.numClasses, weightDecay, isTraining: true });
    const [logits, endPoints] = networkFn(images);
    const onehot = oneHot(classIds, shape.numClasses);
    const aux = endPoints.get("AuxLogits");
    if (aux) softmaxCrossEntropy(aux, onehot, { labelSmoothing, weights: 0.4 });
    softmaxCrossEntropy(logits, onehot, { labelSmoothing });
    const totalLoss = getTotalLoss();
    scalar("losses/total_loss", totalLoss);
    const variablesToTrain = variablesInScopes(graph, trainableScopes);
    if (movingAverageDecay !== undefined) {
      // As train_image_classifier: averages of every model variable, in UPDATE_OPS.
      const ema = new ExponentialMovingAverage(movingAverageDecay, { numUpdates: getOrCreateGlobalStep() });
      for (const u of ema.apply(graph.getCollection<Variable>(GraphKeys.MODEL_VARIABLES))) graph.addToCollection(GraphKeys.UPDATE_OPS, u);
    }
    const trainOp = createTrainOp(totalLoss, optimizer, { variablesToTrain, mixedPrecision });
    if (optimizer.learningRateTensor) scalar("learning_rate", optimizer.learningRateTensor);
    return { graph, trainOp, variablesToTrain };
  });
}

/**
 * The trainable variables in `scopes` (all of them when none is given), as
 * train_image_classifier's `_get_variables_to_train`.
 *
 * @example
 * ```ts
 * variablesInScopes(graph, ["LeNet/fc4"]); // [LeNet/fc4/weights, LeNet/fc4/biases]
 * ```
 */
export function variablesInScopes(graph: Graph, scopes: readonly string[]): Variable[] {
  const trainable = graph.getCollection<Variable>(GraphKeys.TRAINABLE_VARIABLES);
  if (scopes.length === 0) return trainable;
  const chosen = trainable.filter((v) => scopes.some((s) => v.name === s || v.name.startsWith(`${s.replace(/\/$/, "")}/`)));
  if (chosen.length === 0) {
    const roots = [...new Set(trainable.map((v) => v.name.split("/").slice(0, 2).join("/")))].slice(0, 12);
    throw new Error(`--trainable-scopes ${scopes.join(",")} match no trainable variable; scopes here include ${roots.join(", ")}`);
  }
  return chosen;
}

/**
 * The evaluation graph: the net in inference mode (batch norm's moving averages,
 * no dropout) and eval_image_classifier's metrics, weighted by a `weights`
 * placeholder.
 *
 * @example
 * ```ts
 * const { metrics } = buildClassifierEvalGraph(shape);
 * ```
 */
export function buildClassifierEvalGraph(shape: ClassifierShape): { graph: Graph; metrics: Record<string, Metric>; modelVariables: Variable[] } {
  const graph = new Graph();
  return graph.asDefault(() => {
    const { images, classIds } = inputs(shape);
    const weights = placeholder([shape.batchSize], "float32", "weights");
    const [logits] = getNetworkFn(shape.modelName, { numClasses: shape.numClasses, isTraining: false })(images);
    const metrics: Record<string, Metric> = { Accuracy: accuracy(logits, classIds, { weights }) };
    if (shape.numClasses > 5) metrics.Recall_5 = topKAccuracy(logits, classIds, 5, { weights });
    return { graph, metrics, modelVariables: graph.getCollection<Variable>(GraphKeys.MODEL_VARIABLES) };
  });
}
