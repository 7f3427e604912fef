/**
 * slim's layers: `conv2d`, `fullyConnected`, `maxPool2d`, `avgPool2d`, `dropout`,
 * `flatten` and `repeat`, computing in NCHW with variables in slim's layouts and
 * names; `argScope` for shared defaults; `l2Regularizer`; and `toNCHW` / `toNHWC`
 * between slim's image layout and the graph's.
 *
 * @example
 * ```ts
 * import { argScope, conv2d, l2Regularizer, maxPool2d, toNCHW } from "./layers/mod.ts";
 * const net = argScope([conv2d], { weightsRegularizer: l2Regularizer(0.0005) }, () =>
 *   maxPool2d(conv2d(toNCHW(images), 32, [3, 3], { scope: "conv1" }), [2, 2], { scope: "pool1" }));
 * ```
 * @module
 */
export * from "./arg_scope.ts";
export * from "./layers.ts";
export * from "./pooling.ts";
export * from "./core.ts";
export * from "./repeat.ts";
export * from "./regularizers.ts";
export * from "./utils.ts";
