/**
 * AlexNet v2 ("one weird trick", Krizhevsky 2014) as slim defines it: no LRN,
 * the fully connected layers as convolutions, slim's names and end points. NHWC
 * in and out.
 * @module
 */
import { constantInitializer, truncatedNormalInitializer, zerosInitializer } from "../graph/initializers.ts";
import type { Tensor } from "../graph/tensor.ts";
import { reduceMean, relu } from "../ops/mod.ts";
import {
  type ArgScope,
  argScope,
  conv2d,
  convertCollectionToDict,
  currentArgScope,
  dropout,
  fullyConnected,
  l2Regularizer,
  layerScope,
  maxPool2d,
} from "../layers/mod.ts";
import { checkNetInputs, type NetResult, spatialSqueeze as squeezeSpatial } from "./net_utils.ts";

/** Options for `alexnetV2`, with slim's defaults. */
export interface AlexnetV2Options {
  /** Default 1000; 0 or null returns fc7's features. */
  numClasses?: number | null;
  /** Dropout active. Default true. */
  isTraining?: boolean;
  /** keepProb of the dropouts after fc6 and fc7. Default 0.5. */
  dropoutKeepProb?: number;
  /** Default true. */
  spatialSqueeze?: boolean;
  /** Averages fc7 over space before fc8. Default false. */
  globalPool?: boolean;
  /** Default `alexnet_v2`. */
  scope?: string;
}

/**
 * AlexNet v2: five convolutions (11×11/4 VALID, 5×5, 3×3 ×3) with three 3×3/2
 * max pools, then fc6 (5×5 VALID), fc7, fc8 as convolutions. End points by scope
 * name (`alexnet_v2/conv1` ... `alexnet_v2/fc8`). 50,303,912 trainable parameters
 * at 1000 classes.
 *
 * @example
 * ```ts
 * const images = placeholder([8, 224, 224, 3], "float32", "images");
 * const [logits, endPoints] = argScope(alexnetV2ArgScope(), () => alexnetV2(images, { numClasses: 1000 }));
 * ```
 */
export function alexnetV2(inputs: Tensor, options: AlexnetV2Options = {}): NetResult {
  const { numClasses = 1000, isTraining = true, dropoutKeepProb = 0.5, spatialSqueeze = true, globalPool = false, scope } = options;
  checkNetInputs("alexnetV2", inputs, numClasses);
  const g = inputs.graph;
  return layerScope(g, scope, "alexnet_v2", (sc): NetResult => {
    const collection = `${sc}/_end_points`;
    return argScope([conv2d, fullyConnected, maxPool2d], { outputsCollections: collection }, (): NetResult => {
      let net = conv2d(inputs, 64, [11, 11], { stride: 4, padding: "VALID", scope: "conv1" });
      net = maxPool2d(net, [3, 3], { stride: 2, scope: "pool1" });
      net = conv2d(net, 192, [5, 5], { scope: "conv2" });
      net = maxPool2d(net, [3, 3], { stride: 2, scope: "pool2" });
      net = conv2d(net, 384, [3, 3], { scope: "conv3" });
      net = conv2d(net, 384, [3, 3], { scope: "conv4" });
      net = conv2d(net, 256, [3, 3], { scope: "conv5" });
      net = maxPool2d(net, [3, 3], { stride: 2, scope: "pool5" });
      return argScope([conv2d], { weightsInitializer: truncatedNormalInitializer({ stddev: 0.005 }), biasesInitializer: constantInitializer(0.1) }, (): NetResult => {
        net = conv2d(net, 4096, [5, 5], { padding: "VALID", scope: "fc6" });
        net = dropout(net, { keepProb: dropoutKeepProb, isTraining, scope: "dropout6" });
        net = conv2d(net, 4096, [1, 1], { scope: "fc7" });
        const endPoints = convertCollectionToDict(collection, g);
        if (globalPool) {
          net = g.withScope("global_pool", () => reduceMean(net, [1, 2], true));
          endPoints.set("global_pool", net);
        }
        if (!numClasses) return [net, endPoints];
        net = dropout(net, { keepProb: dropoutKeepProb, isTraining, scope: "dropout7" });
        net = conv2d(net, numClasses, [1, 1], { activationFn: null, normalizerFn: null, biasesInitializer: zerosInitializer(), scope: "fc8" });
        if (spatialSqueeze) net = squeezeSpatial(net, "fc8/squeezed");
        endPoints.set(`${sc}/fc8`, net);
        return [net, endPoints];
      });
    });
  });
}
alexnetV2.defaultImageSize = 224;

/**
 * slim's `alexnet_v2_arg_scope`: ReLU, biases starting at 0.1 and L2 decay for
 * `conv2d` and `fullyConnected`; SAME convolutions, VALID max pools.
 *
 * @example
 * ```ts
 * argScope(alexnetV2ArgScope({ weightDecay: 0.0005 }), () => alexnetV2(images));
 * ```
 */
export function alexnetV2ArgScope({ weightDecay = 0.0005 }: { weightDecay?: number } = {}): ArgScope {
  return argScope([conv2d, fullyConnected], { activationFn: relu, biasesInitializer: constantInitializer(0.1), weightsRegularizer: l2Regularizer(weightDecay) }, () =>
    argScope([conv2d], { padding: "SAME" }, () => argScope([maxPool2d], { padding: "VALID" }, () => currentArgScope())));
}
