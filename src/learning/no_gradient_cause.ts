/**
 * Why no gradient reaches the variables to train: the loss does not depend on
 * them at all, or every path to them passes an op that lets no gradient through
 * (a stop-gradient, a comparison, a cast to integers). `createTrainOp` puts the
 * answer in its error so the cause is named, not just the symptom.
 * @module
 */
import { GraphKeys } from "../graph/graph.ts";
import { ancestorNodes, type Node, type Tensor } from "../graph/tensor.ts";
import type { Variable } from "../graph/variable.ts";
import { getOp } from "../ops/registry.ts";

/**
 * A sentence naming the likely cause of no gradient flowing from `loss` to
 * `variables`, with what to check.
 *
 * @example
 * ```ts
 * throw new Error(`createTrainOp: no gradients flow ...: ${explainNoGradients(totalLoss, variablesToTrain)}`);
 * ```
 */
export function explainNoGradients(loss: Tensor, variables: readonly Variable[]): string {
  const ancestors = ancestorNodes([loss]);
  const targets = new Set(variables.map((v) => v.value.node));
  if (!ancestors.some((n) => targets.has(n))) return notDependent(loss, ancestors, targets);
  const blockers = blockingNodes(loss, ancestors, targets);
  if (blockers.length === 0) return `${loss.name} depends on them, but the gradient rules of the ops in between return no gradient for them`;
  const shown = blockers.slice(0, 3).map((n) => `${n.op} node ${n.name}`).join(", ");
  const more = blockers.length > 3 ? ` and ${blockers.length - 3} more` : "";
  return `${loss.name} depends on them only through ops that pass no gradient (${shown}${more}): ` +
    `a stopGradient, a comparison or a cast to integers between the model and the loss. ` +
    `If a loss received the model's output as its labels, swap its arguments (logits come first)`;
}

function notDependent(loss: Tensor, ancestors: Node[], targets: Set<Node>): string {
  const trainable = loss.graph.getCollection<Variable>(GraphKeys.TRAINABLE_VARIABLES);
  const reached = trainable.filter((v) => !targets.has(v.value.node) && ancestors.includes(v.value.node));
  if (reached.length > 0) {
    return `${loss.name} depends on ${names(reached.map((v) => v.name))}, none of which is in variablesToTrain`;
  }
  const fed = ancestors.filter((n) => n.op === "Placeholder").map((n) => n.name);
  const from = fed.length > 0 ? `placeholders ${names(fed)} and constants` : "constants";
  return `${loss.name} does not depend on any of them: it is computed from ${from} alone. ` +
    `Build the losses from the model's output (its logits)`;
}

/** Nodes on a path from the loss to a target where the gradient stops, nearest the loss first. */
function blockingNodes(loss: Tensor, ancestors: Node[], targets: Set<Node>): Node[] {
  const leadsToTarget = new Set<Node>();
  for (const n of ancestors) {
    if (targets.has(n) || n.inputs.some((t) => leadsToTarget.has(t.node))) leadsToTarget.add(n);
  }
  const blockers: Node[] = [];
  const seen = new Set<Node>();
  const stack = [loss.node];
  while (stack.length) {
    const n = stack.pop()!;
    if (seen.has(n) || !leadsToTarget.has(n) || targets.has(n)) continue;
    seen.add(n);
    const def = getOp(n.op, n.name);
    if (n.op === "StopGradient" || def.differentiable === false || !def.grad) {
      blockers.push(n);
      continue;
    }
    const passing = n.inputs.filter((t) => t.dtype === "float32" && leadsToTarget.has(t.node));
    if (passing.length === 0) blockers.push(n);
    for (const t of passing) stack.push(t.node);
  }
  return blockers.sort((a, b) => b.id - a.id);
}

function names(list: string[]): string {
  return list.length > 4 ? `${list.slice(0, 4).join(", ")} and ${list.length - 4} more` : list.join(", ");
}
