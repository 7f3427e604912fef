/**
 * slim's preprocessing factory: the preprocessing each net was trained with, by
 * name (`getPreprocessing("resnet_v1_50", true)` is VGG's training preprocessing).
 * @module
 */
import type { HostTensor } from "../../graph/host_tensor.ts";
import type { Random } from "../../graph/random.ts";
import { cifarnetPreprocess } from "./cifarnet.ts";
import { inceptionPreprocess } from "./inception.ts";
import { lenetPreprocess } from "./lenet.ts";
import { vggPreprocess } from "./vgg.ts";

/** One image in ([H, W, C], values in [0, 1]), one preprocessed image out ([outputHeight, outputWidth, C]). */
export type PreprocessingFn = (image: HostTensor, outputHeight: number, outputWidth: number, random?: Random) => HostTensor;

type Family = "vgg" | "inception" | "lenet" | "cifarnet";

/**
 * Which preprocessing each name selects, as slim's factory maps them. slim has no
 * entry for `alexnet_v2`; here it gets VGG's, the one its paper used.
 */
const FAMILIES: Record<string, Family> = {
  cifarnet: "cifarnet",
  inception: "inception",
  inception_v1: "inception",
  inception_v2: "inception",
  inception_v3: "inception",
  inception_v4: "inception",
  inception_resnet_v2: "inception",
  lenet: "lenet",
  mobilenet_v1: "inception",
  mobilenet_v1_075: "inception",
  mobilenet_v1_050: "inception",
  mobilenet_v1_025: "inception",
  mobilenet_v2: "inception",
  mobilenet_v2_035: "inception",
  mobilenet_v2_140: "inception",
  resnet_v1_50: "vgg",
  resnet_v1_101: "vgg",
  resnet_v1_152: "vgg",
  resnet_v1_200: "vgg",
  resnet_v2_50: "vgg",
  resnet_v2_101: "vgg",
  resnet_v2_152: "vgg",
  resnet_v2_200: "vgg",
  alexnet_v2: "vgg",
  vgg: "vgg",
  vgg_a: "vgg",
  vgg_16: "vgg",
  vgg_19: "vgg",
};

/** Every name `getPreprocessing` knows. */
export const PREPROCESSING_NAMES: readonly string[] = Object.keys(FAMILIES);

/**
 * The preprocessing function registered under `name` (a net's name or a family:
 * vgg, inception, lenet, cifarnet). Training functions need a `random` source.
 *
 * @example
 * ```ts
 * const preprocess = getPreprocessing("mobilenet_v2", true);
 * const x = preprocess(image, 224, 224, seededRandom(1, step)); // values in [-1, 1]
 * ```
 */
export function getPreprocessing(name: string, isTraining = false): PreprocessingFn {
  const family = FAMILIES[name];
  if (!family) {
    throw new Error(`getPreprocessing: unknown preprocessing ${JSON.stringify(name)}; known: ${PREPROCESSING_NAMES.join(", ")}`);
  }
  switch (family) {
    case "vgg":
      return (image, h, w, random) => vggPreprocess(image, h, w, { isTraining, random });
    case "inception":
      return (image, h, w, random) => inceptionPreprocess(image, h, w, { isTraining, random });
    case "lenet":
      return (image, h, w) => lenetPreprocess(image, h, w);
    case "cifarnet":
      return (image, h, w, random) => cifarnetPreprocess(image, h, w, { isTraining, random });
  }
}
