/**
 * Variables (state that persists across steps: weights, optimizer slots, the global
 * step), placeholders (fed each step) and constants (baked into the model).
 * @module
 */
import { getDefaultGraph, type Graph, GraphKeys } from "./graph.ts";
import { type DType, formatShape, type HostTensor, numElements, UNKNOWN_DIM } from "./host_tensor.ts";
import { type Initializer, zerosInitializer } from "./initializers.ts";
import { type StorageLayout, storageShape } from "./storage_layout.ts";
import type { Tensor } from "./tensor.ts";
import { checkConstantArgs, checkPlaceholderArgs, checkVariableArgs } from "./variable_args.ts";

/** Options for `variable`. */
export interface VariableOptions {
  shape: number[];
  dtype?: DType;
  initializer?: Initializer;
  /** Whether optimizers update it (and it joins TRAINABLE_VARIABLES). Default true. */
  trainable?: boolean;
  /** Extra collections to join besides GLOBAL_VARIABLES (and TRAINABLE_VARIABLES). */
  collections?: string[];
  /** Builds a regularization loss from the variable's value (into REGULARIZATION_LOSSES). */
  regularizer?: (value: Tensor) => Tensor | null;
  /**
   * How the train step stores it, when not as `shape` (see storage_layout.ts): the
   * graph then reads `value` in the storage shape, while checkpoints, initializers
   * and `assign` keep using `shape`.
   */
  storage?: StorageLayout;
}

/**
 * A named piece of state. `value` is the tensor read at the start of a step; updates
 * computed in the step become its value for the next one.
 *
 * @example
 * ```ts
 * const w = variable("weights", { shape: [3, 3, 1, 8], initializer: xavierInitializer() });
 * w.name; // "weights" (or "scope/weights" inside a name scope)
 * ```
 */
export class Variable {
  constructor(
    readonly name: string,
    readonly shape: readonly number[],
    readonly dtype: DType,
    readonly initializer: Initializer,
    readonly trainable: boolean,
    /** The value at the start of a step, as a graph tensor (in the storage layout). */
    public value: Tensor,
    /** Storage layout; undefined when stored as `shape`. */
    readonly storage?: StorageLayout,
  ) {}

  /** Number of elements. */
  get size(): number {
    return numElements(this.shape);
  }
}

/**
 * Creates a variable in the default graph under the current name scope.
 *
 * @example
 * ```ts
 * const b = variable("biases", { shape: [10], initializer: zerosInitializer() });
 * ```
 */
export function variable(name: string, options: VariableOptions, graph: Graph = getDefaultGraph()): Variable {
  checkVariableArgs(name, options, graph);
  const { shape, dtype = "float32", initializer = zerosInitializer(), trainable = true } = options;
  const fullName = graph.currentScope ? `${graph.currentScope}/${name}` : name;
  if (graph.variables.has(fullName)) {
    throw new Error(`variable: ${fullName} already exists (shape ${formatShape(graph.variables.get(fullName)!.shape)})`);
  }
  graph.reserveName(fullName);
  // The node is named after the variable so the ONNX input carries slim's name.
  const stored = storageShape(shape, options.storage);
  const node = graph.addNode("Variable", [], { shape: stored, dtype }, fullName, { exactName: true });
  const v = new Variable(fullName, [...shape], dtype, initializer, trainable, node.outputs[0], options.storage);
  (node.attrs as Record<string, unknown>).variable = v;
  graph.variables.set(fullName, v);
  graph.addToCollection(GraphKeys.GLOBAL_VARIABLES, v);
  if (trainable) graph.addToCollection(GraphKeys.TRAINABLE_VARIABLES, v);
  for (const c of options.collections ?? []) graph.addToCollection(c, v);
  if (options.regularizer) {
    const loss = options.regularizer(v.value);
    if (loss) graph.addToCollection(GraphKeys.REGULARIZATION_LOSSES, loss);
  }
  return v;
}

/**
 * A value fed on every step (a batch of images, labels, a learning rate). The
 * shape comes first (TensorFlow's `placeholder` takes the dtype first). A
 * dimension given as `null` or -1 is unknown until run time (stored as -1), as
 * TensorFlow's `None`: use it for the batch of evaluation and inference graphs,
 * which then take any batch size. Train steps keep a fixed batch (what GPU
 * execution providers run best); ops that cannot handle an unknown dimension
 * refuse it when the graph is built, naming the op.
 *
 * @example
 * ```ts
 * const images = placeholder([32, 224, 224, 3], "float32", "images");
 * const anyBatch = placeholder([null, 224, 224, 3], "float32", "images");
 * ```
 */
export function placeholder(
  shape: readonly (number | null)[],
  dtype: DType = "float32",
  name = "Placeholder",
  graph: Graph = getDefaultGraph(),
): Tensor {
  checkPlaceholderArgs(shape, dtype, name, graph);
  const dims = shape.map((d) => d ?? UNKNOWN_DIM);
  return graph.addNode("Placeholder", [], { shape: dims, dtype }, name).outputs[0];
}

/**
 * A constant baked into the model as an ONNX initializer.
 *
 * @example
 * ```ts
 * const half = constant(0.5);
 * const eye = constant([1, 0, 0, 1], [2, 2]);
 * ```
 */
export function constant(
  values: number | number[] | HostTensor["data"],
  shape?: number[],
  dtype: DType = "float32",
  graph: Graph = getDefaultGraph(),
): Tensor {
  shape ??= typeof values === "number" ? [] : [values?.length];
  checkConstantArgs(values, shape, dtype, graph);
  const list = typeof values === "number" ? [values] : values;
  if (list.length !== numElements(shape)) {
    throw new Error(`constant: ${list.length} values do not fill shape ${formatShape(shape)}`);
  }
  let data: HostTensor["data"];
  if (dtype === "float32") data = Float32Array.from(list as ArrayLike<number>, Number);
  else if (dtype === "int64") data = BigInt64Array.from(list as ArrayLike<number>, (x) => BigInt(x));
  else if (dtype === "int32") data = Int32Array.from(list as ArrayLike<number>, Number);
  else data = Uint8Array.from(list as ArrayLike<number>, (x) => (x ? 1 : 0));
  return graph.addNode("Const", [], { value: { dtype, shape: [...shape], data } }, "Const").outputs[0];
}

/** A pending assignment: `variable` takes `value` after the step. */
export interface Assignment {
  variable: Variable;
  value: Tensor;
}

/**
 * Declares that `variable` becomes `value` after the step (TF's `assign`). Put it in
 * UPDATE_OPS for `createTrainOp` to run it with the step.
 *
 * @example
 * ```ts
 * getDefaultGraph().addToCollection(GraphKeys.UPDATE_OPS, assign(movingMean, newMean));
 * ```
 */
export function assign(variable: Variable, value: Tensor): Assignment {
  if (value.dtype !== variable.dtype || formatShape(value.shape) !== formatShape(variable.value.shape)) {
    throw new Error(
      `assign: value ${value.describe()} does not match variable ${variable.name} ${formatShape(variable.shape)} ${variable.dtype}`,
    );
  }
  return { variable, value };
}
