/**
 * slim's variable-free layers: `dropout` (identity unless training) and
 * `flatten` (features in the tensor's own order, NHWC for slim's maps).
 * @module
 */
import { formatShape, numElements } from "../graph/host_tensor.ts";
import type { Tensor } from "../graph/tensor.ts";
import { dropout as dropoutOp, reshape } from "../ops/mod.ts";
import { addArgScope, scopedOptions } from "./arg_scope.ts";
import { COMMON_OPTIONS, optionTypes } from "./option_specs.ts";
import { collectNamedOutputs, layerScope, opScope } from "./utils.ts";

/** Options for `dropout`. */
export interface DropoutOptions {
  /** Probability of keeping each element; default 0.5. */
  keepProb?: number;
  /**
   * Shape of the random keep/drop mask, broadcast over `inputs` (slim's
   * `noise_shape`): `[N, 1, 1, C]` drops whole channels of an NHWC map. Default: the inputs' shape.
   */
  noiseShape?: number[];
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
    const y = o.isTraining ?? true ? dropoutOp(inputs, keepProb, { name: "dropout", noiseShape: o.noiseShape }) : inputs;
    return collectNamedOutputs(o.outputsCollections, sc, y);
  });
}
addArgScope(dropout, {
  options: { ...COMMON_OPTIONS, keepProb: optionTypes.number, noiseShape: optionTypes.numbers, isTraining: optionTypes.boolean },
});

/** Options for `flatten`. */
export interface FlattenOptions {
  /** Collections that record the output under the layer's scope name. */
  outputsCollections?: string | string[];
  /** Name scope; default `Flatten`, made unique. */
  scope?: string;
}

/**
 * slim's `flatten`: [batch, ...] to [batch, k], keeping the tensor's element order
 * (an NHWC map flattens as (H, W, C), as slim's does, so `fullyConnected` weights
 * line up with slim checkpoints). A rank-1 tensor becomes [batch, 1].
 *
 * @example
 * ```ts
 * const features = flatten(pool5); // [N, 7, 7, 512] -> [N, 25088]
 * ```
 */
export function flatten(inputs: Tensor, options: FlattenOptions = {}): Tensor {
  const o = scopedOptions(flatten, options);
  if (inputs.rank < 1) {
    throw new Error(`flatten: inputs must have a batch axis (rank 1 or more), got a scalar (tensor ${inputs.name} ${formatShape(inputs.shape)})`);
  }
  return opScope(inputs.graph, o.scope, "Flatten", (sc) =>
    // Features counted here, not inferred, so an unknown batch stays the one -1 of the target.
    collectNamedOutputs(o.outputsCollections, sc, reshape(inputs, [inputs.shape[0], numElements(inputs.shape.slice(1))])));
}
addArgScope(flatten, { options: COMMON_OPTIONS });
