/**
 * Recognises a loss called with its logits and labels swapped. slimtrain's
 * losses take the logits first (as slim.losses and PyTorch's losses do), while
 * `tf.losses` takes the labels first: a swapped softmax cross-entropy stops the
 * gradient at its "labels" (the model's output) and training then fails far from
 * the mistake, or, for the sigmoid loss, trains on the wrong quantity.
 * @module
 */
import { GraphKeys } from "../graph/graph.ts";
import { describeValue } from "../graph/arg_checks.ts";
import { ancestorNodes, type Node, Tensor } from "../graph/tensor.ts";
import type { Variable } from "../graph/variable.ts";

/**
 * Throws unless both are tensors, and when the dtypes, ranks or graph of `logits` and `labels` say they were
 * passed the other way round, naming which argument is which. `labelsRole` is the
 * parameter's name in `fn`'s signature (`onehotLabels`, `labels`, ...).
 *
 * @example
 * ```ts
 * checkLogitsFirst("softmaxCrossEntropy", logits, "onehotLabels", onehotLabels);
 * ```
 */
export function checkLogitsFirst(fn: string, logits: Tensor, labelsRole: string, labels: Tensor): void {
  for (const [role, t] of [["logits", logits], [labelsRole, labels]] as const) {
    if (!(t instanceof Tensor)) {
      throw new Error(`${fn}: ${role} must be a graph Tensor (a placeholder or a layer's output), got ${describeValue(t)}`);
    }
  }
  const reason = swapEvidence(logits, labelsRole, labels);
  if (!reason) return;
  throw new Error(
    `${fn}: the arguments look swapped: ${reason}. The signature is ${fn}(logits, ${labelsRole}), ` +
      `logits first as in slim.losses and PyTorch (tf.losses puts the labels first): ` +
      `call ${fn}(${labels.name}, ${logits.name})`,
  );
}

function swapEvidence(logits: Tensor, labelsRole: string, labels: Tensor): string | null {
  const first = `the first argument (logits) is ${logits.describe()}`;
  const second = `the second (${labelsRole}) is ${labels.describe()}`;
  if (logits.dtype !== "float32" && labels.dtype === "float32") {
    return `${first}, integers like class ids, and ${second}`;
  }
  if (logits.dtype === "float32" && labels.dtype === "float32") {
    if (logits.rank === 1 && labels.rank === 2 && logits.shape[0] === labels.shape[0]) {
      return `${first}, one value per example, and ${second}, one row of scores per example`;
    }
    const trainable = trainableValueNodes(logits);
    if (trainable.size > 0 && !dependsOn(logits, trainable) && dependsOn(labels, trainable)) {
      return `${first}, which depends on no trainable variable, and ${second}, which does (the model's output?)`;
    }
  }
  return null;
}

/** The nodes reading the graph's trainable variables. */
function trainableValueNodes(t: Tensor): Set<Node> {
  return new Set(t.graph.getCollection<Variable>(GraphKeys.TRAINABLE_VARIABLES).map((v) => v.value.node));
}

function dependsOn(t: Tensor, nodes: Set<Node>): boolean {
  return ancestorNodes([t]).some((n) => nodes.has(n));
}
