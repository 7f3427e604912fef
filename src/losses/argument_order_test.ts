// The cross-entropy losses take logits first (slim.losses, PyTorch); tf.losses
// takes labels first. A swapped call is refused where it is made, naming which
// argument is which, instead of ending in createTrainOp's "no gradients flow" (or,
// for the sigmoid loss, training on the wrong quantity).
import "../ops/mod.ts";
import { assertEquals, assertThrows, test } from "../../test/harness.ts";
import { Graph, GraphKeys } from "../graph/graph.ts";
import { xavierInitializer } from "../graph/initializers.ts";
import { placeholder, variable } from "../graph/variable.ts";
import { matmul, stopGradient } from "../ops/mod.ts";
import { absoluteDifference, sigmoidCrossEntropy, softmaxCrossEntropy, sparseSoftmaxCrossEntropy } from "./losses.ts";

/** x [4, 3] → logits [4, 5] through a trainable w, plus labels of both kinds. */
function model(g = new Graph()) {
  return g.asDefault(() => {
    const x = placeholder([4, 3], "float32", "x");
    const w = variable("w", { shape: [3, 5], initializer: xavierInitializer() });
    return { g, logits: matmul(x, w.value), onehot: placeholder([4, 5], "float32", "onehot"), ids: placeholder([4], "int64", "ids") };
  });
}

test("softmaxCrossEntropy(labels, logits) is refused: the labels depend on no trainable variable, the logits do", async () => {
  const { g, logits, onehot, ids } = model();
  await assertThrows(
    () => g.asDefault(() => softmaxCrossEntropy(onehot, logits)),
    "softmaxCrossEntropy: the arguments look swapped: the first argument (logits) is onehot [4, 5] float32, which depends on no trainable variable, " +
      "and the second (onehotLabels) is MatMul [4, 5] float32, which does (the model's output?). " +
      "The signature is softmaxCrossEntropy(logits, onehotLabels), logits first as in slim.losses and PyTorch (tf.losses puts the labels first): " +
      "call softmaxCrossEntropy(MatMul, onehot)",
  );
  // Class ids where the logits go are recognised by their dtype.
  await assertThrows(
    () => g.asDefault(() => softmaxCrossEntropy(ids, logits)),
    "softmaxCrossEntropy: the arguments look swapped: the first argument (logits) is ids [4] int64, integers like class ids",
  );
  // The right order builds, and nothing was added to LOSSES by the refused calls.
  g.asDefault(() => softmaxCrossEntropy(logits, onehot));
  assertEquals(g.getCollection(GraphKeys.LOSSES).length, 1);
});

test("sparseSoftmaxCrossEntropy(labels, logits) is refused by dtype, or by rank for float class ids", async () => {
  const { g, logits, ids } = model();
  await assertThrows(
    () => g.asDefault(() => sparseSoftmaxCrossEntropy(ids, logits)),
    "sparseSoftmaxCrossEntropy: the arguments look swapped: the first argument (logits) is ids [4] int64, integers like class ids, " +
      "and the second (labels) is MatMul [4, 5] float32. The signature is sparseSoftmaxCrossEntropy(logits, labels)",
  );
  const floatIds = g.asDefault(() => placeholder([4], "float32", "float_ids"));
  await assertThrows(
    () => g.asDefault(() => sparseSoftmaxCrossEntropy(floatIds, logits)),
    "the first argument (logits) is float_ids [4] float32, one value per example, and the second (labels) is MatMul [4, 5] float32, one row of scores per example",
  );
  // Not tensors at all (host arrays where graph tensors belong).
  await assertThrows(
    () => g.asDefault(() => sparseSoftmaxCrossEntropy(logits, [0, 1, 2, 3] as never)),
    "sparseSoftmaxCrossEntropy: labels must be a graph Tensor (a placeholder or a layer's output), got [0, 1, 2, 3]",
  );
});

test("sigmoidCrossEntropy(labels, logits) is refused; graphs without trainable variables and symmetric losses are left alone", async () => {
  const { g, logits, onehot } = model();
  await assertThrows(() => g.asDefault(() => sigmoidCrossEntropy(onehot, logits)), "sigmoidCrossEntropy: the arguments look swapped");
  // Logits that stop the gradient on purpose still depend on the variables: no false alarm.
  g.asDefault(() => softmaxCrossEntropy(stopGradient(logits), onehot));
  // Two placeholders (a loss computed for evaluation): no variable decides, so no complaint.
  const plain = new Graph();
  plain.asDefault(() => softmaxCrossEntropy(placeholder([4, 5], "float32", "a"), placeholder([4, 5], "float32", "b")));
  // absoluteDifference is symmetric in its arguments: either order trains the same.
  g.asDefault(() => absoluteDifference(onehot, logits));
});
