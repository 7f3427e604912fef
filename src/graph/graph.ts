/**
 * The graph: nodes in creation order, variables by name, TF-style collections and
 * name scopes. A module-level default graph plays TF1's role, so slim-style code
 * (`vgg16(images)`, `losses.softmaxCrossEntropy(...)`) needs no graph argument.
 * @module
 */
import type { DType } from "./host_tensor.ts";
import { type Node, Tensor } from "./tensor.ts";
import type { Variable } from "./variable.ts";

/** What an op's shape rule returns for each output. */
export interface OutputSpec {
  shape: number[];
  dtype: DType;
}

/** TF's standard collection names. */
export const GraphKeys = {
  GLOBAL_VARIABLES: "variables",
  TRAINABLE_VARIABLES: "trainable_variables",
  MODEL_VARIABLES: "model_variables",
  LOSSES: "losses",
  REGULARIZATION_LOSSES: "regularization_losses",
  SUMMARIES: "summaries",
  UPDATE_OPS: "update_ops",
  GLOBAL_STEP: "global_step",
} as const;

/** A shape rule, supplied by the op registry (kept abstract here to avoid an import cycle). */
export type ShapeRule = (op: string, inputs: readonly Tensor[], attrs: Record<string, unknown>, name: string) => OutputSpec[];

let shapeRule: ShapeRule | undefined;

/** Installs the op registry's shape rule; called once by `src/ops/registry.ts`. */
export function installShapeRule(rule: ShapeRule): void {
  shapeRule = rule;
}

/**
 * A dataflow graph. Most code uses the default graph through ops; tests and tools
 * make their own and run code inside `graph.asDefault(() => ...)`.
 *
 * @example
 * ```ts
 * const g = new Graph();
 * g.asDefault(() => {
 *   const x = placeholder([4, 3], "float32", "x");
 * });
 * ```
 */
export class Graph {
  readonly nodes: Node[] = [];
  readonly variables: Map<string, Variable> = new Map();
  readonly collections: Map<string, unknown[]> = new Map();
  private readonly usedNames = new Map<string, number>();
  private readonly scopes: string[] = [];
  private nextId = 0;

  /** Adds a node of a registered op type, inferring its outputs' shapes and dtypes. */
  addNode(
    op: string,
    inputs: readonly Tensor[],
    attrs: Record<string, unknown> = {},
    name?: string,
    { exactName = false } = {},
  ): Node {
    for (const t of inputs) {
      if (t.graph !== this) throw new Error(`${op}: input ${t.name} belongs to another graph`);
    }
    if (!shapeRule) throw new Error("Graph: no op registry installed (import the ops module)");
    const nodeName = exactName && name ? name : this.uniqueName(name ?? op);
    const specs = shapeRule(op, inputs, attrs, nodeName);
    const node: Node = { id: this.nextId++, op, name: nodeName, inputs: [...inputs], attrs, outputs: [] };
    node.outputs = specs.map((s, i) =>
      new Tensor(this, this.nextId++, specs.length === 1 ? nodeName : `${nodeName}:${i}`, s.shape, s.dtype, node, i)
    );
    this.nodes.push(node);
    return node;
  }

  /** Makes `base` unique within the graph, inside the current name scope. */
  uniqueName(base: string): string {
    const full = this.scopes.length ? `${this.scopes.join("/")}/${base}` : base;
    const n = this.usedNames.get(full) ?? 0;
    this.usedNames.set(full, n + 1);
    return n === 0 ? full : `${full}_${n}`;
  }

  /** Reserves an exact name (a variable's), failing if it is taken. */
  reserveName(name: string): void {
    if (this.usedNames.has(name)) throw new Error(`Graph: name ${name} is already used`);
    this.usedNames.set(name, 1);
  }

  /** The current name scope, e.g. `vgg_16/conv1`. */
  get currentScope(): string {
    return this.scopes.join("/");
  }

  /** Runs `fn` with `name` pushed on the name scope (slim's `variable_scope`). */
  withScope<T>(name: string, fn: () => T): T {
    this.scopes.push(name);
    try {
      return fn();
    } finally {
      this.scopes.pop();
    }
  }

  /** Runs `fn` outside every name scope (for graph-wide tensors like the global step). */
  atRootScope<T>(fn: () => T): T {
    const saved = this.scopes.splice(0);
    try {
      return fn();
    } finally {
      this.scopes.push(...saved);
    }
  }

  /** Adds a value to a named collection. */
  addToCollection(key: string, value: unknown): void {
    const list = this.collections.get(key) ?? [];
    list.push(value);
    this.collections.set(key, list);
  }

  /** The values of a collection, in insertion order, optionally filtered by name prefix. */
  getCollection<T>(key: string, scope?: string): T[] {
    const list = (this.collections.get(key) ?? []) as T[];
    if (!scope) return [...list];
    return list.filter((v) => nameOf(v).startsWith(scope));
  }

  /** Runs `fn` with this graph as the default graph. */
  asDefault<T>(fn: () => T): T {
    const previous = defaultGraph;
    defaultGraph = this;
    try {
      const out = fn();
      if (out instanceof Promise) {
        return out.finally(() => (defaultGraph = previous)) as T;
      }
      defaultGraph = previous;
      return out;
    } catch (err) {
      defaultGraph = previous;
      throw err;
    }
  }
}

function nameOf(v: unknown): string {
  return (v as { name?: string }).name ?? "";
}

let defaultGraph = new Graph();

/**
 * The graph ops add to when no other is active.
 *
 * @example
 * ```ts
 * const g = getDefaultGraph();
 * g.getCollection(GraphKeys.LOSSES);
 * ```
 */
export function getDefaultGraph(): Graph {
  return defaultGraph;
}

/**
 * Replaces the default graph with an empty one (TF's `reset_default_graph`).
 *
 * @example
 * ```ts
 * resetDefaultGraph();
 * ```
 */
export function resetDefaultGraph(): Graph {
  defaultGraph = new Graph();
  return defaultGraph;
}

/**
 * Runs `fn` inside a name scope of the default graph.
 *
 * @example
 * ```ts
 * nameScope("conv1", () => conv2d(x, 64, [3, 3], { scope: "conv1_1" }));
 * ```
 */
export function nameScope<T>(name: string, fn: () => T): T {
  return getDefaultGraph().withScope(name, fn);
}
