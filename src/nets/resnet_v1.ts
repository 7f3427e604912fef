/**
 * ResNet v1 (He et al., 2015) as slim defines it: bottleneck units with batch
 * norm after every convolution, projection shortcuts only where the depth
 * changes, and each block's stride in its last unit (torchvision's ResNet-50
 * strides in the first unit's 3×3 convolution instead; the variables and their
 * count are the same). Inputs and outputs are NHWC.
 *
 * Batch norm follows slim: the moving averages update as
 * `moving = decay·moving + (1-decay)·batch` (PyTorch's `momentum` is `1-decay`,
 * 0.003 for slim's 0.997 against PyTorch's default 0.1); epsilon is 1e-5 here, as
 * in PyTorch. Activations are normalized with the biased batch variance, and
 * the moving variance takes the unbiased one (slim's default fused kernel
 * applies Bessel's correction, as PyTorch does).
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
 * slim's v1 bottleneck unit: 1×1, 3×3 (strided, `conv2dSame`), 1×1 without
 * activation, plus the shortcut (a subsample, or a 1×1 projection with batch norm
 * when the depth changes), then ReLU. Scope `bottleneck_v1`.
 *
 * @example
 * ```ts
 * net = bottleneckV1(net, { depth: 256, depthBottleneck: 64, stride: 1 });
 * ```
 */
export function bottleneckV1(inputs: Tensor, options: UnitOptions): Tensor {
  const { depth, depthBottleneck, stride, rate = 1, outputsCollections, scope } = scopedOptions(bottleneckV1, options);
  return layerScope(inputs.graph, scope, "bottleneck_v1", (sc) => {
    const shortcut = depth === inputs.shape[3]
      ? subsample(inputs, stride, "shortcut")
      : conv2d(inputs, depth, [1, 1], { stride, activationFn: null, scope: "shortcut" });
    let residual = conv2d(inputs, depthBottleneck, [1, 1], { stride: 1, scope: "conv1" });
    residual = conv2dSame(residual, depthBottleneck, 3, stride, { rate, scope: "conv2" });
    residual = conv2d(residual, depth, [1, 1], { stride: 1, activationFn: null, scope: "conv3" });
    return collectNamedOutputs(outputsCollections, sc, relu(add(shortcut, residual)));
  });
}
addArgScope(bottleneckV1);

/**
 * The ResNet v1 generator (slim's `resnet_v1`): root block (7×7/2 convolution,
 * 3×3/2 max pool), the blocks, then `resnetHead`. End points: every convolution,
 * unit and block by scope name, `global_pool`, `<scope>/logits`,
 * `<scope>/spatial_squeeze` and `predictions`.
 *
 * @example
 * ```ts
 * const blocks = [resnetBlock("block1", bottleneckV1, 64, 2, 2), resnetBlock("block2", bottleneckV1, 128, 2, 1)];
 * const [logits] = argScope(resnetArgScope(), () => resnetV1(images, blocks, { numClasses: 10, scope: "resnet_small" }));
 * ```
 */
export function resnetV1(inputs: Tensor, blocks: readonly Block[], options: ResnetOptions = {}): NetResult {
  const { numClasses = 1000, isTraining = true, globalPool = true, outputStride, includeRootBlock = true, spatialSqueeze = true, scope } = options;
  const name = scope ?? "resnet_v1";
  checkNetInputs(name, inputs, numClasses);
  const blockStride = blocksOutputStride(name, outputStride, includeRootBlock);
  return layerScope(inputs.graph, scope, "resnet_v1", (sc): NetResult => {
    const collection = `${sc}/_end_points`;
    return argScope([conv2d, bottleneckV1, stackBlocksDense], { outputsCollections: collection }, () =>
      argScope([batchNorm], { isTraining }, (): NetResult => {
        let net = inputs;
        if (includeRootBlock) {
          net = conv2dSame(net, 64, 7, 2, { scope: "conv1" });
          net = maxPool2d(net, [3, 3], { stride: 2, scope: "pool1" });
        }
        net = stackBlocksDense(net, blocks, { outputStride: blockStride });
        const endPoints = convertCollectionToDict(collection, inputs.graph);
        net = resnetHead(net, endPoints, sc, { globalPool, spatialSqueeze, numClasses });
        return [net, endPoints];
      }));
  });
}

function v1(scope: string, units: [number, number, number, number]): (inputs: Tensor, options?: ResnetOptions) => NetResult {
  const blocks = () => imagenetBlocks(bottleneckV1, units);
  return (inputs: Tensor, options: ResnetOptions = {}): NetResult => resnetV1(inputs, blocks(), { scope, ...definedOnly(options) });
}

/**
 * ResNet-50 v1: blocks of 3, 4, 6 and 3 units; 25,557,032 trainable parameters at
 * 1000 classes (torchvision's `resnet50` has the same count), plus 53,120 moving
 * means and variances.
 *
 * @example
 * ```ts
 * const images = placeholder([8, 224, 224, 3], "float32", "images");
 * const [logits, endPoints] = argScope(resnetArgScope(), () => resnetV1_50(images, { numClasses: 1000 }));
 * endPoints.get("resnet_v1_50/block4"); // [8, 7, 7, 2048]
 * ```
 */
export const resnetV1_50: SizedNet<ResnetOptions> = Object.assign(v1("resnet_v1_50", [3, 4, 6, 3]), { defaultImageSize: 224 });

/**
 * ResNet-101 v1: blocks of 3, 4, 23 and 3 units; 44,549,160 trainable parameters at 1000 classes.
 *
 * @example
 * ```ts
 * const [logits] = argScope(resnetArgScope(), () => resnetV1_101(images, { numClasses: 21, globalPool: false, spatialSqueeze: false, outputStride: 16 }));
 * ```
 */
export const resnetV1_101: SizedNet<ResnetOptions> = Object.assign(v1("resnet_v1_101", [3, 4, 23, 3]), { defaultImageSize: 224 });

/**
 * ResNet-152 v1: blocks of 3, 8, 36 and 3 units; 60,192,808 trainable parameters at 1000 classes.
 *
 * @example
 * ```ts
 * const [logits] = argScope(resnetArgScope(), () => resnetV1_152(images, { isTraining: false }));
 * ```
 */
export const resnetV1_152: SizedNet<ResnetOptions> = Object.assign(v1("resnet_v1_152", [3, 8, 36, 3]), { defaultImageSize: 224 });
