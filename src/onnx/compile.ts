/**
 * Lowers the part of a graph that some outputs need into one standard-opset ONNX
 * model: source ops become model inputs (typed by what feeds them) or
 * initializers, each other op's lowering rule emits its ONNX nodes, and fetched
 * tensors and variable updates become model outputs.
 * @module
 */
import { GraphKeys } from "../graph/graph.ts";
import type { DType, HostTensor } from "../graph/host_tensor.ts";
import { toStorage } from "../graph/storage_layout.ts";
import { ancestorNodes, type Node, type Tensor } from "../graph/tensor.ts";
import type { Assignment, Variable } from "../graph/variable.ts";
import { type Accumulate, getOp, type Lowering, type LoweringTarget, type OnnxAttr } from "../ops/registry.ts";
import { type AutocastDType, type AutocastMode, HalfCasts } from "./autocast.ts";
import { makeModel, makeNode, makeTensor, makeValueInfo, type NodeProtoLike } from "./builder.ts";
import { type FusedUpdate, planFusedUpdates } from "./fused_updates.ts";

/**
 * One input of a compiled model, typed by what feeds it: `placeholder` (the
 * caller, by name), `globalStep` (the trainer's step count), `noise` (seeded
 * uniform noise drawn per step), `variable` (state carried between steps).
 */
export type ModelInput =
  | { kind: "placeholder" | "globalStep" | "noise"; name: string; tensor: Tensor }
  | { kind: "variable"; name: string; tensor: Tensor; variable: Variable };

/** The kinds of model input. */
export type ModelInputKind = ModelInput["kind"];

/** One output of a compiled model. */
export interface ModelOutput {
  name: string;
  tensor: Tensor;
  kind: "fetch" | "update";
  variable?: Variable;
  /**
   * The shape the model writes when it is not `tensor.shape` (a fused update written
   * as its GEMM's matrix, same size); runtimes hand it back viewed in `tensor.shape`.
   */
  written?: number[];
}

/** A serialised ONNX model and the map from its inputs and outputs back to the graph. */
export interface CompiledModel {
  bytes: Uint8Array;
  inputs: ModelInput[];
  outputs: ModelOutput[];
  /** Number of ONNX nodes emitted. */
  nodeCount: number;
  /** The model before serialisation, for transformations such as `unrollSteps`. */
  parts: { nodes: NodeProtoLike[]; initializers: Record<string, unknown>[]; name: string; docString?: string };
}

/** What `compileModel` compiles. */
export interface CompileRequest {
  name: string;
  fetches: Record<string, Tensor>;
  updates?: readonly Assignment[];
  docString?: string;
  metadata?: Record<string, string>;
  /** Variable values to bake in as initializers (an inference export) instead of inputs. */
  frozen?: ReadonlyMap<string, HostTensor>;
  /** The EPs the model is for (see `LoweringTarget`). Default "portable": runs on every EP. */
  target?: LoweringTarget;
  /**
   * Mixed precision: the convolutions and matrix products of `autocast` ops
   * compute in this dtype (see autocast.ts). Default: everything in float32.
   */
  autocast?: AutocastDType;
  /** How `autocast` computes: float16 kernels (default) or float32 ones with float16 rounding. */
  autocastMode?: AutocastMode;
  /**
   * Folds updates into the GEMMs computing their gradients where nothing else reads
   * them (see fused_updates.ts). Default true; false keeps every update's own nodes.
   */
  fuseUpdates?: boolean;
}

/**
 * The output name under which a variable's next value leaves a train step.
 *
 * @example
 * ```ts
 * updatedName(w); // "dense/weights/updated"
 * ```
 */
export function updatedName(variable: Variable): string {
  return `${variable.name}/updated`;
}

/**
 * Compiles the nodes that `fetches` and `updates` depend on.
 *
 * @example
 * ```ts
 * const model = compileModel({ name: "eval", fetches: { logits } });
 * const session = await runtime.createSession(model.bytes);
 * ```
 */
export function compileModel(
  { name, fetches, updates = [], docString, metadata, frozen, target = "portable", autocast, autocastMode, fuseUpdates = true }: CompileRequest,
): CompiledModel {
  const outputs = modelOutputs(name, fetches, updates);
  const needed = ancestorNodes(outputs.map((o) => o.tensor));
  const names = new ValueNames(outputs.map((o) => o.name));
  const initializers: Record<string, unknown>[] = [];
  const inputs = bindSources(name, needed, names, initializers, frozen);
  const aliases = bindOutputNames(outputs, names);
  const nodes: NodeProtoLike[] = [];
  const constants = new ConstantPool(names, initializers);
  const halfCasts = autocast
    ? new HalfCasts((hint) => names.fresh(hint), autocastMode, (value) => constants.shared(`f32:${value}`, `const/${value}`, () => float32Scalar(value)))
    : undefined;
  // Under autocast a Gemm's C would be cast to float16 with its operands: no fusion there.
  const fusions = autocast || !fuseUpdates ? new Map<Node, FusedUpdate>() : planFusedUpdates(needed, outputs.map((o) => o.tensor));
  const lowered = new Set<Node>();
  const lower = (node: Node): void => {
    if (lowered.has(node)) return;
    lowered.add(node);
    // Inputs come first; in `needed`'s order they already have, except for what a
    // fused update reads (its addend and scale), which is hoisted to the product.
    for (const t of node.inputs) lower(t.node);
    const def = getOp(node.op, node.name);
    if (def.source) return;
    const fusion = fusions.get(node);
    const accumulate = fusion && accumulateFor(fusion, names, lower, outputs, target);
    const emitted = lowerNode(node, names, constants, target, accumulate);
    nodes.push(...(halfCasts && def.autocast ? halfCasts.rewrite(emitted) : emitted));
    if (!accumulate?.used) return;
    for (const n of fusion!.replaces) lowered.add(n);
    if (accumulate.writtenAs) {
      // The model writes the matrix; the step's own readers take the view in the tensor's shape.
      const result = fusion!.target.outputs[0];
      for (const o of outputs) if (o.tensor === result && o.name === accumulate.output) o.written = accumulate.writtenAs.shape;
      names.bind(result, accumulate.writtenAs.view);
    }
  };
  for (const node of needed) lower(node);
  // Fetched sources, and tensors fetched under several names, leave through an Identity.
  for (const { tensor, to } of aliases) {
    nodes.push(makeNode("Identity", [names.of(tensor)], [to], {}, names.fresh(`${to}/Identity`)));
  }
  // A constant whose only reader was fused away (momentum's factor, now Gemm's beta) is dropped.
  const read = new Set([...nodes.flatMap((n) => n.input), ...outputs.map((o) => o.name)]);
  const used = initializers.filter((i) => read.has(i.name as string));
  initializers.splice(0, initializers.length, ...used);
  const bytes = makeModel({
    name,
    nodes,
    initializers,
    docString,
    metadata,
    inputs: inputs.map((i) => makeValueInfo(i.name, i.tensor.dtype, i.tensor.shape)),
    outputs: outputs.map((o) => makeValueInfo(o.name, o.tensor.dtype, o.written ?? o.tensor.shape)),
  });
  return { bytes, inputs, outputs, nodeCount: nodes.length, parts: { nodes, initializers, name, docString } };
}

/** Fetches then updates, with each output name used once. */
function modelOutputs(model: string, fetches: Record<string, Tensor>, updates: readonly Assignment[]): ModelOutput[] {
  const outputs: ModelOutput[] = [
    ...Object.entries(fetches).map(([key, tensor]) => ({ name: key, tensor, kind: "fetch" as const })),
    ...updates.map((u) => ({ name: updatedName(u.variable), tensor: u.value, kind: "update" as const, variable: u.variable })),
  ];
  const seen = new Set<string>();
  for (const o of outputs) {
    if (seen.has(o.name)) throw new Error(`compileModel: output name ${o.name} is used twice (model ${model})`);
    seen.add(o.name);
  }
  return outputs;
}

/** ONNX value names: unique within the model, and the graph tensor each one holds. */
class ValueNames {
  private readonly used: Set<string>;
  private readonly byTensor = new Map<number, string>();

  constructor(reserved: readonly string[]) {
    this.used = new Set(reserved);
  }

  /** A name not used yet, `hint` itself when free. */
  fresh(hint: string): string {
    let n = hint, i = 0;
    while (this.used.has(n)) n = `${hint}__${++i}`;
    this.used.add(n);
    return n;
  }

  /** Claims `name` exactly (inputs keep their graph names: they are the feed keys). */
  claim(name: string, model: string): string {
    if (this.used.has(name)) throw new Error(`compileModel: input ${name} collides with an output name (model ${model})`);
    this.used.add(name);
    return name;
  }

  bind(t: Tensor, name: string): void {
    this.byTensor.set(t.id, name);
  }

  has(t: Tensor): boolean {
    return this.byTensor.has(t.id);
  }

  of(t: Tensor): string {
    const n = this.byTensor.get(t.id);
    if (n === undefined) throw new Error(`compileModel: tensor ${t.name} has no value yet`);
    return n;
  }
}

/** Turns every needed source node into a typed model input or an initializer. */
function bindSources(
  model: string,
  needed: readonly Node[],
  names: ValueNames,
  initializers: Record<string, unknown>[],
  frozen: ReadonlyMap<string, HostTensor> | undefined,
): ModelInput[] {
  const inputs: ModelInput[] = [];
  for (const node of needed) {
    const kind = getOp(node.op, node.name).source?.(node);
    if (!kind) continue;
    const t = node.outputs[0];
    if (kind === "constant") {
      const n = names.fresh(`const/${t.name}`);
      names.bind(t, n);
      initializers.push(makeTensor(n, node.attrs.value as HostTensor));
    } else if (kind === "variable") {
      const variable = t.graph.variables.get(node.name);
      if (!variable) throw new Error(`compileModel: variable node ${node.name} is not a variable of its graph`);
      const value = frozen?.get(variable.name);
      if (value) {
        const n = names.fresh(t.name);
        names.bind(t, n);
        initializers.push(makeTensor(n, frozenValue(variable, value)));
      } else {
        names.bind(t, names.claim(t.name, model));
        inputs.push({ kind, name: t.name, tensor: t, variable });
      }
    } else {
      names.bind(t, names.claim(t.name, model));
      const isStep = kind === "placeholder" && t.graph.getCollection<Tensor>(GraphKeys.GLOBAL_STEP).includes(t);
      inputs.push({ kind: isStep ? "globalStep" : kind, name: t.name, tensor: t });
    }
  }
  return inputs;
}

function frozenValue(v: Variable, value: HostTensor): HostTensor {
  if (value.dtype !== v.dtype || value.shape.join(",") !== v.shape.join(",")) {
    throw new Error(
      `compileModel: frozen value for ${v.name} is ${value.dtype} [${value.shape.join(", ")}], the variable is ${v.dtype} [${v.shape.join(", ")}]`,
    );
  }
  return toStorage(value, v.storage);
}

/**
 * The first output of each computed tensor takes its producer's output name
 * directly (no Identity copy, which would cost a full copy of every updated
 * weight); the others are returned as aliases.
 */
function bindOutputNames(outputs: readonly ModelOutput[], names: ValueNames): { tensor: Tensor; to: string }[] {
  const aliases: { tensor: Tensor; to: string }[] = [];
  for (const o of outputs) {
    if (!names.has(o.tensor)) names.bind(o.tensor, o.name);
    else aliases.push({ tensor: o.tensor, to: o.name });
  }
  return aliases;
}

/** Initializers a lowering asks for; shape vectors and scalars are shared. */
class ConstantPool {
  private readonly cache = new Map<string, string>();
  constructor(private readonly names: ValueNames, private readonly initializers: Record<string, unknown>[]) {}

  add(hint: string, value: HostTensor): string {
    const n = this.names.fresh(hint);
    this.initializers.push(makeTensor(n, value));
    return n;
  }

  shared(key: string, hint: string, value: () => HostTensor): string {
    let n = this.cache.get(key);
    if (!n) {
      n = this.add(hint, value());
      this.cache.set(key, n);
    }
    return n;
  }
}

/** What the product's lowering needs to write a fused update, its operands lowered first. */
function accumulateFor(
  fusion: FusedUpdate,
  names: ValueNames,
  lower: (node: Node) => void,
  outputs: readonly ModelOutput[],
  target: LoweringTarget,
): Accumulate {
  lower(fusion.into.node);
  if (typeof fusion.scale !== "number") lower(fusion.scale.node);
  const result = fusion.target.outputs[0];
  if (!names.has(result)) names.bind(result, names.fresh(result.name));
  const output = names.of(result);
  // Viewing a matrix output in another shape is free for host tensors (the CPU and
  // wasm EPs); GPU outputs keep their own shape, and fetches too (their readers take
  // them as compiled). Updates only ever go back to TrainSession, which views them.
  const modelOutput = outputs.find((o) => o.name === output);
  const isModelOutput = modelOutput !== undefined;
  const matrixAllowed = modelOutput?.kind === "update" && target === "cpu";
  return {
    into: names.of(fusion.into),
    beta: fusion.beta,
    scale: typeof fusion.scale === "number" ? fusion.scale : names.of(fusion.scale),
    negateScale: fusion.negateScale,
    output,
    outputKind: !isModelOutput ? "intermediate" : matrixAllowed ? "matrix" : "exact",
    used: false,
  };
}

/** Runs one op's lowering rule (with the update fused into it, if any); returns its ONNX nodes. */
function lowerNode(node: Node, names: ValueNames, constants: ConstantPool, target: LoweringTarget, accumulate?: Accumulate): NodeProtoLike[] {
  const nodes: NodeProtoLike[] = [];
  for (const t of node.outputs) if (!names.has(t)) names.bind(t, names.fresh(t.name));
  let counter = 0;
  const l: Lowering<Record<string, unknown>> = {
    node,
    target,
    attrs: node.attrs as Record<string, unknown>,
    inputs: node.inputs.map((t) => names.of(t)),
    outputs: node.outputs.map((t) => names.of(t)),
    emit(opType, ins, options = {}) {
      const outs = options.outputs ??
        Array.from({ length: options.count ?? 1 }, (_, i) => names.fresh(`${node.name}/${opType}_${counter}${i ? `:${i}` : ""}`));
      nodes.push(makeNode(opType, ins, outs, options.attrs ?? {}, names.fresh(`${node.name}/${opType}_${counter++}`)));
      return outs;
    },
    constant: (value) => constants.add(`${node.name}/const`, value),
    int64s: (values) =>
      constants.shared(`i64:${values.join(",")}`, `const/int64[${values.join(",")}]`, () => ({
        dtype: "int64",
        shape: [values.length],
        data: BigInt64Array.from(values, (v) => BigInt(v)),
      })),
    scalar: (value) => constants.shared(`f32:${value}`, `const/${value}`, () => float32Scalar(value)),
    sharedConstant: (key, value) => constants.shared(`rule:${key}`, `const/${key}`, value),
    accumulate,
  };
  try {
    getOp(node.op, node.name).lower(l);
  } catch (err) {
    throw new Error(`compileModel: cannot lower ${node.op} (node ${node.name}): ${(err as Error).message}`, { cause: err });
  }
  return nodes;
}

function float32Scalar(value: number): HostTensor {
  return { dtype: "float32", shape: [], data: new Float32Array([value]) };
}

export type { DType, OnnxAttr };
