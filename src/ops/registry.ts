/**
 * The op registry. One op is declared in one place with its three rules, as JAX
 * registers a primitive: a shape rule (static shapes and dtypes, with errors naming
 * the op and tensors), a gradient rule (built from other ops, so gradients are
 * themselves graphs), and an ONNX lowering (standard opset only).
 * @module
 */
import { installShapeRule, type OutputSpec } from "../graph/graph.ts";
import { type DType, type HostTensor, isFullyKnown, UNKNOWN_DIM } from "../graph/host_tensor.ts";
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

/**
 * Which execution providers a compiled model is for. "portable" forms run on every
 * EP (the WebGPU EP lacks MaxPool's Indices output and scatters, DESIGN fact 9);
 * "cpu" lets a rule pick a form that is faster on ONNX Runtime's CPU and wasm EPs
 * but uses ops the GPU EPs lack.
 */
export type LoweringTarget = "portable" | "cpu";

/** The ONNX value names and helpers a lowering rule writes with. */
export interface Lowering<A> {
  node: Node;
  attrs: A;
  /** The EPs the model is for; a rule may choose a faster form for "cpu". */
  target: LoweringTarget;
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
  /**
   * A constant every rule asking with the same `key` shares, built once: for a fixed
   * matrix several nodes of one model read (a convolution's forward, filter- and
   * input-gradient lowerings on the same geometry).
   */
  sharedConstant(key: string, value: () => HostTensor): string;
  /**
   * Present when the compiler fuses the update that consumes this op's only output
   * into the op's last GEMM (see onnx/fused_updates.ts). A rule whose result comes
   * from one Gemm hands it to `emitGemmResult`, which uses it; other rules ignore it
   * and the update is lowered on its own.
   */
  accumulate?: Accumulate;
}

/**
 * An update fused into a product: `output = scale · product + beta · into`, as one
 * Gemm (`alpha`, `beta` and input C), so an optimizer's `w − lr·g` or momentum's
 * `m·accum + g` costs no passes of its own over the variable.
 */
export interface Accumulate {
  /** ONNX value added to the product (a variable, a slot, another gradient), in the op's output shape. */
  into: string;
  /** Its factor (Gemm's beta). */
  beta: number;
  /** The product's factor: a number, or the ONNX name of a one-element float32 value (a learning-rate schedule). */
  scale: number | string;
  /** Negates a `scale` given as a value name (an update that subtracts). */
  negateScale: boolean;
  /** Where the fused result is written: the update's output. */
  output: string;
  /**
   * What `output` is: an `intermediate` value (any Reshape of it is free), a model
   * output that must have its own shape (`exact`), or a model output the runtime
   * views in its own shape (`matrix`: it may be written as the Gemm's [m, n], since
   * a Reshape writing a model output is a full copy in ONNX Runtime).
   */
  outputKind: "intermediate" | "exact" | "matrix";
  /** Set by the lowering that used the fusion. */
  used: boolean;
  /** Set when `output` was written as a matrix: its shape, and the value holding it in the op's shape for the step's own readers. */
  writtenAs?: { shape: number[]; view: string };
}

/**
 * What a source op's node becomes in a compiled model: an input fed by the caller
 * (`placeholder`), an input the runtime fills with seeded uniform noise (`noise`),
 * an input carrying a variable's value between steps (`variable`), or an
 * initializer (`constant`).
 */
export type SourceKind = "placeholder" | "noise" | "variable" | "constant";

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
  /**
   * Declared by source ops only (placeholders, variables, noise, constants): what
   * the node becomes in a compiled model. The compiler makes it a model input or an
   * initializer instead of calling `lower`.
   */
  source?(node: Node): SourceKind;
  /** Emits the ONNX nodes computing this op. */
  lower(l: Lowering<A>): void;
  /**
   * True when the shape rule and the lowering handle an unknown (-1) dimension in
   * the inputs (see `UNKNOWN_DIM`). Ops without it refuse such inputs when the graph
   * is built, so no rule does arithmetic on -1 by accident.
   */
  unknownDims?: boolean;
  /**
   * True for the ops whose arithmetic is matrix products and convolutions (PyTorch's
   * autocast list): under mixed precision their Conv, ConvTranspose, Gemm and MatMul
   * nodes take float16 operands and their results are cast back to float32. Other
   * ops (reductions, normalization, losses, optimizers) always run in float32.
   */
  autocast?: boolean;
  /**
   * True for the ops whose lowering may end in one Gemm that can absorb the update
   * consuming the op's output (`Lowering.accumulate`): filter gradients and matrix
   * products, whose outputs are what optimizers apply.
   */
  accumulates?: boolean;
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

installShapeRule((op, inputs, attrs, name) => {
  const def = getOp(op, name);
  if (!def.unknownDims) {
    const dynamic = inputs.find((t) => !isFullyKnown(t.shape));
    if (dynamic) {
      throw new Error(
        `${op}: input ${dynamic.describe()} has an unknown dimension, which ${op} does not support (node ${name}); ` +
          `give the placeholder it comes from a fixed size (train steps need one)`,
      );
    }
  }
  const specs = def.infer(inputs, attrs as never, name);
  for (const { shape } of specs) {
    if (!shape.every((d) => Number.isInteger(d) && d >= UNKNOWN_DIM)) {
      throw new Error(`${op}: shape rule gave an invalid shape ${JSON.stringify(shape)} (node ${name})`);
    }
  }
  return specs;
});

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
