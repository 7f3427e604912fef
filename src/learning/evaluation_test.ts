// evaluateOnce and evaluationLoop: metrics over a checkpoint equal a hand count
// from the same model's logits, scalars land in the event file at the
// checkpoint's step, and the loop evaluates each new checkpoint once and stops.
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import "../ops/mod.ts";
import { latestCheckpoint, restoreCheckpoint, Saver } from "../checkpoint/mod.ts";
import { inputs } from "../data/inputs.ts";
import { NodeFileSystem } from "../fs/node_fs.ts";
import { Graph } from "../graph/graph.ts";
import type { HostTensor } from "../graph/host_tensor.ts";
import { xavierInitializer, zerosInitializer } from "../graph/initializers.ts";
import { constant, placeholder, variable } from "../graph/variable.ts";
import { accuracy, mean } from "../metrics/metrics.ts";
import { add, cast, equal, expandDims, matmul, reduceMean, relu, softmaxCrossEntropyWithLogits } from "../ops/mod.ts";
import { evaluate } from "../runtime/evaluate.ts";
import { readEvents } from "../summary/event_reader.ts";
import { assert, assertClose, assertEquals, assertThrows, randomArray, rng, test } from "../../test/harness.ts";
import { createTrainOp } from "./create_train_op.ts";
import { evaluateOnce, evaluationLoop } from "./evaluation.ts";
import { gradientDescent } from "./optimizers/mod.ts";
import { train } from "./train.ts";

const fs = new NodeFileSystem();
const quiet = () => {};
const B = 8, IN = 4, C = 3;

/** A 2-layer classifier with its loss and metrics. */
function buildNet() {
  const g = new Graph();
  return g.asDefault(() => {
    const x = placeholder([B, IN], "float32", "x");
    const labels = placeholder([B], "int64", "labels");
    const w1 = variable("net/hidden/weights", { shape: [IN, 6], initializer: xavierInitializer() });
    const b1 = variable("net/hidden/biases", { shape: [6], initializer: zerosInitializer() });
    const w2 = variable("net/logits/weights", { shape: [6, C], initializer: xavierInitializer() });
    const logits = matmul(relu(add(matmul(x, w1.value), b1.value)), w2.value);
    const onehot = cast(equal(expandDims(labels, -1), constant([0, 1, 2], [C], "int64")), "float32");
    const loss = reduceMean(softmaxCrossEntropyWithLogits(logits, onehot));
    return { g, logits, loss, metrics: { accuracy: accuracy(logits, labels), loss: mean(loss) } };
  });
}

function batch(seed: number): Record<string, HostTensor> {
  const r = rng(seed);
  return {
    x: { dtype: "float32", shape: [B, IN], data: randomArray(B * IN, seed) },
    labels: { dtype: "int64", shape: [B], data: BigInt64Array.from({ length: B }, () => BigInt(Math.floor(r() * C))) },
  };
}
const evalBatches = [batch(900), batch(901), batch(902)];

/** Accuracy and mean loss computed batch by batch with `evaluate` and counted here. */
async function byHand(values: Map<string, HostTensor>, batches = evalBatches) {
  const net = buildNet();
  let hits = 0, lossSum = 0;
  for (const feeds of batches) {
    const out = await evaluate({ logits: net.logits, loss: net.loss }, { feeds, variables: Object.fromEntries(values) });
    const lg = out.logits.data as Float32Array, labels = feeds.labels.data as BigInt64Array;
    for (let i = 0; i < B; i++) {
      let best = 0;
      for (let c = 1; c < C; c++) if (lg[i * C + c] > lg[i * C + best]) best = c;
      if (BigInt(best) === labels[i]) hits++;
    }
    lossSum += Number(out.loss.data[0]);
  }
  return { accuracy: hits / (B * batches.length), loss: lossSum / batches.length };
}

function randomValues(seed: number): Map<string, HostTensor> {
  const net = buildNet();
  return new Map([...net.g.variables.values()].map((v, i) => [v.name, { dtype: "float32", shape: [...v.shape], data: randomArray(v.size, seed + i, -2, 2) }]));
}

function evalScalars(dir: string, tag: string) {
  return readdirSync(dir).filter((f) => f.startsWith("events.out.tfevents.")).sort().flatMap((f) =>
    readEvents(new Uint8Array(readFileSync(join(dir, f)))).flatMap((e) => e.values.filter((v) => v.tag === tag).map((v) => ({ step: e.step, value: v.value! })))
  );
}

async function withDirs(fn: (...dirs: string[]) => Promise<void>): Promise<void> {
  const dirs = [0, 1].map(() => mkdtempSync(join(tmpdir(), "slimtrain-eval-")));
  try {
    await fn(...dirs);
  } finally {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  }
}

test("evaluateOnce() on a trained checkpoint matches a hand count and logs eval/<name> at its global step", async () => {
  await withDirs(async (trainDir, evalDir) => {
    const trained = buildNet();
    const data = function* () {
      for (let s = 0; ; s++) yield batch(s);
    };
    await train(createTrainOp(trained.loss, gradientDescent({ learningRate: 0.3 })), trainDir, { data, numberOfSteps: 5, log: quiet });
    const ckpt = (await latestCheckpoint(fs, trainDir))!;
    const lines: string[] = [];
    const results = await evaluateOnce(ckpt, evalDir, { metrics: buildNet().metrics, data: evalBatches, fs, log: (l) => lines.push(l) });
    const values = (await restoreCheckpoint(fs, ckpt)).tensors;
    const expected = await byHand(values);
    assertEquals(results.accuracy, expected.accuracy, "accuracy");
    assertClose(results.loss, expected.loss, { rtol: 1e-5, message: "mean loss" });
    assertEquals(lines.length, 1);
    assert(lines[0].startsWith(`Evaluation of ${ckpt} (global step 5): accuracy = `), lines[0]);
    const acc = evalScalars(evalDir, "eval/accuracy");
    assertEquals(acc.map((a) => a.step), [5]);
    assertClose(acc[0].value, results.accuracy, { rtol: 1e-7 });
    assertEquals(evalScalars(evalDir, "eval/loss").length, 1);
    // numEvals stops early; a null logdir writes nothing.
    const one = await evaluateOnce(ckpt, null, { metrics: buildNet().metrics, data: evalBatches, numEvals: 1, fs, log: quiet });
    assertEquals(one.accuracy, (await byHand(values, evalBatches.slice(0, 1))).accuracy, "accuracy of the first batch");
    assertEquals(readdirSync(evalDir).length, 1, "no second event file");
  });
});

test("evaluateOnce() names the checkpoint and variable it lacks, and the placeholder it was not fed", async () => {
  await withDirs(async (dir) => {
    const values = randomValues(1);
    values.delete("net/logits/weights");
    const path = await new Saver({ fs }).save(dir, values, { globalStep: 3 });
    await assertThrows(
      () => evaluateOnce(path, null, { metrics: buildNet().metrics, data: evalBatches, fs, log: quiet }),
      `Checkpoint ${path} has no variable net/logits/weights, which the metrics need`,
    );
    const full = await new Saver({ fs }).save(dir, randomValues(1), { globalStep: 4 });
    await assertThrows(
      () => evaluateOnce(full, null, { metrics: buildNet().metrics, data: [{ x: evalBatches[0].x }], fs, log: quiet }),
      `Evaluation of ${full}, batch 0: no value fed for placeholder labels [8] int64 (fed: x)`,
    );
  });
});

test("evaluationLoop() evaluates each new checkpoint once and stops at maxNumberOfEvaluations", async () => {
  await withDirs(async (trainDir, evalDir) => {
    const saver = new Saver({ fs });
    const v1 = randomValues(10), v2 = randomValues(20);
    await saver.save(trainDir, v1, { globalStep: 1 });
    const seen: { step: number; results: Record<string, number> }[] = [];
    const last = await evaluationLoop(trainDir, evalDir, {
      metrics: buildNet().metrics, data: evalBatches, fs, log: quiet, evalIntervalSecs: 0.05, maxNumberOfEvaluations: 2,
      onEvaluation: async ({ globalStep, results }) => {
        seen.push({ step: globalStep, results });
        if (globalStep === 1) await saver.save(trainDir, v2, { globalStep: 2 });
      },
    });
    assertEquals(seen.map((s) => s.step), [1, 2]);
    for (const [i, values] of [v1, v2].entries()) {
      const expected = await byHand(values);
      assertEquals(seen[i].results.accuracy, expected.accuracy, `accuracy at step ${i + 1}`);
      assertClose(seen[i].results.loss, expected.loss, { rtol: 1e-5 });
    }
    assertEquals(last, seen[1].results);
    assertEquals(evalScalars(evalDir, "eval/accuracy").map((a) => a.step), [1, 2]);
  });
});

test("evaluationLoop() ends after timeoutSecs without a new checkpoint, or on its signal", async () => {
  await withDirs(async (trainDir) => {
    await new Saver({ fs }).save(trainDir, randomValues(30), { globalStep: 7 });
    const lines: string[] = [];
    let count = 0;
    const start = performance.now();
    const last = await evaluationLoop(trainDir, null, {
      metrics: buildNet().metrics, data: evalBatches, fs, log: (l) => lines.push(l), evalIntervalSecs: 0.02, timeoutSecs: 0.2,
      onEvaluation: () => void count++,
    });
    assertEquals(count, 1, "the one checkpoint is evaluated once");
    assert(last !== null && performance.now() - start < 5000, "returns its results soon after the timeout");
    assertEquals(lines.at(-1), `Timed out after 0.2 s waiting for a new checkpoint in ${trainDir}`);
    const stop = new AbortController();
    const stopped = evaluationLoop(join(trainDir, "empty"), null, {
      metrics: buildNet().metrics, data: evalBatches, fs, log: quiet, evalIntervalSecs: 30, signal: stop.signal,
    });
    setTimeout(() => stop.abort(), 50);
    assertEquals(await stopped, null, "nothing evaluated before the signal");
  });
});

test("evaluateOnce() given a logdir says so and names its latest checkpoint; evaluationLoop() given a checkpoint says so", async () => {
  await withDirs(async (trainDir) => {
    const metrics = buildNet().metrics;
    await assertThrows(
      () => evaluateOnce(trainDir, null, { metrics, data: evalBatches, fs, log: quiet }),
      `evaluateOnce: ${trainDir} is a directory (a logdir?), not a checkpoint; it holds no checkpoint yet. ` +
        `Pass a checkpoint path such as await latestCheckpoint(fs, "${trainDir}"), or call evaluationLoop("${trainDir}", ...) to evaluate each checkpoint the run writes`,
    );
    const path = await new Saver({ fs }).save(trainDir, randomValues(2), { globalStep: 9 });
    await assertThrows(() => evaluateOnce(trainDir, null, { metrics, data: evalBatches, fs, log: quiet }), `; its latest checkpoint is ${path}. Pass`);
    await assertThrows(
      () => evaluationLoop(path, null, { metrics, data: evalBatches, fs, log: quiet, maxNumberOfEvaluations: 1 }),
      `evaluationLoop: ${path} is a checkpoint, not the directory to watch for checkpoints; pass its directory, or call evaluateOnce("${path}", ...) to evaluate this one checkpoint`,
    );
    // slim's evaluate_once(master, checkpoint_path, logdir, ...) order, or options in the logdir's place.
    await assertThrows(() => evaluateOnce(path, { metrics } as never, undefined as never), "evaluateOnce: logdir must be a directory for the eval summaries, or null for none; got an object with keys metrics");
    await assertThrows(() => evaluateOnce(path, null, { data: evalBatches } as never), "evaluateOnce: options.metrics must name at least one metric");
    await assertThrows(() => evaluateOnce(path, null, { metrics, data: 5 as never, fs, log: quiet }), "evaluateOnce: data must be an iterable or async iterable of feeds, or a function returning one; got 5");
  });
});

test("evaluateOnce() and evaluationLoop() refuse a last partial batch naming the example count, batch size and fixes", async () => {
  await withDirs(async (dir) => {
    const path = await new Saver({ fs }).save(dir, randomValues(3), { globalStep: 1 });
    const cut = (b: Record<string, HostTensor>, n: number): Record<string, HostTensor> => ({
      x: { dtype: "float32", shape: [n, IN], data: (b.x.data as Float32Array).slice(0, n * IN) },
      labels: { dtype: "int64", shape: [n], data: (b.labels.data as BigInt64Array).slice(0, n) },
    });
    // 2 full batches of 8 and 4 left: 20 examples.
    const data = [evalBatches[0], evalBatches[1], cut(evalBatches[2], 4)];
    const last = "batch 2 has 4 examples, but placeholder x [8, 4] float32 takes batches of 8: the data's 20 examples do not divide into batches of 8. " +
      "Leave the partial batch out (Dataset.batch(8, { dropRemainder: true }) evaluates 16 examples), or use a batch size that divides 20 (e.g. 5 or 10)";
    await assertThrows(() => evaluateOnce(path, null, { metrics: buildNet().metrics, data, fs, log: quiet }), `evaluateOnce: ${last}`);
    await assertThrows(
      () => evaluationLoop(dir, null, { metrics: buildNet().metrics, data: () => data.values(), fs, log: quiet, maxNumberOfEvaluations: 1 }),
      `evaluationLoop: ${last}`,
    );
    // A short batch with more after it is not a remainder.
    await assertThrows(
      () => evaluateOnce(path, null, { metrics: buildNet().metrics, data: [evalBatches[0], cut(evalBatches[1], 5), evalBatches[2]], fs, log: quiet }),
      "evaluateOnce: batch 1 has 5 examples, but placeholder x [8, 4] float32 takes batches of 8; every batch must be full",
    );
    // Without the remainder the same data evaluates, and numEvals stops before it.
    const full = await evaluateOnce(path, null, { metrics: buildNet().metrics, data: data.slice(0, 2), fs, log: quiet });
    const first2 = await evaluateOnce(path, null, { metrics: buildNet().metrics, data, numEvals: 2, fs, log: quiet });
    assertEquals(first2, full);
  });
});

test("evaluateOnce() on a graph of unknown batch takes a last partial batch and weighs it by its examples", async () => {
  await withDirs(async (dir) => {
    const values = randomValues(5);
    const path = await new Saver({ fs }).save(dir, values, { globalStep: 1 });
    const g = new Graph();
    const { logits, metrics } = g.asDefault(() => {
      const x = placeholder([null, IN], "float32", "x");
      const labels = placeholder([null], "int64", "labels");
      const w1 = variable("net/hidden/weights", { shape: [IN, 6] });
      const b1 = variable("net/hidden/biases", { shape: [6] });
      const w2 = variable("net/logits/weights", { shape: [6, C] });
      const logits = matmul(relu(add(matmul(x, w1.value), b1.value)), w2.value);
      // Weights of one per example: the unweighted count is a constant of the batch size.
      const ones = cast(equal(labels, labels), "float32");
      return { logits, metrics: { accuracy: accuracy(logits, labels, { weights: ones }) } };
    });
    const cut = (b: Record<string, HostTensor>, n: number): Record<string, HostTensor> => ({
      x: { dtype: "float32", shape: [n, IN], data: (b.x.data as Float32Array).slice(0, n * IN) },
      labels: { dtype: "int64", shape: [n], data: (b.labels.data as BigInt64Array).slice(0, n) },
    });
    const data = [evalBatches[0], evalBatches[1], cut(evalBatches[2], 3)];
    let hits = 0;
    for (const feeds of data) {
      const lg = (await evaluate({ logits }, { feeds, variables: Object.fromEntries(values) })).logits.data as Float32Array;
      const labels = feeds.labels.data as BigInt64Array;
      for (let i = 0; i < labels.length; i++) {
        let best = 0;
        for (let c = 1; c < C; c++) if (lg[i * C + c] > lg[i * C + best]) best = c;
        if (BigInt(best) === labels[i]) hits++;
      }
    }
    const results = await evaluateOnce(path, null, { metrics, data, fs, log: quiet });
    assertClose(results.accuracy, hits / 19, { rtol: 1e-6, message: "accuracy over 8 + 8 + 3 examples" });
    // Placeholders of unknown batch must still agree on it within a run.
    await assertThrows(
      () => evaluateOnce(path, null, { metrics, data: [{ x: evalBatches[0].x, labels: cut(evalBatches[0], 5).labels }], fs, log: quiet }),
      "placeholders of unknown batch must be fed the same batch size",
    );
  });
});

test("evaluateOnce() refuses numEvals that would read the input pipeline past its end, counting examples twice", async () => {
  const g = new Graph();
  const metrics = g.asDefault(() => {
    const r = rng(5);
    const { x, labels } = inputs({
      x: { dtype: "float32", shape: [20, IN], data: randomArray(20 * IN, 6) },
      labels: { dtype: "int64", shape: [20], data: BigInt64Array.from({ length: 20 }, () => BigInt(Math.floor(r() * C))) },
    }, { batchSize: B, shuffle: false });
    const w = variable("net/logits/weights", { shape: [IN, C], initializer: xavierInitializer() });
    return { accuracy: accuracy(matmul(x, w.value), labels) };
  });
  await assertThrows(
    () => evaluateOnce("no/such/model.ckpt-1", null, { metrics, numEvals: 3, fs, log: quiet }),
    "evaluateOnce: numEvals 3 batches of 8 read 24 examples, but the input pipeline has 20: the data would repeat and 4 examples count twice. " +
      "Use numEvals 2 (each full batch once, leaving out 4; or a batch size that divides 20 (e.g. 5 or 10) for every example)",
  );
});
