/**
 * slim's layers: `conv2d`, `separableConv2d`, `conv2dTranspose`, `fullyConnected`,
 * `batchNorm`, `layerNorm`, `maxPool2d`, `avgPool2d`, `dropout`, `flatten`,
 * `oneHotEncoding`, `repeat` and `stack`, taking and returning slim's NHWC (or
 * NCHW with `dataFormat`) with variables in slim's layouts and names; `argScope`
 * for shared defaults, with every layer's options checked when the graph is built;
 * `l2Regularizer`; `relu6`; and `toNCHW` / `toNHWC`.
 *
 * @example
 * ```ts
 * import { argScope, batchNorm, conv2d, l2Regularizer, maxPool2d } from "./layers/mod.ts";
 * const net = argScope([conv2d], { weightsRegularizer: l2Regularizer(0.0005), normalizerFn: batchNorm }, () =>
 *   maxPool2d(conv2d(images, 32, [3, 3], { scope: "conv1" }), [2, 2], { scope: "pool1" })); // NHWC in, NHWC out
 * ```
 * @module
 */
export * from "./arg_scope.ts";
export * from "./layers.ts";
export * from "./pooling.ts";
export * from "./core.ts";
export * from "./normalization.ts";
export * from "./separable.ts";
export * from "./transpose_conv.ts";
export * from "./misc.ts";
export { checkOptions, nullable, type OptionSpecs, type OptionType, optionTypes } from "./option_specs.ts";
export * from "./repeat.ts";
export * from "./regularizers.ts";
export * from "./utils.ts";
