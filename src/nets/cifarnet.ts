/**
 * slim's CifarNet for 32×32 images: two 5×5 convolutions with max pools and
 * local response normalization, two fully connected layers and the logits.
 * NHWC in.
 * @module
 */
import { constantInitializer, truncatedNormalInitializer, zerosInitializer } from "../graph/initializers.ts";
import type { Tensor } from "../graph/tensor.ts";
import { addN, add, mul, pad, pow, relu, slice, softmax, square } from "../ops/mod.ts";
import { type ArgScope, argScope, conv2d, currentArgScope, dropout, flatten, fullyConnected, l2Regularizer, layerScope, maxPool2d } from "../layers/mod.ts";
import { checkNetInputs, type NetResult } from "./net_utils.ts";

/**
 * TF's `local_response_normalization` over the channels of an NHWC map:
 * `x / (bias + alpha·Σ x²)^beta`, the sum over channels within `depthRadius`.
 * (ONNX's LRN divides alpha by the window size; TF does not.) Built from
 * elementwise ops and slices so that it differentiates and runs on every EP.
 *
 * @example
 * ```ts
 * net = localResponseNormalization(net, { depthRadius: 4, bias: 1, alpha: 0.001 / 9, beta: 0.75, name: "norm1" });
 * ```
 */
export function localResponseNormalization(
  x: Tensor,
  { depthRadius = 5, bias = 1, alpha = 1, beta = 0.5, name = "LRN" }: { depthRadius?: number; bias?: number; alpha?: number; beta?: number; name?: string } = {},
): Tensor {
  return x.graph.withScope(name, () => {
    const [n, h, w, c] = x.shape;
    const padded = pad(square(x), [0, 0, 0, depthRadius], [0, 0, 0, depthRadius]);
    const windows = Array.from({ length: 2 * depthRadius + 1 }, (_, i) => slice(padded, [0, 0, 0, i], [n, h, w, c]));
    const sum = windows.length === 1 ? windows[0] : addN(windows);
    return mul(x, pow(add(mul(sum, alpha), bias), -beta));
  });
}

/** Options for `cifarnet`, with slim's defaults. */
export interface CifarnetOptions {
  /** Default 10; 0 or null returns fc4's features. */
  numClasses?: number | null;
  /** Dropout active. Default false. */
  isTraining?: boolean;
  /** Default 0.5. */
  dropoutKeepProb?: number;
  /** Default `CifarNet`. */
  scope?: string;
}

/**
 * CifarNet: conv1 (64, 5×5), pool1 (2×2/2), norm1, conv2 (64, 5×5), norm2,
 * pool2, `Flatten`, fc3 (384), `dropout3`, fc4 (192), logits. 1,756,426
 * trainable parameters for 32×32×3 inputs and 10 classes.
 *
 * @example
 * ```ts
 * const images = placeholder([32, 32, 32, 3], "float32", "images");
 * const [logits, endPoints] = argScope(cifarnetArgScope(), () => cifarnet(images, { isTraining: true }));
 * ```
 */
export function cifarnet(images: Tensor, options: CifarnetOptions = {}): NetResult {
  const { numClasses = 10, isTraining = false, dropoutKeepProb = 0.5, scope } = options;
  checkNetInputs("cifarnet", images, numClasses);
  const endPoints = new Map<string, Tensor>();
  const at = (name: string, t: Tensor) => (endPoints.set(name, t), t);
  const lrn = (x: Tensor, name: string) => localResponseNormalization(x, { depthRadius: 4, bias: 1, alpha: 0.001 / 9, beta: 0.75, name });
  return layerScope(images.graph, scope, "CifarNet", (): NetResult => {
    let net = at("conv1", conv2d(images, 64, [5, 5], { scope: "conv1" }));
    net = at("pool1", maxPool2d(net, [2, 2], { stride: 2, scope: "pool1" }));
    net = lrn(net, "norm1");
    net = at("conv2", conv2d(net, 64, [5, 5], { scope: "conv2" }));
    net = lrn(net, "norm2");
    net = at("pool2", maxPool2d(net, [2, 2], { stride: 2, scope: "pool2" }));
    net = at("Flatten", flatten(net));
    net = at("fc3", fullyConnected(net, 384, { scope: "fc3" }));
    net = dropout(net, { keepProb: dropoutKeepProb, isTraining, scope: "dropout3" });
    net = at("fc4", fullyConnected(net, 192, { scope: "fc4" }));
    if (!numClasses) return [net, endPoints];
    const logits = at("Logits", fullyConnected(net, numClasses, {
      biasesInitializer: zerosInitializer(),
      weightsInitializer: truncatedNormalInitializer({ stddev: 1 / 192 }),
      weightsRegularizer: null,
      activationFn: null,
      scope: "logits",
    }));
    at("Predictions", images.graph.withScope("Predictions", () => softmax(logits)));
    return [logits, endPoints];
  });
}
cifarnet.defaultImageSize = 32;

/**
 * slim's `cifarnet_arg_scope`: truncated-normal init (stddev 0.05) and ReLU for
 * `conv2d`; for `fullyConnected`, biases at 0.1, truncated-normal init (0.04),
 * L2 decay 0.004 and ReLU.
 *
 * @example
 * ```ts
 * argScope(cifarnetArgScope({ weightDecay: 0.004 }), () => cifarnet(images));
 * ```
 */
export function cifarnetArgScope({ weightDecay = 0.004 }: { weightDecay?: number } = {}): ArgScope {
  return argScope([conv2d], { weightsInitializer: truncatedNormalInitializer({ stddev: 5e-2 }), activationFn: relu }, () =>
    argScope([fullyConnected], {
      biasesInitializer: constantInitializer(0.1),
      weightsInitializer: truncatedNormalInitializer({ stddev: 0.04 }),
      weightsRegularizer: l2Regularizer(weightDecay),
      activationFn: relu,
    }, () => currentArgScope()));
}
