// readAnyCheckpoint() tells the kinds apart, and assignFromCheckpointFn() restores
// slim-named variables from a TensorFlow checkpoint as slim does.
import "../ops/mod.ts";
import { hasNodeFs } from "../fs/default.ts";
import { MemoryFileSystem } from "../fs/memory_fs.ts";
import { Graph } from "../graph/graph.ts";
import { type HostTensor, hostTensor } from "../graph/host_tensor.ts";
import { variable } from "../graph/variable.ts";
import { assignFromCheckpointFn, getVariablesToRestore } from "../learning/fine_tune.ts";
import { onnxTypes } from "../onnx/proto.ts";
import { assert, assertEquals, assertThrows, randomArray, test } from "../../test/harness.ts";
import { encodeCheckpoint } from "./checkpoint_file.ts";
import { readAnyCheckpoint } from "./read_any.ts";
import { CheckpointError, encodeSafetensors } from "./safetensors.ts";
import { expectedCheckpoints, fixtureFs, TF_FIXTURES } from "./tf_test_fixtures.ts";

const w = hostTensor("float32", [2, 3], randomArray(6, 41));
const steps = hostTensor("int64", [2], BigInt64Array.from([5n, -(2n ** 40n)]));

test("readAnyCheckpoint() reads a slimtrain checkpoint by prefix, with its step, and plain safetensors by name or content", async () => {
  const fs = new MemoryFileSystem();
  await fs.mkdirp("logs");
  await fs.writeFileAtomic("logs/model.ckpt-5.safetensors", encodeCheckpoint({ w, steps }, 5, {}));
  const own = await readAnyCheckpoint("logs/model.ckpt-5", { fs });
  assertEquals([own.kind, own.path, own.globalStep, [...own.tensors.keys()].sort()], ["slimtrain", "logs/model.ckpt-5", 5, ["steps", "w"]]);
  assertEquals(own.tensors.get("w")!.data, w.data);

  const plain = encodeSafetensors({ w, steps }, { producer: "elsewhere" });
  await fs.writeFileAtomic("logs/plain.safetensors", plain);
  await fs.writeFileAtomic("logs/plain.bin", plain);
  for (const path of ["logs/plain.safetensors", "logs/plain.bin"]) {
    const r = await readAnyCheckpoint(path, { fs, names: ["steps"] });
    assertEquals([r.kind, r.globalStep, [...r.tensors.keys()]], ["safetensors", undefined, ["steps"]]);
    assertEquals(r.tensors.get("steps")!.data, steps.data);
  }
});

test("readAnyCheckpoint() reads an ONNX model's initializers: raw and typed data, float64 converted, strings skipped", async () => {
  const fs = new MemoryFileSystem();
  const f64 = [0.1, -2.5, 1e-3];
  const model = onnxTypes.ModelProto.encode({
    irVersion: 8,
    graph: {
      name: "g",
      initializer: [
        { name: "conv.weight", dims: [2, 3], dataType: 1, rawData: new Uint8Array((w.data as Float32Array).slice().buffer) },
        { name: "fc.bias", dims: [3], dataType: 1, floatData: [0.5, -1, 2] },
        { name: "steps", dims: [2], dataType: 7, int64Data: [5, -(2 ** 40)] },
        { name: "var64", dims: [3], dataType: 11, rawData: new Uint8Array(Float64Array.from(f64).buffer) },
        { name: "labels", dims: [1], dataType: 8 },
      ],
    },
  }).finish();
  await fs.writeFileAtomic("m.onnx", model);
  const r = await readAnyCheckpoint("m.onnx", { fs });
  assertEquals(r.kind, "onnx");
  assertEquals([...r.tensors.keys()], ["conv.weight", "fc.bias", "steps", "var64"]);
  assertEquals(r.tensors.get("conv.weight"), w);
  assertEquals(r.tensors.get("fc.bias")!.data, Float32Array.from([0.5, -1, 2]));
  assertEquals(r.tensors.get("steps")!.data, steps.data);
  assertEquals(r.tensors.get("var64")!.data, Float32Array.from(f64));
  assertEquals([...r.converted], [["var64", "double"]]);
  assertEquals([...r.skipped], [["labels", "ONNX data type string"]]);
});

test("readAnyCheckpoint() names the path and what it looked for when nothing readable is there", async () => {
  const fs = new MemoryFileSystem();
  await fs.writeFileAtomic("notes.txt", new TextEncoder().encode("hello, not weights"));
  const err = await assertThrows(() => readAnyCheckpoint("notes.txt", { fs }), "Checkpoint notes.txt, byte offset 0: is not a checkpoint");
  assert(err instanceof CheckpointError);
  await assertThrows(
    () => readAnyCheckpoint("gone/model.ckpt", { fs }),
    /gone\/model\.ckpt\.safetensors \(slimtrain\) or gone\/model\.ckpt\.index \(TensorFlow V2\)/,
  );
});

const FIXTURE_TEST = "assignFromCheckpointFn() restores slim-named variables from TensorFlow V1 and V2 checkpoints, excluding vgg_16/fc8";
if (!hasNodeFs()) test.skip(FIXTURE_TEST, "reading the fixtures needs node:fs");
else test(FIXTURE_TEST, async () => {
  const fs = await fixtureFs();
  const expected = await expectedCheckpoints(fs);
  const g = new Graph();
  g.asDefault(() => {
    const layer = (scope: string, kernel: number[], n: number) =>
      g.withScope(scope, () => {
        variable("weights", { shape: [...kernel, n] });
        variable("biases", { shape: [n] });
      });
    g.withScope("vgg_16", () => {
      g.withScope("conv1", () => {
        layer("conv1_1", [3, 3, 3], 4);
        layer("conv1_2", [3, 3, 4], 4);
      });
      layer("fc8", [1, 1, 4], 3); // a new head: 3 classes where the checkpoint has 5
    });
  });
  for (const path of ["vgg_16.ckpt", "v2/model.ckpt-12"]) {
    const assigned = new Map<string, HostTensor>();
    const variables = getVariablesToRestore({ exclude: ["vgg_16/fc8"] }, g);
    await assignFromCheckpointFn(`${TF_FIXTURES}/${path}`, variables, { fs })({ session: { assign: (n, v) => assigned.set(n, v) } });
    assertEquals([...assigned.keys()], [
      "vgg_16/conv1/conv1_1/weights",
      "vgg_16/conv1/conv1_1/biases",
      "vgg_16/conv1/conv1_2/weights",
      "vgg_16/conv1/conv1_2/biases",
    ]);
    const want = expected[path]["vgg_16/conv1/conv1_2/weights"];
    assertEquals(Array.from(assigned.get("vgg_16/conv1/conv1_2/weights")!.data as Float32Array), want.values);
    // Without the exclusion, fc8's shape mismatch is reported, as slim does.
    await assertThrows(
      () => assignFromCheckpointFn(`${TF_FIXTURES}/${path}`, getVariablesToRestore({}, g), { fs })({ session: { assign: () => {} } }),
      "vgg_16/fc8/weights",
    );
  }
});
