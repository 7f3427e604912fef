// Shape rules with an unknown batch (-1): the layers of an inference graph pass
// it through, ops that need a known size refuse it naming the op, and the
// compiled model takes any batch size in ONNX Runtime.
import "./mod.ts";
import { assertClose, assertEquals, assertThrows, randomArray, test } from "../../test/harness.ts";
import { Graph } from "../graph/graph.ts";
import type { HostTensor } from "../graph/host_tensor.ts";
import { placeholder, variable } from "../graph/variable.ts";
import { avgPool2d, batchNorm, conv2d, flatten, fullyConnected, maxPool2d } from "../layers/mod.ts";
import { createTrainOp } from "../learning/create_train_op.ts";
import { gradientDescent } from "../learning/optimizers/mod.ts";
import { getTotalLoss, sparseSoftmaxCrossEntropy } from "../losses/mod.ts";
import { makeValueInfo } from "../onnx/builder.ts";
import { compileModel } from "../onnx/compile.ts";
import { createRuntime } from "../runtime/create.ts";
import { dropout, softmax } from "./nn.ts";
import { add, mul } from "./binary.ts";
import { matmul } from "./matmul.ts";
import { reduceMean, reduceSum } from "./reduce.ts";
import { reshape } from "./shape_ops.ts";

const inGraph = <T>(fn: () => T): T => new Graph().asDefault(fn);

test("conv2d(), maxPool2d(), flatten(), fullyConnected(), softmax() pass an unknown batch through", () => {
  inGraph(() => {
    const x = placeholder([null, 6, 6, 2], "float32", "x");
    const conv = conv2d(x, 3, [3, 3], { scope: "conv" });
    assertEquals(conv.shape, [-1, 6, 6, 3]);
    const pooled = maxPool2d(conv, [2, 2]);
    assertEquals(pooled.shape, [-1, 3, 3, 3]);
    const flat = flatten(pooled);
    assertEquals(flat.shape, [-1, 27]);
    const logits = fullyConnected(flat, 4, { activationFn: null, scope: "fc" });
    assertEquals(logits.shape, [-1, 4]);
    assertEquals(softmax(logits).shape, [-1, 4]);
    assertEquals(reduceSum(logits, 1).shape, [-1]);
    assertEquals(reduceMean(logits).shape, []);
  });
});

test("batchNorm() in inference mode and matmul() keep an unknown batch; broadcasting meets it with n as n, with 1 as unknown", () => {
  inGraph(() => {
    const x = placeholder([-1, 4, 4, 3], "float32", "x");
    assertEquals(batchNorm(x, { isTraining: false, scope: "bn" }).shape, [-1, 4, 4, 3]);
    const rows = placeholder([-1, 5], "float32", "rows");
    const w = variable("w", { shape: [5, 2] });
    assertEquals(matmul(rows, w.value).shape, [-1, 2]);
    assertEquals(add(rows, placeholder([1, 5], "float32", "one")).shape, [-1, 5]);
    assertEquals(mul(placeholder([-1, 1], "float32", "col"), placeholder([3, 5], "float32", "full")).shape, [3, 5]);
  });
});

test("reshape() with an unknown batch keeps it whole as the one -1, and refuses targets that would split it", async () => {
  await inGraph(async () => {
    const x = placeholder([null, 2, 3], "float32", "x");
    assertEquals(reshape(x, [-1, 6]).shape, [-1, 6]);
    assertEquals(reshape(x, [-1, 3, 2, 1]).shape, [-1, 3, 2, 1]);
    await assertThrows(() => reshape(x, [-1, 2]), "reshape: cannot reshape x [?, 2, 3] to [-1, 2]");
    await assertThrows(() => reshape(x, [2, 3, 4]), "the target needs one -1");
  });
});

test("ops that need every size known refuse an unknown batch, naming the op and the tensor", async () => {
  await inGraph(async () => {
    const x = placeholder([null, 8, 8, 1], "float32", "images");
    await assertThrows(() => dropout(x, 0.5), "dropout: input images [?, 8, 8, 1] float32 has an unknown dimension; dropout in training mode needs a fixed batch");
    const spatial = placeholder([2, null, 8, 1], "float32", "maps");
    await assertThrows(() => conv2d(spatial, 2, [3, 3], { scope: "c" }), "only the batch (dimension 0) of input");
    await assertThrows(() => x.size, "Tensor images [?, 8, 8, 1] float32 has an unknown dimension");
    await assertThrows(() => avgPool2d(x, [2, 2]), "avgPool2d: input images [?, 8, 8, 1] float32 has an unknown batch; avgPool2d needs a fixed batch size");
  });
});

test("createTrainOp() on a graph of unknown batch is refused at the first gradient op that needs the batch, asking for a fixed one", async () => {
  await inGraph(async () => {
    const x = placeholder([null, 4, 4, 1], "float32", "x");
    const labels = placeholder([null], "int64", "labels");
    const logits = fullyConnected(flatten(conv2d(x, 2, [3, 3], { scope: "conv" })), 3, { activationFn: null, scope: "fc" });
    sparseSoftmaxCrossEntropy(logits, labels);
    await assertThrows(
      () => createTrainOp(getTotalLoss(), gradientDescent({ learningRate: 0.1 })),
      /has an unknown dimension, which \w+ does not support .*; give the placeholder it comes from a fixed size \(train steps need one\)/,
    );
  });
});

test("placeholder() takes null or -1 for one unknown dimension; variable() refuses it", async () => {
  await inGraph(async () => {
    assertEquals(placeholder([null, 3], "float32", "a").shape, [-1, 3]);
    assertEquals(placeholder([-1, 3], "float32", "b").shape, [-1, 3]);
    await assertThrows(() => placeholder([null, null], "float32", "c"), "has more than one unknown dimension; only one (the batch) may be unknown");
    await assertThrows(() => placeholder([-2, 3], "float32", "d"), "or null / -1 for one known only at run time");
    await assertThrows(() => variable("w", { shape: [-1, 3] }), "only a placeholder's may be unknown");
  });
});

test("makeValueInfo() writes an unknown dimension as the symbolic dimension batch", () => {
  const info = makeValueInfo("x", "float32", [-1, 3]) as { type: { tensorType: { shape: { dim: unknown[] } } } };
  assertEquals(info.type.tensorType.shape.dim, [{ dimParam: "batch" }, { dimValue: 3 }]);
});

test("a compiled model of unknown batch runs batches of 1 and 3 alike, row by row equal", async () => {
  const graph = new Graph();
  const { x, y, weights } = graph.asDefault(() => {
    const x = placeholder([null, 4, 4, 1], "float32", "x");
    const net = flatten(maxPool2d(conv2d(x, 2, [3, 3], { scope: "conv" }), [2, 2]));
    const y = softmax(fullyConnected(net, 3, { activationFn: null, scope: "fc" }));
    return { x, y, weights: [...graph.variables.values()] };
  });
  const frozen = new Map<string, HostTensor>(
    weights.map((v, i) => [v.name, { dtype: "float32", shape: [...v.shape], data: randomArray(v.size, 10 + i) }]),
  );
  const model = compileModel({ name: "dyn", fetches: { y }, frozen });
  const runtime = await createRuntime();
  const session = await runtime.createSession(model.bytes);
  const rows = randomArray(3 * 16, 7);
  const run = async (data: Float32Array, n: number) => {
    const value = runtime.fromHost({ dtype: "float32", shape: [n, 4, 4, 1], data });
    const out = await session.run({ [x.name]: value }, ["y"]);
    value.dispose();
    const host = (await runtime.toHost(out.y)).data as Float32Array;
    out.y.dispose();
    return host;
  };
  const three = await run(rows, 3);
  assertEquals(three.length, 9);
  for (let r = 0; r < 3; r++) assertClose(await run(rows.slice(r * 16, r * 16 + 16), 1), three.slice(r * 3, r * 3 + 3), { atol: 1e-6 });
  await session.release();
});
