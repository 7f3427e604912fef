/**
 * Lowers the part of a graph that some outputs need into one standard-opset ONNX
 * model: placeholders and variables become model inputs, constants become
 * initializers, each op's lowering rule emits its ONNX nodes, and fetched tensors
 * and variable updates become model outputs.
 * @module
 */
import type { DType, HostTensor } from "../graph/host_tensor.ts";
import { ancestorNodes, type Tensor } from "../graph/tensor.ts";
import type { Assignment, Variable } from "../graph/variable.ts";
import { getOp, type Lowering, type OnnxAttr } from "../ops/registry.ts";
import { makeModel, makeNode, makeTensor, makeValueInfo, type NodeProtoLike } from "./builder.ts";
import { toStorage } from "../graph/storage_layout.ts";

/** One input of a compiled model and what feeds it. */
export interface ModelInput {
  name: string;
  tensor: Tensor;
  /** placeholder: fed by the caller; random: uniform noise fed by the runtime; variable: carried state. */
  kind: "placeholder" | "random" | "variable";
  variable?: Variable;
}

/** One output of a compiled model. */
export interface ModelOutput {
  name: string;
  tensor: Tensor;
  kind: "fetch" | "update";
  variable?: Variable;
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

/** The output name under which a variable's next value leaves a train step. */
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
  { name, fetches, updates = [], docString, metadata, frozen }: {
    name: string;
    fetches: Record<string, Tensor>;
    updates?: readonly Assignment[];
    docString?: string;
    metadata?: Record<string, string>;
    /** Variable values to bake in as initializers (an inference export) instead of inputs. */
    frozen?: ReadonlyMap<string, HostTensor>;
  },
): CompiledModel {
  const outputs: ModelOutput[] = [
    ...Object.entries(fetches).map(([key, tensor]) => ({ name: key, tensor, kind: "fetch" as const })),
    ...updates.map((u) => ({ name: updatedName(u.variable), tensor: u.value, kind: "update" as const, variable: u.variable })),
  ];
  const seenOutputs = new Set<string>();
  for (const o of outputs) {
    if (seenOutputs.has(o.name)) throw new Error(`compileModel: output name ${o.name} is used twice (model ${name})`);
    seenOutputs.add(o.name);
  }
  const needed = ancestorNodes(outputs.map((o) => o.tensor));
  const used = new Set<string>(seenOutputs);
  const valueName = new Map<number, string>();
  const fresh = (hint: string) => {
    let n = hint, i = 0;
    while (used.has(n)) n = `${hint}__${++i}`;
    used.add(n);
    return n;
  };

  const inputs: ModelInput[] = [];
  const initializers: Record<string, unknown>[] = [];
  const nodes: NodeProtoLike[] = [];
  const constCache = new Map<string, string>();
  for (const node of needed) {
    const t = node.outputs[0];
    const frozenValue = node.op === "Variable" ? frozen?.get(t.name) : undefined;
    if (frozenValue) {
      const v = node.attrs.variable as Variable;
      if (frozenValue.dtype !== v.dtype || frozenValue.shape.join(",") !== v.shape.join(",")) {
        throw new Error(`compileModel: frozen value for ${t.name} is ${frozenValue.dtype} [${frozenValue.shape.join(", ")}], the variable is ${v.dtype} [${v.shape.join(", ")}]`);
      }
      const n = fresh(t.name);
      valueName.set(t.id, n);
      initializers.push(makeTensor(n, toStorage(frozenValue, v.storage)));
    } else if (node.op === "Placeholder" || node.op === "Variable") {
      // Inputs keep their graph names exactly: they are the feed keys.
      if (used.has(t.name)) throw new Error(`compileModel: input ${t.name} collides with an output name (model ${name})`);
      used.add(t.name);
      valueName.set(t.id, t.name);
      const variable = node.op === "Variable" ? (node.attrs.variable as Variable) : undefined;
      inputs.push({ name: t.name, tensor: t, kind: variable ? "variable" : node.attrs.random ? "random" : "placeholder", variable });
    } else if (node.op === "Const") {
      const n = fresh(`const/${t.name}`);
      valueName.set(t.id, n);
      initializers.push(makeTensor(n, node.attrs.value as HostTensor));
    }
  }
  // The first output of each computed tensor takes its producer's output name directly
  // (no Identity copy, which would cost a full copy of every updated weight).
  const aliases: [string, string][] = [];
  for (const o of outputs) {
    const src = o.tensor.node.op;
    if (!valueName.has(o.tensor.id) && !["Placeholder", "Variable", "Const"].includes(src)) valueName.set(o.tensor.id, o.name);
    else aliases.push([o.tensor.name, o.name]);
  }

  for (const node of needed) {
    if (node.op === "Placeholder" || node.op === "Variable" || node.op === "Const") continue;
    for (const t of node.outputs) if (!valueName.has(t.id)) valueName.set(t.id, fresh(t.name));
    let counter = 0;
    const l: Lowering<Record<string, unknown>> = {
      node,
      attrs: node.attrs as Record<string, unknown>,
      inputs: node.inputs.map((t) => valueName.get(t.id)!),
      outputs: node.outputs.map((t) => valueName.get(t.id)!),
      emit(opType, ins, options = {}) {
        const outs = options.outputs ?? Array.from({ length: options.count ?? 1 }, (_, i) => fresh(`${node.name}/${opType}_${counter}${i ? `:${i}` : ""}`));
        nodes.push(makeNode(opType, ins, outs, options.attrs ?? {}, fresh(`${node.name}/${opType}_${counter++}`)));
        return outs;
      },
      constant(value) {
        const n = fresh(`${node.name}/const`);
        initializers.push(makeTensor(n, value));
        return n;
      },
      int64s(values) {
        const key = `i64:${values.join(",")}`;
        let n = constCache.get(key);
        if (!n) {
          n = fresh(`const/int64[${values.join(",")}]`);
          constCache.set(key, n);
          initializers.push(makeTensor(n, { dtype: "int64", shape: [values.length], data: BigInt64Array.from(values, (v) => BigInt(v)) }));
        }
        return n;
      },
      scalar(value) {
        const key = `f32:${value}`;
        let n = constCache.get(key);
        if (!n) {
          n = fresh(`const/${value}`);
          constCache.set(key, n);
          initializers.push(makeTensor(n, { dtype: "float32", shape: [], data: new Float32Array([value]) }));
        }
        return n;
      },
    };
    try {
      getOp(node.op, node.name).lower(l);
    } catch (err) {
      throw new Error(`compileModel: cannot lower ${node.op} (node ${node.name}): ${(err as Error).message}`, { cause: err });
    }
  }
  for (const [from, to] of aliases) {
    const t = outputs.find((o) => o.name === to)!.tensor;
    nodes.push(makeNode("Identity", [valueName.get(t.id) ?? from], [to], {}, fresh(`${to}/Identity`)));
  }

  const bytes = makeModel({
    name,
    nodes,
    initializers,
    docString,
    metadata,
    inputs: inputs.map((i) => makeValueInfo(i.name, i.tensor.dtype, i.tensor.shape)),
    outputs: outputs.map((o) => makeValueInfo(o.name, o.tensor.dtype, o.tensor.shape)),
  });
  return { bytes, inputs, outputs, nodeCount: nodes.length, parts: { nodes, initializers, name, docString } };
}

export type { DType, OnnxAttr };
