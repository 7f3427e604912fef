/**
 * Declaring summaries in the graph, as `tf.summary.scalar` / `histogram` do in TF1:
 * they join the SUMMARIES collection; the trainer fetches them from the same run
 * that trains, only on steps where summaries are due, and writes them to event files.
 * @module
 */
import { GraphKeys } from "../graph/graph.ts";
import { formatShape } from "../graph/host_tensor.ts";
import type { Tensor } from "../graph/tensor.ts";

/** One declared summary. */
export interface SummarySpec {
  kind: "scalar" | "histogram";
  /** The TensorBoard tag. */
  name: string;
  tensor: Tensor;
}

function declare(kind: SummarySpec["kind"], name: string, tensor: Tensor): SummarySpec {
  if (!name) throw new Error(`summary.${kind}: a tag is required (tensor ${tensor.name})`);
  if (tensor.dtype !== "float32") throw new Error(`summary.${kind}: ${name} must be float32, got ${tensor.dtype} (tensor ${tensor.name})`);
  const spec: SummarySpec = { kind, name, tensor };
  const existing = tensor.graph.getCollection<SummarySpec>(GraphKeys.SUMMARIES).find((s) => s.name === name);
  if (existing) throw new Error(`summary.${kind}: tag ${name} is already declared (tensor ${existing.tensor.name})`);
  tensor.graph.addToCollection(GraphKeys.SUMMARIES, spec);
  return spec;
}

/**
 * A scalar summary (TensorBoard's Scalars tab).
 *
 * @example
 * ```ts
 * summary.scalar("losses/total_loss", totalLoss);
 * ```
 */
export function scalar(name: string, tensor: Tensor): SummarySpec {
  if (tensor.size !== 1) {
    throw new Error(`summary.scalar: ${name} needs a single value, got shape ${formatShape(tensor.shape)} (tensor ${tensor.name})`);
  }
  return declare("scalar", name, tensor);
}

/**
 * A histogram summary of all values of a tensor (TensorBoard's Histograms and
 * Distributions tabs).
 *
 * @example
 * ```ts
 * summary.histogram("activations/fc7", fc7);
 * ```
 */
export function histogram(name: string, tensor: Tensor): SummarySpec {
  return declare("histogram", name, tensor);
}
