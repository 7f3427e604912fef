/**
 * MobileNet v1 (Howard et al., 2017) as slim defines it: a 3×3 convolution then
 * 13 depthwise-separable layers (3×3 depthwise + batch norm + ReLU6, 1×1
 * pointwise + batch norm + ReLU6), with slim's `depthMultiplier` / `minDepth`
 * thinning and `outputStride`. NHWC in and out.
 * @module
 */
import { truncatedNormalInitializer } from "../graph/initializers.ts";
import type { Tensor } from "../graph/tensor.ts";
import { reduceMean, softmax } from "../ops/mod.ts";
import {
  type ArgScope,
  argScope,
  avgPool2d,
  batchNorm,
  conv2d,
  currentArgScope,
  dropout,
  l2Regularizer,
  layerScope,
  relu6,
  separableConv2d,
} from "../layers/mod.ts";
import { checkNetInputs, definedOnly, depthOf, type NetResult, reducedKernelSize, spatialSqueeze as squeezeSpatial, type SizedNet } from "./net_utils.ts";

/** slim's `_CONV_DEFS`: layer 0 is a full convolution, the rest depthwise-separable; [stride, depth]. */
const CONV_DEFS: readonly [number, number][] = [
  [2, 32], [1, 64], [2, 128], [1, 128], [2, 256], [1, 256], [2, 512],
  [1, 512], [1, 512], [1, 512], [1, 512], [1, 512], [2, 1024], [1, 1024],
];

/** Options for `mobilenetV1Base`. */
export interface MobilenetV1BaseOptions {
  /** Last layer to build, e.g. `Conv2d_13_pointwise` (default) or `Conv2d_5_depthwise`. */
  finalEndpoint?: string;
  /** Channels never go below this when thinned. Default 8. */
  minDepth?: number;
  /** Scales every layer's channels (`max(floor(d·m), minDepth)`). Default 1. */
  depthMultiplier?: number;
  /** 8, 16 or 32: stride at which atrous convolution takes over. Default 32. */
  outputStride?: number | null;
  /** Variable scope. Default `MobilenetV1`. */
  scope?: string;
}

/**
 * The convolutional body (slim's `mobilenet_v1_base`): returns the
 * `finalEndpoint` tensor and end points `Conv2d_0`, `Conv2d_<i>_depthwise`,
 * `Conv2d_<i>_pointwise`.
 *
 * @example
 * ```ts
 * const [features, endPoints] = argScope(mobilenetV1ArgScope(), () => mobilenetV1Base(images, { finalEndpoint: "Conv2d_11_pointwise" }));
 * ```
 */
export function mobilenetV1Base(inputs: Tensor, options: MobilenetV1BaseOptions = {}): NetResult {
  const { scope, ...rest } = options;
  return layerScope(inputs.graph, scope, "MobilenetV1", () => bodyInScope(inputs, rest));
}

/** The body in the current scope: the classifier builds it inside its own `MobilenetV1`, as slim hands its scope down. */
function bodyInScope(inputs: Tensor, options: Omit<MobilenetV1BaseOptions, "scope">): NetResult {
  const { finalEndpoint = "Conv2d_13_pointwise", minDepth = 8, depthMultiplier = 1, outputStride } = options;
  const depth = depthOf(depthMultiplier, minDepth);
  if (outputStride != null && ![8, 16, 32].includes(outputStride)) {
    throw new Error(`mobilenetV1Base: outputStride must be 8, 16 or 32, got ${outputStride}`);
  }
  const endPoints = new Map<string, Tensor>();
  const record = (name: string, t: Tensor) => (endPoints.set(name, t), name === finalEndpoint);
  const result = argScope([conv2d, separableConv2d], { padding: "SAME" }, (): Tensor | null => {
    let currentStride = 1;
    let rate = 1;
    let net = inputs;
    for (let i = 0; i < CONV_DEFS.length; i++) {
      const [stride, d] = CONV_DEFS[i];
      let layerStride = stride, layerRate = 1;
      if (outputStride != null && currentStride === outputStride) {
        layerStride = 1;
        layerRate = rate;
        rate *= stride;
      } else {
        currentStride *= stride;
      }
      if (i === 0) {
        net = conv2d(net, depth(d), [3, 3], { stride, normalizerFn: batchNorm, scope: "Conv2d_0" });
        if (record("Conv2d_0", net)) return net;
        continue;
      }
      net = separableConv2d(net, null, [3, 3], { depthMultiplier: 1, stride: layerStride, rate: layerRate, normalizerFn: batchNorm, scope: `Conv2d_${i}_depthwise` });
      if (record(`Conv2d_${i}_depthwise`, net)) return net;
      net = conv2d(net, depth(d), [1, 1], { stride: 1, normalizerFn: batchNorm, scope: `Conv2d_${i}_pointwise` });
      if (record(`Conv2d_${i}_pointwise`, net)) return net;
    }
    return null;
  });
  if (!result) throw new Error(`mobilenetV1Base: unknown finalEndpoint ${finalEndpoint}`);
  return [result, endPoints];
}

/** Options for `mobilenetV1` and its thinned variants, with slim's defaults. */
export interface MobilenetV1Options {
  /** Default 1000; 0 or null returns the pooled features. */
  numClasses?: number | null;
  /** keepProb of the dropout before the logits. Default 0.999. */
  dropoutKeepProb?: number;
  /** Batch norm and dropout in training mode. Default true. */
  isTraining?: boolean;
  /** Default 8. */
  minDepth?: number;
  /** Default 1 (0.75, 0.5, 0.25 for the `_075`, `_050`, `_025` variants). */
  depthMultiplier?: number;
  /** Squeezes [N, 1, 1, C] logits to [N, C]. Default true. */
  spatialSqueeze?: boolean;
  /** Averages over the whole map (end point `global_pool`) instead of a 7×7 window (`AvgPool_1a`). Default false. */
  globalPool?: boolean;
  /** Default `MobilenetV1`. */
  scope?: string;
}

/**
 * MobileNet v1 for classification (slim's `mobilenet_v1`): the body, an average
 * pool over at most 7×7 (`Logits/AvgPool_1a`), dropout, and the 1×1 logits
 * convolution `Logits/Conv2d_1c_1x1`. End points add `AvgPool_1a`, `Logits`
 * and `Predictions`. 4,231,976 trainable parameters at 1.0 and 1000 classes.
 *
 * @example
 * ```ts
 * const images = placeholder([8, 224, 224, 3], "float32", "images");
 * const [logits, endPoints] = argScope(mobilenetV1ArgScope(), () => mobilenetV1(images, { numClasses: 1000 }));
 * ```
 */
export function mobilenetV1(inputs: Tensor, options: MobilenetV1Options = {}): NetResult {
  const { numClasses = 1000, dropoutKeepProb = 0.999, isTraining = true, minDepth = 8, depthMultiplier = 1, spatialSqueeze = true, globalPool = false, scope } = options;
  checkNetInputs("mobilenetV1", inputs, numClasses);
  return layerScope(inputs.graph, scope, "MobilenetV1", (): NetResult =>
    argScope([batchNorm, dropout], { isTraining }, (): NetResult => {
      const [body, endPoints] = bodyInScope(inputs, { minDepth, depthMultiplier });
      const logits = layerScope(inputs.graph, "Logits", "Logits", () => {
        let net: Tensor;
        if (globalPool) {
          net = inputs.graph.withScope("global_pool", () => reduceMean(body, [1, 2], true));
          endPoints.set("global_pool", net);
        } else {
          net = avgPool2d(body, reducedKernelSize(body, [7, 7]), { padding: "VALID", scope: "AvgPool_1a" });
          endPoints.set("AvgPool_1a", net);
        }
        if (!numClasses) return net;
        net = dropout(net, { keepProb: dropoutKeepProb, scope: "Dropout_1b" });
        net = conv2d(net, numClasses, [1, 1], { activationFn: null, normalizerFn: null, scope: "Conv2d_1c_1x1" });
        return spatialSqueeze ? squeezeSpatial(net, "SpatialSqueeze") : net;
      });
      if (!numClasses) return [logits, endPoints];
      endPoints.set("Logits", logits);
      endPoints.set("Predictions", inputs.graph.withScope("Predictions", () => softmax(logits)));
      return [logits, endPoints];
    }));
}
mobilenetV1.defaultImageSize = 224;

function thinned(multiplier: number): SizedNet<MobilenetV1Options> {
  return Object.assign(
    (inputs: Tensor, options: MobilenetV1Options = {}): NetResult => mobilenetV1(inputs, { depthMultiplier: multiplier, ...definedOnly(options) }),
    { defaultImageSize: 224 },
  );
}

/**
 * MobileNet v1 at depth multiplier 0.75: 2,585,560 trainable parameters at 1000 classes.
 *
 * @example
 * ```ts
 * const [logits] = argScope(mobilenetV1ArgScope(), () => mobilenetV1_075(images, { numClasses: 10 }));
 * ```
 */
export const mobilenetV1_075: SizedNet<MobilenetV1Options> = thinned(0.75);

/**
 * MobileNet v1 at depth multiplier 0.5: 1,331,592 trainable parameters at 1000 classes.
 *
 * @example
 * ```ts
 * const [logits] = argScope(mobilenetV1ArgScope(), () => mobilenetV1_050(images));
 * ```
 */
export const mobilenetV1_050: SizedNet<MobilenetV1Options> = thinned(0.5);

/**
 * MobileNet v1 at depth multiplier 0.25: 470,072 trainable parameters at 1000 classes.
 *
 * @example
 * ```ts
 * const [logits] = argScope(mobilenetV1ArgScope(), () => mobilenetV1_025(images));
 * ```
 */
export const mobilenetV1_025: SizedNet<MobilenetV1Options> = thinned(0.25);

/** Options for `mobilenetV1ArgScope`, with slim's defaults. */
export interface MobilenetV1ArgScopeOptions {
  /** Default true. */
  isTraining?: boolean;
  /** L2 decay on the convolution weights. Default 0.00004. */
  weightDecay?: number;
  /** Standard deviation of the truncated-normal weight initializer. Default 0.09. */
  stddev?: number;
  /** Also decay the depthwise filters. Default false. */
  regularizeDepthwise?: boolean;
  /** Default 0.9997. */
  batchNormDecay?: number;
  /** Default 0.001. */
  batchNormEpsilon?: number;
}

/**
 * slim's `mobilenet_v1_arg_scope`: truncated-normal init (stddev 0.09), batch
 * norm (center and scale, decay 0.9997, epsilon 0.001) and ReLU6 after every
 * convolution, L2 decay 0.00004 on the regular ones only.
 *
 * @example
 * ```ts
 * argScope(mobilenetV1ArgScope({ weightDecay: 0 }), () => mobilenetV1(images));
 * ```
 */
export function mobilenetV1ArgScope(options: MobilenetV1ArgScopeOptions = {}): ArgScope {
  const { isTraining = true, weightDecay = 0.00004, stddev = 0.09, regularizeDepthwise = false, batchNormDecay = 0.9997, batchNormEpsilon = 0.001 } = options;
  const regularizer = l2Regularizer(weightDecay);
  return argScope([conv2d, separableConv2d], {
    weightsInitializer: truncatedNormalInitializer({ stddev }),
    activationFn: relu6,
    normalizerFn: batchNorm,
  }, () =>
    argScope([batchNorm], { isTraining, center: true, scale: true, decay: batchNormDecay, epsilon: batchNormEpsilon }, () =>
      argScope([conv2d], { weightsRegularizer: regularizer }, () =>
        argScope([separableConv2d], { weightsRegularizer: regularizeDepthwise ? regularizer : null }, () => currentArgScope()))));
}
