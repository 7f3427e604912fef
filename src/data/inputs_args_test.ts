// inputs() refuses what it cannot wire into placeholders, with the call that
// works: a Dataset without its element spec, features that are not whole
// tensors, options that are not an options object.
import "../ops/mod.ts";
import { assertEquals, assertThrows, test } from "../../test/harness.ts";
import { Graph } from "../graph/graph.ts";
import type { HostTensor } from "../graph/host_tensor.ts";
import { Dataset } from "./dataset.ts";
import { inputs } from "./inputs.ts";

const images: HostTensor = { dtype: "float32", shape: [6, 2, 2, 1], data: new Float32Array(24).map((_, i) => i / 24) };
const labels: HostTensor = { dtype: "int64", shape: [6], data: BigInt64Array.of(0n, 1n, 2n, 0n, 1n, 2n) };
const inGraph = <T>(fn: () => T): T => new Graph().asDefault(fn);

test("inputs() on a Dataset without a spec says which spec to add, with an example", async () => {
  const dataset = Dataset.fromTensorSlices({ images, labels });
  await assertThrows(
    () => inGraph(() => inputs(dataset as never, { batchSize: 2 })),
    "inputs: a Dataset needs its element spec (each feature's per-example shape and dtype, which the placeholders take before any data is read): " +
      'inputs({ dataset, spec: { images: { shape: [28, 28, 1], dtype: "float32" }, labels: { shape: [], dtype: "int64" } } }, { batchSize: 2 })',
  );
  await assertThrows(() => inGraph(() => inputs({ dataset } as never, { batchSize: 2 })), "inputs: the dataset needs a spec with each feature's per-example shape and dtype");
  await assertThrows(
    () => inGraph(() => inputs({ dataset, spec: { images: { shape: [4, 2, 2, 1], dtype: "float32" }, labels: { shape: [], dtype: "float64" } } } as never, { batchSize: 2 })),
    'inputs: spec dtype of labels must be one of "float32", "int64", "int32", "bool", got "float64"',
  );
  await assertThrows(() => inGraph(() => inputs({ dataset: [1, 2], spec: {} } as never, { batchSize: 2 })), "inputs: dataset must be a Dataset (e.g. Dataset.fromTensorSlices or tfrecordDataset), got [1, 2]");
  // With its spec the same dataset is wired.
  const wired = inGraph(() => inputs<"images" | "labels">({ dataset, spec: { images: { shape: [2, 2, 1], dtype: "float32" }, labels: { shape: [], dtype: "int64" } } }, { batchSize: 2 }));
  assertEquals(wired.images.shape, [2, 2, 2, 1]);
});

test("inputs() refuses features that are not whole tensors and options that are not an options object", async () => {
  await assertThrows(
    () => inGraph(() => inputs({ images: images.data } as never, { batchSize: 2 })),
    "inputs: feature images must be a tensor { dtype, shape, data } holding every example along axis 0, got a Float32Array of 24",
  );
  await assertThrows(() => inGraph(() => inputs({ images, labels }, 2 as never)), "inputs: options must be an object { batchSize, shuffle?, seed?, prefetch? }, got 2: inputs(examples, { batchSize: 2 })");
  await assertThrows(() => inGraph(() => inputs({ images, labels }, { batch_size: 2 } as never)), "inputs: unknown option batch_size for the input pipeline; slimtrain spells it batchSize");
  await assertThrows(() => inGraph(() => inputs({ images, labels }, { batchSize: 0 })), "inputs: batchSize must be a positive integer, got 0");
  await assertThrows(() => inGraph(() => inputs([images, labels] as never, { batchSize: 2 })), "inputs: examples must be a record of whole tensors");
  await assertThrows(() => inGraph(() => inputs({}, { batchSize: 2 })), "inputs: no features given");
  await assertThrows(() => inGraph(() => inputs({ images, labels }, { batchSize: 7 })), "inputs: 6 examples cannot fill a batch of 7");
});
