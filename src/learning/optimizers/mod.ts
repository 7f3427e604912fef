/**
 * TF1's optimizers as ONNX update subgraphs: each `applyGradients` returns the
 * assignments (variables and slots) that the train step computes.
 * @module
 */
export { adagrad, type AdagradOptions } from "./adagrad.ts";
export { adam, type AdamOptions } from "./adam.ts";
export { gradientDescent, type GradientDescentOptions } from "./gradient_descent.ts";
export { momentum, type MomentumOptions } from "./momentum.ts";
export { rmsprop, type RmspropOptions } from "./rmsprop.ts";
export { slotFor } from "./slots.ts";
export { adadelta, type AdadeltaOptions } from "./adadelta.ts";
export { ftrl, type FtrlOptions } from "./ftrl.ts";
