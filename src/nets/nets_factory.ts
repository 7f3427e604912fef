/**
 * slim's `nets_factory`: every net by slim's name, with its arg scope, behind one
 * `getNetworkFn`.
 * @module
 */
import type { Tensor } from "../graph/tensor.ts";
import { type ArgScope, argScope } from "../layers/mod.ts";
import { alexnetV2, alexnetV2ArgScope } from "./alexnet.ts";
import { cifarnet, cifarnetArgScope } from "./cifarnet.ts";
import { inceptionArgScope } from "./inception_utils.ts";
import { inceptionV1 } from "./inception_v1.ts";
import { inceptionV3 } from "./inception_v3.ts";
import { lenet, lenetArgScope } from "./lenet.ts";
import { mobilenetV1, mobilenetV1_025, mobilenetV1_050, mobilenetV1_075, mobilenetV1ArgScope } from "./mobilenet_v1.ts";
import { mobilenetV2, mobilenetV2_035, mobilenetV2_140, trainingScope } from "./mobilenet_v2.ts";
import type { NetResult } from "./net_utils.ts";
import { resnetArgScope } from "./resnet_utils.ts";
import { resnetV1_101, resnetV1_152, resnetV1_50 } from "./resnet_v1.ts";
import { resnetV2_101, resnetV2_152, resnetV2_50 } from "./resnet_v2.ts";
import { vgg16, vgg19, vggA, vggArgScope } from "./vgg.ts";

/** The options every net takes from the factory. */
interface FactoryNetOptions {
  numClasses?: number | null;
  isTraining?: boolean;
}

type Net = ((images: Tensor, options?: FactoryNetOptions) => NetResult) & { defaultImageSize: number };
type ArgScopeFactory = (options: { weightDecay?: number }) => ArgScope;

const NETWORKS: Readonly<Record<string, [Net, ArgScopeFactory]>> = {
  alexnet_v2: [alexnetV2, alexnetV2ArgScope],
  cifarnet: [cifarnet, cifarnetArgScope],
  vgg_a: [vggA, vggArgScope],
  vgg_16: [vgg16, vggArgScope],
  vgg_19: [vgg19, vggArgScope],
  inception_v1: [inceptionV1, inceptionArgScope],
  inception_v3: [inceptionV3, inceptionArgScope],
  lenet: [lenet, lenetArgScope],
  resnet_v1_50: [resnetV1_50, resnetArgScope],
  resnet_v1_101: [resnetV1_101, resnetArgScope],
  resnet_v1_152: [resnetV1_152, resnetArgScope],
  resnet_v2_50: [resnetV2_50, resnetArgScope],
  resnet_v2_101: [resnetV2_101, resnetArgScope],
  resnet_v2_152: [resnetV2_152, resnetArgScope],
  mobilenet_v1: [mobilenetV1, mobilenetV1ArgScope],
  mobilenet_v1_075: [mobilenetV1_075, mobilenetV1ArgScope],
  mobilenet_v1_050: [mobilenetV1_050, mobilenetV1ArgScope],
  mobilenet_v1_025: [mobilenetV1_025, mobilenetV1ArgScope],
  mobilenet_v2: [mobilenetV2, trainingScope],
  mobilenet_v2_140: [mobilenetV2_140, trainingScope],
  mobilenet_v2_035: [mobilenetV2_035, trainingScope],
};

/**
 * The names `getNetworkFn` knows, as slim spells them.
 *
 * @example
 * ```ts
 * networkNames().includes("resnet_v1_50"); // true
 * ```
 */
export function networkNames(): string[] {
  return Object.keys(NETWORKS);
}

/** Options for `getNetworkFn`, as slim's `get_network_fn` takes them. */
export interface NetworkFnOptions {
  /** Number of classes of the logits. */
  numClasses: number;
  /** L2 coefficient for the weights, given to the net's arg scope. Default 0. */
  weightDecay?: number;
  /** Training mode (batch norm statistics, dropout). Default false. */
  isTraining?: boolean;
}

/** A net ready to apply: images (NHWC) to `[logits, endPoints]`, with the size it was designed for. */
export type NetworkFn = ((images: Tensor) => NetResult) & { defaultImageSize: number; netName: string };

/**
 * slim's `nets_factory.get_network_fn`: the net called `name` with its own arg
 * scope (at `weightDecay`) applied around it, as a function of the images.
 *
 * @example
 * ```ts
 * const networkFn = getNetworkFn("resnet_v1_50", { numClasses: 10, weightDecay: 1e-4, isTraining: true });
 * const size = networkFn.defaultImageSize; // 224
 * const [logits, endPoints] = networkFn(placeholder([8, size, size, 3], "float32", "images"));
 * ```
 */
export function getNetworkFn(name: string, options: NetworkFnOptions): NetworkFn {
  const entry = Object.hasOwn(NETWORKS, name) ? NETWORKS[name] : undefined;
  if (!entry) throw new Error(`getNetworkFn: unknown network ${JSON.stringify(name)}; known networks: ${networkNames().join(", ")}`);
  const [net, scopeFactory] = entry;
  const { numClasses, weightDecay = 0, isTraining = false } = options;
  const scope = scopeFactory({ weightDecay });
  const fn = (images: Tensor): NetResult => argScope(scope, () => net(images, { numClasses, isTraining }));
  return Object.assign(fn, { defaultImageSize: net.defaultImageSize, netName: name });
}
