/**
 * slim's small helpers: `oneHotEncoding`, `stack` (one layer applied with a list
 * of arguments), and `relu6`, the activation MobileNet passes as `activationFn`.
 * @module
 */
import { formatShape } from "../graph/host_tensor.ts";
import type { Tensor } from "../graph/tensor.ts";
import { constant } from "../graph/variable.ts";
import { add, cast, equal, expandDims, mul } from "../ops/mod.ts";
import { addArgScope, scopedOptions } from "./arg_scope.ts";
import { COMMON_OPTIONS, optionTypes } from "./option_specs.ts";
import { collectNamedOutputs, layerScope, opScope } from "./utils.ts";

export { relu6 } from "../ops/unary.ts";

/** Options for `oneHotEncoding`. */
export interface OneHotEncodingOptions {
  /** Value at the label's position. Default 1. */
  onValue?: number;
  /** Value elsewhere. Default 0. */
  offValue?: number;
  outputsCollections?: string | string[];
  /** Name scope; default `OneHotEncoding`. */
  scope?: string;
}

/**
 * slim's `one_hot_encoding`: integer labels of any shape to float32 one-hot rows
 * [..., numClasses]. Built from a comparison against a constant range (ONNX's
 * OneHot has no WebGPU kernel); labels outside [0, numClasses) give all-off rows.
 *
 * @example
 * ```ts
 * const onehot = oneHotEncoding(labels, 10); // [batch] int64 -> [batch, 10]
 * ```
 */
export function oneHotEncoding(labels: Tensor, numClasses: number, options: OneHotEncodingOptions = {}): Tensor {
  const o = scopedOptions(oneHotEncoding, options);
  if (!Number.isInteger(numClasses) || numClasses < 1) {
    throw new Error(`oneHotEncoding: numClasses must be a positive integer, got ${numClasses} (labels ${labels.name})`);
  }
  if (labels.dtype !== "int64" && labels.dtype !== "int32") {
    throw new Error(`oneHotEncoding: labels must be int64 or int32 class ids, got ${labels.dtype} (tensor ${labels.name} ${formatShape(labels.shape)})`);
  }
  const on = o.onValue ?? 1, off = o.offValue ?? 0;
  return opScope(labels.graph, o.scope, "OneHotEncoding", (sc) => {
    const classes = constant(Array.from({ length: numClasses }, (_, i) => i), [numClasses], labels.dtype, labels.graph);
    let y = cast(equal(expandDims(labels, -1), classes), "float32");
    if (on !== 1 || off !== 0) y = add(mul(y, on - off), off);
    return collectNamedOutputs(o.outputsCollections, sc, y);
  });
}
addArgScope(oneHotEncoding, { options: { ...COMMON_OPTIONS, onValue: optionTypes.number, offValue: optionTypes.number } });

/**
 * slim's `stack`: `layer` applied once per entry of `stackArgs`, each output feeding
 * the next. An entry that is an array is spread as the layer's positional
 * arguments, anything else is passed as the one argument; `options` (all but
 * `scope`) go to every call. Calls are scoped `scope/scope_1`, `scope/scope_2`, ...,
 * with the layer's name in place of `scope` when none is given, inside `Stack`.
 *
 * @example
 * ```ts
 * net = stack(net, fullyConnected, [32, 64, 128], { scope: "fc" }); // fc/fc_1, fc/fc_2, fc/fc_3
 * net = stack(net, conv2d, [[32, [3, 3]], [32, [1, 1]], [64, [3, 3]]], { scope: "conv" });
 * ```
 */
export function stack(
  inputs: Tensor,
  // `any`: each layer has its own positional parameters after the inputs.
  // deno-lint-ignore no-explicit-any
  layer: (inputs: Tensor, ...args: any[]) => Tensor,
  stackArgs: readonly unknown[],
  options: { scope?: string } & Record<string, unknown> = {},
): Tensor {
  if (!Array.isArray(stackArgs) || stackArgs.length === 0) {
    throw new Error(`stack: stackArgs must be a non-empty array of ${layer.name || "layer"} arguments, got ${JSON.stringify(stackArgs)}`);
  }
  const { scope, ...rest } = options;
  return layerScope(inputs.graph, scope, "Stack", () => {
    const base = scope ?? (layer.name || "stack");
    let outputs = inputs;
    stackArgs.forEach((args, i) => {
      const positional = Array.isArray(args) ? args : [args];
      outputs = layer(outputs, ...positional, { ...rest, scope: `${base}_${i + 1}` });
    });
    return outputs;
  });
}
