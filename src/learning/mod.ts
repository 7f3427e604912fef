/**
 * slim's `learning` module: `createTrainOp`, `train`, the gradient utilities,
 * the global step, and fine-tuning helpers; optimizers and schedules live beside it.
 *
 * @example
 * ```ts
 * import { learning, optimizers } from "slimtrain";
 * const trainOp = learning.createTrainOp(totalLoss, optimizers.gradientDescent({ learningRate: 0.001 }));
 * await learning.train(trainOp, "logs/run1", { numberOfSteps: 1000, saveSummariesSecs: 300, saveIntervalSecs: 600 });
 * ```
 * @module
 */
export { createTrainOp, type CreateTrainOpOptions, type TrainOp } from "./create_train_op.ts";
export { LOSS_SCALE_SCOPE, type LossScaleOptions } from "./loss_scale.ts";
export { train, type TrainContext, type TrainOptions } from "./train.ts";
export { type StepResult, TrainSession, type TrainSessionOptions } from "./train_session.ts";
export { addGradientsSummaries, clipByGlobalNorm, clipGradientNorms, multiplyGradients } from "./gradient_utils.ts";
export { GLOBAL_STEP_NAME, getOrCreateGlobalStep } from "./global_step.ts";
export type { GradAndVar, LearningRate, Optimizer } from "./optimizer.ts";
export { type Feeds, type TrainData } from "./train_data.ts";
export * from "./schedules.ts";
export {
  assignFromCheckpointFn, type AssignContext, type AssignFromCheckpointOptions, getVariablesToRestore, type RestoreFilter,
} from "./fine_tune.ts";
export { evaluateOnce, type EvaluateOnceOptions, evaluationLoop, type EvaluationLoopOptions } from "./evaluation.ts";
export { type EvalData, EvalSession, type EvalSessionOptions } from "./eval_session.ts";
export {
  compileInferenceModel, exportInferenceModel, exportInferenceModelFromValues, type ExportOptions, type InferenceInput,
} from "./export.ts";
export { ExponentialMovingAverage, type ExponentialMovingAverageOptions, MOVING_AVERAGE_VARIABLES } from "./moving_averages.ts";
