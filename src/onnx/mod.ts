/**
 * ONNX interchange: `importModel` turns an ONNX file (opsets 11 to 21, as
 * PyTorch, tf2onnx and the ONNX model zoo write them) into slimtrain graph
 * tensors to fine-tune, evaluate or export again.
 *
 * @example
 * ```ts
 * import { onnx, losses, learning, optimizers } from "slimtrain";
 *
 * const model = onnx.importModel(bytes, { batchNorm: "train" });
 * losses.sparseSoftmaxCrossEntropy(model.outputs.logits, labels);
 * const trainOp = learning.createTrainOp(losses.getTotalLoss(), optimizers.gradientDescent({ learningRate: 0.01 }));
 * ```
 * @module
 */
export { importModel, SUPPORTED_OPSETS } from "./import/import_model.ts";
export type { ImportedModel, ImportOptions } from "./import/import_model.ts";
export type { BatchNormMode } from "./import/context.ts";
export { supportedOps } from "./import/rules.ts";
