/**
 * Inception v1 / GoogLeNet (Szegedy et al., 2014) as slim defines it: slim's
 * variable names, batch norm after every convolution (from `inceptionArgScope`),
 * 3×3 convolutions where the paper's branch 2 has 5×5 (as slim's checkpoints and
 * torchvision's `googlenet`), and no auxiliary heads. NHWC in and out.
 * @module
 */
import { truncatedNormalInitializer } from "../graph/initializers.ts";
import type { Tensor } from "../graph/tensor.ts";
import { reduceMean, softmax } from "../ops/mod.ts";
import { argScope, avgPool2d, batchNorm, conv2d, dropout, fullyConnected, layerScope, maxPool2d } from "../layers/mod.ts";
import { mixed } from "./inception_utils.ts";
import { checkNetInputs, type NetResult, spatialSqueeze as squeezeSpatial } from "./net_utils.ts";

/** Widths of each mixed block: branch 0; branch 1 reduce, 3×3; branch 2 reduce, 3×3; branch 3 pool projection. */
const MIXED: readonly [string, [number, number, number, number, number, number]][] = [
  ["Mixed_3b", [64, 96, 128, 16, 32, 32]],
  ["Mixed_3c", [128, 128, 192, 32, 96, 64]],
  ["MaxPool_4a_3x3", [0, 0, 0, 0, 0, 0]],
  ["Mixed_4b", [192, 96, 208, 16, 48, 64]],
  ["Mixed_4c", [160, 112, 224, 24, 64, 64]],
  ["Mixed_4d", [128, 128, 256, 24, 64, 64]],
  ["Mixed_4e", [112, 144, 288, 32, 64, 64]],
  ["Mixed_4f", [256, 160, 320, 32, 128, 128]],
  ["MaxPool_5a_2x2", [0, 0, 0, 0, 0, 0]],
  ["Mixed_5b", [256, 160, 320, 32, 128, 128]],
  ["Mixed_5c", [384, 192, 384, 48, 128, 128]],
];

/** Options for `inceptionV1Base`. */
export interface InceptionV1BaseOptions {
  /** Last end point to build. Default `Mixed_5c`. */
  finalEndpoint?: string;
  /** Includes the stem (convolutions and pools before Mixed_3b). Default true. */
  includeRootBlock?: boolean;
  /** Default `InceptionV1`. */
  scope?: string;
}

/**
 * The convolutional body (slim's `inception_v1_base`), with end points
 * `Conv2d_1a_7x7`, `MaxPool_2a_3x3`, `Conv2d_2b_1x1`, `Conv2d_2c_3x3`,
 * `MaxPool_3a_3x3`, `Mixed_3b` ... `Mixed_5c`.
 *
 * @example
 * ```ts
 * const [net, endPoints] = argScope(inceptionV1ArgScope(), () => inceptionV1Base(images, { finalEndpoint: "Mixed_4f" }));
 * ```
 */
export function inceptionV1Base(inputs: Tensor, options: InceptionV1BaseOptions = {}): NetResult {
  const { scope, ...rest } = options;
  return layerScope(inputs.graph, scope, "InceptionV1", () => baseInScope(inputs, rest));
}

function baseInScope(inputs: Tensor, { finalEndpoint = "Mixed_5c", includeRootBlock = true }: Omit<InceptionV1BaseOptions, "scope">): NetResult {
  const endPoints = new Map<string, Tensor>();
  const result = argScope([conv2d, fullyConnected], { weightsInitializer: truncatedNormalInitializer({ stddev: 0.01 }) }, () =>
    argScope([conv2d, maxPool2d], { stride: 1, padding: "SAME" }, (): Tensor | null => {
      let net = inputs;
      const done = (name: string) => (endPoints.set(name, net), name === finalEndpoint);
      if (includeRootBlock) {
        net = conv2d(net, 64, [7, 7], { stride: 2, scope: "Conv2d_1a_7x7" });
        if (done("Conv2d_1a_7x7")) return net;
        net = maxPool2d(net, [3, 3], { stride: 2, scope: "MaxPool_2a_3x3" });
        if (done("MaxPool_2a_3x3")) return net;
        net = conv2d(net, 64, [1, 1], { scope: "Conv2d_2b_1x1" });
        if (done("Conv2d_2b_1x1")) return net;
        net = conv2d(net, 192, [3, 3], { scope: "Conv2d_2c_3x3" });
        if (done("Conv2d_2c_3x3")) return net;
        net = maxPool2d(net, [3, 3], { stride: 2, scope: "MaxPool_3a_3x3" });
        if (done("MaxPool_3a_3x3")) return net;
      }
      for (const [name, [a, b1, b2, c1, c2, d]] of MIXED) {
        if (name.startsWith("MaxPool")) {
          const k = name.endsWith("2x2") ? 2 : 3;
          net = maxPool2d(net, [k, k], { stride: 2, scope: name });
        } else {
          // slim names Mixed_5b's second branch-2 convolution Conv2d_0a_3x3.
          const c2Scope = name === "Mixed_5b" ? "Conv2d_0a_3x3" : "Conv2d_0b_3x3";
          net = mixed(net, name, [
            (x) => conv2d(x, a, [1, 1], { scope: "Conv2d_0a_1x1" }),
            (x) => conv2d(conv2d(x, b1, [1, 1], { scope: "Conv2d_0a_1x1" }), b2, [3, 3], { scope: "Conv2d_0b_3x3" }),
            (x) => conv2d(conv2d(x, c1, [1, 1], { scope: "Conv2d_0a_1x1" }), c2, [3, 3], { scope: c2Scope }),
            (x) => conv2d(maxPool2d(x, [3, 3], { scope: "MaxPool_0a_3x3" }), d, [1, 1], { scope: "Conv2d_0b_1x1" }),
          ]);
        }
        if (done(name)) return net;
      }
      return null;
    }));
  if (!result) throw new Error(`inceptionV1Base: unknown finalEndpoint ${finalEndpoint}`);
  return [result, endPoints];
}

/** Options for `inceptionV1`, with slim's defaults. */
export interface InceptionV1Options {
  /** Default 1000; 0 or null returns the pooled features. */
  numClasses?: number | null;
  /** Batch norm and dropout in training mode. Default true. */
  isTraining?: boolean;
  /** Default 0.8. */
  dropoutKeepProb?: number;
  /** Default true. */
  spatialSqueeze?: boolean;
  /** Averages over the whole map instead of a fixed 7×7 window (for inputs other than 224×224). Default false. */
  globalPool?: boolean;
  /** Default `InceptionV1`. */
  scope?: string;
}

/**
 * Inception v1 for classification (slim's `inception_v1`): the body, a 7×7
 * average pool `Logits/AvgPool_0a_7x7` (or `global_pool`), dropout and the 1×1
 * logits `Logits/Conv2d_0c_1x1`. 6,617,624 trainable parameters at 1000 classes.
 *
 * @example
 * ```ts
 * const images = placeholder([8, 224, 224, 3], "float32", "images");
 * const [logits, endPoints] = argScope(inceptionV1ArgScope(), () => inceptionV1(images, { numClasses: 1000 }));
 * ```
 */
export function inceptionV1(inputs: Tensor, options: InceptionV1Options = {}): NetResult {
  const { numClasses = 1000, isTraining = true, dropoutKeepProb = 0.8, spatialSqueeze = true, globalPool = false, scope } = options;
  checkNetInputs("inceptionV1", inputs, numClasses);
  return layerScope(inputs.graph, scope, "InceptionV1", (): NetResult =>
    argScope([batchNorm, dropout], { isTraining }, (): NetResult => {
      const [body, endPoints] = baseInScope(inputs, {});
      const logits = layerScope(inputs.graph, "Logits", "Logits", () => {
        let net: Tensor;
        if (globalPool) {
          net = inputs.graph.withScope("global_pool", () => reduceMean(body, [1, 2], true));
          endPoints.set("global_pool", net);
        } else {
          net = avgPool2d(body, [7, 7], { stride: 1, padding: "VALID", scope: "AvgPool_0a_7x7" });
          endPoints.set("AvgPool_0a_7x7", net);
        }
        if (!numClasses) return net;
        net = dropout(net, { keepProb: dropoutKeepProb, scope: "Dropout_0b" });
        net = conv2d(net, numClasses, [1, 1], { activationFn: null, normalizerFn: null, scope: "Conv2d_0c_1x1" });
        return spatialSqueeze ? squeezeSpatial(net, "SpatialSqueeze") : net;
      });
      if (!numClasses) return [logits, endPoints];
      endPoints.set("Logits", logits);
      endPoints.set("Predictions", inputs.graph.withScope("Predictions", () => softmax(logits)));
      return [logits, endPoints];
    }));
}
inceptionV1.defaultImageSize = 224;
