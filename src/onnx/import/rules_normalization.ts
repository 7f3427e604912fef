/**
 * Import rules for normalization and regularization: BatchNormalization (batch
 * statistics with moving averages in UPDATE_OPS, or stored statistics as a fixed
 * affine map), LayerNormalization, Dropout, Identity.
 * @module
 */
import { GraphKeys } from "../../graph/graph.ts";
import type { Tensor } from "../../graph/tensor.ts";
import { assign } from "../../graph/variable.ts";
import { add, div, dropout, mul, reduceMean, reshape, sqrt, sub } from "../../ops/mod.ts";
import type { ImportContext } from "./context.ts";
import type { OnnxNode } from "./onnx_node.ts";
import { defineRule } from "./rules.ts";

/** A per-channel vector [C] shaped to broadcast against [N, C, ...]. */
function perChannel(v: Tensor, rank: number): Tensor {
  return reshape(v, [v.shape[0], ...new Array(rank - 2).fill(1)]);
}

/** Whether the node computes batch statistics, by its own attributes (before any override). */
function nodeTrains(node: OnnxNode): boolean {
  // Opsets before 14 mark training by asking for the statistics outputs.
  return node.opset >= 14 ? node.int("training_mode", 0) === 1 : node.outputs.filter((o) => o !== "").length > 1;
}

defineRule(["BatchNormalization"], (node, ctx) => {
  const x = ctx.tensor(node, 0);
  if (x.rank < 2) throw node.error(`input must have rank 2 or more, got [${x.shape.join(", ")}]`);
  const scale = ctx.tensor(node, 1), bias = ctx.tensor(node, 2);
  // Running statistics are state, never trained.
  const mean = ctx.tensor(node, 3, { trainable: false }), variance = ctx.tensor(node, 4, { trainable: false });
  const eps = node.float("epsilon", 1e-5);
  const train = (ctx.options.batchNorm ?? (nodeTrains(node) ? "train" : "frozen")) === "train";
  const r = x.rank;
  if (!train) {
    const inv = div(scale, sqrt(add(variance, eps)));
    return [add(mul(sub(x, perChannel(mean, r)), perChannel(inv, r)), perChannel(bias, r))];
  }
  const axes = [0, ...Array.from({ length: r - 2 }, (_, i) => i + 2)];
  const batchMean = reduceMean(x, axes, true);
  const centered = sub(x, batchMean);
  // Population variance (divided by N), as the ONNX spec fixes for training mode.
  const batchVar = reduceMean(mul(centered, centered), axes, true);
  const y = add(mul(div(centered, sqrt(add(batchVar, eps))), perChannel(scale, r)), perChannel(bias, r));
  const momentum = node.float("momentum", 0.9);
  const c = x.shape[1];
  const meanC = reshape(batchMean, [c]), varC = reshape(batchVar, [c]);
  const runningMean = add(mul(mean, momentum), mul(meanC, 1 - momentum));
  const runningVar = add(mul(variance, momentum), mul(varC, 1 - momentum));
  addMovingAverageUpdate(ctx, node, 3, runningMean);
  addMovingAverageUpdate(ctx, node, 4, runningVar);
  // Opsets 9–13 also output the batch mean and variance ("saved" statistics).
  return [y, runningMean, runningVar, meanC, varC];
});

/** Puts `variable ← value` in UPDATE_OPS when the statistic is an initializer (a variable). */
function addMovingAverageUpdate(ctx: ImportContext, node: OnnxNode, input: number, value: Tensor): void {
  const v = ctx.variableOf(node, input);
  if (v) ctx.graph.addToCollection(GraphKeys.UPDATE_OPS, assign(v, value));
}

defineRule(["LayerNormalization"], (node, ctx) => {
  const x = ctx.tensor(node, 0);
  const axisAttr = node.int("axis", -1);
  const axis = axisAttr < 0 ? axisAttr + x.rank : axisAttr;
  const axes = Array.from({ length: x.rank - axis }, (_, i) => axis + i);
  const mean = reduceMean(x, axes, true);
  const centered = sub(x, mean);
  const variance = reduceMean(mul(centered, centered), axes, true);
  const invStd = div(1, sqrt(add(variance, node.float("epsilon", 1e-5))));
  let y = mul(mul(centered, invStd), ctx.tensor(node, 1));
  if (node.hasInput(2)) y = add(y, ctx.tensor(node, 2));
  return [y, mean, invStd];
});

defineRule(["Dropout"], (node, ctx) => {
  const x = ctx.tensor(node, 0);
  // Opset 12 moved ratio to an input and added training_mode (default: inference).
  const ratio = node.opset >= 12 ? (ctx.staticInput(node, 1)?.values[0] ?? 0.5) : node.float("ratio", 0.5);
  const nodeTrains = node.opset >= 12 && node.hasInput(2) && ctx.requireStatic(node, 2, "training_mode").values[0] !== 0;
  const train = (ctx.options.dropout ?? (nodeTrains ? "train" : "off")) === "train";
  return [train && ratio > 0 ? dropout(x, 1 - ratio) : x];
});

defineRule(["Identity"], (node, ctx) => [ctx.tensor(node, 0)]);
