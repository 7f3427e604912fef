/**
 * What slim's ResNets v1 and v2 share: blocks of bottleneck units, `conv2dSame`
 * (a strided convolution padded independently of the input size),
 * `subsample`, `stackBlocksDense` with its `outputStride` (atrous convolution
 * once the requested stride is reached), and `resnetArgScope`.
 *
 * Padding of strided convolutions: TF's "SAME" pads a stride-2 convolution of an
 * even-sized map more at the end than at the start, and by how much depends on the
 * map's size. slim's ResNets avoid that with `conv2dSame`, which pads
 * `(k-1)/2` before and the rest after, then convolves "VALID". PyTorch's
 * `padding=k//2` pads both sides equally; for a 3×3 stride-2 convolution the two
 * agree in output size but read different pixels. Follow slim here.
 * @module
 */
import { GraphKeys } from "../graph/graph.ts";
import { varianceScalingInitializer } from "../graph/initializers.ts";
import type { Tensor } from "../graph/tensor.ts";
import { pad, reduceMean, relu, softmax } from "../ops/mod.ts";
import { spatialSqueeze } from "./net_utils.ts";
import {
  addArgScope,
  type ArgScope,
  argScope,
  batchNorm,
  collectNamedOutputs,
  conv2d,
  currentArgScope,
  l2Regularizer,
  layerScope,
  maxPool2d,
  scopedOptions,
} from "../layers/mod.ts";

/** One unit's arguments: output depth, bottleneck depth and stride. */
export interface UnitArgs {
  depth: number;
  depthBottleneck: number;
  stride: number;
}

/** Options a residual unit receives from `stackBlocksDense`. */
export interface UnitOptions extends UnitArgs {
  /** Atrous rate of the unit's 3×3 convolution. Default 1. */
  rate?: number;
  outputsCollections?: string | string[];
  scope?: string;
}

/** A residual unit (`bottleneckV1`, `bottleneckV2`). */
export type UnitFn = (inputs: Tensor, options: UnitOptions) => Tensor;

/** slim's `resnet_utils.Block`: a scope, a unit function, and one `UnitArgs` per unit. */
export interface Block {
  scope: string;
  unitFn: UnitFn;
  args: UnitArgs[];
}

/**
 * A block of `numUnits` bottleneck units of depth `4·baseDepth`, the last with
 * `stride` (slim subsamples at the end of a block, not the start).
 *
 * @example
 * ```ts
 * resnetBlock("block1", bottleneckV1, 64, 3, 2); // 3 units: 256 deep, stride 1, 1, 2
 * ```
 */
export function resnetBlock(scope: string, unitFn: UnitFn, baseDepth: number, numUnits: number, stride: number): Block {
  const unit = (s: number): UnitArgs => ({ depth: baseDepth * 4, depthBottleneck: baseDepth, stride: s });
  return { scope, unitFn, args: [...Array.from({ length: numUnits - 1 }, () => unit(1)), unit(stride)] };
}

/**
 * The four blocks of slim's ImageNet ResNets (v1 and v2 alike): base depths 64,
 * 128, 256 and 512 with `units` units each, blocks 1-3 ending in stride 2.
 *
 * @example
 * ```ts
 * imagenetBlocks(bottleneckV1, [3, 4, 6, 3]); // ResNet-50's
 * ```
 */
export function imagenetBlocks(unitFn: UnitFn, units: readonly [number, number, number, number]): Block[] {
  return [
    resnetBlock("block1", unitFn, 64, units[0], 2),
    resnetBlock("block2", unitFn, 128, units[1], 2),
    resnetBlock("block3", unitFn, 256, units[2], 2),
    resnetBlock("block4", unitFn, 512, units[3], 1),
  ];
}

/**
 * Subsamples an NHWC map by `factor` (a 1×1 max pool with that stride); the
 * input itself when `factor` is 1.
 *
 * @example
 * ```ts
 * const shortcut = subsample(inputs, 2, "shortcut"); // [N, 56, 56, 256] -> [N, 28, 28, 256]
 * ```
 */
export function subsample(inputs: Tensor, factor: number, scope?: string): Tensor {
  if (factor === 1) return inputs;
  return maxPool2d(inputs, [1, 1], { stride: factor, scope });
}

/**
 * A strided "SAME" convolution whose padding does not depend on the input size:
 * with stride 1 a plain SAME `conv2d`; otherwise pads `(k_eff-1)/2` rows and
 * columns before and the rest after, then convolves "VALID" (slim's
 * `conv2d_same`).
 *
 * @example
 * ```ts
 * net = conv2dSame(images, 64, 7, 2, { scope: "conv1" }); // 224 -> 112, padded 3 before and 3 after
 * ```
 */
export function conv2dSame(inputs: Tensor, numOutputs: number, kernelSize: number, stride: number, { rate = 1, scope }: { rate?: number; scope?: string } = {}): Tensor {
  if (stride === 1) return conv2d(inputs, numOutputs, kernelSize, { stride: 1, rate, padding: "SAME", scope });
  const effective = kernelSize + (kernelSize - 1) * (rate - 1);
  const before = Math.floor((effective - 1) / 2);
  const after = effective - 1 - before;
  const padded = pad(inputs, [0, before, before, 0], [0, after, after, 0]);
  return conv2d(padded, numOutputs, kernelSize, { stride, rate, padding: "VALID", scope });
}

/** Options for `stackBlocksDense`. */
export interface StackBlocksOptions {
  /** Ratio of input to output resolution; default the product of all strides. */
  outputStride?: number | null;
  /** Collections recording each block's output under the block's scope name. */
  outputsCollections?: string | string[];
}

/**
 * Runs the blocks in `block_name/unit_<i>` scopes. With `outputStride`, once the
 * running stride reaches it, later units run with stride 1 and a growing atrous
 * rate instead (slim's `stack_blocks_dense`). Fails when `outputStride` cannot be
 * reached exactly.
 *
 * @example
 * ```ts
 * net = stackBlocksDense(net, blocks, { outputStride: 8 });
 * ```
 */
export function stackBlocksDense(net: Tensor, blocks: readonly Block[], options: StackBlocksOptions = {}): Tensor {
  const { outputStride, outputsCollections } = scopedOptions(stackBlocksDense, options);
  let currentStride = 1;
  let rate = 1;
  const unreachable = () => new Error(`stackBlocksDense: the target outputStride ${outputStride} cannot be reached`);
  for (const block of blocks) {
    net = layerScope(net.graph, block.scope, "block", (sc) => {
      let x = net;
      block.args.forEach((unit, i) => {
        x = layerScope(x.graph, `unit_${i + 1}`, "unit", () => {
          if (outputStride != null && currentStride === outputStride) {
            const y = block.unitFn(x, { ...unit, stride: 1, rate });
            rate *= unit.stride;
            return y;
          }
          const y = block.unitFn(x, { ...unit, rate: 1 });
          currentStride *= unit.stride;
          if (outputStride != null && currentStride > outputStride) throw unreachable();
          return y;
        });
      });
      return collectNamedOutputs(outputsCollections, sc, x);
    });
  }
  if (outputStride != null && currentStride !== outputStride) throw unreachable();
  return net;
}
addArgScope(stackBlocksDense);

/** Options for `resnetArgScope`, with slim's defaults. */
export interface ResnetArgScopeOptions {
  /** L2 weight decay on the convolution weights. Default 0.0001. */
  weightDecay?: number;
  /** Moving-average decay of batch norm. Default 0.997. */
  batchNormDecay?: number;
  /** Default 1e-5. */
  batchNormEpsilon?: number;
  /** Whether batch norm learns a scale (gamma). Default true. */
  batchNormScale?: boolean;
  /** Default ReLU. */
  activationFn?: ((x: Tensor) => Tensor) | null;
  /** Default true; false gives convolutions biases and no normalizer. */
  useBatchNorm?: boolean;
  /** Where batch norm puts its moving-average updates. Default UPDATE_OPS. */
  batchNormUpdatesCollections?: string | null;
}

/**
 * slim's `resnet_arg_scope`: He (variance scaling) init and L2 decay on the
 * convolutions, batch norm after each (decay 0.997, epsilon 1e-5, with scale),
 * ReLU, and SAME padding for `maxPool2d` (pool1).
 *
 * @example
 * ```ts
 * const [logits] = argScope(resnetArgScope({ weightDecay: 1e-4 }), () => resnetV1_50(images, { numClasses: 10 }));
 * ```
 */
export function resnetArgScope(options: ResnetArgScopeOptions = {}): ArgScope {
  const {
    weightDecay = 0.0001,
    batchNormDecay = 0.997,
    batchNormEpsilon = 1e-5,
    batchNormScale = true,
    activationFn = relu,
    useBatchNorm = true,
    batchNormUpdatesCollections = GraphKeys.UPDATE_OPS,
  } = options;
  const batchNormParams = { decay: batchNormDecay, epsilon: batchNormEpsilon, scale: batchNormScale, updatesCollections: batchNormUpdatesCollections };
  return argScope([conv2d], {
    weightsRegularizer: l2Regularizer(weightDecay),
    weightsInitializer: varianceScalingInitializer(),
    activationFn,
    normalizerFn: useBatchNorm ? batchNorm : null,
    normalizerParams: batchNormParams,
  }, () => argScope([batchNorm], batchNormParams, () => argScope([maxPool2d], { padding: "SAME" }, () => currentArgScope())));
}

/** Options shared by every ResNet, with slim's defaults. */
export interface ResnetOptions {
  /** Number of classes; 0 or null returns the last block's features (pooled when `globalPool`). Default 1000. */
  numClasses?: number | null;
  /** Whether batch norm normalizes with batch statistics and updates its moving averages. Default true. */
  isTraining?: boolean;
  /** Averages the last block over space before the logits. Default true. */
  globalPool?: boolean;
  /** Ratio of input to output resolution (a multiple of 4); default 32. */
  outputStride?: number | null;
  /** Includes conv1 and pool1. Default true. */
  includeRootBlock?: boolean;
  /** Squeezes [N, 1, 1, C] logits to [N, C]. Default true. */
  spatialSqueeze?: boolean;
  /** Variable scope; default the net's name (`resnet_v1_50`, ...). */
  scope?: string;
}

/**
 * `outputStride` for the blocks, once the root block's stride of 4 is taken off.
 *
 * @example
 * ```ts
 * blocksOutputStride("resnet_v1_50", 16, true); // 4
 * ```
 */
export function blocksOutputStride(net: string, outputStride: number | null | undefined, includeRootBlock: boolean): number | null {
  if (outputStride == null) return null;
  if (!includeRootBlock) return outputStride;
  if (outputStride % 4 !== 0) throw new Error(`${net}: outputStride must be a multiple of 4, got ${outputStride}`);
  return outputStride / 4;
}

/**
 * The classifier both ResNet versions end with: global average pool (`pool5`),
 * the 1×1 `logits` convolution with biases and no normalizer, the squeeze and
 * the softmax `predictions`, each recorded as slim names it.
 *
 * @example
 * ```ts
 * net = resnetHead(net, endPoints, "resnet_v1_50", { globalPool: true, spatialSqueeze: true, numClasses: 1000 });
 * ```
 */
export function resnetHead(net: Tensor, endPoints: Map<string, Tensor>, sc: string, o: Required<Pick<ResnetOptions, "globalPool" | "spatialSqueeze">> & { numClasses: number | null }): Tensor {
  if (o.globalPool) {
    net = net.graph.withScope("pool5", () => reduceMean(net, [1, 2], true));
    endPoints.set("global_pool", net);
  }
  if (o.numClasses) {
    net = conv2d(net, o.numClasses, [1, 1], { activationFn: null, normalizerFn: null, scope: "logits" });
    endPoints.set(`${sc}/logits`, net);
    if (o.spatialSqueeze) {
      net = spatialSqueeze(net, "SpatialSqueeze");
      endPoints.set(`${sc}/spatial_squeeze`, net);
    }
    endPoints.set("predictions", net.graph.withScope("predictions", () => softmax(net)));
  }
  return net;
}
