/**
 * Inception v3 (Szegedy et al., 2015) as slim defines it: slim's variable names
 * (including its irregular ones: `Mixed_5c/Branch_1/Conv_1_0c_5x5`,
 * `Mixed_6a/Branch_0/Conv2d_1a_1x1` for a 3×3, `Mixed_7b/Branch_1/Conv2d_0b_3x1`),
 * `depthMultiplier` / `minDepth` thinning and the auxiliary classifier on
 * `Mixed_6e`. Batch norm after every convolution comes from `inceptionArgScope`.
 * NHWC in and out.
 * @module
 */
import { truncatedNormalInitializer } from "../graph/initializers.ts";
import type { Tensor } from "../graph/tensor.ts";
import { concat, reduceMean, softmax } from "../ops/mod.ts";
import { argScope, avgPool2d, batchNorm, conv2d, dropout, layerScope, maxPool2d } from "../layers/mod.ts";
import { mixed } from "./inception_utils.ts";
import { checkNetInputs, depthOf, type NetResult, reducedKernelSize, spatialSqueeze as squeezeSpatial } from "./net_utils.ts";

/** Options for `inceptionV3Base`. */
export interface InceptionV3BaseOptions {
  /** Last end point to build. Default `Mixed_7c`. */
  finalEndpoint?: string;
  /** Default 16. */
  minDepth?: number;
  /** Scales every convolution's channels (`max(floor(d·m), minDepth)`). Default 1. */
  depthMultiplier?: number;
  /** Default `InceptionV3`. */
  scope?: string;
}

type Conv = (x: Tensor, depth: number, kernel: [number, number], scope: string, extra?: { stride?: number; padding?: "SAME" | "VALID" }) => Tensor;

/**
 * The convolutional body (slim's `inception_v3_base`), with end points
 * `Conv2d_1a_3x3` ... `MaxPool_5a_3x3`, `Mixed_5b` ... `Mixed_7c`.
 *
 * @example
 * ```ts
 * const [net, endPoints] = argScope(inceptionV3ArgScope(), () => inceptionV3Base(images, { finalEndpoint: "Mixed_6e" }));
 * ```
 */
export function inceptionV3Base(inputs: Tensor, options: InceptionV3BaseOptions = {}): NetResult {
  const { scope, ...rest } = options;
  return layerScope(inputs.graph, scope, "InceptionV3", () => baseInScope(inputs, rest));
}

function baseInScope(inputs: Tensor, { finalEndpoint = "Mixed_7c", minDepth = 16, depthMultiplier = 1 }: Omit<InceptionV3BaseOptions, "scope">): NetResult {
  const depth = depthOf(depthMultiplier, minDepth);
  const conv: Conv = (x, d, kernel, scope, extra = {}) => conv2d(x, depth(d), kernel, { ...extra, scope });
  const endPoints = new Map<string, Tensor>();
  let net = inputs;
  const done = (name: string) => (endPoints.set(name, net), name === finalEndpoint);
  const stem = argScope([conv2d, maxPool2d, avgPool2d], { stride: 1, padding: "VALID" }, () => {
    net = conv(net, 32, [3, 3], "Conv2d_1a_3x3", { stride: 2 });
    if (done("Conv2d_1a_3x3")) return true;
    net = conv(net, 32, [3, 3], "Conv2d_2a_3x3");
    if (done("Conv2d_2a_3x3")) return true;
    net = conv(net, 64, [3, 3], "Conv2d_2b_3x3", { padding: "SAME" });
    if (done("Conv2d_2b_3x3")) return true;
    net = maxPool2d(net, [3, 3], { stride: 2, scope: "MaxPool_3a_3x3" });
    if (done("MaxPool_3a_3x3")) return true;
    net = conv(net, 80, [1, 1], "Conv2d_3b_1x1");
    if (done("Conv2d_3b_1x1")) return true;
    net = conv(net, 192, [3, 3], "Conv2d_4a_3x3");
    if (done("Conv2d_4a_3x3")) return true;
    net = maxPool2d(net, [3, 3], { stride: 2, scope: "MaxPool_5a_3x3" });
    return done("MaxPool_5a_3x3");
  });
  if (stem) return [net, endPoints];
  const finished = argScope([conv2d, maxPool2d, avgPool2d], { stride: 1, padding: "SAME" }, () => {
    const pool = (x: Tensor) => avgPool2d(x, [3, 3], { scope: "AvgPool_0a_3x3" });
    const reduceBlock = (poolDepth: number, b1: [string, string]) => [
      (x: Tensor) => conv(x, 64, [1, 1], "Conv2d_0a_1x1"),
      (x: Tensor) => conv(conv(x, 48, [1, 1], b1[0]), 64, [5, 5], b1[1]),
      (x: Tensor) => conv(conv(conv(x, 64, [1, 1], "Conv2d_0a_1x1"), 96, [3, 3], "Conv2d_0b_3x3"), 96, [3, 3], "Conv2d_0c_3x3"),
      (x: Tensor) => conv(pool(x), poolDepth, [1, 1], "Conv2d_0b_1x1"),
    ];
    net = mixed(net, "Mixed_5b", reduceBlock(32, ["Conv2d_0a_1x1", "Conv2d_0b_5x5"]));
    if (done("Mixed_5b")) return true;
    net = mixed(net, "Mixed_5c", reduceBlock(64, ["Conv2d_0b_1x1", "Conv_1_0c_5x5"]));
    if (done("Mixed_5c")) return true;
    net = mixed(net, "Mixed_5d", reduceBlock(64, ["Conv2d_0a_1x1", "Conv2d_0b_5x5"]));
    if (done("Mixed_5d")) return true;
    const valid2 = { stride: 2, padding: "VALID" as const };
    net = mixed(net, "Mixed_6a", [
      (x) => conv(x, 384, [3, 3], "Conv2d_1a_1x1", valid2),
      (x) => conv(conv(conv(x, 64, [1, 1], "Conv2d_0a_1x1"), 96, [3, 3], "Conv2d_0b_3x3"), 96, [3, 3], "Conv2d_1a_1x1", valid2),
      (x) => maxPool2d(x, [3, 3], { ...valid2, scope: "MaxPool_1a_3x3" }),
    ]);
    if (done("Mixed_6a")) return true;
    for (const [name, w] of [["Mixed_6b", 128], ["Mixed_6c", 160], ["Mixed_6d", 160], ["Mixed_6e", 192]] as const) {
      net = mixed(net, name, [
        (x) => conv(x, 192, [1, 1], "Conv2d_0a_1x1"),
        (x) => conv(conv(conv(x, w, [1, 1], "Conv2d_0a_1x1"), w, [1, 7], "Conv2d_0b_1x7"), 192, [7, 1], "Conv2d_0c_7x1"),
        (x) => {
          let y = conv(x, w, [1, 1], "Conv2d_0a_1x1");
          y = conv(y, w, [7, 1], "Conv2d_0b_7x1");
          y = conv(y, w, [1, 7], "Conv2d_0c_1x7");
          y = conv(y, w, [7, 1], "Conv2d_0d_7x1");
          return conv(y, 192, [1, 7], "Conv2d_0e_1x7");
        },
        (x) => conv(pool(x), 192, [1, 1], "Conv2d_0b_1x1"),
      ]);
      if (done(name)) return true;
    }
    net = mixed(net, "Mixed_7a", [
      (x) => conv(conv(x, 192, [1, 1], "Conv2d_0a_1x1"), 320, [3, 3], "Conv2d_1a_3x3", valid2),
      (x) => {
        let y = conv(x, 192, [1, 1], "Conv2d_0a_1x1");
        y = conv(y, 192, [1, 7], "Conv2d_0b_1x7");
        y = conv(y, 192, [7, 1], "Conv2d_0c_7x1");
        return conv(y, 192, [3, 3], "Conv2d_1a_3x3", valid2);
      },
      (x) => maxPool2d(x, [3, 3], { ...valid2, scope: "MaxPool_1a_3x3" }),
    ]);
    if (done("Mixed_7a")) return true;
    for (const name of ["Mixed_7b", "Mixed_7c"]) {
      // slim names the 3×1 convolution of branch 1 Conv2d_0b_3x1 in Mixed_7b and Conv2d_0c_3x1 in Mixed_7c.
      const b1Tall = name === "Mixed_7b" ? "Conv2d_0b_3x1" : "Conv2d_0c_3x1";
      net = mixed(net, name, [
        (x) => conv(x, 320, [1, 1], "Conv2d_0a_1x1"),
        (x) => {
          const y = conv(x, 384, [1, 1], "Conv2d_0a_1x1");
          return concat([conv(y, 384, [1, 3], "Conv2d_0b_1x3"), conv(y, 384, [3, 1], b1Tall)], 3);
        },
        (x) => {
          const y = conv(conv(x, 448, [1, 1], "Conv2d_0a_1x1"), 384, [3, 3], "Conv2d_0b_3x3");
          return concat([conv(y, 384, [1, 3], "Conv2d_0c_1x3"), conv(y, 384, [3, 1], "Conv2d_0d_3x1")], 3);
        },
        (x) => conv(pool(x), 192, [1, 1], "Conv2d_0b_1x1"),
      ]);
      if (done(name)) return true;
    }
    return false;
  });
  if (!finished) throw new Error(`inceptionV3Base: unknown finalEndpoint ${finalEndpoint}`);
  return [net, endPoints];
}

/** Options for `inceptionV3`, with slim's defaults. */
export interface InceptionV3Options {
  /** Default 1000; 0 or null returns the pooled features. */
  numClasses?: number | null;
  /** Batch norm and dropout in training mode. Default true. */
  isTraining?: boolean;
  /** Default 0.8. */
  dropoutKeepProb?: number;
  /** Default 16. */
  minDepth?: number;
  /** Default 1. */
  depthMultiplier?: number;
  /** Default true. */
  spatialSqueeze?: boolean;
  /** Builds the auxiliary classifier `AuxLogits` on Mixed_6e. Default true. */
  createAuxLogits?: boolean;
  /** Averages over the whole map instead of an 8×8 window. Default false. */
  globalPool?: boolean;
  /** Default `InceptionV3`. */
  scope?: string;
}

/**
 * Inception v3 for classification (slim's `inception_v3`): the body, the
 * auxiliary head (`AuxLogits`: 5×5/3 average pool, 1×1 to 128, a 5×5 VALID to
 * 768 named for its kernel, 1×1 logits) and the main head (`Logits`: average pool
 * over at most 8×8, dropout, 1×1 logits). End points add `AuxLogits`,
 * `PreLogits`, `Logits`, `Predictions`. 27,143,152 trainable parameters at 1000
 * classes, with the auxiliary head. Train with a second loss on
 * `endPoints.get("AuxLogits")` as slim's recipes do (weight 0.4).
 *
 * @example
 * ```ts
 * const images = placeholder([8, 299, 299, 3], "float32", "images");
 * const [logits, endPoints] = argScope(inceptionV3ArgScope(), () => inceptionV3(images, { numClasses: 1000 }));
 * ```
 */
export function inceptionV3(inputs: Tensor, options: InceptionV3Options = {}): NetResult {
  const {
    numClasses = 1000,
    isTraining = true,
    dropoutKeepProb = 0.8,
    minDepth = 16,
    depthMultiplier = 1,
    spatialSqueeze = true,
    createAuxLogits = true,
    globalPool = false,
    scope,
  } = options;
  checkNetInputs("inceptionV3", inputs, numClasses);
  const depth = depthOf(depthMultiplier, minDepth);
  const g = inputs.graph;
  return layerScope(g, scope, "InceptionV3", (): NetResult =>
    argScope([batchNorm, dropout], { isTraining }, (): NetResult => {
      const [body, endPoints] = baseInScope(inputs, { minDepth, depthMultiplier });
      if (createAuxLogits && numClasses) {
        argScope([conv2d, maxPool2d, avgPool2d], { stride: 1, padding: "SAME" }, () =>
          layerScope(g, "AuxLogits", "AuxLogits", () => {
            let aux = avgPool2d(endPoints.get("Mixed_6e")!, [5, 5], { stride: 3, padding: "VALID", scope: "AvgPool_1a_5x5" });
            aux = conv2d(aux, depth(128), [1, 1], { scope: "Conv2d_1b_1x1" });
            const k = reducedKernelSize(aux, [5, 5]);
            aux = conv2d(aux, depth(768), k, { weightsInitializer: truncatedNormalInitializer({ stddev: 0.01 }), padding: "VALID", scope: `Conv2d_2a_${k[0]}x${k[1]}` });
            aux = conv2d(aux, numClasses, [1, 1], {
              activationFn: null,
              normalizerFn: null,
              weightsInitializer: truncatedNormalInitializer({ stddev: 0.001 }),
              scope: "Conv2d_2b_1x1",
            });
            if (spatialSqueeze) aux = squeezeSpatial(aux, "SpatialSqueeze");
            endPoints.set("AuxLogits", aux);
          }));
      }
      const logits = layerScope(g, "Logits", "Logits", () => {
        let net: Tensor;
        if (globalPool) {
          net = g.withScope("GlobalPool", () => reduceMean(body, [1, 2], true));
          endPoints.set("global_pool", net);
        } else {
          const k = reducedKernelSize(body, [8, 8]);
          net = avgPool2d(body, k, { padding: "VALID", scope: `AvgPool_1a_${k[0]}x${k[1]}` });
          endPoints.set("AvgPool_1a", net);
        }
        if (!numClasses) return net;
        net = dropout(net, { keepProb: dropoutKeepProb, scope: "Dropout_1b" });
        endPoints.set("PreLogits", net);
        net = conv2d(net, numClasses, [1, 1], { activationFn: null, normalizerFn: null, scope: "Conv2d_1c_1x1" });
        return spatialSqueeze ? squeezeSpatial(net, "SpatialSqueeze") : net;
      });
      if (!numClasses) return [logits, endPoints];
      endPoints.set("Logits", logits);
      endPoints.set("Predictions", g.withScope("Predictions", () => softmax(logits)));
      return [logits, endPoints];
    }));
}
inceptionV3.defaultImageSize = 299;
