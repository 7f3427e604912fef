/**
 * ResNet v2 (He et al., 2016, "identity mappings"): full pre-activation
 * bottleneck units, batch norm and ReLU before every convolution, a plain
 * convolution as conv1 and a final `postnorm`. slim's names and shapes; inputs
 * and outputs NHWC. Batch norm follows slim's conventions (see `resnet_v1.ts`).
 * @module
 */
import type { Tensor } from "../graph/tensor.ts";
import { add, relu } from "../ops/mod.ts";
import { addArgScope, argScope, batchNorm, collectNamedOutputs, conv2d, convertCollectionToDict, layerScope, maxPool2d, scopedOptions } from "../layers/mod.ts";
import { checkNetInputs, definedOnly, type NetResult, type SizedNet } from "./net_utils.ts";
import {
  blocksOutputStride,
  type Block,
  conv2dSame,
  imagenetBlocks,
  resnetHead,
  type ResnetOptions,
  stackBlocksDense,
  subsample,
  type UnitOptions,
} from "./resnet_utils.ts";

/**
 * slim's v2 bottleneck unit: `preact` batch norm + ReLU, then 1×1, 3×3 (strided,
 * `conv2dSame`) and a 1×1 with biases and no normalizer; the shortcut is a
 * subsample of the input, or a 1×1 projection (with biases) of `preact` when the
 * depth changes. No activation after the sum. Scope `bottleneck_v2`.
 *
 * @example
 * ```ts
 * net = bottleneckV2(net, { depth: 256, depthBottleneck: 64, stride: 2 });
 * ```
 */
export function bottleneckV2(inputs: Tensor, options: UnitOptions): Tensor {
  const { depth, depthBottleneck, stride, rate = 1, outputsCollections, scope } = scopedOptions(bottleneckV2, options);
  return layerScope(inputs.graph, scope, "bottleneck_v2", (sc) => {
    const preact = batchNorm(inputs, { activationFn: relu, scope: "preact" });
    const shortcut = depth === inputs.shape[3]
      ? subsample(inputs, stride, "shortcut")
      : conv2d(preact, depth, [1, 1], { stride, normalizerFn: null, activationFn: null, scope: "shortcut" });
    let residual = conv2d(preact, depthBottleneck, [1, 1], { stride: 1, scope: "conv1" });
    residual = conv2dSame(residual, depthBottleneck, 3, stride, { rate, scope: "conv2" });
    residual = conv2d(residual, depth, [1, 1], { stride: 1, normalizerFn: null, activationFn: null, scope: "conv3" });
    return collectNamedOutputs(outputsCollections, sc, add(shortcut, residual));
  });
}
addArgScope(bottleneckV2);

/**
 * The ResNet v2 generator (slim's `resnet_v2`): conv1 without batch norm or
 * activation, pool1, the blocks, `postnorm` (batch norm + ReLU), then the head of
 * `resnetHead`. End points as `resnetV1`'s.
 *
 * @example
 * ```ts
 * const blocks = [resnetBlock("block1", bottleneckV2, 16, 2, 1)];
 * const [logits] = argScope(resnetArgScope(), () => resnetV2(images, blocks, { numClasses: 10, scope: "resnet_tiny" }));
 * ```
 */
export function resnetV2(inputs: Tensor, blocks: readonly Block[], options: ResnetOptions = {}): NetResult {
  const { numClasses = 1000, isTraining = true, globalPool = true, outputStride, includeRootBlock = true, spatialSqueeze = true, scope } = options;
  const name = scope ?? "resnet_v2";
  checkNetInputs(name, inputs, numClasses);
  const blockStride = blocksOutputStride(name, outputStride, includeRootBlock);
  return layerScope(inputs.graph, scope, "resnet_v2", (sc): NetResult => {
    const collection = `${sc}/_end_points`;
    return argScope([conv2d, bottleneckV2, stackBlocksDense], { outputsCollections: collection }, () =>
      argScope([batchNorm], { isTraining }, (): NetResult => {
        let net = inputs;
        if (includeRootBlock) {
          // The first unit's preact normalizes conv1's output, so conv1 has neither.
          net = argScope([conv2d], { activationFn: null, normalizerFn: null }, () => conv2dSame(net, 64, 7, 2, { scope: "conv1" }));
          net = maxPool2d(net, [3, 3], { stride: 2, scope: "pool1" });
        }
        net = stackBlocksDense(net, blocks, { outputStride: blockStride });
        net = batchNorm(net, { activationFn: relu, scope: "postnorm" });
        const endPoints = convertCollectionToDict(collection, inputs.graph);
        net = resnetHead(net, endPoints, sc, { globalPool, spatialSqueeze, numClasses });
        return [net, endPoints];
      }));
  });
}

function v2(scope: string, units: [number, number, number, number]): (inputs: Tensor, options?: ResnetOptions) => NetResult {
  const blocks = () => imagenetBlocks(bottleneckV2, units);
  return (inputs: Tensor, options: ResnetOptions = {}): NetResult => resnetV2(inputs, blocks(), { scope, ...definedOnly(options) });
}

/**
 * ResNet-50 v2: blocks of 3, 4, 6 and 3 units; 25,568,360 trainable parameters at 1000 classes.
 *
 * @example
 * ```ts
 * const [logits, endPoints] = argScope(resnetArgScope(), () => resnetV2_50(images, { numClasses: 1000 }));
 * ```
 */
export const resnetV2_50: SizedNet<ResnetOptions> = Object.assign(v2("resnet_v2_50", [3, 4, 6, 3]), { defaultImageSize: 224 });

/**
 * ResNet-101 v2: blocks of 3, 4, 23 and 3 units; 44,577,896 trainable parameters at 1000 classes.
 *
 * @example
 * ```ts
 * const [logits] = argScope(resnetArgScope(), () => resnetV2_101(images, { isTraining: false }));
 * ```
 */
export const resnetV2_101: SizedNet<ResnetOptions> = Object.assign(v2("resnet_v2_101", [3, 4, 23, 3]), { defaultImageSize: 224 });

/**
 * ResNet-152 v2: blocks of 3, 8, 36 and 3 units; 60,236,904 trainable parameters at 1000 classes.
 *
 * @example
 * ```ts
 * const [logits] = argScope(resnetArgScope(), () => resnetV2_152(images, { numClasses: 10 }));
 * ```
 */
export const resnetV2_152: SizedNet<ResnetOptions> = Object.assign(v2("resnet_v2_152", [3, 8, 36, 3]), { defaultImageSize: 224 });
