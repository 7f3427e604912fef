/**
 * Dynamic loss scaling for mixed-precision training, the scheme of PyTorch's
 * GradScaler and TensorFlow's LossScaleOptimizer, inside the ONNX step: the loss
 * is multiplied by a scale before differentiation so that small float16 gradients
 * do not flush to zero, the gradients are divided by it again, and a step whose
 * gradients hold an Inf or NaN changes no variable and halves the scale; after
 * `growthSteps` good steps in a row the scale doubles. The scale and the count of
 * good steps are variables, so checkpoints keep them and resume continues them.
 * @module
 */
import { GraphKeys } from "../graph/graph.ts";
import { constantInitializer } from "../graph/initializers.ts";
import type { Tensor } from "../graph/tensor.ts";
import { type Assignment, assign, variable, type Variable } from "../graph/variable.ts";
import { add, addN, div, mul, sub } from "../ops/binary.ts";
import { equal, less, where } from "../ops/compare.ts";
import { reduceSum } from "../ops/reduce.ts";
import { scalar as scalarSummary } from "../summary/summary_ops.ts";
import type { GradAndVar } from "./optimizer.ts";

/** How the loss scale behaves; the defaults are TensorFlow's. */
export interface LossScaleOptions {
  /** The first scale. Default 2^15 (TensorFlow's; PyTorch starts at 2^16). */
  initialScale?: number;
  /** Good steps in a row after which the scale doubles. Default 2000 (both frameworks). */
  growthSteps?: number;
}

/** The scope of the loss-scale variables, as TensorFlow's LossScaleOptimizer names them. */
export const LOSS_SCALE_SCOPE = "loss_scale";

/** The loss-scale state of one train step and the pieces `createTrainOp` wires in. */
export interface DynamicLossScale {
  /** The current scale (float32 scalar variable `loss_scale/current_loss_scale`). */
  scale: Variable;
  /** Good steps since the scale last changed (`loss_scale/good_steps`, float32). */
  goodSteps: Variable;
  /** Good steps in a row after which the scale doubles. */
  growthSteps: number;
}

/**
 * Creates the loss-scale variables in `totalLoss`'s graph (at the root scope).
 *
 * @example
 * ```ts
 * const ls = createLossScale(totalLoss.graph, { initialScale: 1024 });
 * const grads = gradients(mul(totalLoss, ls.scale.value), xs);
 * ```
 */
export function createLossScale(graph: Tensor["graph"], options: LossScaleOptions = {}): DynamicLossScale {
  const initialScale = options.initialScale ?? 2 ** 15;
  const growthSteps = options.growthSteps ?? 2000;
  if (!(Number.isFinite(initialScale) && initialScale > 0)) {
    throw new Error(`createTrainOp: lossScale.initialScale must be a positive finite number, got ${initialScale}`);
  }
  if (!(Number.isInteger(growthSteps) && growthSteps > 0)) {
    throw new Error(`createTrainOp: lossScale.growthSteps must be a positive integer, got ${growthSteps}`);
  }
  const make = (name: string, value: number) =>
    graph.atRootScope(() =>
      graph.withScope(LOSS_SCALE_SCOPE, () =>
        variable(name, { shape: [], initializer: constantInitializer(value), trainable: false }, graph)
      )
    );
  return { scale: make("current_loss_scale", initialScale), goodSteps: make("good_steps", 0), growthSteps };
}

/**
 * Divides each gradient by the scale, and says whether all of them are finite.
 * An Inf or NaN anywhere makes the sum of the gradients' sums Inf or NaN, and
 * `s - s` is then NaN, which is unequal to 0: one reduction per gradient and only
 * comparisons every execution provider has.
 *
 * @example
 * ```ts
 * const { gradsAndVars: unscaled, finite } = unscaleGradients(ls, gradsAndVars);
 * ```
 */
export function unscaleGradients(
  ls: DynamicLossScale,
  gradsAndVars: readonly GradAndVar[],
): { gradsAndVars: GradAndVar[]; finite: Tensor } {
  const inverse = div(1, ls.scale.value);
  const unscaled = gradsAndVars.map(({ grad, variable }) => ({ grad: grad && mul(grad, inverse), variable }));
  const sums = unscaled.flatMap(({ grad }) => (grad ? [reduceSum(grad)] : []));
  const total = sums.length === 1 ? sums[0] : addN(sums);
  return { gradsAndVars: unscaled, finite: equal(sub(total, total), 0) };
}

/**
 * Keeps every variable as it was on a step with non-finite gradients, and
 * updates the scale: halved on such a step, doubled after `growthSteps` good ones.
 *
 * @example
 * ```ts
 * const updates = guardUpdates(ls, finite, optimizer.applyGradients(gradsAndVars, globalStep));
 * ```
 */
export function guardUpdates(ls: DynamicLossScale, finite: Tensor, updates: readonly Assignment[]): Assignment[] {
  const guarded = updates.map((u) => assign(u.variable, where(finite, u.value, u.variable.value)));
  const counted = where(finite, add(ls.goodSteps.value, 1), 0);
  const grow = less(ls.growthSteps - 0.5, counted);
  const scale = where(finite, where(grow, mul(ls.scale.value, 2), ls.scale.value), mul(ls.scale.value, 0.5));
  return [
    ...guarded,
    assign(ls.scale, scale),
    assign(ls.goodSteps, where(grow, 0, counted)),
  ];
}

/**
 * Adds the scale as a TensorBoard scalar (`loss_scale`), so a run shows when steps
 * were skipped.
 *
 * @example
 * ```ts
 * summarizeLossScale(ls);
 * ```
 */
export function summarizeLossScale(ls: DynamicLossScale): void {
  const graph = ls.scale.value.graph;
  if (!graph.getCollection(GraphKeys.SUMMARIES).some((s) => (s as { name?: string }).name === LOSS_SCALE_SCOPE)) {
    scalarSummary(LOSS_SCALE_SCOPE, ls.scale.value);
  }
}
