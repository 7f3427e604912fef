/**
 * `importModel`: an ONNX model (opsets 11 to 21) as slimtrain graph tensors in
 * the default graph. Graph inputs become placeholders and initializers become
 * variables, both named as in the file; every node becomes slimtrain ops
 * through its op type's import rule, so the imported model differentiates,
 * trains and exports like a model built with slim's layers.
 * @module
 */
import { getDefaultGraph } from "../../graph/graph.ts";
import type { HostTensor } from "../../graph/host_tensor.ts";
import type { Tensor } from "../../graph/tensor.ts";
import { placeholder, type Variable } from "../../graph/variable.ts";
import "../../ops/mod.ts";
import { type BatchNormMode, ImportContext } from "./context.ts";
import { foldNode } from "./fold.ts";
import { OnnxNode } from "./onnx_node.ts";
import { declaredShape, decodeModel, dtypeOfElementType, tensorFromProto } from "./read_model.ts";
import { ruleFor, supportedOps } from "./rules.ts";
import "./rules_elementwise.ts";
import "./rules_nn.ts";
import "./rules_normalization.ts";
import "./rules_shape.ts";
import { type StaticValue, staticFromHost } from "./static_value.ts";

/**
 * The opsets whose semantics the import rules follow.
 *
 * @example
 * ```ts
 * onnx.SUPPORTED_OPSETS.max; // 21
 * ```
 */
export const SUPPORTED_OPSETS = { min: 11, max: 21 } as const;

/**
 * Options of `importModel`.
 *
 * @example
 * ```ts
 * const options: ImportOptions = { trainable: (name) => name.startsWith("fc."), batchNorm: "frozen", scope: "backbone" };
 * ```
 */
export interface ImportOptions {
  /**
   * Which initializers train: a predicate or a list of initializer names. The
   * others become non-trainable variables (still restorable and exported).
   * Default: every float initializer except batch norm's running statistics.
   */
  trainable?: ((name: string) => boolean) | readonly string[];
  /**
   * "train": batch statistics, with the running statistics updated in UPDATE_OPS
   * by the node's momentum; "frozen": the stored statistics as a fixed affine map.
   * Default: what each node says (training_mode).
   */
  batchNorm?: BatchNormMode;
  /** "train" applies Dropout nodes' noise, "off" passes values through. Default: each node's training_mode. */
  dropout?: "train" | "off";
  /** A name scope for the imported ops, placeholders and variables (`scope/conv1.weight`). */
  scope?: string;
  /** Static shapes for graph inputs whose declared shape has symbolic dimensions (a dynamic batch size). */
  inputShapes?: Record<string, number[]>;
  /**
   * Graph inputs bound to fixed values at import instead of placeholders (a
   * shape or axes input, a fixed mask): they fold like constants.
   */
  constantInputs?: Record<string, HostTensor>;
}

const OPTION_NAMES = ["trainable", "batchNorm", "dropout", "scope", "inputShapes", "constantInputs"];

/**
 * An imported model: its graph inputs (placeholders), outputs and initializers'
 * variables by their ONNX names, and any value of the graph by name.
 *
 * @example
 * ```ts
 * const model = onnx.importModel(bytes);
 * const logits = model.outputs.logits;
 * const features = model.tensor("/Flatten_output_0");
 * ```
 */
export interface ImportedModel {
  inputs: Record<string, Tensor>;
  outputs: Record<string, Tensor>;
  variables: Record<string, Variable>;
  /** The default-domain opset of the file. */
  opset: number;
  /** Any value of the ONNX graph by name (outputs, intermediate values, initializers). */
  tensor(name: string): Tensor;
}

/**
 * Turns an ONNX model into slimtrain ops in the default graph.
 *
 * @example
 * ```ts
 * const model = onnx.importModel(await fs.readFile("resnet18.onnx"), { batchNorm: "train" });
 * losses.sparseSoftmaxCrossEntropy(model.outputs.logits, labels);
 * const trainOp = learning.createTrainOp(losses.getTotalLoss(), optimizers.gradientDescent({ learningRate: 0.01 }));
 * ```
 */
export function importModel(bytes: Uint8Array, options: ImportOptions = {}): ImportedModel {
  if (!(bytes instanceof Uint8Array)) throw new Error(`importModel: bytes must be a Uint8Array (the .onnx file's contents), got ${typeof bytes}`);
  for (const k of Object.keys(options)) {
    if (!OPTION_NAMES.includes(k)) throw new Error(`importModel: unknown option ${k} (known: ${OPTION_NAMES.join(", ")})`);
  }
  if (options.batchNorm !== undefined && options.batchNorm !== "train" && options.batchNorm !== "frozen") {
    throw new Error(`importModel: batchNorm must be "train" or "frozen", got ${JSON.stringify(options.batchNorm)}`);
  }
  const { graph: message, opset } = decodeModel(bytes);
  if (opset < SUPPORTED_OPSETS.min || opset > SUPPORTED_OPSETS.max) {
    throw new Error(`importModel: the model uses opset ${opset}; slimtrain imports opsets ${SUPPORTED_OPSETS.min} to ${SUPPORTED_OPSETS.max}`);
  }
  const graph = getDefaultGraph();
  const run = () => {
    const ctx = new ImportContext(graph, options, graph.currentScope, trainablePredicate(options.trainable));

    for (const t of message.initializer ?? []) {
      if (!t.name) throw new Error("importModel: an initializer has no name");
      ctx.defineInitializer(t.name, tensorFromProto(t, `initializer ${t.name}`));
    }
    if (Array.isArray(options.trainable)) {
      const missing = options.trainable.filter((n) => !ctx.has(n));
      if (missing.length) throw new Error(`importModel: trainable names ${missing.join(", ")}, which the model has no initializer of`);
    }
    const inputs: Record<string, Tensor> = {};
    for (const info of message.input ?? []) {
      if (ctx.has(info.name)) continue; // Older exporters list initializers as inputs too.
      const bound = options.constantInputs?.[info.name];
      if (bound) {
        ctx.define(info.name, staticFromHost(bound));
        continue;
      }
      const declared = options.inputShapes?.[info.name] ?? declaredShape(info);
      if (!declared || declared.some((d) => d < 0)) {
        throw new Error(
          `importModel: graph input ${info.name} has shape [${(declared ?? []).map((d) => (d < 0 ? "?" : d)).join(", ")}] with unknown dimensions; give it in options.inputShapes`,
        );
      }
      const dtype = dtypeOfElementType(info.type?.tensorType?.elemType, `graph input ${info.name}`);
      const p = placeholder(declared, dtype, info.name);
      inputs[info.name] = p;
      ctx.define(info.name, p);
    }

    (message.node ?? []).forEach((m, i) => importNode(new OnnxNode(m, opset, i), ctx));

    const outputs: Record<string, Tensor> = {};
    for (const o of message.output ?? []) outputs[o.name] = ctx.tensorOf(o.name);
    return {
      inputs,
      outputs,
      variables: ctx.variables,
      opset,
      tensor(name: string): Tensor {
        if (!ctx.has(name)) {
          throw new Error(`importModel: the model has no value named ${name} (it has ${ctx.names().length} values, e.g. ${ctx.names().slice(-3).join(", ")})`);
        }
        return ctx.tensorOf(name);
      },
    };
  };
  return options.scope ? graph.withScope(options.scope, run) : run();
}

function trainablePredicate(trainable: ImportOptions["trainable"]): (name: string) => boolean {
  if (typeof trainable === "function") return trainable;
  if (!trainable) return () => true;
  if (!Array.isArray(trainable)) throw new Error(`importModel: trainable must be a list of initializer names or a predicate, got ${typeof trainable}`);
  const names = new Set(trainable);
  return (name) => names.has(name);
}

function importNode(node: OnnxNode, ctx: ImportContext): void {
  if (node.type === "Constant" || node.type === "Shape" || node.type === "Size") return defineOutputs(node, ctx, runRule(node, ctx));
  if (node.inputs.every((name) => name === "" || ctx.folded(name))) {
    const statics = node.inputs.map((name) => (name === "" ? undefined : ctx.folded(name)));
    const folded = wrap(node, () => foldNode(node, statics));
    if (folded) return defineOutputs(node, ctx, folded);
  }
  defineOutputs(node, ctx, runRule(node, ctx));
}

function runRule(node: OnnxNode, ctx: ImportContext): (Tensor | StaticValue | undefined)[] {
  const rule = ruleFor(node.type);
  if (!rule || (node.domain && node.domain !== "ai.onnx")) {
    throw new Error(
      `importModel: no import rule for ONNX op ${node.domain ? `${node.domain}.` : ""}${node.type} (node ${node.name}, opset ${node.opset}); supported ops: ${supportedOps().join(", ")}`,
    );
  }
  // Ops are named after the ONNX node, so compiled models and errors point back to it.
  const scope = node.name.replace(/^\/+/, "") || node.type;
  return wrap(node, () => ctx.graph.withScope(scope, () => rule(node, ctx)));
}

function wrap<T>(node: OnnxNode, f: () => T): T {
  try {
    return f();
  } catch (err) {
    const message = (err as Error).message;
    if (message.startsWith("importModel:")) throw err;
    throw new Error(`importModel: ${node.describe()}: ${message}`, { cause: err });
  }
}

function defineOutputs(node: OnnxNode, ctx: ImportContext, values: (Tensor | StaticValue | undefined)[]): void {
  node.outputs.forEach((name, i) => ctx.define(name, values[i]));
}
