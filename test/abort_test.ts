// Stopping a run: train({ signal }) aborted mid-run finishes the current step (or,
// with stepsPerRun, the current run), saves a final checkpoint there, and a restart
// continues exactly as if nothing had happened. Also the CUDA provider's error
// when its libraries are not installed.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import "../src/ops/mod.ts";
import { readState, restoreLatest } from "../src/checkpoint/mod.ts";
import { NodeFileSystem } from "../src/fs/node_fs.ts";
import { Graph } from "../src/graph/graph.ts";
import type { HostTensor } from "../src/graph/host_tensor.ts";
import { xavierInitializer, zerosInitializer } from "../src/graph/initializers.ts";
import { placeholder, variable } from "../src/graph/variable.ts";
import { createTrainOp } from "../src/learning/create_train_op.ts";
import { momentum } from "../src/learning/optimizers/mod.ts";
import { train } from "../src/learning/train.ts";
import { makeModel, makeNode, makeValueInfo } from "../src/onnx/builder.ts";
import { add, dropout, matmul, mul, reduceMean, relu, sub } from "../src/ops/mod.ts";
import { createRuntime } from "../src/runtime/create.ts";
import { assert, assertClose, assertEquals, randomArray, test } from "./harness.ts";

const fs = new NodeFileSystem();
const quiet = () => {};

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), "slimtrain-abort-"));
}

/**
 * A small regressor with dropout and momentum: both the noise (drawn per step) and
 * the optimizer slot must come back right for a restart to match exactly.
 */
function buildTrainOp() {
  const g = new Graph();
  return g.asDefault(() => {
    const x = placeholder([8, 4], "float32", "x");
    const y = placeholder([8, 1], "float32", "y");
    const w1 = variable("fc1/weights", { shape: [4, 16], initializer: xavierInitializer() });
    const b1 = variable("fc1/biases", { shape: [16], initializer: zerosInitializer() });
    const w2 = variable("fc2/weights", { shape: [16, 1], initializer: xavierInitializer() });
    const h = dropout(relu(add(matmul(x, w1.value), b1.value)), 0.8);
    const d = sub(matmul(h, w2.value), y);
    return createTrainOp(reduceMean(mul(d, d)), momentum({ learningRate: 0.05, momentum: 0.9 }));
  });
}

function batchAt(step: number): Record<string, HostTensor> {
  const x = randomArray(32, 2000 + step);
  const y = new Float32Array(8);
  for (let i = 0; i < 8; i++) y[i] = x[i * 4] - 0.5 * x[i * 4 + 3];
  return { x: { dtype: "float32", shape: [8, 4], data: x }, y: { dtype: "float32", shape: [8, 1], data: y } };
}

function* batchesFrom(start: number) {
  for (let s = start; ; s++) yield batchAt(s);
}

/** An uninterrupted run's per-step losses and final variables. */
async function straightRun(numberOfSteps: number, stepsPerRun: number) {
  const dir = tempDir();
  try {
    const losses: number[] = [];
    await train(buildTrainOp(), dir, { data: batchesFrom, numberOfSteps, stepsPerRun, log: quiet, onStep: (s) => losses.push(s.loss) });
    return { losses, restored: (await restoreLatest(fs, dir))! };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Trains in `dir`, aborting from onStep once `abortAt` is reached; returns the steps seen, losses and log. */
async function abortedRun(dir: string, numberOfSteps: number, stepsPerRun: number, abortAt: number) {
  const controller = new AbortController();
  const steps: number[] = [], losses: number[] = [], lines: string[] = [];
  const last = await train(buildTrainOp(), dir, {
    data: batchesFrom, numberOfSteps, stepsPerRun, signal: controller.signal, log: (l) => lines.push(l),
    onStep: (s) => {
      steps.push(s.step);
      losses.push(s.loss);
      if (s.step === abortAt) controller.abort();
    },
  });
  return { steps, losses, lines, last };
}

async function resumedRun(dir: string, numberOfSteps: number, stepsPerRun: number) {
  const steps: number[] = [], losses: number[] = [], lines: string[] = [];
  await train(buildTrainOp(), dir, {
    data: batchesFrom, numberOfSteps, stepsPerRun, log: (l) => lines.push(l),
    onStep: (s) => {
      steps.push(s.step);
      losses.push(s.loss);
    },
  });
  return { steps, losses, lines };
}

function assertSameVariables(actual: Map<string, HostTensor>, expected: Map<string, HostTensor>): void {
  assertEquals([...actual.keys()].sort(), [...expected.keys()].sort(), "variable names");
  for (const [name, t] of expected) {
    if (t.dtype === "float32") assertClose(actual.get(name)!.data as Float32Array, t.data as Float32Array, { rtol: 0, atol: 0, message: name });
  }
}

test("train({ signal }) aborted from onStep stops after that step with a final checkpoint; a restart matches an uninterrupted run exactly", async () => {
  const straight = await straightRun(8, 1);
  const dir = tempDir();
  try {
    const stopped = await abortedRun(dir, 8, 1, 3);
    assertEquals(stopped.steps, [1, 2, 3], "no step after the abort");
    assert(stopped.last === stopped.losses[2], "train returns the last step's loss");
    assertEquals(stopped.lines.filter((l) => l.startsWith("Saved ")), [`Saved ${join(dir, "model.ckpt-3")} (final)`]);
    assertEquals((await readState(fs, dir))!.latest, "model.ckpt-3");
    assertEquals((await restoreLatest(fs, dir))!.globalStep, 3);

    const resumed = await resumedRun(dir, 8, 1);
    assertEquals(resumed.steps, [4, 5, 6, 7, 8]);
    assert(resumed.lines.includes(`Restored ${join(dir, "model.ckpt-3")} (global step 3)`), resumed.lines.join("\n"));
    assertClose([...stopped.losses, ...resumed.losses], straight.losses, { rtol: 0, atol: 0, message: "losses" });
    const end = (await restoreLatest(fs, dir))!;
    assertEquals(end.globalStep, 8);
    assertSameVariables(end.tensors, straight.restored.tensors);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("train({ signal }) without numberOfSteps runs until the signal stops it", async () => {
  const dir = tempDir();
  try {
    const controller = new AbortController();
    let seen = 0;
    await train(buildTrainOp(), dir, {
      data: batchesFrom, signal: controller.signal, log: quiet,
      onStep: ({ step }) => {
        seen = step;
        if (step === 2) controller.abort();
      },
    });
    assertEquals(seen, 2);
    assertEquals((await restoreLatest(fs, dir))!.globalStep, 2);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("train({ stepsPerRun: 3, signal }) aborted mid-run finishes that run, saves, and a restart matches exactly", async () => {
  const straight = await straightRun(9, 3);
  const dir = tempDir();
  try {
    // Aborted at step 4, the first step of the run 4-6: steps 5 and 6 are in the same ONNX Runtime call.
    const stopped = await abortedRun(dir, 9, 3, 4);
    assertEquals(stopped.steps, [1, 2, 3, 4, 5, 6], "the current run completes, no run after it");
    assertEquals(stopped.lines.filter((l) => l.startsWith("Saved ")), [`Saved ${join(dir, "model.ckpt-6")} (final)`]);
    assertEquals((await restoreLatest(fs, dir))!.globalStep, 6);

    const resumed = await resumedRun(dir, 9, 3);
    assertEquals(resumed.steps, [7, 8, 9]);
    assertClose([...stopped.losses, ...resumed.losses], straight.losses, { rtol: 0, atol: 0, message: "losses" });
    const end = (await restoreLatest(fs, dir))!;
    assertEquals(end.globalStep, 9);
    assertSameVariables(end.tensors, straight.restored.tensors);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("createRuntime({ executionProvider: 'cuda' }) runs a model or says how to install CUDA and what to use instead", async () => {
  const model = makeModel({
    name: "tiny",
    nodes: [makeNode("Relu", ["x"], ["y"])],
    inputs: [makeValueInfo("x", "float32", [4])],
    outputs: [makeValueInfo("y", "float32", [4])],
    initializers: [],
  });
  const runtime = await createRuntime({ executionProvider: "cuda" });
  assertEquals(runtime.executionProvider, "cuda");
  let session;
  try {
    session = await runtime.createSession(model);
  } catch (err) {
    const msg = (err as Error).message;
    assert(msg.includes("CUDA execution provider is not available"), msg);
    assert(msg.includes("--onnxruntime-node-install=cuda12"), `the message says how to install the provider: ${msg}`);
    assert(msg.includes('"webgpu"') && msg.includes('"cpu"'), `the message names the fallbacks: ${msg}`);
    assert((err as Error).cause !== undefined, "ONNX Runtime's own error is kept as the cause");
    return;
  }
  // A machine with the CUDA provider installed: the session must really run.
  try {
    const x = randomArray(4, 5);
    const out = await session.run({ x: runtime.fromHost({ dtype: "float32", shape: [4], data: x }) }, ["y"]);
    assertClose((await runtime.toHost(out.y)).data as Float32Array, Array.from(x, (v) => Math.max(0, v)), { message: "Relu on CUDA" });
  } finally {
    await session.release();
  }
});
