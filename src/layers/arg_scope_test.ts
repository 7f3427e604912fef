import { assert, assertEquals, assertThrows, test } from "../../test/harness.ts";
import { Graph, GraphKeys } from "../graph/graph.ts";
import { varianceScalingInitializer } from "../graph/initializers.ts";
import type { Tensor } from "../graph/tensor.ts";
import { placeholder } from "../graph/variable.ts";
import { sigmoid } from "../ops/mod.ts";
import { addArgScope, argScope, currentArgScope, hasArgScope, scopedOptions } from "./arg_scope.ts";
import { dropout } from "./core.ts";
import { conv2d, fullyConnected } from "./layers.ts";
import { maxPool2d } from "./pooling.ts";
import { l2Regularizer } from "./regularizers.ts";

function input(g: Graph): Tensor {
  return placeholder([1, 8, 8, 2], "float32", "x", g);
}

test("argScope() nests: inner defaults merge over outer ones and explicit arguments win", () => {
  const g = new Graph();
  g.asDefault(() => {
    const x = input(g);
    argScope([conv2d], { padding: "VALID", stride: 2 }, () => {
      assertEquals(conv2d(x, 3, 3).shape, [1, 3, 3, 3]); // VALID, stride 2
      argScope([conv2d], { padding: "SAME" }, () => {
        assertEquals(conv2d(x, 3, 3).shape, [1, 4, 4, 3]); // SAME, stride 2 kept from outside
        assertEquals(conv2d(x, 3, 3, { stride: 1 }).shape, [1, 8, 8, 3]); // explicit wins
        assertEquals(conv2d(x, 3, 3, { stride: undefined }).shape, [1, 4, 4, 3]); // undefined is "not given"
      });
      assertEquals(conv2d(x, 3, 3).shape, [1, 3, 3, 3]); // the inner scope ended
    });
    assertEquals(conv2d(x, 3, 3).shape, [1, 8, 8, 3]); // slim's own defaults again
    assertEquals(currentArgScope().size, 0);
  });
});

test("argScope() gives defaults to several layers, and null is an explicit choice", () => {
  const g = new Graph();
  g.asDefault(() => {
    const x = input(g);
    argScope([conv2d, fullyConnected], { activationFn: sigmoid, weightsRegularizer: l2Regularizer(0.1) }, () => {
      assertEquals(conv2d(x, 3, 3).node.op, "Sigmoid");
      assertEquals(fullyConnected(placeholder([1, 4], "float32", "v"), 2).node.op, "Sigmoid");
      // No activation: the bias add, back in NHWC.
      assertEquals(conv2d(x, 3, 3, { activationFn: null }).node.inputs[0].node.op, "Add");
      argScope([maxPool2d, dropout], { outputsCollections: "ends" }, () => maxPool2d(x, 2, { scope: "pool" }));
    });
    assertEquals(g.getCollection(GraphKeys.REGULARIZATION_LOSSES).length, 3);
    assertEquals(g.getCollection<{ name: string }>("ends").map((e) => e.name), ["pool"]);
    assertEquals(conv2d(x, 3, 3).node.op, "Relu");
  });
});

test("argScope() re-enters a saved scope exactly, replacing the enclosing one", () => {
  const g = new Graph();
  g.asDefault(() => {
    const x = input(g);
    const he = varianceScalingInitializer();
    const saved = argScope([conv2d], { weightsInitializer: he }, () => argScope([conv2d], { padding: "VALID" }, () => currentArgScope()));
    assertEquals(currentArgScope().size, 0);
    argScope([conv2d], { stride: 2 }, () =>
      argScope(saved, () => {
        assertEquals(conv2d(x, 3, 3, { scope: "a" }).shape, [1, 6, 6, 3]); // VALID, and stride 2 no longer applies
      }));
    assert(g.variables.get("a/weights")!.initializer === he, "the saved initializer applies");
  });
});

test("argScope() restores the enclosing scope when the body throws", async () => {
  const g = new Graph();
  await g.asDefault(async () => {
    await assertThrows(() => argScope([conv2d], { padding: "VALID" }, () => {
      throw new Error("boom");
    }), "boom");
    assertEquals(conv2d(input(g), 3, 3).shape, [1, 8, 8, 3]);
  });
});

test("argScope() rejects functions not registered with addArgScope, and asynchronous bodies", async () => {
  const plain = (x: Tensor, _o: { k?: number } = {}) => x;
  await assertThrows(() => argScope([plain], { k: 1 }, () => 0), "argScope: plain is not decorated with addArgScope");
  await assertThrows(() => argScope([conv2d], { stride: 2 }, () => Promise.resolve(1)), "argScope: the body must be synchronous");
  assertEquals(currentArgScope().size, 0);
});

test("addArgScope() lets a user function read its defaults through scopedOptions()", () => {
  function scaled(x: number, options: { factor?: number; offset?: number } = {}): number {
    const { factor = 1, offset = 0 } = scopedOptions(scaled, options);
    return x * factor + offset;
  }
  addArgScope(scaled);
  assert(hasArgScope(scaled) && hasArgScope(conv2d) && !hasArgScope(() => 0));
  assertEquals(scaled(3), 3);
  assertEquals(argScope([scaled], { factor: 2, offset: 1 }, () => [scaled(3), scaled(3, { offset: 5 })]), [7, 11]);
});
