/**
 * The global step. The trainer owns the count on the host (it saves it in
 * checkpoints as an int64) and feeds it to each step as a float32 scalar
 * placeholder, which schedules read: no int64 arithmetic on GPU providers, exact
 * up to 2^24 steps.
 * @module
 */
import { getDefaultGraph, type Graph, GraphKeys } from "../graph/graph.ts";
import type { Tensor } from "../graph/tensor.ts";
import { placeholder } from "../graph/variable.ts";

/** The global step's placeholder name (also its name in checkpoints). */
export const GLOBAL_STEP_NAME = "global_step";

/**
 * The graph's global step, created on first use (TF's `get_or_create_global_step`).
 *
 * @example
 * ```ts
 * const step = getOrCreateGlobalStep();
 * const lr = exponentialDecay(0.1, step, 1000, 0.96);
 * ```
 */
export function getOrCreateGlobalStep(graph: Graph = getDefaultGraph()): Tensor {
  const existing = graph.getCollection<Tensor>(GraphKeys.GLOBAL_STEP)[0];
  if (existing) return existing;
  const step = graph.atRootScope(() => placeholder([], "float32", GLOBAL_STEP_NAME, graph));
  if (step.name !== GLOBAL_STEP_NAME) throw new Error(`getOrCreateGlobalStep: the name ${GLOBAL_STEP_NAME} is taken by another tensor`);
  graph.addToCollection(GraphKeys.GLOBAL_STEP, step);
  return step;
}
