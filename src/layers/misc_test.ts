import { assertClose, assertEquals, assertThrows, test } from "../../test/harness.ts";
import { Graph } from "../graph/graph.ts";
import { xavierInitializer } from "../graph/initializers.ts";
import { placeholder } from "../graph/variable.ts";
import { evaluate } from "../runtime/evaluate.ts";
import { argScope } from "./arg_scope.ts";
import { conv2d, fullyConnected } from "./layers.ts";
import { oneHotEncoding, stack } from "./misc.ts";
import { maxPool2d } from "./pooling.ts";

test("oneHotEncoding() turns int64 labels into float rows with onValue and offValue", async () => {
  const g = new Graph();
  await g.asDefault(async () => {
    const labels = placeholder([4], "int64", "labels");
    const plain = oneHotEncoding(labels, 3);
    const smooth = oneHotEncoding(labels, 3, { onValue: 0.9, offValue: 0.05, scope: "smooth" });
    assertEquals(plain.shape, [4, 3]);
    const out = await evaluate({ plain, smooth }, { feeds: { labels: { dtype: "int64", shape: [4], data: BigInt64Array.from([2n, 0n, 1n, 7n]) } } });
    assertEquals(Array.from(out.plain.data as Float32Array), [0, 0, 1, 1, 0, 0, 0, 1, 0, 0, 0, 0]);
    assertClose(out.smooth.data as Float32Array, [0.05, 0.05, 0.9, 0.9, 0.05, 0.05, 0.05, 0.9, 0.05, 0.05, 0.05, 0.05], { rtol: 1e-6 });
    await assertThrows(() => oneHotEncoding(placeholder([4], "float32", "f"), 3), "oneHotEncoding: labels must be int64 or int32 class ids, got float32");
  });
});

test("stack() applies a layer per argument entry, scoped scope/scope_1, scope/scope_2, ...", () => {
  const g = new Graph();
  g.asDefault(() => {
    const v = placeholder([2, 5], "float32", "v");
    const fc = stack(v, fullyConnected, [8, 6, 4], { scope: "fc" });
    const x = placeholder([1, 8, 8, 2], "float32", "x");
    const conv = stack(x, conv2d, [[4, [3, 3]], [5, [1, 1]]], { scope: "conv", padding: "VALID" });
    stack(x, maxPool2d, [2]);
    assertEquals([fc.shape, conv.shape], [[2, 4], [1, 6, 6, 5]]);
  });
  assertEquals([...g.variables.values()].filter((v) => v.name.endsWith("weights")).map((v) => [v.name, v.shape]), [
    ["fc/fc_1/weights", [5, 8]], ["fc/fc_2/weights", [8, 6]], ["fc/fc_3/weights", [6, 4]],
    ["conv/conv_1/weights", [3, 3, 2, 4]], ["conv/conv_2/weights", [1, 1, 4, 5]],
  ]);
  assertEquals(g.nodes.filter((n) => n.op === "MaxPool").map((n) => n.name.split("/").slice(0, 2).join("/")), ["Stack/maxPool2d_1"]);
});

test("layer options are checked at graph build: slim's snake_case and wrong types name the option and the fix", async () => {
  const g = new Graph();
  await g.asDefault(async () => {
    const x = placeholder([2, 8, 8, 3], "float32", "x");
    await assertThrows(() => conv2d(x, 8, [3, 3], { activation_fn: null } as never), "conv2d: unknown option activation_fn; did you mean activationFn?");
    await assertThrows(
      () => conv2d(x, 8, [3, 3], { weightsInitializer: 0.1 } as never),
      "conv2d: option weightsInitializer must be an initializer (e.g. xavierInitializer(), zerosInitializer()), got number 0.1",
    );
    await assertThrows(() => maxPool2d(x, 2, { strides: 2 } as never), "maxPool2d: unknown option strides; did you mean stride?");
    await assertThrows(() => fullyConnected(placeholder([2, 3], "float32", "v"), 4, { bogus: 1 } as never), "fullyConnected: unknown option bogus; fullyConnected takes scope,");
    await assertThrows(
      () => argScope([conv2d, fullyConnected], { weights_regularizer: null } as never, () => 0),
      "argScope: conv2d: unknown option weights_regularizer; did you mean weightsRegularizer?",
    );
    await assertThrows(() => argScope([conv2d], { padding: "same" } as never, () => 0), `argScope: conv2d: option padding must be "SAME" or "VALID", got string "same"`);
    // Declared types accept what slim's spellings mean.
    argScope([conv2d], { weightsInitializer: xavierInitializer(), activationFn: null, stride: [1, 1] }, () => conv2d(x, 2, 1));
  });
});
