/**
 * slim's variable-free layers: `dropout` (identity unless training) and
 * `flatten` (features in slim's NHWC order).
 * @module
 */
import { formatShape } from "../graph/host_tensor.ts";
import type { Tensor } from "../graph/tensor.ts";
import { dropout as dropoutOp, reshape, transpose } from "../ops/mod.ts";
import { addArgScope, scopedOptions } from "./arg_scope.ts";
import { collectNamedOutputs, layerScope, opScope } from "./utils.ts";

/** Options for `dropout`. */
export interface DropoutOptions {
  /** Probability of keeping each element; default 0.5. */
  keepProb?: number;
  /** Dropout applies only when training; otherwise the layer is the identity. Default true. */
  isTraining?: boolean;
  /** Collections that record the output under the layer's scope name. */
  outputsCollections?: string | string[];
  /** Variable scope; default `Dropout`, made unique. */
  scope?: string;
}

/**
 * slim's `dropout`: keeps each element with probability `keepProb`, scaling kept
 * ones by 1/keepProb, when `isTraining`; the identity otherwise. The noise is a
 * graph input that the trainer feeds from a seeded stream each step.
 *
 * @example
 * ```ts
 * net = dropout(net, { keepProb: 0.5, isTraining, scope: "dropout6" });
 * ```
 */
export function dropout(inputs: Tensor, options: DropoutOptions = {}): Tensor {
  const o = scopedOptions(dropout, options);
  const keepProb = o.keepProb ?? 0.5;
  if (!(keepProb > 0 && keepProb <= 1)) throw new Error(`dropout: keepProb must be in (0, 1], got ${keepProb} (tensor ${inputs.name})`);
  return layerScope(inputs.graph, o.scope, "Dropout", (sc) => {
    const y = o.isTraining ?? true ? dropoutOp(inputs, keepProb, { name: "dropout" }) : inputs;
    return collectNamedOutputs(o.outputsCollections, sc, y);
  });
}
addArgScope(dropout);

/** Options for `flatten`. */
export interface FlattenOptions {
  /** Collections that record the output under the layer's scope name. */
  outputsCollections?: string | string[];
  /** Name scope; default `Flatten`, made unique. */
  scope?: string;
}

/**
 * slim's `flatten`: [batch, ...] to [batch, k]. NCHW maps are flattened in slim's
 * (H, W, C) order, so `fullyConnected` weights line up with slim checkpoints.
 *
 * @example
 * ```ts
 * const features = flatten(pool5); // [N, 512, 7, 7] -> [N, 25088]
 * ```
 */
export function flatten(inputs: Tensor, options: FlattenOptions = {}): Tensor {
  const o = scopedOptions(flatten, options);
  if (inputs.rank < 2) {
    throw new Error(`flatten: inputs must have rank at least 2, got rank ${inputs.rank} (tensor ${inputs.name} ${formatShape(inputs.shape)})`);
  }
  return opScope(inputs.graph, o.scope, "Flatten", (sc) => {
    // Only a rank-4 map with both channels and pixels needs reordering.
    const [, c, h, w] = inputs.shape;
    const ordered = inputs.rank === 4 && c > 1 && h * w > 1 ? transpose(inputs, [0, 2, 3, 1]) : inputs;
    return collectNamedOutputs(o.outputsCollections, sc, reshape(ordered, [inputs.shape[0], -1]));
  });
}
addArgScope(flatten);
