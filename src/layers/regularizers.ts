/**
 * Weight regularizers: functions from a variable's value to a scalar loss, which
 * `variable()` puts in the REGULARIZATION_LOSSES collection.
 * @module
 */
import type { Tensor } from "../graph/tensor.ts";
import { apply, l2Loss, toTensor } from "../ops/mod.ts";

/** Builds a regularization loss from weights; null adds none. */
export type Regularizer = (weights: Tensor) => Tensor | null;

/**
 * slim's `l2_regularizer`: `scale * sum(w²) / 2`, named
 * `<variable>/Regularizer/l2_regularizer` as TF names it. A scale of 0 disables it.
 *
 * @example
 * ```ts
 * conv2d(x, 64, [3, 3], { weightsRegularizer: l2Regularizer(0.0005) });
 * ```
 */
export function l2Regularizer(scale: number): Regularizer {
  if (!Number.isFinite(scale)) throw new Error(`l2Regularizer: scale must be a finite number, got ${scale}`);
  if (scale < 0) throw new Error(`l2Regularizer: Setting a scale less than 0 on a regularizer: ${scale}.`);
  if (scale === 0) return () => null;
  return (weights: Tensor) =>
    // Named from the root so the loss carries the variable's full name whatever scope is open.
    weights.graph.atRootScope(() =>
      weights.graph.withScope(`${weights.name}/Regularizer`, () =>
        apply("Mul", [toTensor(scale, weights), l2Loss(weights)], {}, "l2_regularizer")
      )
    );
}
