/**
 * slim's image preprocessing (vgg, inception, lenet, cifarnet) and the factory
 * that picks one by net name, run on host images in the input pipeline.
 *
 * @example
 * ```ts
 * import { data } from "slimtrain";
 * const preprocess = data.preprocessing.getPreprocessing("resnet_v1_50", true);
 * const x = preprocess(image, 224, 224, seededRandom(1, step));
 * ```
 * @module
 */
export * from "./image_ops.ts";
export * from "./color.ts";
export * from "./distorted_box.ts";
export * from "./vgg.ts";
export * from "./inception.ts";
export * from "./lenet.ts";
export * from "./cifarnet.ts";
export * from "./factory.ts";
