/**
 * The optimizer contract: turn (gradient, variable) pairs into assignments of new
 * values, computed inside the train step's ONNX graph. Slots (moments and the like)
 * are non-trainable variables named `<variable>/<SlotName>`, as TensorFlow names
 * them, so checkpoints save them and resume restores them.
 * @module
 */
import type { Tensor } from "../graph/tensor.ts";
import type { Assignment, Variable } from "../graph/variable.ts";

/** A gradient and the variable it belongs to (TF's grads_and_vars). */
export interface GradAndVar {
  grad: Tensor | null;
  variable: Variable;
}

/** A learning rate: a constant, or a schedule of the global step built in the graph. */
export type LearningRate = number | ((globalStep: Tensor) => Tensor);

/**
 * Something that applies gradients.
 *
 * @example
 * ```ts
 * const opt = gradientDescent({ learningRate: 0.01 });
 * const updates = opt.applyGradients(gradsAndVars, globalStep);
 * ```
 */
export interface Optimizer {
  /** TF's name, e.g. "GradientDescent", "Momentum", "Adam"; slots are named after it. */
  readonly name: string;
  /**
   * Builds the update of every variable with a gradient (and of its slots) as
   * assignments. `globalStep` is the float32 scalar step before this update.
   */
  applyGradients(gradsAndVars: readonly GradAndVar[], globalStep: Tensor): Assignment[];
  /** The learning-rate tensor built by the last `applyGradients` (for summaries). */
  readonly learningRateTensor?: Tensor;
}
