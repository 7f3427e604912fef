/**
 * What slim's Inception nets share: `inceptionArgScope` (batch norm after every
 * convolution, without a learned scale) and the branch/concat plumbing of the
 * mixed blocks.
 * @module
 */
import { GraphKeys } from "../graph/graph.ts";
import { varianceScalingInitializer } from "../graph/initializers.ts";
import type { Tensor } from "../graph/tensor.ts";
import { concat, relu } from "../ops/mod.ts";
import { type ArgScope, argScope, batchNorm, conv2d, currentArgScope, fullyConnected, l2Regularizer, layerScope } from "../layers/mod.ts";

/** Options for `inceptionArgScope`, with slim's defaults. */
export interface InceptionArgScopeOptions {
  /** L2 decay on conv and fully connected weights. Default 0.00004. */
  weightDecay?: number;
  /** Batch norm after each convolution (else biases). Default true. */
  useBatchNorm?: boolean;
  /** Default 0.9997. */
  batchNormDecay?: number;
  /** Default 0.001. */
  batchNormEpsilon?: number;
  /** Default ReLU. */
  activationFn?: ((x: Tensor) => Tensor) | null;
  /** Where batch norm puts its moving-average updates. Default UPDATE_OPS. */
  batchNormUpdatesCollections?: string | null;
  /** Whether batch norm learns a scale (gamma). Default false. */
  batchNormScale?: boolean;
}

/**
 * slim's `inception_arg_scope`: variance-scaling init, L2 decay 0.00004, batch
 * norm (decay 0.9997, epsilon 0.001, no scale) and ReLU for every `conv2d`.
 *
 * @example
 * ```ts
 * const [logits] = argScope(inceptionArgScope(), () => inceptionV3(images, { numClasses: 1000 }));
 * ```
 */
export function inceptionArgScope(options: InceptionArgScopeOptions = {}): ArgScope {
  const {
    weightDecay = 0.00004,
    useBatchNorm = true,
    batchNormDecay = 0.9997,
    batchNormEpsilon = 0.001,
    activationFn = relu,
    batchNormUpdatesCollections = GraphKeys.UPDATE_OPS,
    batchNormScale = false,
  } = options;
  const batchNormParams = { decay: batchNormDecay, epsilon: batchNormEpsilon, updatesCollections: batchNormUpdatesCollections, scale: batchNormScale };
  return argScope([conv2d, fullyConnected], { weightsRegularizer: l2Regularizer(weightDecay) }, () =>
    argScope([conv2d], {
      weightsInitializer: varianceScalingInitializer(),
      activationFn,
      normalizerFn: useBatchNorm ? batchNorm : null,
      normalizerParams: useBatchNorm ? batchNormParams : {},
    }, () => currentArgScope()));
}

/**
 * slim's `inception_v1_arg_scope` (the shared Inception scope).
 *
 * @example
 * ```ts
 * argScope(inceptionV1ArgScope(), () => inceptionV1(images));
 * ```
 */
export const inceptionV1ArgScope = inceptionArgScope;

/**
 * slim's `inception_v3_arg_scope` (the shared Inception scope).
 *
 * @example
 * ```ts
 * argScope(inceptionV3ArgScope({ weightDecay: 4e-5 }), () => inceptionV3(images));
 * ```
 */
export const inceptionV3ArgScope = inceptionArgScope;

/**
 * A mixed block: each branch built in its `Branch_<i>` scope, then concatenated
 * along channels, all inside the block's scope.
 *
 * @example
 * ```ts
 * net = mixed(net, "Mixed_3b", [(x) => conv2d(x, 64, [1, 1], { scope: "Conv2d_0a_1x1" }), ...]);
 * ```
 */
export function mixed(net: Tensor, scope: string, branches: readonly ((x: Tensor) => Tensor)[]): Tensor {
  return layerScope(net.graph, scope, scope, () =>
    concat(branches.map((branch, i) => layerScope(net.graph, `Branch_${i}`, `Branch_${i}`, () => branch(net))), 3));
}
