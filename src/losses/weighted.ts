/**
 * TF's loss weighting (`compute_weighted_loss` with SUM_BY_NONZERO_WEIGHTS, the
 * default of `tf.losses` and slim): the weighted sum of per-element losses over
 * the number of elements whose weight is non-zero.
 * @module
 */
import { GraphKeys } from "../graph/graph.ts";
import { formatShape } from "../graph/host_tensor.ts";
import type { Tensor } from "../graph/tensor.ts";
import { constant } from "../graph/variable.ts";
import { apply, broadcastTo, cast, equal, maximum, mul, reduceMean, reduceSum, reshape, sub, toTensor } from "../ops/mod.ts";
import { opScope } from "../layers/utils.ts";
import { addLoss } from "./collection.ts";

/**
 * Loss weights: a scalar, one per example ([batch], as a tensor or numbers), or a
 * tensor of the losses' rank that broadcasts to their shape.
 */
export type LossWeights = number | readonly number[] | Tensor;

/** Options every loss takes. */
export interface LossOptions {
  /** Default 1. A scalar w gives w × the mean loss. */
  weights?: LossWeights;
  /** Name scope of the loss; default the loss's own name (e.g. `softmax_cross_entropy_loss`), made unique. */
  scope?: string;
  /** Collection the loss joins; default LOSSES, `null` for none. */
  lossCollection?: string | null;
}

/**
 * Reduces per-element `losses` to the scalar `sum(weights × losses) / count(weights ≠ 0)`
 * (0 when every weight is 0), named `<scope>/value`, and adds it to the LOSSES collection.
 *
 * @example
 * ```ts
 * const loss = computeWeightedLoss(square(sub(predictions, targets)), { weights: [1, 0, 2, 1] });
 * ```
 */
export function computeWeightedLoss(losses: Tensor, options: LossOptions = {}): Tensor {
  return lossScope("computeWeightedLoss", "weighted_loss", losses, options, () => losses);
}

/**
 * Runs a loss body in its name scope, then weights, names and collects its result:
 * how the losses in `losses.ts` are built, and how to add one of your own.
 *
 * @example
 * ```ts
 * const huber = lossScope("huber", "huber_loss", predictions, { weights }, () => huberPerElement(predictions, labels));
 * ```
 */
export function lossScope(fn: string, defaultScope: string, like: Tensor, options: LossOptions, body: () => Tensor): Tensor {
  const { weights = 1, scope, lossCollection = GraphKeys.LOSSES } = options;
  const value = opScope(like.graph, scope, defaultScope, () => weightedValue(fn, body(), weights));
  if (lossCollection !== null) addLoss(value, lossCollection);
  return value;
}

function weightedValue(fn: string, losses: Tensor, weights: LossWeights): Tensor {
  if (losses.dtype !== "float32") throw new Error(`${fn}: losses must be float32, got ${losses.dtype} (tensor ${losses.name})`);
  if (typeof weights === "number") {
    if (!Number.isFinite(weights)) throw new Error(`${fn}: weights must be finite, got ${weights}`);
    // Every element has the same weight: the count of non-zero weights is all or none.
    return apply("Mul", [reduceMean(losses), toTensor(weights, losses)], {}, "value");
  }
  const w = perElement(fn, losses, isTensor(weights) ? weights : constant([...weights], [weights.length], "float32", losses.graph));
  const total = reduceSum(mul(losses, w));
  const nonzero = broadcastTo(sub(1, cast(equal(w, 0), "float32")), [...losses.shape]);
  // Where every weight is 0 the sum is 0 too, so max(count, 1) gives TF's div_no_nan.
  return apply("Div", [total, maximum(reduceSum(nonzero), 1)], {}, "value");
}

/** Weights shaped to broadcast against the losses: per-example weights gain trailing 1s. */
function perElement(fn: string, losses: Tensor, w: Tensor): Tensor {
  if (w.dtype !== "float32") throw new Error(`${fn}: weights must be float32, got ${w.dtype} (tensor ${w.name})`);
  let shaped = w;
  if (w.rank > 0 && w.rank < losses.rank) shaped = reshape(w, [...w.shape, ...new Array(losses.rank - w.rank).fill(1)]);
  const fits = shaped.rank === 0 || (shaped.rank === losses.rank && shaped.shape.every((d, i) => d === 1 || d === losses.shape[i]));
  if (!fits) {
    throw new Error(
      `${fn}: weights ${w.name} ${formatShape(w.shape)} must be a scalar, one per example, or broadcastable to the losses ${formatShape(losses.shape)}`,
    );
  }
  return shaped;
}

function isTensor(w: LossWeights): w is Tensor {
  return typeof w === "object" && !Array.isArray(w) && "graph" in w;
}
