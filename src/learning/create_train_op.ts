/**
 * slim's `create_train_op`: gradients of the total loss, optional multipliers,
 * clipping and summaries, then the optimizer's updates, bundled with the loss
 * (which reports the value before the update, as slim's does).
 * @module
 */
import { gradients } from "../autodiff/gradients.ts";
import type { AutocastDType } from "../onnx/autocast.ts";
import { mul } from "../ops/binary.ts";
import { GraphKeys } from "../graph/graph.ts";
import type { Tensor } from "../graph/tensor.ts";
import type { Assignment, Variable } from "../graph/variable.ts";
import { addGradientsSummaries, clipGradientNorms, multiplyGradients } from "./gradient_utils.ts";
import { getOrCreateGlobalStep } from "./global_step.ts";
import { createLossScale, type DynamicLossScale, guardUpdates, type LossScaleOptions, summarizeLossScale, unscaleGradients } from "./loss_scale.ts";
import { explainNoGradients } from "./no_gradient_cause.ts";
import type { GradAndVar, Optimizer } from "./optimizer.ts";

/** What `train` runs: everything one step computes. */
export interface TrainOp {
  /** The loss before this step's update. */
  totalLoss: Tensor;
  optimizer: Optimizer;
  /** The (possibly transformed) gradients the optimizer applied. */
  gradsAndVars: GradAndVar[];
  /** Optimizer updates plus the update ops that run with the step. */
  updates: Assignment[];
  /** The float32 global-step placeholder the trainer feeds. */
  globalStep: Tensor;
  /** Stop with an error naming the step when the loss is NaN or Inf. */
  checkNumerics: boolean;
  variablesToTrain: Variable[];
  /** Mixed precision: the dtype convolutions and matrix products compute in. */
  mixedPrecision?: AutocastDType;
  /** The dynamic loss scale under mixed precision. */
  lossScale?: DynamicLossScale;
}

/** Options of `createTrainOp`, as slim names them (camelCase). */
export interface CreateTrainOpOptions {
  globalStep?: Tensor;
  /** Assignments to run with the step; default: the UPDATE_OPS collection. */
  updateOps?: Assignment[];
  /** Default: every trainable variable. Others stay bit-for-bit unchanged. */
  variablesToTrain?: Variable[];
  /** Applied to the (grad, var) list after multipliers and clipping. */
  transformGradsFn?: (gradsAndVars: GradAndVar[]) => GradAndVar[];
  /** Clip each gradient by its own norm when > 0. */
  clipGradientNorm?: number;
  summarizeGradients?: boolean;
  /** Per-variable gradient scale, applied before clipping. */
  gradientMultipliers?: Record<string, number>;
  /** Default true. */
  checkNumerics?: boolean;
  /**
   * "float16": PyTorch's autocast with GradScaler. Convolutions and matrix products
   * (forward and their gradients) take float16 operands on the execution provider;
   * weights, reductions, normalization, losses and the optimizer stay float32; the
   * loss is scaled dynamically (see `lossScale`) and a step whose gradients
   * overflow changes no variable. Meant for GPU providers with float16 kernels; on
   * the CPU provider it is correct but slower (ONNX Runtime computes float16 nodes
   * there through float32). Evaluation and export stay float32.
   */
  mixedPrecision?: AutocastDType;
  /** The dynamic loss scale under mixed precision (TensorFlow's defaults). */
  lossScale?: LossScaleOptions;
}

const KNOWN = new Set([
  "globalStep", "updateOps", "variablesToTrain", "transformGradsFn", "clipGradientNorm",
  "summarizeGradients", "gradientMultipliers", "checkNumerics", "mixedPrecision", "lossScale",
]);

/**
 * Builds the training step for `totalLoss` with `optimizer`.
 *
 * @example
 * ```ts
 * const trainOp = createTrainOp(losses.getTotalLoss(), optimizers.gradientDescent({ learningRate: 0.001 }));
 * await train(trainOp, "logs/vgg16", { numberOfSteps: 1000 });
 * ```
 */
export function createTrainOp(totalLoss: Tensor, optimizer: Optimizer, options: CreateTrainOpOptions = {}): TrainOp {
  for (const k of Object.keys(options)) {
    if (!KNOWN.has(k)) throw new Error(`createTrainOp: unknown option ${k} (known: ${[...KNOWN].join(", ")})`);
  }
  if (!optimizer || typeof optimizer.applyGradients !== "function") {
    throw new Error(`createTrainOp: optimizer must be an Optimizer (e.g. optimizers.gradientDescent({ learningRate })), got ${String(optimizer)}`);
  }
  if (totalLoss.size !== 1 || totalLoss.dtype !== "float32") {
    throw new Error(`createTrainOp: totalLoss must be a float32 scalar, got ${totalLoss.describe()}`);
  }
  const graph = totalLoss.graph;
  const globalStep = options.globalStep ?? getOrCreateGlobalStep(graph);
  const variablesToTrain = options.variablesToTrain ?? graph.getCollection<Variable>(GraphKeys.TRAINABLE_VARIABLES);
  if (variablesToTrain.length === 0) throw new Error("createTrainOp: there are no variables to train");
  const updateOps = options.updateOps ?? graph.getCollection<Assignment>(GraphKeys.UPDATE_OPS);

  const lossScale = mixedPrecisionScale(totalLoss, options);
  const objective = lossScale ? mul(totalLoss, lossScale.scale.value) : totalLoss;
  const grads = gradients(objective, variablesToTrain.map((v) => v.value));
  let gradsAndVars: GradAndVar[] = variablesToTrain.map((variable, i) => ({ grad: grads[i], variable }));
  if (gradsAndVars.every((gv) => gv.grad === null)) {
    throw new Error(
      `createTrainOp: no gradients flow from ${totalLoss.name} to any of the ${variablesToTrain.length} variables to train: ` +
        explainNoGradients(totalLoss, variablesToTrain),
    );
  }
  let finite: Tensor | undefined;
  if (lossScale) ({ gradsAndVars, finite } = unscaleGradients(lossScale, gradsAndVars));
  if (options.gradientMultipliers) gradsAndVars = multiplyGradients(gradsAndVars, options.gradientMultipliers);
  if ((options.clipGradientNorm ?? 0) > 0) gradsAndVars = clipGradientNorms(gradsAndVars, options.clipGradientNorm!);
  if (options.transformGradsFn) gradsAndVars = options.transformGradsFn(gradsAndVars);
  if (options.summarizeGradients) addGradientsSummaries(gradsAndVars);

  const applied = graph.withScope("train_op", () => optimizer.applyGradients(gradsAndVars, globalStep));
  // Batch norm's moving statistics update even on a skipped step, as in both frameworks.
  const updates = [...(lossScale ? guardUpdates(lossScale, finite!, applied) : applied), ...updateOps];
  const seen = new Set<string>();
  for (const u of updates) {
    if (seen.has(u.variable.name)) throw new Error(`createTrainOp: variable ${u.variable.name} is updated twice in one step`);
    seen.add(u.variable.name);
  }
  return {
    totalLoss,
    optimizer,
    gradsAndVars,
    updates,
    globalStep,
    checkNumerics: options.checkNumerics ?? true,
    variablesToTrain,
    mixedPrecision: options.mixedPrecision,
    lossScale,
  };
}

/** The loss scale when mixed precision is asked for; checks the options either way. */
function mixedPrecisionScale(totalLoss: Tensor, options: CreateTrainOpOptions): DynamicLossScale | undefined {
  const { mixedPrecision, lossScale } = options;
  if (mixedPrecision === undefined) {
    if (lossScale !== undefined) throw new Error("createTrainOp: lossScale needs mixedPrecision (e.g. mixedPrecision: \"float16\")");
    return undefined;
  }
  if (mixedPrecision !== "float16") {
    throw new Error(`createTrainOp: mixedPrecision must be "float16", got ${JSON.stringify(mixedPrecision)}`);
  }
  const ls = createLossScale(totalLoss.graph, lossScale);
  summarizeLossScale(ls);
  return ls;
}
