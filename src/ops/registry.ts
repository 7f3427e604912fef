/**
 * The op registry. One op is declared in one place with its three rules, as JAX
 * registers a primitive: a shape rule (static shapes and dtypes, with errors naming
 * the op and tensors), a gradient rule (built from other ops, so gradients are
 * themselves graphs), and an ONNX lowering (standard opset only).
 * @module
 */
import { installShapeRule, type OutputSpec } from "../graph/graph.ts";
import type { DType, HostTensor } from "../graph/host_tensor.ts";
import type { Node, Tensor } from "../graph/tensor.ts";

/** What a gradient rule receives. */
export interface GradArgs<A> {
  node: Node;
  inputs: readonly Tensor[];
  outputs: readonly Tensor[];
  attrs: A;
  /** Gradient of the objective with respect to each output (null where none flows). */
  dys: readonly (Tensor | null)[];
}

/** The ONNX value names and helpers a lowering rule writes with. */
export interface Lowering<A> {
  node: Node;
  attrs: A;
  /** ONNX value names of the node's inputs. */
  inputs: string[];
  /** ONNX value names the node's outputs must be written to. */
  outputs: string[];
  /** Emits one ONNX node; returns its output names (fresh ones unless `outputs` is given). */
  emit(opType: string, inputs: string[], options?: { outputs?: string[]; attrs?: Record<string, OnnxAttr>; count?: number }): string[];
  /** A constant as an initializer; returns its value name. */
  constant(value: HostTensor): string;
  /** An int64 vector constant (shapes, axes, pads). */
  int64s(values: readonly number[]): string;
  /** A float32 scalar constant. */
  scalar(value: number): string;
}

/** An ONNX attribute value as our emitter accepts it. */
export type OnnxAttr = number | string | number[] | { float: number } | { floats: number[] } | HostTensor;

/** Everything the system knows about one op type. */
export interface OpDef<A = Record<string, unknown>> {
  /** The op type, e.g. "Conv2D". */
  type: string;
  /** Shape and dtype of each output; throws an error naming the op and tensors on bad input. */
  infer(inputs: readonly Tensor[], attrs: A, name: string): OutputSpec[];
  /**
   * Gradients with respect to each input. Elementwise rules may return gradients in
   * the broadcast output shape: the engine sums them back to each input's shape.
   * Omit for ops that are not differentiable (their inputs then get no gradient
   * through them); set `differentiable: false` to say so explicitly.
   */
  grad?(args: GradArgs<A>): (Tensor | null | undefined)[];
  /** False for ops whose outputs carry no gradient (comparisons, casts to bool, sources). */
  differentiable?: boolean;
  /** Emits the ONNX nodes computing this op. */
  lower(l: Lowering<A>): void;
}

const registry = new Map<string, OpDef<never>>();

/**
 * Declares an op type. Call once per op, next to its builder function.
 *
 * @example
 * ```ts
 * registerOp<{}>({
 *   type: "Relu",
 *   infer: ([x]) => [{ shape: [...x.shape], dtype: x.dtype }],
 *   grad: ({ inputs: [x], dys: [dy] }) => [mul(dy!, cast(greater(x, zeros), "float32"))],
 *   lower: (l) => void l.emit("Relu", l.inputs, { outputs: l.outputs }),
 * });
 * ```
 */
export function registerOp<A>(def: OpDef<A>): void {
  if (registry.has(def.type)) throw new Error(`registerOp: ${def.type} is already registered`);
  registry.set(def.type, def as unknown as OpDef<never>);
}

/** Looks up an op type; the error names the op and the node using it. */
export function getOp<A = Record<string, unknown>>(type: string, nodeName?: string): OpDef<A> {
  const def = registry.get(type);
  if (!def) throw new Error(`Unknown op ${type}${nodeName ? ` (node ${nodeName})` : ""}`);
  return def as unknown as OpDef<A>;
}

installShapeRule((op, inputs, attrs, name) => getOp(op, name).infer(inputs, attrs as never, name));

/** Throws unless `t` has one of the dtypes; the message names op, role and tensor. */
export function expectDType(op: string, role: string, t: Tensor, dtypes: readonly DType[]): void {
  if (!dtypes.includes(t.dtype)) {
    throw new Error(`${op}: ${role} must be ${dtypes.join(" or ")}, got ${t.dtype} (tensor ${t.name})`);
  }
}

/** Throws unless `t` has rank `rank`; the message names op, role and tensor. */
export function expectRank(op: string, role: string, t: Tensor, rank: number): void {
  if (t.rank !== rank) {
    throw new Error(`${op}: ${role} must be rank ${rank}, got rank ${t.rank} (tensor ${t.name} [${t.shape.join(", ")}])`);
  }
}

/** Resolves a possibly negative axis against a rank, with an error naming the op. */
export function normalizeAxis(op: string, axis: number, rank: number, t?: Tensor): number {
  const a = axis < 0 ? axis + rank : axis;
  if (!Number.isInteger(a) || a < 0 || a >= rank) {
    throw new Error(`${op}: axis ${axis} is out of range for rank ${rank}${t ? ` (tensor ${t.name})` : ""}`);
  }
  return a;
}
