// createTrainOp's "no gradients flow" error names the cause: a loss that does not
// depend on the variables to train (built from placeholders, or depending only on
// variables outside variablesToTrain), or paths cut by ops that pass no gradient.
import "../ops/mod.ts";
import { assertThrows, test } from "../../test/harness.ts";
import { Graph } from "../graph/graph.ts";
import { xavierInitializer } from "../graph/initializers.ts";
import { placeholder, variable } from "../graph/variable.ts";
import { cast, greater, matmul, reduceMean, square, stopGradient, sub } from "../ops/mod.ts";
import { createTrainOp } from "./create_train_op.ts";
import { gradientDescent } from "./optimizers/mod.ts";

const sgd = () => gradientDescent({ learningRate: 0.1 });

function model() {
  const g = new Graph();
  return g.asDefault(() => {
    const x = placeholder([4, 3], "float32", "x");
    const y = placeholder([4, 5], "float32", "y");
    const w = variable("w", { shape: [3, 5], initializer: xavierInitializer() });
    const v = variable("v", { shape: [3, 5], initializer: xavierInitializer() });
    return { g, x, y, w, v, logits: matmul(x, w.value) };
  });
}

test("createTrainOp() with a loss built from placeholders alone names them as the cause", async () => {
  const { g, x, y } = model();
  await assertThrows(
    () => g.asDefault(() => createTrainOp(reduceMean(square(sub(y, matmul(x, placeholder([3, 5], "float32", "not_w"))))), sgd())),
    "createTrainOp: no gradients flow from ReduceMean to any of the 2 variables to train: ReduceMean does not depend on any of them: " +
      "it is computed from placeholders x, y, not_w and constants alone. Build the losses from the model's output (its logits)",
  );
});

test("createTrainOp() names the variables the loss does depend on when none is in variablesToTrain", async () => {
  const { g, y, v, logits } = model();
  await assertThrows(
    () => g.asDefault(() => createTrainOp(reduceMean(square(sub(logits, y))), sgd(), { variablesToTrain: [v] })),
    "createTrainOp: no gradients flow from ReduceMean to any of the 1 variables to train: ReduceMean depends on w, none of which is in variablesToTrain",
  );
});

test("createTrainOp() names the ops that cut every path to the variables (stopGradient, a comparison)", async () => {
  const { g, y, logits } = model();
  await assertThrows(
    () => g.asDefault(() => createTrainOp(reduceMean(square(sub(stopGradient(logits), y))), sgd())),
    /depends on them only through ops that pass no gradient \(StopGradient node StopGradient\): a stopGradient, a comparison or a cast to integers .* swap its arguments \(logits come first\)/,
  );
  const { g: g2, logits: logits2 } = model();
  await assertThrows(
    () => g2.asDefault(() => createTrainOp(reduceMean(cast(greater(logits2, 0), "float32")), sgd())),
    /only through ops that pass no gradient \((Greater|Cast) node [^)]*\)/,
  );
});
