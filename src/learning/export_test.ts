// exportInferenceModel: a model trained with dropout, exported from its
// inference-mode graph with the checkpoint baked in, runs in a fresh
// onnxruntime-node session fed only the placeholders and gives the logits
// `evaluate` gives; onnx's own checker accepts the file.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as ortModule from "onnxruntime-node";
import "../ops/mod.ts";
import { latestCheckpoint, restoreCheckpoint } from "../checkpoint/mod.ts";
import { NodeFileSystem } from "../fs/node_fs.ts";
import { Graph } from "../graph/graph.ts";
import type { HostTensor } from "../graph/host_tensor.ts";
import { xavierInitializer, zerosInitializer } from "../graph/initializers.ts";
import { placeholder, variable } from "../graph/variable.ts";
import { add, dropout, matmul, mul, reduceMean, relu, sub } from "../ops/mod.ts";
import { evaluate } from "../runtime/evaluate.ts";
import { assertClose, assertEquals, assertThrows, randomArray, test } from "../../test/harness.ts";
import { createTrainOp } from "./create_train_op.ts";
import { exportInferenceModel, exportInferenceModelFromValues } from "./export.ts";
import { gradientDescent } from "./optimizers/mod.ts";
import { train } from "./train.ts";

// deno-lint-ignore no-explicit-any
const ort: any = (ortModule as { default?: unknown }).default ?? ortModule;
const fs = new NodeFileSystem();
const quiet = () => {};
const B = 4, IN = 3, OUT = 2;

/** A 2-layer regressor with dropout in training mode; `batch` null leaves the batch unknown. */
function buildNet(isTraining: boolean, batch: number | null = B) {
  const g = new Graph();
  return g.asDefault(() => {
    const x = placeholder([batch, IN], "float32", "x");
    const w1 = variable("net/fc1/weights", { shape: [IN, 8], initializer: xavierInitializer() });
    const b1 = variable("net/fc1/biases", { shape: [8], initializer: zerosInitializer() });
    const w2 = variable("net/fc2/weights", { shape: [8, OUT], initializer: xavierInitializer() });
    let h = relu(add(matmul(x, w1.value), b1.value));
    if (isTraining) h = dropout(h, 0.7);
    const logits = matmul(h, w2.value);
    return { g, x, logits };
  });
}

function feed(seed: number, batch = B): HostTensor {
  return { dtype: "float32", shape: [batch, IN], data: randomArray(batch * IN, seed) };
}

async function trainedCheckpoint(dir: string): Promise<string> {
  const net = buildNet(true);
  const loss = net.g.asDefault(() => {
    const y = placeholder([B, OUT], "float32", "y");
    const d = sub(net.logits, y);
    return reduceMean(mul(d, d));
  });
  const data = function* () {
    for (let s = 0; ; s++) yield { x: feed(s), y: { dtype: "float32" as const, shape: [B, OUT], data: randomArray(B * OUT, 500 + s) } };
  };
  await train(createTrainOp(loss, gradientDescent({ learningRate: 0.1 })), dir, { data, numberOfSteps: 3, log: quiet });
  return (await latestCheckpoint(fs, dir))!;
}

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "slimtrain-export-"));
  try {
    await fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function runExported(path: string, x: HostTensor): Promise<Float32Array> {
  const session = await ort.InferenceSession.create(path);
  try {
    assertEquals([...session.inputNames], ["x"]);
    const out = await session.run({ x: new ort.Tensor("float32", x.data, x.shape) });
    return out.logits.data as Float32Array;
  } finally {
    await session.release();
  }
}

const hasOnnx = spawnSync("/usr/bin/python3", ["-c", "import onnx"], { stdio: "ignore" }).status === 0;

test("exportInferenceModel() bakes the checkpoint in; a fresh onnxruntime-node session gives evaluate()'s logits", async () => {
  await withDir(async (dir) => {
    const ckpt = await trainedCheckpoint(dir);
    const { tensors } = await restoreCheckpoint(fs, ckpt);
    const net = buildNet(false);
    const path = join(dir, "inference.onnx");
    const inputs = await exportInferenceModel(ckpt, path, { outputs: { logits: net.logits }, fs });
    assertEquals(inputs, [{ name: "x", shape: [B, IN], dtype: "float32" }]);
    assertEquals(readdirSync(dir).filter((f) => f.startsWith("inference.onnx")), ["inference.onnx"], "no temporary file left");
    for (const seed of [1, 2]) {
      const x = feed(100 + seed);
      const expected = await evaluate({ logits: net.logits }, { feeds: { x }, variables: Object.fromEntries(tensors) });
      assertClose(await runExported(path, x), expected.logits.data as Float32Array, { rtol: 1e-6, atol: 1e-7 });
    }
    const fromValues = join(dir, "from_values.onnx");
    await exportInferenceModelFromValues(tensors, fromValues, { outputs: { logits: net.logits }, fs });
    const x = feed(7);
    assertClose(await runExported(fromValues, x), await runExported(path, x), { rtol: 0, atol: 0 });
  });
});

test("exportInferenceModel() of an unknown batch writes a model that takes batches of 1 and 7 alike, as evaluate() computes them", async () => {
  await withDir(async (dir) => {
    const ckpt = await trainedCheckpoint(dir);
    const { tensors } = await restoreCheckpoint(fs, ckpt);
    const net = buildNet(false, null);
    const path = join(dir, "any_batch.onnx");
    const inputs = await exportInferenceModel(ckpt, path, { outputs: { logits: net.logits }, fs });
    assertEquals(inputs, [{ name: "x", shape: [-1, IN], dtype: "float32" }]);
    const seven = feed(300, 7);
    const expected = await evaluate({ logits: net.logits }, { feeds: { x: seven }, variables: Object.fromEntries(tensors) });
    assertEquals(expected.logits.shape, [7, OUT]);
    const exported = await runExported(path, seven);
    assertClose(exported, expected.logits.data as Float32Array, { rtol: 1e-6, atol: 1e-7 });
    const one: HostTensor = { dtype: "float32", shape: [1, IN], data: (seven.data as Float32Array).slice(2 * IN, 3 * IN) };
    assertClose(await runExported(path, one), exported.slice(2 * OUT, 3 * OUT), { rtol: 1e-6, atol: 1e-7 });
  });
});

test("exportInferenceModel() refuses dropout in training mode and a checkpoint lacking a variable", async () => {
  await withDir(async (dir) => {
    const ckpt = await trainedCheckpoint(dir);
    const training = buildNet(true);
    await assertThrows(
      () => exportInferenceModel(ckpt, join(dir, "bad.onnx"), { outputs: { logits: training.logits }, fs }),
      /the outputs depend on dropout noise .*noise; build the inference graph with isTraining: false/,
    );
    const { tensors } = await restoreCheckpoint(fs, ckpt);
    tensors.delete("net/fc2/weights");
    await assertThrows(
      () => exportInferenceModelFromValues(tensors, join(dir, "bad.onnx"), { outputs: { logits: buildNet(false).logits }, fs }),
      "exportInferenceModel: no value for variable net/fc2/weights in the given values, and the outputs need it",
    );
    assertEquals(readdirSync(dir).filter((f) => f.startsWith("bad.onnx")), [], "nothing written");
  });
});

if (hasOnnx) {
  test("exportInferenceModel() writes a model onnx.checker accepts with full_check", async () => {
    await withDir(async (dir) => {
      const ckpt = await trainedCheckpoint(dir);
      const path = join(dir, "inference.onnx");
      await exportInferenceModel(ckpt, path, { outputs: { logits: buildNet(false).logits }, fs });
      const check = spawnSync("/usr/bin/python3", ["-c", "import onnx, sys; onnx.checker.check_model(sys.argv[1], full_check=True)", path], {
        encoding: "utf8",
      });
      assertEquals(check.status, 0, `onnx.checker on ${path}: ${check.stderr}`);
    });
  });
} else {
  test.skip("exportInferenceModel() writes a model onnx.checker accepts with full_check", "/usr/bin/python3 cannot import onnx");
}
