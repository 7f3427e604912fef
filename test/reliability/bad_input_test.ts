// Bad input and API misuse: each is refused with an error that names the thing
// (placeholder, step, record, option), before it can turn into a silently wrong
// result, and a run stopped by bad data keeps the checkpoints it had. Cases already
// covered elsewhere are not repeated: a wrong feed shape, numberOfSteps 0, an
// unknown train option and a logdir that is a file (test/train_test.ts), optimizer
// option ranges (optimizers_test.ts), unknown createTrainOp options
// (gradient_utils_test.ts), a bit-flipped or truncated record and a missing feature
// (tfrecord_dataset_test.ts).
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import "../../src/ops/mod.ts";
import { restoreLatest } from "../../src/checkpoint/mod.ts";
import { encodeExample, type Feature } from "../../src/data/example_proto.ts";
import { inputs } from "../../src/data/inputs.ts";
import { tfrecordDataset } from "../../src/data/tfrecord_dataset.ts";
import { MemoryFileSystem } from "../../src/fs/memory_fs.ts";
import { NodeFileSystem } from "../../src/fs/node_fs.ts";
import { Graph } from "../../src/graph/graph.ts";
import type { HostTensor } from "../../src/graph/host_tensor.ts";
import { xavierInitializer } from "../../src/graph/initializers.ts";
import type { Tensor } from "../../src/graph/tensor.ts";
import { placeholder, variable } from "../../src/graph/variable.ts";
import { encodeRecords, RECORD_OVERHEAD } from "../../src/io/tfrecord.ts";
import { createTrainOp } from "../../src/learning/create_train_op.ts";
import { adam, gradientDescent } from "../../src/learning/optimizers/mod.ts";
import { train, type TrainOptions } from "../../src/learning/train.ts";
import { getTotalLoss, sparseSoftmaxCrossEntropy } from "../../src/losses/mod.ts";
import { cast, matmul, reshape } from "../../src/ops/mod.ts";
import { evaluate } from "../../src/runtime/evaluate.ts";
import { assert, assertEquals, assertThrows, randomArray, test } from "../harness.ts";
import { buildTinyModel, tinyBatchAt, tinyBatchesFrom } from "./tiny_model.ts";

const quiet: TrainOptions = { log: () => {}, handleSignals: false };

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), "slimtrain-badinput-"));
}

/** A linear classifier over `classes` classes of [4, features] inputs, with sparse softmax cross-entropy. */
function classifier(features: number, classes: number, labelDtype: "int64" | "int32" = "int64", g = new Graph(), images?: Tensor, labels?: Tensor) {
  return g.asDefault(() => {
    const x = images ? reshape(images, [4, features]) : placeholder([4, features], "float32", "x");
    const y = labels ?? placeholder([4], labelDtype, "labels");
    const w = variable("w", { shape: [features, classes], initializer: xavierInitializer() });
    sparseSoftmaxCrossEntropy(matmul(x, w.value), y);
    return createTrainOp(getTotalLoss(), gradientDescent({ learningRate: 0.1 }));
  });
}

function labelsOf(dtype: "int64" | "int32", ids: number[]): HostTensor {
  return dtype === "int64"
    ? { dtype, shape: [ids.length], data: BigInt64Array.from(ids, BigInt) }
    : { dtype, shape: [ids.length], data: Int32Array.from(ids) };
}

test("train() names the placeholder and step for a feed of the wrong dtype, batch size, array type or form", async () => {
  const dir = tempDir();
  try {
    const ok = tinyBatchAt(0);
    const cases: [string, unknown, string | RegExp][] = [
      ["dtype", { ...ok, y: { dtype: "int64", shape: [4, 1], data: new BigInt64Array(4) } }, "Feed for placeholder y at global step 1: expected dtype float32, got int64"],
      ["batch size", { ...ok, x: { dtype: "float32", shape: [3, 4], data: new Float32Array(12) } }, "Feed for placeholder x at global step 1: expected shape [4, 4], got [3, 4]"],
      ["array type", { ...ok, x: { dtype: "float32", shape: [4, 4], data: new Float64Array(16) } }, "Feed for placeholder x at global step 1: dtype float32 needs a Float32Array, got Float64Array"],
      ["too few values", { ...ok, x: { dtype: "float32", shape: [4, 4], data: new Float32Array(12) } }, "Feed for placeholder x at global step 1: 12 values do not fill shape [4, 4]"],
      ["not a tensor", { ...ok, x: new Float32Array(16) }, "Feed for placeholder x at global step 1: expected a tensor { dtype, shape, data }"],
      ["missing", { x: ok.x }, /Global step 1: no value fed for placeholder y \[4, 1\] float32 \(fed: x\)/],
      ["null batch", null, "Global step 1: the batch is null, not feeds keyed by placeholder name"],
    ];
    for (const [what, batch, message] of cases) {
      const err = await assertThrows(() => train(buildTinyModel().trainOp, dir, { ...quiet, data: [batch as never], numberOfSteps: 1 }), message);
      assert(err.constructor === Error, `${what}: a plain Error, got ${err.constructor.name}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("train() stopped by a bad batch mid-run names its step (also unrolled) and keeps the checkpoints before it", async () => {
  for (const stepsPerRun of [1, 2]) {
    const dir = tempDir();
    try {
      const data = function* () {
        for (let s = 0; s < 3; s++) yield tinyBatchAt(s);
        yield { ...tinyBatchAt(3), y: { dtype: "float32" as const, shape: [4, 2], data: new Float32Array(8) } };
      };
      await assertThrows(
        () => train(buildTinyModel().trainOp, dir, { ...quiet, data, numberOfSteps: 10, saveIntervalSecs: 0, stepsPerRun }),
        "Feed for placeholder y at global step 4: expected shape [4, 1], got [4, 2]",
      );
      const restored = await restoreLatest(new NodeFileSystem(), dir);
      // Unrolled in pairs, steps 2 and 3 fail together; step 2's update is not kept either.
      assertEquals(restored?.globalStep, stepsPerRun === 1 ? 3 : 2, `stepsPerRun ${stepsPerRun}: checkpoint kept`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
});

test("sparseSoftmaxCrossEntropy() class ids out of range are refused at the feed, naming placeholder, index and range", async () => {
  for (const dtype of ["int64", "int32"] as const) {
    const dir = tempDir();
    try {
      const x: HostTensor = { dtype: "float32", shape: [4, 3], data: randomArray(12, 1) };
      const feed = (ids: number[]) => [{ x, labels: labelsOf(dtype, ids) }];
      // In range trains; the loss of 5 classes starts near ln 5.
      const loss = await train(classifier(3, 5, dtype), dir, { ...quiet, data: feed([0, 1, 2, 4]), numberOfSteps: 1 });
      assert(loss > 0.5 && loss < 5, `${dtype}: loss ${loss}`);
      // Before this check, ids 5 and -1 matched no class: a loss of 0 for their rows, and no error.
      for (const [ids, bad, index] of [[[0, 1, 5, 4], 5, 2], [[0, -1, 2, 4], -1, 1], [[7, 7, 7, 7], 7, 0]] as const) {
        // Resumes from the in-range run's checkpoint, then meets the bad batch.
        await assertThrows(
          () => train(classifier(3, 5, dtype), dir, { ...quiet, data: feed([...ids]), numberOfSteps: 2 }),
          new RegExp(`Feed for placeholder labels at global step 2: value ${bad} at index ${index} is outside \\[0, 5\\) \\(class ids of sparseSoftmaxCrossEntropy over the 5 classes`),
        );
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  // The same check guards evaluate(), which feeds through checkFeed too.
  const g = new Graph();
  const labels = g.asDefault(() => placeholder([4], "int64", "labels"));
  const op = classifier(3, 5, "int64", g, undefined, labels);
  await assertThrows(
    () => evaluate({ loss: op.totalLoss }, { feeds: { x: { dtype: "float32", shape: [4, 3], data: new Float32Array(12) }, labels: labelsOf("int64", [0, 9, 0, 0]) } }),
    "Feed for placeholder labels: value 9 at index 1 is outside [0, 5)",
  );
  // Labels computed in the graph cannot be checked on the host, and are not registered for it.
  const g2 = new Graph();
  const computed = g2.asDefault(() => cast(placeholder([4], "int32", "raw"), "int64"));
  classifier(3, 5, "int64", g2, undefined, computed);
  assertEquals(g2.getCollection("feed_value_ranges").length, 0, "ranges registered for a computed tensor");
});

/** A raw-pixel record in slim's layout. */
function rawRecord(pixels: Uint8Array, label: number, size?: [number, number]): Uint8Array {
  const f: Record<string, Feature> = {
    "image/encoded": { kind: "bytes", value: [pixels] },
    "image/format": { kind: "bytes", value: [new TextEncoder().encode("raw")] },
    "image/class/label": { kind: "int64", value: BigInt64Array.of(BigInt(label)) },
  };
  if (size) {
    f["image/height"] = { kind: "int64", value: BigInt64Array.of(BigInt(size[0])) };
    f["image/width"] = { kind: "int64", value: BigInt64Array.of(BigInt(size[1])) };
  }
  return encodeExample(f);
}

async function shard(records: Uint8Array[]): Promise<MemoryFileSystem> {
  const fs = new MemoryFileSystem();
  await fs.writeFileAtomic("s.tfrecord", encodeRecords(records));
  return fs;
}

test("tfrecordDataset() refuses bad sizes and channels, resizes odd-sized images, names records whose pixels fit no shape", async () => {
  const fs = await shard([rawRecord(new Uint8Array(8 * 8), 1)]);
  await assertThrows(() => tfrecordDataset(fs, "s.tfrecord", { height: 0, width: 8 }), "Image size for tfrecordDataset must be positive integers, got 0x8");
  await assertThrows(() => tfrecordDataset(fs, "s.tfrecord", { height: 8, width: 2.5 }), "got 8x2.5");
  await assertThrows(() => tfrecordDataset(fs, "s.tfrecord", { height: 8, width: 8, channels: 2 as never }), "Channels for tfrecordDataset must be 1 or 3, got 2");

  // Another size or channel count in the shard comes out at the requested one.
  const odd = await shard([rawRecord(new Uint8Array(5 * 6 * 3).fill(255), 2, [5, 6]), rawRecord(new Uint8Array(8 * 8).fill(0), 3)]);
  const got = await tfrecordDataset(odd, "s.tfrecord", { height: 8, width: 8, channels: 1 }).toArray();
  assertEquals(got.map((e) => e.image.shape), [[8, 8, 1], [8, 8, 1]]);
  // TF's luma weights sum to 0.9999.
  assert((got[0].image.data as Float32Array).every((v) => Math.abs(v - 0.9999) < 1e-5), "white stays white through resize and gray conversion");

  const first = rawRecord(new Uint8Array(64), 4);
  const second = `record 1 of s.tfrecord (byte offset ${first.length + RECORD_OVERHEAD})`;
  const cases: [Uint8Array, string][] = [
    [rawRecord(new Uint8Array(8 * 8 * 5), 0), `Raw image of ${second} has 320 bytes, not 8x8 with 1-4 channels`],
    [rawRecord(new Uint8Array(10), 0, [0, 8]), `Raw image of ${second} has size 0x8`],
    // Both negative once made a "1-channel" image that resized into NaNs.
    [rawRecord(new Uint8Array(64), 0, [-8, -8]), `Raw image of ${second} has size -8x-8`],
    [encodeExample({
      "image/encoded": { kind: "bytes", value: [Uint8Array.of(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 1, 2, 3)] },
      "image/class/label": { kind: "int64", value: BigInt64Array.of(0n) },
    }), second],
    [encodeExample({
      "image/encoded": { kind: "bytes", value: [new Uint8Array(4)] },
      "image/format": { kind: "bytes", value: [new TextEncoder().encode("gif")] },
      "image/class/label": { kind: "int64", value: BigInt64Array.of(0n) },
    }), `Feature image/format of ${second} is "gif"; expected png, jpeg or raw`],
  ];
  for (const [bad, message] of cases) {
    const seen: number[] = [];
    const bfs = await shard([first, bad]);
    await assertThrows(async () => {
      for await (const { label } of tfrecordDataset(bfs, "s.tfrecord", { height: 8, width: 8, channels: 1 })) seen.push(Number(label.data[0]));
    }, message);
    assertEquals(seen, [4], "the good record before the bad one is delivered");
  }
});

test("train() on a tfrecordDataset pipeline names the placeholder for images of another size or channels and labels out of range", async () => {
  const pixels = (n: number) => Uint8Array.from({ length: n }, (_, i) => (i * 37) % 256);
  const records = [0, 1, 2, 3].map((i) => rawRecord(pixels(8 * 8), i, [8, 8]));
  const fs = await shard(records);
  const run = async (options: { height: number; width: number; channels: 1 | 3 }, spec: number[], classes: number) => {
    const g = new Graph();
    const dataset = tfrecordDataset(fs, "s.tfrecord", options).map(({ image, label }) => ({ images: image, labels: label }));
    const { images, labels } = g.asDefault(() =>
      inputs<"images" | "labels">({ dataset, spec: { images: { shape: spec, dtype: "float32" }, labels: { shape: [], dtype: "int64" } } }, { batchSize: 4, shuffle: false })
    );
    const dir = tempDir();
    try {
      return await train(classifier(spec[0] * spec[1] * spec[2], classes, "int64", g, images, labels), dir, { ...quiet, numberOfSteps: 2 });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };
  assert(Number.isFinite(await run({ height: 8, width: 8, channels: 1 }, [8, 8, 1], 4)), "the matching pipeline trains");
  await assertThrows(() => run({ height: 10, width: 8, channels: 1 }, [8, 8, 1], 4), "Feed for placeholder images at global step 1: expected shape [4, 8, 8, 1], got [4, 10, 8, 1]");
  await assertThrows(() => run({ height: 8, width: 8, channels: 3 }, [8, 8, 1], 4), "Feed for placeholder images at global step 1: expected shape [4, 8, 8, 1], got [4, 8, 8, 3]");
  await assertThrows(() => run({ height: 8, width: 8, channels: 1 }, [8, 8, 1], 3), "Feed for placeholder labels at global step 1: value 3 at index 3 is outside [0, 3)");
});

test("train() and createTrainOp() name the misused argument", async () => {
  const dir = tempDir();
  try {
    const { trainOp } = buildTinyModel();
    const t = (options: TrainOptions, op: unknown = trainOp, logdir = dir) =>
      train(op as never, logdir, { ...quiet, data: tinyBatchesFrom, ...options });
    await assertThrows(() => t({ numberOfSteps: 2 }, trainOp.totalLoss), /train: the first argument must be the TrainOp that createTrainOp returns, got Tensor\(/);
    await assertThrows(() => t({ numberOfSteps: 2 }, null), "train: the first argument must be the TrainOp");
    for (const n of [-1, 2.5, Infinity, NaN]) await assertThrows(() => t({ numberOfSteps: n }), `train: numberOfSteps must be a positive integer, got ${n}`);
    // Without numberOfSteps train() runs until stopped, as slim's does (test/abort_test.ts).
    for (const k of [0, -2, 1.5]) await assertThrows(() => t({ numberOfSteps: 2, stepsPerRun: k }), `train: stepsPerRun must be a positive integer, got ${k}`);
    await assertThrows(() => t({ numberOfSteps: 2, saveIntervalSecs: -1 }), "train: saveIntervalSecs must be a non-negative number, got -1");
    await assertThrows(() => t({ numberOfSteps: 2, logEveryNSteps: NaN }), "train: logEveryNSteps must be a non-negative number, got NaN");
    await assertThrows(() => t({ numberOfSteps: 2, maxToKeep: 0 }), "maxToKeep must be a positive integer or Infinity, got 0");
    await assertThrows(() => t({ numberOfSteps: 2, data: 5 as never }), "train: data must be an iterable or async iterable of feeds, or a function of the start step returning one; got 5");
    writeFileSync(join(dir, "afile"), "x");
    await assertThrows(() => t({ numberOfSteps: 2 }, trainOp, join(dir, "afile", "run")), `Cannot stat ${join(dir, "afile", "run")}: a path component is not a directory`);

    const { g } = buildTinyModel();
    await assertThrows(() => createTrainOp(trainOp.totalLoss, null as never), "createTrainOp: optimizer must be an Optimizer");
    await assertThrows(() => createTrainOp(trainOp.totalLoss, gradientDescent({ learningRate: 0.1 }), { variablesToTrain: [] }), "createTrainOp: there are no variables to train");
    await assertThrows(() => g.asDefault(() => createTrainOp(placeholder([2], "float32", "v"), gradientDescent({ learningRate: 0.1 }))), "createTrainOp: totalLoss must be a float32 scalar, got v [2] float32");
    await assertThrows(() => gradientDescent({ learningRate: Infinity }), "gradientDescent: learningRate must be positive, got Infinity");
    await assertThrows(() => adam(null as never), "adam: options must be an object, got null");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
