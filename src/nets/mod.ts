/**
 * Networks from slim's model zoo, built from the slim layers with slim's variable
 * names, so slim checkpoints and training recipes carry over.
 *
 * @example
 * ```ts
 * import { vgg16, vggArgScope } from "./nets/mod.ts";
 * const [logits, endPoints] = argScope(vggArgScope(), () => vgg16(images, { numClasses: 10 }));
 * ```
 * @module
 */
export * from "./vgg.ts";
export type { NetResult } from "./net_utils.ts";
export { type Block, conv2dSame, resnetArgScope, type ResnetArgScopeOptions, resnetBlock, type ResnetOptions, stackBlocksDense, type StackBlocksOptions, subsample, type UnitArgs, type UnitFn, type UnitOptions } from "./resnet_utils.ts";
export * from "./resnet_v1.ts";
export * from "./resnet_v2.ts";
export * from "./mobilenet_v1.ts";
export * from "./mobilenet_v2.ts";
export { inceptionArgScope, type InceptionArgScopeOptions, inceptionV1ArgScope, inceptionV3ArgScope } from "./inception_utils.ts";
export * from "./inception_v1.ts";
export * from "./inception_v3.ts";
export * from "./alexnet.ts";
export * from "./cifarnet.ts";
export * from "./lenet.ts";
export * from "./nets_factory.ts";
