/**
 * Reverse-mode differentiation over the graph. The engine (not the rules) sums
 * the gradients of tensors used more than once and sums broadcast gradients back
 * to each input's shape, so every rule can stay one line.
 * @module
 */
import { formatShape } from "../graph/host_tensor.ts";
import { ancestorNodes, type Node, type Tensor } from "../graph/tensor.ts";
import { add } from "../ops/binary.ts";
import { broadcastAxes } from "../ops/broadcast.ts";
import { reduceSum } from "../ops/reduce.ts";
import { getOp } from "../ops/registry.ts";
import { reshape } from "../ops/shape_ops.ts";
import { neg } from "../ops/unary.ts";
import { constant } from "../graph/variable.ts";

/**
 * d(sum of ys · gradYs)/d(xs): one gradient per x, null where x does not affect ys.
 *
 * @example
 * ```ts
 * const [dw, db] = gradients(loss, [w.value, b.value]);
 * ```
 */
export function gradients(
  ys: Tensor | Tensor[],
  xs: readonly Tensor[],
  { gradYs }: { gradYs?: Tensor[] } = {},
): (Tensor | null)[] {
  const outputs = Array.isArray(ys) ? ys : [ys];
  if (outputs.length === 0) return xs.map(() => null);
  const graph = outputs[0].graph;
  return graph.withScope("gradients", () => {
    const between = nodesBetween(outputs, xs);
    const partials = new Map<number, Tensor[]>();
    const addPartial = (t: Tensor, g: Tensor) => {
      const list = partials.get(t.id) ?? [];
      list.push(g);
      partials.set(t.id, list);
    };
    outputs.forEach((y, i) => {
      if (y.dtype !== "float32") throw new Error(`gradients: cannot differentiate ${y.describe()}: only float32 tensors have gradients`);
      const seed = gradYs?.[i] ?? constant(new Float32Array(y.size).fill(1), [...y.shape], "float32", graph);
      if (formatShape(seed.shape) !== formatShape(y.shape)) {
        throw new Error(`gradients: gradYs[${i}] has shape ${formatShape(seed.shape)} but ${y.name} has ${formatShape(y.shape)}`);
      }
      addPartial(y, seed);
    });
    const total = (t: Tensor): Tensor | null => {
      const list = partials.get(t.id);
      if (!list || list.length === 0) return null;
      if (list.length > 1) partials.set(t.id, [list.reduce((a, b) => add(a, b))]);
      return partials.get(t.id)![0];
    };

    for (const node of [...between].sort((a, b) => b.id - a.id)) {
      const dys = node.outputs.map(total);
      if (dys.every((d) => d === null)) continue;
      const def = getOp(node.op, node.name);
      if (def.differentiable === false) continue;
      if (!def.grad) {
        throw new Error(`gradients: no gradient rule for op ${node.op} (node ${node.name}); register one with registerOp`);
      }
      const dxs = def.grad({ node, inputs: node.inputs, outputs: node.outputs, attrs: node.attrs as never, dys });
      node.inputs.forEach((x, i) => {
        const g = dxs[i];
        if (!g || x.dtype !== "float32" || !between.has(x.node) && !xs.includes(x)) return;
        addPartial(x, sumToShape(g, x, node));
      });
    }
    return xs.map(total);
  });
}

/** Sums a gradient in a broadcast shape back to its input's shape. */
function sumToShape(g: Tensor, x: Tensor, node: Node): Tensor {
  if (formatShape(g.shape) === formatShape(x.shape)) return g;
  const { axes } = broadcastAxes(x.shape, g.shape);
  // A negation commutes with the sum: negate the few summed values rather than every
  // broadcast one (Sub's and Div's rules for a per-channel operand; 7 ms of ResNet-50's step at 64²).
  if (axes.length && g.node.op === "Neg") return neg(sumToShape(g.node.inputs[0], x, node));
  const summed = axes.length ? reduceSum(g, axes, true) : g;
  if (summed.size !== x.size) {
    throw new Error(
      `gradients: rule for ${node.op} (node ${node.name}) returned ${formatShape(g.shape)} for input ${x.name} ${formatShape(x.shape)}`,
    );
  }
  return reshape(summed, [...x.shape]);
}

/** Nodes on some path from an x to a y (inclusive of the nodes producing ys). */
function nodesBetween(ys: readonly Tensor[], xs: readonly Tensor[]): Set<Node> {
  // Forward from xs, restricted to nodes that reach ys.
  const xNodes = new Set(xs.map((x) => x.node));
  const reach = new Set<Node>();
  for (const n of ancestorNodes(ys)) {
    if (xNodes.has(n) || n.inputs.some((t) => reach.has(t.node))) reach.add(n);
  }
  return reach;
}
