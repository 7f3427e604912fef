/**
 * The loss collections: what the losses add to, and the total loss a train op
 * minimizes (slim's `get_total_loss`).
 * @module
 */
import { getDefaultGraph, type Graph, GraphKeys } from "../graph/graph.ts";
import { formatShape } from "../graph/host_tensor.ts";
import type { Tensor } from "../graph/tensor.ts";
import { add, apply, identity } from "../ops/mod.ts";

/**
 * Adds a scalar loss to a collection (TF's `add_loss`), for losses built by hand.
 *
 * @example
 * ```ts
 * addLoss(mul(0.1, reduceMean(square(activations))));
 * ```
 */
export function addLoss(loss: Tensor, lossCollection: string = GraphKeys.LOSSES): Tensor {
  loss.graph.addToCollection(lossCollection, loss);
  return loss;
}

/**
 * The losses in a collection, optionally only those whose names start with `scope`.
 *
 * @example
 * ```ts
 * const towerLosses = getLosses("tower_0");
 * ```
 */
export function getLosses(scope?: string, lossCollection: string = GraphKeys.LOSSES, graph: Graph = getDefaultGraph()): Tensor[] {
  return graph.getCollection<Tensor>(lossCollection, scope);
}

/**
 * The weight-decay losses that variables' regularizers added, optionally filtered by scope.
 *
 * @example
 * ```ts
 * const decay = getRegularizationLosses("vgg_16");
 * ```
 */
export function getRegularizationLosses(scope?: string, graph: Graph = getDefaultGraph()): Tensor[] {
  return graph.getCollection<Tensor>(GraphKeys.REGULARIZATION_LOSSES, scope);
}

/** Options for `getTotalLoss`. */
export interface TotalLossOptions {
  /** Adds the REGULARIZATION_LOSSES too. Default true. */
  addRegularizationLosses?: boolean;
  /** Name of the sum. Default `total_loss`. */
  name?: string;
  /** Only losses whose names start with this. */
  scope?: string;
  graph?: Graph;
}

/**
 * The sum of the collected losses and, unless told otherwise, the regularization
 * losses: what training minimizes.
 *
 * @example
 * ```ts
 * softmaxCrossEntropy(logits, onehotLabels);
 * const totalLoss = getTotalLoss(); // cross-entropy + weight decay
 * ```
 */
export function getTotalLoss(
  { addRegularizationLosses = true, name = "total_loss", scope, graph = getDefaultGraph() }: TotalLossOptions = {},
): Tensor {
  const losses = getLosses(scope, GraphKeys.LOSSES, graph);
  if (addRegularizationLosses) losses.push(...getRegularizationLosses(scope, graph));
  if (losses.length === 0) {
    const where = addRegularizationLosses ? "the losses and regularization_losses collections" : "the losses collection";
    throw new Error(
      `getTotalLoss: inputs must be a list of at least one Tensor; no losses found in ${where}${scope ? ` under scope ${scope}` : ""}`,
    );
  }
  for (const l of losses) {
    if (l.rank !== 0 || l.dtype !== "float32") {
      throw new Error(`getTotalLoss: every loss must be a float32 scalar, got ${l.name} ${formatShape(l.shape)} ${l.dtype}`);
    }
  }
  const partial = losses.slice(0, -1).reduce((acc: Tensor | null, l) => (acc ? add(acc, l) : l), null);
  const last = losses[losses.length - 1];
  return partial ? apply("Add", [partial, last], {}, name) : identity(last, name);
}
