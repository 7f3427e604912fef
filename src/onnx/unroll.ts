/**
 * Several train steps in one ONNX model (Keras calls it `steps_per_execution`):
 * copy i reads the variables copy i-1 updated, each copy has its own batch, noise
 * and step inputs, and only the last copy's updates leave the model. onnxruntime-node
 * copies every output into a fresh JavaScript buffer after each run (the whole
 * parameter set, for a train step), so k steps per run pay that copy once.
 * @module
 */
import { makeModel, makeNode, makeTensor, makeValueInfo, type NodeProtoLike } from "./builder.ts";
import { type CompiledModel, type ModelInput, type ModelOutput, updatedName } from "./compile.ts";

/** A model running `steps` train steps per call. */
export interface UnrolledModel {
  bytes: Uint8Array;
  steps: number;
  /** Each input with the copy (0-based step within the run) it feeds; variables feed copy 0. */
  inputs: (ModelInput & { copy: number; onnxName: string })[];
  /** Per-step fetches of every copy, then the last copy's updates and other fetches. */
  outputs: (ModelOutput & { copy: number; onnxName: string })[];
}

/**
 * The ONNX name of value `name` in copy `i` of `k`: the last copy keeps the
 * original names (so its outputs are the usual ones); earlier copies get `@i`.
 *
 * @example
 * ```ts
 * copyName("images", 0, 4); // "images@0"
 * copyName("images", 3, 4); // "images"
 * ```
 */
export function copyName(name: string, i: number, k: number): string {
  return i === k - 1 ? name : `${name}@${i}`;
}

/**
 * Unrolls a compiled train step `k` times. `perStep` names the fetches every copy
 * outputs (the loss); other fetches (summaries) come from the last copy only.
 *
 * @example
 * ```ts
 * const four = unrollSteps(model, 4, { perStep: ["loss"] });
 * ```
 */
export function unrollSteps(model: CompiledModel, k: number, { perStep }: { perStep: readonly string[] }): UnrolledModel {
  if (!(Number.isInteger(k) && k >= 1)) throw new Error(`unrollSteps: steps must be a positive integer, got ${k}`);
  const { nodes, initializers, name, docString } = model.parts;
  const initNames = new Set(initializers.map((t) => t.name as string));
  const producer = new Map<string, NodeProtoLike>();
  for (const n of nodes) for (const o of n.output) producer.set(o, n);
  const variableInputs = new Map(model.inputs.filter((i) => i.kind === "variable").map((i) => [i.name, i]));
  const updated = new Map(model.outputs.filter((o) => o.kind === "update").map((o) => [o.variable!.name, updatedName(o.variable!)]));
  const needed = (names: readonly string[]) => {
    const keep = new Set<NodeProtoLike>();
    const stack = [...names];
    while (stack.length) {
      const n = producer.get(stack.pop()!);
      if (!n || keep.has(n)) continue;
      keep.add(n);
      stack.push(...n.input);
    }
    return keep;
  };
  const updateNames = [...updated.values()];
  const lastOnly = model.outputs.filter((o) => o.kind === "fetch" && !perStep.includes(o.name)).map((o) => o.name);
  const outNodes: NodeProtoLike[] = [];
  const extraInitializers: Record<string, unknown>[] = [];
  // Updates written as matrices (fused, see compile.ts) are viewed in the variable's shape for the next copy.
  const written = new Map(model.outputs.filter((o) => o.kind === "update" && o.written).map((o) => [o.variable!.name, o.tensor.shape]));
  const viewOf = (variable: string, i: number): string => {
    const source = copyName(updated.get(variable)!, i - 1, k);
    const shape = written.get(variable);
    if (!shape) return source;
    const shapeName = `${source}/view_shape`, view = `${source}/view`;
    extraInitializers.push(makeTensor(shapeName, { dtype: "int64", shape: [shape.length], data: BigInt64Array.from(shape, (d) => BigInt(d)) }));
    outNodes.push(makeNode("Reshape", [source, shapeName], [view], {}, `${view}/Reshape`));
    return view;
  };
  for (let i = 0; i < k; i++) {
    const keep = needed([...perStep, ...updateNames, ...(i === k - 1 ? lastOnly : [])]);
    const views = new Map<string, string>();
    const rename = (v: string): string => {
      if (v === "" || initNames.has(v)) return v;
      const variable = variableInputs.get(v);
      if (variable && (i === 0 || !updated.has(v))) return v;
      if (variable) {
        if (!views.has(v)) views.set(v, viewOf(v, i));
        return views.get(v)!;
      }
      return copyName(v, i, k);
    };
    for (const n of nodes) {
      if (!keep.has(n)) continue;
      outNodes.push({ ...n, name: copyName(n.name, i, k), input: n.input.map(rename), output: n.output.map(rename) });
    }
  }
  const inputs: UnrolledModel["inputs"] = [];
  for (const input of model.inputs) {
    if (input.kind === "variable") inputs.push({ ...input, copy: 0, onnxName: input.name });
    else for (let i = 0; i < k; i++) inputs.push({ ...input, copy: i, onnxName: copyName(input.name, i, k) });
  }
  const outputs: UnrolledModel["outputs"] = [];
  for (const o of model.outputs) {
    if (perStep.includes(o.name)) for (let i = 0; i < k; i++) outputs.push({ ...o, copy: i, onnxName: copyName(o.name, i, k) });
    else outputs.push({ ...o, copy: k - 1, onnxName: o.name });
  }
  // Inputs nothing reads any more (a placeholder only summaries used, in early copies) must go.
  const read = new Set(outNodes.flatMap((n) => n.input));
  const liveInputs = inputs.filter((i) => read.has(i.onnxName) || outputs.some((o) => o.onnxName === i.onnxName));
  const bytes = makeModel({
    name: `${name}_x${k}`,
    nodes: outNodes,
    initializers: [...initializers, ...extraInitializers],
    docString: `${docString ?? ""} (${k} steps per run)`,
    inputs: liveInputs.map((i) => makeValueInfo(i.onnxName, i.tensor.dtype, i.tensor.shape)),
    outputs: outputs.map((o) => makeValueInfo(o.onnxName, o.tensor.dtype, o.written ?? o.tensor.shape)),
  });
  return { bytes, steps: k, inputs: liveInputs, outputs };
}
