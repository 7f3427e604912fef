// The tiny net the reliability tests train: small enough that a child process
// spends its time starting up, not computing, yet with dropout and a summary so a
// resumed run only matches an uninterrupted one if step, seed and weights all
// survived the restart.
import "../../src/ops/mod.ts";
import { Graph } from "../../src/graph/graph.ts";
import type { HostTensor } from "../../src/graph/host_tensor.ts";
import { xavierInitializer, zerosInitializer } from "../../src/graph/initializers.ts";
import { placeholder, variable } from "../../src/graph/variable.ts";
import { createTrainOp } from "../../src/learning/create_train_op.ts";
import { momentum } from "../../src/learning/optimizers/mod.ts";
import { add, dropout, matmul, mul, reduceMean, relu, sub } from "../../src/ops/mod.ts";
import { scalar } from "../../src/summary/summary_ops.ts";
import { randomArray } from "../harness.ts";

/** A 4→8→1 regression net with dropout, trained with momentum (so a slot variable is checkpointed too). */
export function buildTinyModel() {
  const g = new Graph();
  return g.asDefault(() => {
    const x = placeholder([4, 4], "float32", "x");
    const y = placeholder([4, 1], "float32", "y");
    const w1 = variable("dense1/weights", { shape: [4, 8], initializer: xavierInitializer() });
    const b1 = variable("dense1/biases", { shape: [8], initializer: zerosInitializer() });
    const w2 = variable("dense2/weights", { shape: [8, 1], initializer: xavierInitializer() });
    const h = dropout(relu(add(matmul(x, w1.value), b1.value)), 0.9);
    const diff = sub(matmul(h, w2.value), y);
    const loss = reduceMean(mul(diff, diff));
    scalar("losses/total_loss", loss);
    const trainOp = createTrainOp(loss, momentum({ learningRate: 0.01, momentum: 0.9 }));
    return { g, trainOp };
  });
}

/** The batch of a step depends only on the step, so a resumed run sees the same data. */
export function tinyBatchAt(step: number): Record<string, HostTensor> {
  const x = randomArray(16, 5000 + step);
  const y = new Float32Array(4);
  for (let i = 0; i < 4; i++) y[i] = x[i * 4] * 0.5 - x[i * 4 + 1] + 0.25 * x[i * 4 + 2];
  return { x: { dtype: "float32", shape: [4, 4], data: x }, y: { dtype: "float32", shape: [4, 1], data: y } };
}

export function* tinyBatchesFrom(start: number): Generator<Record<string, HostTensor>> {
  for (let s = start; ; s++) yield tinyBatchAt(s);
}
