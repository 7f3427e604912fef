/**
 * slim's LeNet variant for 28×28 digits: two 5×5 convolutions with 2×2 max
 * pools, a 1024-wide fully connected layer, dropout and the logits. NHWC in.
 * @module
 */
import { truncatedNormalInitializer } from "../graph/initializers.ts";
import type { Tensor } from "../graph/tensor.ts";
import { relu, softmax } from "../ops/mod.ts";
import { type ArgScope, argScope, conv2d, currentArgScope, dropout, flatten, fullyConnected, l2Regularizer, layerScope, maxPool2d } from "../layers/mod.ts";
import { checkNetInputs, type NetResult } from "./net_utils.ts";

/** Options for `lenet`, with slim's defaults. */
export interface LenetOptions {
  /** Default 10; 0 or null returns fc3's features. */
  numClasses?: number | null;
  /** Dropout active. Default false. */
  isTraining?: boolean;
  /** Default 0.5. */
  dropoutKeepProb?: number;
  /** Default `LeNet`. */
  scope?: string;
}

/**
 * LeNet: conv1 (32, 5×5), pool1, conv2 (64, 5×5), pool2, `Flatten`, fc3 (1024),
 * `dropout3`, fc4 (the logits). 3,274,634 trainable parameters for 28×28×1
 * inputs and 10 classes.
 *
 * @example
 * ```ts
 * const images = placeholder([32, 28, 28, 1], "float32", "images");
 * const [logits, endPoints] = argScope(lenetArgScope(), () => lenet(images, { isTraining: true }));
 * ```
 */
export function lenet(images: Tensor, options: LenetOptions = {}): NetResult {
  const { numClasses = 10, isTraining = false, dropoutKeepProb = 0.5, scope } = options;
  checkNetInputs("lenet", images, numClasses);
  const endPoints = new Map<string, Tensor>();
  const at = (name: string, t: Tensor) => (endPoints.set(name, t), t);
  return layerScope(images.graph, scope, "LeNet", (): NetResult => {
    let net = at("conv1", conv2d(images, 32, [5, 5], { scope: "conv1" }));
    net = at("pool1", maxPool2d(net, [2, 2], { stride: 2, scope: "pool1" }));
    net = at("conv2", conv2d(net, 64, [5, 5], { scope: "conv2" }));
    net = at("pool2", maxPool2d(net, [2, 2], { stride: 2, scope: "pool2" }));
    net = at("Flatten", flatten(net));
    net = at("fc3", fullyConnected(net, 1024, { scope: "fc3" }));
    if (!numClasses) return [net, endPoints];
    net = at("dropout3", dropout(net, { keepProb: dropoutKeepProb, isTraining, scope: "dropout3" }));
    const logits = at("Logits", fullyConnected(net, numClasses, { activationFn: null, scope: "fc4" }));
    at("Predictions", images.graph.withScope("Predictions", () => softmax(logits)));
    return [logits, endPoints];
  });
}
lenet.defaultImageSize = 28;

/**
 * slim's `lenet_arg_scope`: truncated-normal init (stddev 0.1), ReLU and L2 decay
 * (default 0) for `conv2d` and `fullyConnected`.
 *
 * @example
 * ```ts
 * argScope(lenetArgScope({ weightDecay: 0.0005 }), () => lenet(images));
 * ```
 */
export function lenetArgScope({ weightDecay = 0 }: { weightDecay?: number } = {}): ArgScope {
  return argScope([conv2d, fullyConnected], {
    weightsRegularizer: l2Regularizer(weightDecay),
    weightsInitializer: truncatedNormalInitializer({ stddev: 0.1 }),
    activationFn: relu,
  }, () => currentArgScope());
}
