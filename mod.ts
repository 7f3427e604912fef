/**
 * slimtrain: TF-Slim's training workflow for TypeScript on ONNX Runtime.
 *
 * Build a model with slim's layers and nets, add slim's losses, pick an optimizer,
 * then `learning.createTrainOp` and `learning.train`: slimtrain differentiates the
 * graph, emits the whole training step as one standard-opset ONNX model, and runs
 * it with onnxruntime-node (CPU, WebGPU, CUDA) or onnxruntime-web (wasm, WebGPU),
 * writing TensorBoard summaries and checkpoints on timers.
 *
 * @example
 * ```ts
 * import { data, learning, losses, nets, optimizers, summary } from "slimtrain";
 *
 * const digits = await data.loadMnistDigits();
 * const { images, labels } = data.inputs(digits.train, { batchSize: 32 });
 * const [logits] = nets.vgg16(images, { numClasses: 10, fcConvPadding: "SAME" });
 * losses.sparseSoftmaxCrossEntropy(logits, labels);
 * const totalLoss = losses.getTotalLoss();
 * summary.scalar("losses/total_loss", totalLoss);
 * const trainOp = learning.createTrainOp(totalLoss, optimizers.adam({ learningRate: 1e-4 }));
 * await learning.train(trainOp, "logs/vgg16", { numberOfSteps: 1000, saveSummariesSecs: 300, saveIntervalSecs: 600 });
 * ```
 * @module
 */
import "./src/ops/sources.ts";

export * as graph from "./src/graph/mod.ts";
export * as ops from "./src/ops/mod.ts";
export * as layers from "./src/layers/mod.ts";
export * as nets from "./src/nets/mod.ts";
export * as losses from "./src/losses/mod.ts";
export * as optimizers from "./src/learning/optimizers_namespace.ts";
export * as learning from "./src/learning/mod.ts";
export * as metrics from "./src/metrics/mod.ts";
export * as summary from "./src/summary/mod.ts";
export * as checkpoint from "./src/checkpoint/mod.ts";
export * as data from "./src/data/mod.ts";
export * as runtime from "./src/runtime/mod.ts";
export * as fs from "./src/fs/mod.ts";
export * as onnx from "./src/onnx/mod.ts";
export { gradients } from "./src/autodiff/gradients.ts";
export { getDefaultGraph, Graph, GraphKeys, resetDefaultGraph } from "./src/graph/graph.ts";
export { constant, placeholder, variable } from "./src/graph/variable.ts";

// `deno run -A mod.ts train` and `bun run mod.ts train` run the CLI.
if ((import.meta as { main?: boolean }).main) {
  const { main } = await import("./src/cli/main.ts");
  const { cliArgs, exit } = await import("./src/cli/platform.ts");
  exit(await main(cliArgs()));
}
