/**
 * The `optimizers` namespace: TensorFlow's optimizers and learning-rate schedules.
 *
 * @example
 * ```ts
 * import { optimizers } from "slimtrain";
 * const opt = optimizers.momentum({ learningRate: optimizers.exponentialDecay({ learningRate: 0.1, decaySteps: 1000, decayRate: 0.96 }), momentum: 0.9 });
 * ```
 * @module
 */
export * from "./optimizers/mod.ts";
export * from "./schedules.ts";
