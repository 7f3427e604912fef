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
