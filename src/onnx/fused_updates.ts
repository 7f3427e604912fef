/**
 * Finds the optimizer updates that can be folded into the GEMM producing their
 * gradient. An update reads a gradient once and writes a variable-sized result:
 * `w − lr·g` (SGD) is a Mul and a Sub, `m·accum + g` (momentum) a Mul and an Add,
 * each a pass over the whole variable; for VGG-16's fc6 at 224² those passes took
 * longer than the gradient itself. Gemm computes `alpha·A·B + beta·C` in one pass,
 * so when the gradient's lowering ends in a Gemm (`OpDef.accumulates`) and nothing
 * else reads the gradient, the update becomes that Gemm's `alpha`, `beta` and C,
 * as PyTorch's in-place optimizers touch each weight once.
 * @module
 */
import type { Node, Tensor } from "../graph/tensor.ts";
import { getOp } from "../ops/registry.ts";

/** One update folded into the product that computes its gradient. */
export interface FusedUpdate {
  /** The Add or Sub whose output the fused product writes. */
  target: Node;
  /** The nodes the fusion stands in for once the product's lowering takes it. */
  replaces: Node[];
  /** The value the product is added to (Gemm's C). */
  into: Tensor;
  /** Its factor (Gemm's beta). */
  beta: number;
  /** The product's factor: a number, or a one-element tensor computed in the step (a schedule). */
  scale: number | Tensor;
  /** The update subtracts a scale given as a tensor. */
  negateScale: boolean;
}

/**
 * The updates to fuse, keyed by the node producing each gradient: products whose
 * only reader is `Add`/`Sub` with a same-shaped operand, directly or through a Mul
 * by a one-element scale. A Mul of that operand by a constant scalar (momentum's
 * `m·accum`) folds into beta.
 *
 * @example
 * ```ts
 * const plans = planFusedUpdates(ancestorNodes(outputs), outputs);
 * plans.get(filterGradNode)?.target; // the Sub writing conv1/weights/updated
 * ```
 */
export function planFusedUpdates(nodes: readonly Node[], outputs: readonly Tensor[]): Map<Node, FusedUpdate> {
  // Every read, by tensor id: a node reading a tensor twice appears twice.
  const readers = new Map<number, Node[]>();
  for (const node of nodes) {
    for (const t of node.inputs) {
      const list = readers.get(t.id);
      if (list) list.push(node);
      else readers.set(t.id, [node]);
    }
  }
  // A fetched tensor counts as read by the caller, so it is never fused.
  const fetched = new Set(outputs.map((t) => t.id));
  const onlyReader = (t: Tensor): Node | undefined => {
    const list = readers.get(t.id);
    return list?.length === 1 && !fetched.has(t.id) ? list[0] : undefined;
  };

  const plans = new Map<Node, FusedUpdate>();
  const addends = new Set<Node>();
  for (const producer of nodes) {
    if (producer.outputs.length !== 1 || !getOp(producer.op, producer.name).accumulates) continue;
    const plan = planFor(producer.outputs[0], onlyReader);
    // A fused product's own output is never written, so it cannot be another fusion's
    // addend (two gradients summed: the first one takes the sum).
    if (!plan || addends.has(producer) || plans.has(plan.into.node)) continue;
    plans.set(producer, plan);
    addends.add(plan.into.node);
  }
  return plans;
}

function planFor(grad: Tensor, onlyReader: (t: Tensor) => Node | undefined): FusedUpdate | undefined {
  if (grad.dtype !== "float32" || grad.shape.some((d) => d < 0)) return undefined;
  let reader = onlyReader(grad);
  let scaled: { mul: Node; scale: Tensor } | undefined;
  if (reader?.op === "Mul") {
    const scale = reader.inputs.find((t) => t !== grad);
    if (!scale || !isScalar(scale) || reader.inputs.filter((t) => t === grad).length !== 1) return undefined;
    scaled = { mul: reader, scale };
    reader = onlyReader(reader.outputs[0]);
  }
  if (!reader || (reader.op !== "Add" && reader.op !== "Sub")) return undefined;
  const product = scaled ? scaled.mul.outputs[0] : grad;
  const at = reader.inputs.indexOf(product);
  const other = reader.inputs[1 - at];
  if (at < 0 || other === product || !sameShape(other, grad) || !sameShape(reader.outputs[0], grad)) return undefined;
  // Sub(x, p) = x − p, Sub(p, x) = p − x, Add either way = x + p.
  const sign = reader.op === "Sub" && at === 1 ? -1 : 1;
  let beta = reader.op === "Sub" && at === 0 ? -1 : 1;
  const replaces = scaled ? [scaled.mul, reader] : [reader];
  let into = other;
  const folded = foldConstantFactor(other, onlyReader);
  if (folded) {
    into = folded.value;
    beta *= folded.factor;
    replaces.push(other.node);
  }
  const constScale = scaled ? constantScalar(scaled.scale) : 1;
  if (constScale !== undefined) return { target: reader, replaces, into, beta, scale: sign * constScale, negateScale: false };
  return { target: reader, replaces, into, beta, scale: scaled!.scale, negateScale: sign < 0 };
}

/** `x = c · y` with c a constant scalar and x read once: the Mul folds into beta. */
function foldConstantFactor(x: Tensor, onlyReader: (t: Tensor) => Node | undefined): { value: Tensor; factor: number } | undefined {
  if (x.node.op !== "Mul" || !onlyReader(x)) return undefined;
  const [a, b] = x.node.inputs;
  for (const [c, y] of [[a, b], [b, a]]) {
    const factor = constantScalar(c);
    if (factor !== undefined && sameShape(y, x)) return { value: y, factor };
  }
  return undefined;
}

function isScalar(t: Tensor): boolean {
  return t.dtype === "float32" && t.shape.every((d) => d === 1);
}

function constantScalar(t: Tensor): number | undefined {
  if (!isScalar(t) || t.node.op !== "Const") return undefined;
  const value = (t.node.attrs as { value?: { data: ArrayLike<number> } }).value;
  return value ? Number(value.data[0]) : undefined;
}

function sameShape(a: Tensor, b: Tensor): boolean {
  return a.dtype === b.dtype && a.shape.length === b.shape.length && a.shape.every((d, i) => d === b.shape[i]);
}
