/**
 * The importer's state while it walks an ONNX graph: every value by its ONNX
 * name (a graph tensor, a static value folded on the host, or an initializer not
 * yet turned into a variable), and the variables made so far. Import rules read
 * their inputs through it.
 * @module
 */
import type { Graph } from "../../graph/graph.ts";
import type { DType, HostTensor } from "../../graph/host_tensor.ts";
import type { Tensor } from "../../graph/tensor.ts";
import { constant, variable, type Variable } from "../../graph/variable.ts";
import type { OnnxNode } from "./onnx_node.ts";
import { hostFromStatic, type StaticValue, staticFromHost } from "./static_value.ts";

/** What an import rule returns for each node output (undefined: not produced). */
export type RuleOutput = Tensor | StaticValue | undefined;

/** Turns one ONNX node into slimtrain ops. */
export type ImportRule = (node: OnnxNode, ctx: ImportContext) => RuleOutput[];

/** How batch normalization nodes are imported. */
export type BatchNormMode = "train" | "frozen";

/** Options the rules consult. */
export interface RuleOptions {
  /** Overrides each BatchNormalization node's own mode when set. */
  batchNorm?: BatchNormMode;
  /** Overrides each Dropout node's own training_mode when set. */
  dropout?: "train" | "off";
}

interface Slot {
  tensor?: Tensor;
  static?: StaticValue;
  /** An initializer, turned into a variable on first use as a tensor. */
  initializer?: HostTensor;
  /** The initializer's stored value as numbers, for rules that read it as a parameter (never folded). */
  initializerValue?: StaticValue;
}

/**
 * Import state shared by the rules.
 *
 * @example
 * ```ts
 * const x = ctx.tensor(node, 0);
 * const axes = ctx.staticInput(node, 1, "axes")?.values;
 * ```
 */
export class ImportContext {
  private readonly slots = new Map<string, Slot>();
  /** Variables made from initializers, by initializer name. */
  readonly variables: Record<string, Variable> = {};

  constructor(
    readonly graph: Graph,
    readonly options: RuleOptions,
    /** Prefix for variable names (the import's name scope). */
    private readonly scope: string,
    private readonly isTrainable: (name: string) => boolean,
  ) {}

  /** Registers a graph input's placeholder, a folded value or a rule's output under an ONNX name. */
  define(name: string, value: RuleOutput): void {
    if (!name || value === undefined) return;
    if (value instanceof Object && "values" in value) this.slots.set(name, { static: value });
    else this.slots.set(name, { tensor: value as Tensor });
  }

  /** Registers an initializer (float ones become variables when used as tensors). */
  defineInitializer(name: string, value: HostTensor): void {
    if (value.dtype === "float32") this.slots.set(name, { initializer: value });
    else this.slots.set(name, { static: staticFromHost(value) });
  }

  /** Whether `name` has a value so far. */
  has(name: string): boolean {
    return this.slots.has(name);
  }

  /** The value's static form when it is folded (not a tensor and not a trainable-capable initializer). */
  folded(name: string): StaticValue | undefined {
    return this.slots.get(name)?.static;
  }

  /** The ONNX names of every value defined so far. */
  names(): string[] {
    return [...this.slots.keys()];
  }

  private slot(node: OnnxNode | undefined, name: string): Slot {
    const s = this.slots.get(name);
    if (!s) {
      throw new Error(`importModel: value ${name}${node ? `, input of ${node.describe()},` : ""} is not defined by any earlier node, initializer or graph input`);
    }
    return s;
  }

  /** Input `i` of `node` as a graph tensor (variables and constants made as needed). */
  tensor(node: OnnxNode, i: number, options: { trainable?: boolean } = {}): Tensor {
    if (!node.hasInput(i)) throw node.error(`input ${i} is required`);
    return this.tensorOf(node.inputs[i], node, options);
  }

  /** A value by ONNX name as a graph tensor. */
  tensorOf(name: string, node?: OnnxNode, { trainable }: { trainable?: boolean } = {}): Tensor {
    const s = this.slot(node, name);
    if (s.tensor) return s.tensor;
    if (s.initializer) {
      const value = s.initializer;
      const fullName = this.scope ? `${this.scope}/${name}` : name;
      const v = this.graph.atRootScope(() =>
        variable(fullName, {
          shape: [...value.shape],
          dtype: value.dtype,
          // A copy each time, so no caller can change the file's stored value.
          initializer: { name: `ONNX initializer ${name}`, init: () => ({ ...value, shape: [...value.shape], data: value.data.slice() }) },
          trainable: trainable ?? this.isTrainable(name),
        }, this.graph)
      );
      this.variables[name] = v;
      s.tensor = v.value;
      return v.value;
    }
    const st = s.static!;
    s.tensor = constant(hostFromStatic(st).data, st.shape, st.dtype, this.graph);
    return s.tensor;
  }

  /** The variable made from initializer `name`, if it is one. */
  variableOf(node: OnnxNode, i: number): Variable | undefined {
    this.tensor(node, i);
    return this.variables[node.inputs[i]];
  }

  /** Input `i`'s value when known at import time (constants, folded values, initializers' stored data). */
  staticInput(node: OnnxNode, i: number): StaticValue | undefined {
    if (!node.hasInput(i)) return undefined;
    const s = this.slot(node, node.inputs[i]);
    if (s.static) return s.static;
    if (s.initializer) return (s.initializerValue ??= staticFromHost(s.initializer));
    return undefined;
  }

  /** Like `staticInput`, failing with an error naming the role when the input is computed at run time. */
  requireStatic(node: OnnxNode, i: number, role: string): StaticValue {
    const v = this.staticInput(node, i);
    if (!v) {
      throw node.error(`input ${i} (${role}, value ${node.inputs[i] || "omitted"}) must be known at import time (a constant or initializer), but it is computed by the graph`);
    }
    return v;
  }

  /** Shape of input `i` (tensor or static). */
  shapeOf(node: OnnxNode, i: number): number[] {
    const s = this.slot(node, node.inputs[i]);
    if (s.tensor) return [...s.tensor.shape];
    if (s.initializer) return [...s.initializer.shape];
    return [...s.static!.shape];
  }

  /** Dtype of input `i`. */
  dtypeOf(node: OnnxNode, i: number): DType {
    const s = this.slot(node, node.inputs[i]);
    return s.tensor?.dtype ?? s.initializer?.dtype ?? s.static!.dtype;
  }

  /**
   * A list-valued parameter that moved from an attribute to an input in some
   * opset (Squeeze's axes in 13, Reduce*'s axes in 13/18, Pad's pads in 11...).
   */
  attrOrInput(node: OnnxNode, attr: string, input: number, sinceOpset: number): number[] | undefined {
    if (node.opset < sinceOpset) return node.ints(attr);
    return node.hasInput(input) ? this.requireStatic(node, input, attr).values : undefined;
  }
}
