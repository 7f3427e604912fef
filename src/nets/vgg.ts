/**
 * VGG (Simonyan & Zisserman, 2014) as slim defines it: configurations A, D (16
 * layers) and E (19 layers), with the fully connected layers as convolutions,
 * slim's variable names and shapes, and slim's end points. Inputs, end points and
 * outputs are NHWC, as in slim (the step computes in NCHW inside).
 * @module
 */
import type { Initializer } from "../graph/initializers.ts";
import { zerosInitializer } from "../graph/initializers.ts";
import type { Tensor } from "../graph/tensor.ts";
import { formatShape } from "../graph/host_tensor.ts";
import { reduceMean, relu, squeeze } from "../ops/mod.ts";
import { type ArgScope, argScope, currentArgScope } from "../layers/arg_scope.ts";
import { conv2d, fullyConnected } from "../layers/layers.ts";
import { dropout } from "../layers/core.ts";
import { maxPool2d } from "../layers/pooling.ts";
import { l2Regularizer } from "../layers/regularizers.ts";
import { repeat } from "../layers/repeat.ts";
import { checkImageLayout, convertCollectionToDict, layerScope } from "../layers/utils.ts";

/** Options for `vggA`, `vgg16` and `vgg19`, with slim's defaults. */
export interface VggOptions {
  /** Number of classes; 0 or null returns fc7's features instead of logits. Default 1000. */
  numClasses?: number | null;
  /** Whether dropout is active. Default true. */
  isTraining?: boolean;
  /** keepProb of the dropout after fc6 and fc7. Default 0.5. */
  dropoutKeepProb?: number;
  /** Squeezes the logits from [N, 1, 1, C] to [N, C]. Default true. */
  spatialSqueeze?: boolean;
  /** Variable scope; default `vgg_a`, `vgg_16` or `vgg_19`. */
  scope?: string;
  /** fc6's padding: "VALID" (default, needs 224×224 inputs for 1×1 logits) or "SAME". */
  fcConvPadding?: "SAME" | "VALID";
  /** Averages fc7 over space before fc8. Default false. */
  globalPool?: boolean;
}

/** The net's output and its end points by slim's names (`vgg_16/conv1/conv1_1`, ..., `vgg_16/fc8`). */
export type VggResult = [Tensor, Map<string, Tensor>];

/**
 * VGG-11 (configuration A): 8 convolutions, 132,863,336 parameters at 1000 classes.
 *
 * @example
 * ```ts
 * const [logits, endPoints] = argScope(vggArgScope(), () => vggA(images, { numClasses: 10 }));
 * ```
 */
export function vggA(inputs: Tensor, options: VggOptions = {}): VggResult {
  return vgg(inputs, [1, 1, 2, 2, 2], { scope: "vgg_a", ...definedOnly(options) });
}
vggA.defaultImageSize = 224;

/**
 * VGG-16 (configuration D): 13 convolutions, 138,357,544 parameters at 1000 classes.
 *
 * @example
 * ```ts
 * const images = placeholder([32, 224, 224, 3], "float32", "images");
 * const [logits, endPoints] = argScope(vggArgScope(), () => vgg16(images, { numClasses: 1000 }));
 * ```
 */
export function vgg16(inputs: Tensor, options: VggOptions = {}): VggResult {
  return vgg(inputs, [2, 2, 3, 3, 3], { scope: "vgg_16", ...definedOnly(options) });
}
vgg16.defaultImageSize = 224;

/**
 * VGG-19 (configuration E): 16 convolutions, 143,667,240 parameters at 1000 classes.
 *
 * @example
 * ```ts
 * const [logits] = argScope(vggArgScope(), () => vgg19(images, { isTraining: false }));
 * ```
 */
export function vgg19(inputs: Tensor, options: VggOptions = {}): VggResult {
  return vgg(inputs, [2, 2, 4, 4, 4], { scope: "vgg_19", ...definedOnly(options) });
}
vgg19.defaultImageSize = 224;

/**
 * slim's `vgg_arg_scope`: ReLU, L2 weight decay on the weights and zero biases for
 * `conv2d` and `fullyConnected`, SAME padding for `conv2d`. `weightsInitializer`
 * replaces slim's Xavier default (He init, `varianceScalingInitializer()`, trains
 * VGG-16 from scratch where Xavier stalls).
 *
 * @example
 * ```ts
 * argScope(vggArgScope({ weightDecay: 0.0005, weightsInitializer: varianceScalingInitializer() }), () => vgg16(images));
 * ```
 */
export function vggArgScope({ weightDecay = 0.0005, weightsInitializer }: { weightDecay?: number; weightsInitializer?: Initializer } = {}): ArgScope {
  const defaults = {
    activationFn: relu,
    weightsRegularizer: l2Regularizer(weightDecay),
    biasesInitializer: zerosInitializer(),
    ...(weightsInitializer ? { weightsInitializer } : {}),
  };
  return argScope([conv2d, fullyConnected], defaults, () => argScope([conv2d], { padding: "SAME" }, () => currentArgScope()));
}

const WIDTHS = [64, 128, 256, 512, 512];

function vgg(images: Tensor, blocks: number[], options: VggOptions & { scope: string }): VggResult {
  const {
    numClasses = 1000,
    isTraining = true,
    dropoutKeepProb = 0.5,
    spatialSqueeze = true,
    scope,
    fcConvPadding = "VALID",
    globalPool = false,
  } = options;
  if (images.rank !== 4) {
    throw new Error(`${scope}: inputs must be rank 4 NHWC [batch, height, width, channels], got rank ${images.rank} (tensor ${images.name} ${formatShape(images.shape)})`);
  }
  if (numClasses !== null && (!Number.isInteger(numClasses) || numClasses < 0)) {
    throw new Error(`${scope}: numClasses must be a non-negative integer or null, got ${numClasses}`);
  }
  checkImageLayout(scope, images, "NHWC");
  const g = images.graph;
  return layerScope(g, scope, scope, (sc): VggResult => {
    // slim names the collection after the scope's original name scope.
    const collection = `${sc}/_end_points`;
    return argScope([conv2d, fullyConnected, maxPool2d], { outputsCollections: collection }, () => {
      let net = images;
      blocks.forEach((n, i) => {
        net = repeat(net, n, conv2d, WIDTHS[i], [3, 3], { scope: `conv${i + 1}` });
        net = maxPool2d(net, [2, 2], { scope: `pool${i + 1}` });
      });
      checkFc6Fits(scope, images, net, fcConvPadding);
      net = conv2d(net, 4096, [7, 7], { padding: fcConvPadding, scope: "fc6" });
      net = dropout(net, { keepProb: dropoutKeepProb, isTraining, scope: "dropout6" });
      net = conv2d(net, 4096, [1, 1], { scope: "fc7" });
      const endPoints = convertCollectionToDict(collection, g);
      if (globalPool) {
        net = g.withScope("global_pool", () => reduceMean(net, [1, 2], true));
        endPoints.set("global_pool", net);
      }
      if (numClasses) {
        net = dropout(net, { keepProb: dropoutKeepProb, isTraining, scope: "dropout7" });
        net = conv2d(net, numClasses, [1, 1], { activationFn: null, normalizerFn: null, scope: "fc8" });
        if (spatialSqueeze) net = spatialSqueezeOf(net, `${sc}/fc8/squeezed`);
        endPoints.set(`${sc}/fc8`, net);
      }
      return [net, endPoints];
    });
  });
}

/** fc6 is a 7x7 convolution: with slim's VALID padding pool5 must be at least 7x7, i.e. 224x224 images. */
function checkFc6Fits(scope: string, images: Tensor, pool5: Tensor, padding: "SAME" | "VALID"): void {
  const [, h, w] = pool5.shape;
  if (padding !== "VALID" || (h >= 7 && w >= 7)) return;
  const [, ih, iw] = images.shape;
  throw new Error(
    `${scope}: ${ih}x${iw} images leave pool5 ${h}x${w}, smaller than fc6's 7x7 VALID filter (slim's ${scope} expects 224x224); ` +
      `pass fcConvPadding: "SAME" (32x32 to 63x63 images then give [batch, classes] logits), or resize the images to 224x224`,
  );
}

/** [N, 1, 1, C] to [N, C], failing with TF's squeeze message otherwise. */
function spatialSqueezeOf(net: Tensor, name: string): Tensor {
  const [n, h, w, c] = net.shape;
  const bad = h !== 1 ? [1, h] : w !== 1 ? [2, w] : null;
  if (bad) {
    throw new Error(
      `${name}: Can not squeeze dim[${bad[0]}], expected a dimension of 1, got ${bad[1]} with input shapes: [${[n, h, w, c].join(",")}]; ` +
        `pass spatialSqueeze: false, or use inputs whose fc8 map is 1x1 (224x224, or 32x32 to 63x63 with fcConvPadding "SAME")`,
    );
  }
  return net.graph.withScope("fc8/squeezed", () => squeeze(net, [1, 2]));
}

function definedOnly(o: VggOptions): VggOptions {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
}
