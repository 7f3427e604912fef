/**
 * The fine-tuning flow on a small model: a slim net exported to ONNX, imported
 * with its weights frozen, a new head trained with `variablesToTrain`, and the
 * result exported again and run in a fresh ONNX Runtime session.
 * @module
 */
import { Graph } from "../src/graph/graph.ts";
import { type HostTensor, hostTensor } from "../src/graph/host_tensor.ts";
import { seededRandom } from "../src/graph/random.ts";
import { placeholder, type Variable } from "../src/graph/variable.ts";
import { conv2d, flatten, fullyConnected } from "../src/layers/mod.ts";
import { createTrainOp } from "../src/learning/create_train_op.ts";
import { compileInferenceModel } from "../src/learning/export.ts";
import { adam } from "../src/learning/optimizers/mod.ts";
import { TrainSession } from "../src/learning/train_session.ts";
import { getTotalLoss, sparseSoftmaxCrossEntropy } from "../src/losses/mod.ts";
import { importModel } from "../src/onnx/import/import_model.ts";
import { createRuntime } from "../src/runtime/create.ts";
import { evaluate } from "../src/runtime/evaluate.ts";
import { assert, assertClose, assertEquals, randomArray, test } from "./harness.ts";

const BATCH = 4;

/** A slim conv net (NHWC, as slim builds it) exported with seeded initial weights. */
function exportedBackbone(): Uint8Array {
  const graph = new Graph();
  return graph.asDefault(() => {
    const images = placeholder([BATCH, 8, 8, 1], "float32", "images");
    const features = fullyConnected(flatten(conv2d(images, 4, 3, { scope: "conv1" })), 6, { scope: "fc2" });
    const logits = fullyConnected(features, 3, { activationFn: null, scope: "logits" });
    const values = new Map<string, HostTensor>();
    for (const v of graph.variables.values()) values.set(v.name, v.initializer.init(v.shape, v.dtype, seededRandom(3, v.name)));
    return compileInferenceModel(values, { outputs: { features, logits } }).bytes;
  });
}

test("importModel() fine-tuning: a frozen imported backbone stays bit-identical while a new head trains, and the export runs in a fresh session", async () => {
  const bytes = exportedBackbone();
  const graph = new Graph();
  const { model, head, trainOp } = graph.asDefault(() => {
    const model = importModel(bytes, { trainable: [] });
    const labels = placeholder([BATCH], "int64", "labels");
    const head = fullyConnected(model.outputs.features, 2, { activationFn: null, scope: "head" });
    sparseSoftmaxCrossEntropy(head, labels);
    const headVars = [...graph.variables.values()].filter((v) => v.name.startsWith("head/"));
    return { model, head, trainOp: createTrainOp(getTotalLoss(), adam({ learningRate: 0.05 }), { variablesToTrain: headVars }) };
  });
  assertEquals(Object.keys(model.variables).sort(), ["conv1/biases", "conv1/weights", "fc2/biases", "fc2/weights", "logits/biases", "logits/weights"]);
  assert(Object.values(model.variables).every((v) => !v.trainable), "imported variables are frozen");

  const runtime = await createRuntime({ executionProvider: "cpu", intraOpNumThreads: 1 });
  const session = await TrainSession.create(trainOp, { runtime });
  let state: Map<string, HostTensor>;
  const feeds = {
    images: hostTensor("float32", [BATCH, 8, 8, 1], randomArray(BATCH * 64, 11, 0, 1)),
    labels: hostTensor("int64", [BATCH], new BigInt64Array([0n, 1n, 1n, 0n])),
  };
  const losses: number[] = [];
  try {
    session.initialize();
    for (let i = 0; i < 5; i++) losses.push((await session.run(feeds)).loss);
    state = await session.readState();
  } finally {
    await session.release();
  }
  assert(losses[4] < losses[0], `the head learns: losses ${losses.map((l) => l.toFixed(4)).join(", ")}`);
  for (const [name, v] of Object.entries(model.variables) as [string, Variable][]) {
    const stored = v.initializer.init(v.shape, v.dtype, seededRandom(0, name)).data as Float32Array;
    const after = state.get(v.name)!.data as Float32Array;
    assert(stored.length === after.length && stored.every((x, i) => Object.is(x, after[i])), `${name} changed during fine-tuning`);
  }

  const exported = compileInferenceModel(state, { outputs: { logits: head } });
  assertEquals(exported.inputs.map((i) => i.name), ["images"]);
  const fresh = await createRuntime({ executionProvider: "cpu" });
  const s = await fresh.createSession(exported.bytes);
  try {
    const out = await s.run({ images: fresh.fromHost(feeds.images) }, ["logits"]);
    const inGraph = await evaluate({ logits: head }, { feeds: { images: feeds.images }, variables: Object.fromEntries(state), runtime });
    assertClose((await fresh.toHost(out.logits)).data as Float32Array, inGraph.logits.data as Float32Array, { rtol: 1e-6, atol: 1e-7 });
  } finally {
    await s.release();
  }
});
