// learning.train end to end on a small model: loss falls, events and checkpoints
// appear, a resumed run continues exactly, initFn runs once, checkNumerics stops
// with the step named, the logdir lock refuses a second trainer.
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import "../src/ops/mod.ts";
import { Graph } from "../src/graph/graph.ts";
import type { HostTensor } from "../src/graph/host_tensor.ts";
import { placeholder, variable } from "../src/graph/variable.ts";
import { xavierInitializer, zerosInitializer } from "../src/graph/initializers.ts";
import { add, dropout, log, matmul, mul, reduceMean, relu, sub } from "../src/ops/mod.ts";
import { createTrainOp } from "../src/learning/create_train_op.ts";
import { train } from "../src/learning/train.ts";
import { gradientDescent } from "../src/learning/optimizers/mod.ts";
import { scalar, histogram } from "../src/summary/summary_ops.ts";
import { readEvents } from "../src/summary/event_reader.ts";
import { NodeFileSystem } from "../src/fs/node_fs.ts";
import { restoreLatest } from "../src/checkpoint/mod.ts";
import { LOCK_FILE } from "../src/learning/logdir_lock.ts";
import { assert, assertClose, assertEquals, assertThrows, randomArray, test } from "./harness.ts";

const fs = new NodeFileSystem();
const quiet = () => {};

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), "slimtrain-train-"));
}

/** A 2-layer regression net with dropout; batches depend only on the step. */
function buildModel({ withDropout = true, lr = 0.05 } = {}) {
  const g = new Graph();
  return g.asDefault(() => {
    const x = placeholder([8, 4], "float32", "x");
    const y = placeholder([8, 1], "float32", "y");
    const w1 = variable("dense1/weights", { shape: [4, 16], initializer: xavierInitializer() });
    const b1 = variable("dense1/biases", { shape: [16], initializer: zerosInitializer() });
    const w2 = variable("dense2/weights", { shape: [16, 1], initializer: xavierInitializer() });
    let h = relu(add(matmul(x, w1.value), b1.value));
    if (withDropout) h = dropout(h, 0.8);
    const pred = matmul(h, w2.value);
    const diff = sub(pred, y);
    const loss = reduceMean(mul(diff, diff));
    scalar("losses/total_loss", loss);
    histogram("dense1/weights", w1.value);
    const trainOp = createTrainOp(loss, gradientDescent({ learningRate: lr }));
    return { g, trainOp, w1, b1, w2 };
  });
}

function batchAt(step: number): Record<string, HostTensor> {
  const x = randomArray(32, 1000 + step);
  const y = new Float32Array(8);
  for (let i = 0; i < 8; i++) y[i] = x[i * 4] * 0.5 - x[i * 4 + 1] + 0.25 * x[i * 4 + 2];
  return { x: { dtype: "float32", shape: [8, 4], data: x }, y: { dtype: "float32", shape: [8, 1], data: y } };
}

function* batchesFrom(start: number) {
  for (let s = start; ; s++) yield batchAt(s);
}

test("train() lowers the loss and writes events, checkpoints and the ONNX models", async () => {
  const dir = tempDir();
  try {
    const { trainOp } = buildModel();
    const losses: number[] = [];
    const final = await train(trainOp, dir, {
      data: batchesFrom, numberOfSteps: 60, saveSummariesSecs: 0, log: quiet, onStep: (s) => losses.push(s.loss),
    });
    assertEquals(losses.length, 60);
    assert(final === losses[59], "train returns the last loss");
    const early = losses.slice(0, 5).reduce((a, b) => a + b) / 5, late = losses.slice(-5).reduce((a, b) => a + b) / 5;
    assert(late < early * 0.5, `loss should fall: first five average ${early}, last five ${late}`);
    const files = readdirSync(dir);
    for (const f of ["checkpoint", "training_model.onnx", "eval_model.onnx", "model.ckpt-60.safetensors"]) {
      assert(files.includes(f), `${f} missing from ${files.join(", ")}`);
    }
    assert(!files.includes(LOCK_FILE), "the lock is released at the end");
    const eventFile = files.find((f) => f.startsWith("events.out.tfevents."))!;
    const events = readEvents(await fs.readFile(join(dir, eventFile)));
    const lossEvents = events.flatMap((e) => e.values.filter((v) => v.tag === "losses/total_loss").map((v) => ({ step: e.step, v: v.value! })));
    assertEquals(lossEvents.length, 60, "a loss summary on every step when saveSummariesSecs is 0");
    // Summaries come from the same run that trains: step N's summary is the loss before update N+1.
    assertClose(lossEvents.map((e) => e.v), losses, { rtol: 1e-6 });
    assert(events.some((e) => e.values.some((v) => v.tag === "dense1/weights" && v.kind === "histogram")), "histogram written");
    assert(events.some((e) => e.values.some((v) => v.tag === "global_step/sec")), "global_step/sec written");
    const restored = await restoreLatest(fs, dir);
    assertEquals(restored!.globalStep, 60);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("train() resumed after a stop continues exactly like an uninterrupted run", async () => {
  const a = tempDir(), b = tempDir();
  try {
    const straight: number[] = [];
    await train(buildModel().trainOp, a, { data: batchesFrom, numberOfSteps: 10, log: quiet, onStep: (s) => straight.push(s.loss) });
    const resumed: number[] = [];
    await train(buildModel().trainOp, b, { data: batchesFrom, numberOfSteps: 4, log: quiet, onStep: (s) => resumed.push(s.loss) });
    let inits = 0;
    await train(buildModel().trainOp, b, {
      data: batchesFrom, numberOfSteps: 10, log: quiet, onStep: (s) => resumed.push(s.loss), initFn: () => void inits++,
    });
    assertEquals(inits, 0, "initFn must not run when resuming");
    assertEquals(resumed.length, 10);
    assertClose(resumed, straight, { rtol: 0, atol: 0, message: "loss curve" });
    const ra = await restoreLatest(fs, a), rb = await restoreLatest(fs, b);
    for (const [name, t] of ra!.tensors) {
      if (t.dtype === "float32") assertClose(rb!.tensors.get(name)!.data as Float32Array, t.data as Float32Array, { rtol: 0, atol: 0, message: name });
    }
    assertEquals(rb!.globalStep, 10);
  } finally {
    rmSync(a, { recursive: true, force: true });
    rmSync(b, { recursive: true, force: true });
  }
});

test("train() runs initFn on a fresh start and keeps untrained variables bit-for-bit", async () => {
  const dir = tempDir();
  try {
    const model = buildModel({ withDropout: false });
    const onlyW2 = createTrainOp(model.trainOp.totalLoss, gradientDescent({ learningRate: 0.1 }), { variablesToTrain: [model.w2] });
    const fixed = { dtype: "float32" as const, shape: [4, 16], data: randomArray(64, 7) };
    await train(onlyW2, dir, {
      data: batchesFrom, numberOfSteps: 5, log: quiet, initFn: ({ session }) => session.assign(model.w1.name, fixed),
    });
    const r = await restoreLatest(fs, dir);
    assertClose(r!.tensors.get(model.w1.name)!.data as Float32Array, fixed.data, { rtol: 0, atol: 0, message: "w1 set by initFn, untouched" });
    assert((r!.tensors.get(model.b1.name)!.data as Float32Array).every((v) => v === 0), "b1 untouched");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("train() with checkNumerics stops at the step whose loss is NaN and saves nothing from it", async () => {
  const dir = tempDir();
  try {
    const g = new Graph();
    const trainOp = g.asDefault(() => {
      const x = placeholder([4], "float32", "x");
      const w = variable("w", { shape: [4], initializer: xavierInitializer() });
      // log of a value that goes negative once x is fed negative numbers.
      const loss = reduceMean(log(add(mul(w.value, 0), x)));
      return createTrainOp(loss, gradientDescent({ learningRate: 0.1 }));
    });
    const feed = (v: number) => ({ x: { dtype: "float32" as const, shape: [4], data: new Float32Array(4).fill(v) } });
    const data = function* () {
      yield feed(2);
      yield feed(3);
      yield feed(-1);
      yield feed(2);
    };
    await assertThrows(() => train(trainOp, dir, { data, numberOfSteps: 4, log: quiet }), /Global step 3: LossTensor is inf or nan \(loss = NaN\); the variables keep their values from global step 2/);
    assert(!readdirSync(dir).some((f) => f.startsWith("model.ckpt-")), "no checkpoint from a failed run");
    const off = g.asDefault(() => createTrainOp(trainOp.totalLoss, gradientDescent({ learningRate: 0.1 }), { checkNumerics: false }));
    const dir2 = tempDir();
    const last = await train(off, dir2, { data, numberOfSteps: 4, log: quiet });
    assert(Number.isFinite(last), "with checkNumerics off the run goes on");
    rmSync(dir2, { recursive: true, force: true });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("train() refuses a locked logdir, names the owner, and takes over a stale lock", async () => {
  const dir = tempDir();
  try {
    const { trainOp } = buildModel();
    writeFileSync(join(dir, LOCK_FILE), JSON.stringify({ pid: process.pid, hostname: await hostName(), startedAt: "then" }));
    await assertThrows(() => train(trainOp, dir, { data: batchesFrom, numberOfSteps: 2, log: quiet }), new RegExp(`locked by process ${process.pid}`));
    writeFileSync(join(dir, LOCK_FILE), JSON.stringify({ pid: 2 ** 22 + 12345, hostname: await hostName(), startedAt: "then" }));
    await train(trainOp, dir, { data: batchesFrom, numberOfSteps: 2, log: quiet });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("train() names the placeholder, step and shapes for a wrong feed, and rejects bad options", async () => {
  const dir = tempDir();
  try {
    const { trainOp } = buildModel();
    const bad = function* () {
      yield { ...batchAt(0), x: { dtype: "float32" as const, shape: [8, 5], data: new Float32Array(40).fill(0.5) } };
    };
    await assertThrows(() => train(trainOp, dir, { data: bad, numberOfSteps: 1, log: quiet }), "Feed for placeholder x at global step 1: expected shape [8, 4], got [8, 5]");
    await assertThrows(() => train(trainOp, dir, { data: batchesFrom, numberOfSteps: 0, log: quiet }), "numberOfSteps must be a positive integer, got 0");
    await assertThrows(() => train(trainOp, dir, { data: batchesFrom, numberOfSteps: 1, log: quiet, numberOfStep: 3 } as never), "unknown option numberOfStep");
    writeFileSync(join(dir, "afile"), "x");
    await assertThrows(() => train(trainOp, join(dir, "afile"), { data: batchesFrom, numberOfSteps: 1, log: quiet }), "is a file, not a directory");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

async function hostName(): Promise<string> {
  const { defaultHostname } = await import("../src/summary/hostname.ts");
  return defaultHostname();
}

test("train({ stepsPerRun }) unrolls steps in one run with the same losses and final weights", async () => {
  const a = tempDir(), b = tempDir();
  try {
    const one: number[] = [], four: number[] = [];
    await train(buildModel().trainOp, a, { data: batchesFrom, numberOfSteps: 10, log: quiet, onStep: (s) => one.push(s.loss) });
    await train(buildModel().trainOp, b, { data: batchesFrom, numberOfSteps: 10, stepsPerRun: 4, log: quiet, onStep: (s) => four.push(s.loss) });
    assertEquals(four.length, 10, "10 steps as 4 + 4 + 2");
    assertClose(four, one, { rtol: 1e-6, message: "losses" });
    const ra = await restoreLatest(fs, a), rb = await restoreLatest(fs, b);
    assertEquals(rb!.globalStep, 10);
    for (const [name, t] of ra!.tensors) {
      if (t.dtype === "float32") assertClose(rb!.tensors.get(name)!.data as Float32Array, t.data as Float32Array, { rtol: 1e-6, atol: 1e-7, message: name });
    }
  } finally {
    rmSync(a, { recursive: true, force: true });
    rmSync(b, { recursive: true, force: true });
  }
});

test("train() restoring another model's checkpoint says it is the checkpoint against the graph, names the file and the way out", async () => {
  const dir = tempDir();
  try {
    await train(buildModel().trainOp, dir, { data: batchesFrom, numberOfSteps: 1, log: quiet });
    const g = new Graph();
    const other = g.asDefault(() => {
      const x = placeholder([8, 4], "float32", "x");
      const w = variable("dense1/weights", { shape: [4, 3], initializer: xavierInitializer() });
      return createTrainOp(reduceMean(mul(matmul(x, w.value), 1)), gradientDescent({ learningRate: 0.1 }));
    });
    await assertThrows(
      () => train(other, dir, { data: batchesFrom, numberOfSteps: 2, log: quiet }),
      `Checkpoint ${join(dir, "model.ckpt-1")}.safetensors does not match the graph: variable dense1/weights is float32 [4, 16] in the checkpoint, ` +
        `float32 [4, 3] in the graph. The logdir ${dir} holds another model's checkpoints: train in a new logdir, or start over ` +
        "(`slimtrain train --fresh`, or remove its checkpoints).",
    );
    const g2 = new Graph();
    const missing = g2.asDefault(() => {
      const x = placeholder([8, 4], "float32", "x");
      const w = variable("head/weights", { shape: [4, 1], initializer: xavierInitializer() });
      return createTrainOp(reduceMean(matmul(x, w.value)), gradientDescent({ learningRate: 0.1 }));
    });
    await assertThrows(
      () => train(missing, dir, { data: batchesFrom, numberOfSteps: 2, log: quiet }),
      `Checkpoint ${join(dir, "model.ckpt-1")}.safetensors does not match the graph: it has no variable head/weights (float32 [4, 1] in the graph).`,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("train() resumed at or past numberOfSteps trains nothing, says so and returns NaN", async () => {
  const dir = tempDir();
  try {
    await train(buildModel().trainOp, dir, { data: batchesFrom, numberOfSteps: 3, log: quiet });
    const lines: string[] = [];
    let steps = 0;
    const loss = await train(buildModel().trainOp, dir, { data: batchesFrom, numberOfSteps: 2, log: (l) => lines.push(l), onStep: () => steps++ });
    assert(Number.isNaN(loss), `no step, no loss: got ${loss}`);
    assertEquals(steps, 0);
    assertEquals(lines.at(-1), `Global step 3 already reached numberOfSteps 2: nothing to train (${join(dir, "model.ckpt-3")})`);
    assertEquals((await restoreLatest(fs, dir))!.globalStep, 3, "no new checkpoint");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("train() without numberOfSteps or signal runs until the data runs out, as slim's train with number_of_steps=None", async () => {
  const dir = tempDir();
  try {
    const lines: string[] = [];
    const data = [0, 1, 2, 3, 4].map(batchAt);
    const loss = await train(buildModel().trainOp, dir, { data, log: (l) => lines.push(l), handleSignals: false });
    assert(Number.isFinite(loss), `loss ${loss}`);
    assert(lines.includes("Input data ran out at global step 5"), lines.join("\n"));
    assertEquals((await restoreLatest(fs, dir))!.globalStep, 5);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
