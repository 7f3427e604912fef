/**
 * Symbolic tensors and the nodes that produce them. Shapes are static: every
 * dimension is known when the graph is built, so errors surface at build time and
 * the emitted ONNX model has fixed shapes (what GPU execution providers like best).
 * The one exception is an unknown dimension (-1, `UNKNOWN_DIM`) that a placeholder
 * may declare, usually its batch: ops whose rules handle it pass it through, so an
 * evaluation or exported inference model takes any batch size.
 * @module
 */
import { type DType, formatShape, isFullyKnown, numElements } from "./host_tensor.ts";
import type { Graph } from "./graph.ts";

/**
 * A value in a graph: the output of a node. Build tensors with ops, placeholders,
 * variables and constants; never construct one directly.
 *
 * @example
 * ```ts
 * const x = placeholder([2, 3], "float32", "x");
 * x.shape; // [2, 3]
 * ```
 */
export class Tensor {
  constructor(
    /** The graph this tensor belongs to. */
    readonly graph: Graph,
    /** Unique within the graph; increases in creation order. */
    readonly id: number,
    /** Unique name, also its ONNX value name. */
    readonly name: string,
    readonly shape: readonly number[],
    readonly dtype: DType,
    /** The node that computes this tensor. */
    readonly node: Node,
    /** Which of the node's outputs this is. */
    readonly outputIndex: number,
  ) {}

  /** Number of dimensions. */
  get rank(): number {
    return this.shape.length;
  }

  /** Number of elements; throws when a dimension is unknown (the count is then known only at run time). */
  get size(): number {
    if (!isFullyKnown(this.shape)) {
      throw new Error(`Tensor ${this.describe()} has an unknown dimension: its element count is known only at run time`);
    }
    return numElements(this.shape);
  }

  /** `name [d0, d1]` for error messages (an unknown dimension shows as `?`). */
  describe(): string {
    return `${this.name} ${formatShape(this.shape)} ${this.dtype}`;
  }

  toString(): string {
    return `Tensor(${this.describe()})`;
  }
}

/**
 * One operation in a graph: an op type from the registry, its inputs, attributes
 * and outputs.
 *
 * @example
 * ```ts
 * const y = relu(x);
 * y.node.op; // "Relu"
 * ```
 */
export interface Node {
  readonly id: number;
  readonly op: string;
  readonly name: string;
  readonly inputs: readonly Tensor[];
  readonly attrs: Readonly<Record<string, unknown>>;
  outputs: Tensor[];
}

/**
 * The nodes `tensors` depend on (their producers included), in creation order,
 * which is a topological order because a node's inputs exist before it.
 *
 * @example
 * ```ts
 * const nodes = ancestorNodes([loss]);
 * ```
 */
export function ancestorNodes(tensors: readonly Tensor[]): Node[] {
  const seen = new Set<Node>();
  const stack = tensors.map((t) => t.node);
  while (stack.length) {
    const n = stack.pop()!;
    if (seen.has(n)) continue;
    seen.add(n);
    for (const t of n.inputs) stack.push(t.node);
  }
  return [...seen].sort((a, b) => a.id - b.id);
}
