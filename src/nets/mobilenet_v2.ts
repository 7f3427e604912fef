/**
 * MobileNet v2 (Sandler et al., 2018) as slim defines it: a 3×3 convolution,
 * 17 inverted-residual blocks (`expandedConv`: 1×1 expansion by 6 + ReLU6, 3×3
 * depthwise + ReLU6, linear 1×1 projection, a residual where shapes allow), a
 * 1×1 convolution to 1280 channels, global average pooling and the logits. Every
 * convolution has batch norm (center and scale). NHWC in and out.
 *
 * Where slim and torchvision differ: slim's logits are a 1×1 convolution (same
 * parameters as torchvision's `Linear`, stored [1, 1, 1280, classes]); slim
 * defaults to 1001 classes (a background class) and to evaluation mode unless
 * built under `trainingScope()`; batch norm's moving averages keep `decay` (0.997)
 * of their value per step where PyTorch's `momentum` (default 0.1) is the share
 * of the batch, and epsilon is 0.001 (PyTorch's default 1e-5); strided
 * depthwise convolutions use TF's SAME padding,
 * which on even-sized maps pads one pixel after and none before (PyTorch pads
 * one on each side).
 * @module
 */
import { truncatedNormalInitializer, xavierInitializer, zerosInitializer } from "../graph/initializers.ts";
import type { Tensor } from "../graph/tensor.ts";
import { add, identity, softmax } from "../ops/mod.ts";
import {
  addArgScope,
  type ArgScope,
  argScope,
  avgPool2d,
  batchNorm,
  conv2d,
  currentArgScope,
  dropout,
  fullyConnected,
  l2Regularizer,
  layerScope,
  relu6,
  scopedOptions,
  separableConv2d,
} from "../layers/mod.ts";
import { checkNetInputs, definedOnly, type NetResult, spatialSqueeze, type SizedNet } from "./net_utils.ts";

/**
 * slim's `_make_divisible`: `v` rounded to the nearest multiple of `divisor`
 * (at least `minValue`), bumped up one step if rounding lost more than 10%.
 *
 * @example
 * ```ts
 * makeDivisible(32 * 0.35, 8); // 16
 * ```
 */
export function makeDivisible(v: number, divisor: number, minValue: number = divisor): number {
  let rounded = Math.max(minValue, Math.floor(Math.floor(v + divisor / 2) / divisor) * divisor);
  if (rounded < 0.9 * v) rounded += divisor;
  return rounded;
}

/** Options for `expandedConv`, with slim's defaults. */
export interface ExpandedConvOptions {
  /** Channels of the projection (the block's output). */
  numOutputs: number;
  /** Inner width, or a function of the input width. Default `makeDivisible(6·in, 8)`. */
  expansionSize?: number | ((numInputs: number) => number);
  /** Stride of the depthwise convolution. Default 1. */
  stride?: number;
  /** Atrous rate of the depthwise convolution. Default 1. */
  rate?: number;
  /** Depthwise kernel. Default [3, 3]. */
  kernelSize?: [number, number];
  /** Adds the input when stride is 1 and the widths match. Default true. */
  residual?: boolean;
  /** Normalizer of all three convolutions. Default none (MobileNet v2 sets batch norm). */
  normalizerFn?: ((x: Tensor, params: Record<string, unknown>) => Tensor) | null;
  /** Activation after the projection. Default none (linear bottleneck). */
  projectActivationFn?: ((x: Tensor) => Tensor) | null;
  /** Default "SAME". */
  padding?: "SAME" | "VALID";
  /** Variable scope. Default `expanded_conv`, made unique. */
  scope?: string;
}

/** `expandedConv`'s output and the inner tensors slim records (`expansion_output`, `depthwise_output`, `output`). */
export interface ExpandedConvResult {
  output: Tensor;
  inner: Map<string, Tensor>;
}

/**
 * slim's `expanded_conv` (the inverted residual block): 1×1 `expand` (skipped
 * when the inner width would not exceed the input's), 3×3 `depthwise`, 1×1
 * `project` without activation, and the residual.
 *
 * @example
 * ```ts
 * const { output } = expandedConv(net, { numOutputs: 24, stride: 2, normalizerFn: batchNorm });
 * ```
 */
export function expandedConv(inputs: Tensor, options: ExpandedConvOptions): ExpandedConvResult {
  const o = scopedOptions(expandedConv, options);
  const { numOutputs, stride = 1, rate = 1, kernelSize = [3, 3], residual = true, normalizerFn = null, projectActivationFn = null, padding = "SAME" } = o;
  const expansion = o.expansionSize ?? ((n: number) => makeDivisible(n * 6, 8));
  const inner = new Map<string, Tensor>();
  const output = layerScope(inputs.graph, o.scope, "expanded_conv", () => {
    const prevDepth = inputs.shape[3];
    let net = inputs;
    const innerSize = typeof expansion === "function" ? expansion(prevDepth) : expansion;
    if (innerSize > prevDepth) {
      net = conv2d(net, innerSize, [1, 1], { stride: 1, normalizerFn, scope: "expand" });
      inner.set("expansion_output", net);
    }
    net = separableConv2d(net, null, kernelSize, { depthMultiplier: 1, stride, rate, normalizerFn, padding, scope: "depthwise" });
    inner.set("depthwise_output", net);
    net = conv2d(net, numOutputs, [1, 1], { stride: 1, normalizerFn, activationFn: projectActivationFn, scope: "project" });
    if (residual && stride === 1 && net.shape[3] === prevDepth) net = add(net, inputs);
    return inputs.graph.withScope("output", () => identity(net));
  });
  inner.set("output", output);
  return { output, inner };
}
addArgScope(expandedConv);

/** One layer of slim's `V2_DEF`: a convolution or an expanded block, before the depth multiplier. */
type LayerDef =
  | { op: "conv"; stride: number; numOutputs: number; kernelSize: [number, number] }
  | { op: "expanded"; stride: number; numOutputs: number; expandBy?: number };

const V2_DEF: readonly LayerDef[] = [
  { op: "conv", stride: 2, numOutputs: 32, kernelSize: [3, 3] },
  // The first block expands by 1, so it has no expansion convolution.
  { op: "expanded", stride: 1, numOutputs: 16, expandBy: 1 },
  ...([[2, 24], [1, 24], [2, 32], [1, 32], [1, 32], [2, 64], [1, 64], [1, 64], [1, 64], [1, 96], [1, 96], [1, 96], [2, 160], [1, 160], [1, 160], [1, 320]] as const)
    .map(([stride, numOutputs]): LayerDef => ({ op: "expanded", stride, numOutputs })),
  { op: "conv", stride: 1, numOutputs: 1280, kernelSize: [1, 1] },
];

/** Options for `mobilenetV2`, with slim's defaults. */
export interface MobilenetV2Options {
  /** Default 1001 (ImageNet plus background, as slim's checkpoints); 0 or null returns the pooled features. */
  numClasses?: number | null;
  /** Scales every layer's width (`makeDivisible(d·m, divisibleBy, minDepth)`). Default 1. */
  depthMultiplier?: number;
  /** Keeps the last convolution at 1280 channels when the multiplier is below 1. Default false. */
  finegrainClassificationMode?: boolean;
  /** Default 8. */
  minDepth?: number;
  /** Default 8. */
  divisibleBy?: number;
  /** Replaces ReLU6 in every convolution. */
  activationFn?: (x: Tensor) => Tensor;
  /** 1 or an even number: stride at which atrous convolution takes over. Default 32. */
  outputStride?: number | null;
  /** Batch norm in training mode; default false unless `trainingScope()` says otherwise (slim's convention). */
  isTraining?: boolean;
  /** Default `MobilenetV2`. */
  scope?: string;
}

/**
 * MobileNet v2 for classification (slim's `mobilenet_v2.mobilenet`). End points:
 * `layer_1` ... `layer_19`, `layer_<i>/expansion_output`, `layer_<i>/depthwise_output`,
 * `layer_<i>/output` for the blocks, `global_pool`, `Logits`, `Predictions`.
 * 3,504,872 trainable parameters at 1.0 and 1000 classes (torchvision's
 * `mobilenet_v2` has the same), 3,506,153 at slim's default 1001.
 *
 * @example
 * ```ts
 * const images = placeholder([8, 224, 224, 3], "float32", "images");
 * const [logits, endPoints] = argScope(trainingScope(), () => mobilenetV2(images, { numClasses: 1000 }));
 * ```
 */
export function mobilenetV2(inputs: Tensor, options: MobilenetV2Options = {}): NetResult {
  const o = scopedOptions(mobilenetV2, options);
  const { numClasses = 1001, depthMultiplier = 1, finegrainClassificationMode = false, minDepth = 8, divisibleBy = 8, activationFn, outputStride, isTraining = false, scope } = o;
  checkNetInputs("mobilenetV2", inputs, numClasses);
  if (!(depthMultiplier > 0)) throw new Error(`mobilenetV2: depthMultiplier must be greater than zero, got ${depthMultiplier}`);
  if (outputStride != null && (outputStride === 0 || (outputStride > 1 && outputStride % 2 !== 0))) {
    throw new Error(`mobilenetV2: outputStride must be null, 1 or a multiple of 2, got ${outputStride}`);
  }
  const depth = (d: number) => makeDivisible(d * depthMultiplier, divisibleBy, minDepth);
  const act = activationFn ?? relu6;
  return layerScope(inputs.graph, scope, "MobilenetV2", (): NetResult =>
    argScope([batchNorm], { isTraining, center: true, scale: true }, () =>
      argScope([conv2d, fullyConnected, separableConv2d], { normalizerFn: batchNorm, activationFn: act }, () =>
        argScope([expandedConv], { normalizerFn: batchNorm, residual: true }, () =>
          argScope([conv2d, separableConv2d], { padding: "SAME" }, (): NetResult => {
            const endPoints = new Map<string, Tensor>();
            let net = inputs;
            let currentStride = 1, rate = 1;
            V2_DEF.forEach((def, i) => {
              let layerStride = def.stride, layerRate = 1;
              if (outputStride != null && currentStride === outputStride) {
                layerStride = 1;
                layerRate = rate;
                rate *= def.stride;
              } else {
                currentStride *= def.stride;
              }
              const layer = `layer_${i + 1}`;
              const last = i === V2_DEF.length - 1;
              const width = last && finegrainClassificationMode && depthMultiplier < 1 ? def.numOutputs : depth(def.numOutputs);
              if (def.op === "conv") {
                net = conv2d(net, width, def.kernelSize, { stride: layerStride, ...(layerRate > 1 ? { rate: layerRate } : {}) });
              } else {
                const expandBy = def.expandBy;
                const { output, inner } = expandedConv(net, {
                  numOutputs: width,
                  stride: layerStride,
                  rate: layerRate,
                  ...(expandBy ? { expansionSize: (n: number) => makeDivisible(n * expandBy, 1) } : {}),
                });
                net = output;
                for (const [k, t] of inner) endPoints.set(`${layer}/${k}`, t);
              }
              endPoints.set(layer, net);
            });
            const logits = layerScope(inputs.graph, "Logits", "Logits", () => {
              let pooled = avgPool2d(net, [net.shape[1], net.shape[2]], { stride: 1, padding: "VALID", scope: "AvgPool" });
              endPoints.set("global_pool", pooled);
              if (!numClasses) return null;
              pooled = dropout(pooled, { isTraining, scope: "Dropout" });
              const y = conv2d(pooled, numClasses, [1, 1], { activationFn: null, normalizerFn: null, biasesInitializer: zerosInitializer(), scope: "Conv2d_1c_1x1" });
              return inputs.graph.withScope("output", () => identity(spatialSqueeze(y, "SpatialSqueeze")));
            });
            if (!logits) return [endPoints.get("global_pool")!, endPoints];
            endPoints.set("Logits", logits);
            endPoints.set("Predictions", inputs.graph.withScope("Predictions", () => softmax(logits)));
            return [logits, endPoints];
          })))));
}
addArgScope(mobilenetV2);
mobilenetV2.defaultImageSize = 224;

function withMultiplier(depthMultiplier: number, finegrainClassificationMode: boolean): SizedNet<MobilenetV2Options> {
  return Object.assign(
    (inputs: Tensor, options: MobilenetV2Options = {}): NetResult =>
      mobilenetV2(inputs, { depthMultiplier, finegrainClassificationMode, ...definedOnly(options) }),
    { defaultImageSize: 224 },
  );
}

/**
 * MobileNet v2 at depth multiplier 1.4.
 *
 * @example
 * ```ts
 * const [logits] = argScope(trainingScope(), () => mobilenetV2_140(images));
 * ```
 */
export const mobilenetV2_140: SizedNet<MobilenetV2Options> = withMultiplier(1.4, false);

/**
 * MobileNet v2 at depth multiplier 0.5, the last convolution kept at 1280 channels.
 *
 * @example
 * ```ts
 * const [logits] = argScope(trainingScope(), () => mobilenetV2_050(images));
 * ```
 */
export const mobilenetV2_050: SizedNet<MobilenetV2Options> = withMultiplier(0.5, true);

/**
 * MobileNet v2 at depth multiplier 0.35, the last convolution kept at 1280 channels.
 *
 * @example
 * ```ts
 * const [logits] = argScope(trainingScope(), () => mobilenetV2_035(images));
 * ```
 */
export const mobilenetV2_035: SizedNet<MobilenetV2Options> = withMultiplier(0.35, true);

/** Options for `trainingScope`, with slim's defaults. */
export interface MobilenetV2TrainingScopeOptions {
  /** Default true; false builds every part in evaluation mode. */
  isTraining?: boolean;
  /** L2 decay on the regular convolutions (not the depthwise ones). Default 0.00004. */
  weightDecay?: number;
  /** Truncated-normal init stddev; negative for Xavier. Default 0.09. */
  stddev?: number;
  /** Default 0.8. */
  dropoutKeepProb?: number;
  /** Batch norm's moving-average decay. Default 0.997. */
  bnDecay?: number;
}

/**
 * slim's MobileNet v2 `training_scope`: training mode for the net, batch norm
 * (decay 0.997) and dropout (keep 0.8); truncated-normal init (stddev 0.09); L2
 * decay 0.00004 on `conv2d` weights only.
 *
 * @example
 * ```ts
 * const [logits] = argScope(trainingScope({ weightDecay: 4e-5 }), () => mobilenetV2(images, { numClasses: 10 }));
 * ```
 */
export function trainingScope(options: MobilenetV2TrainingScopeOptions = {}): ArgScope {
  const { isTraining = true, weightDecay = 0.00004, stddev = 0.09, dropoutKeepProb = 0.8, bnDecay = 0.997 } = options;
  const weightsInitializer = stddev < 0 ? xavierInitializer() : truncatedNormalInitializer({ stddev });
  return argScope([conv2d, fullyConnected, separableConv2d], { weightsInitializer, normalizerFn: batchNorm }, () =>
    argScope([mobilenetV2], { isTraining }, () =>
      argScope([batchNorm], { isTraining, decay: bnDecay }, () =>
        argScope([dropout], { isTraining, keepProb: dropoutKeepProb }, () =>
          argScope([conv2d], { weightsRegularizer: l2Regularizer(weightDecay) }, () =>
            argScope([separableConv2d], { weightsRegularizer: null }, () => currentArgScope()))))));
}
