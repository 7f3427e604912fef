// `slimtrain train|eval --model-name`: train_image_classifier's flow end to end
// through main(), on real digits written as PNG class folders and as slim's
// TFRecord shards: train LeNet on 0-4, fine-tune only its head on 5-9 from that
// checkpoint (the frozen layers stay bit-identical), evaluate with a last partial
// batch, and resume. Small counts keep it a few seconds per runtime.
import { encode as encodePng } from "fast-png";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { restoreCheckpoint } from "../src/checkpoint/mod.ts";
import { encodeExample } from "../src/data/example_proto.ts";
import { loadMnistDigits } from "../src/data/mnist.ts";
import { NodeFileSystem } from "../src/fs/node_fs.ts";
import type { HostTensor } from "../src/graph/host_tensor.ts";
import { encodeRecords } from "../src/io/tfrecord.ts";
import * as ortModule from "onnxruntime-node";
import { onnxTypes } from "../src/onnx/proto.ts";
import { cli, row } from "./cli_capture.ts";
import { assert, assertClose, assertEquals, randomArray, test } from "./harness.ts";

// deno-lint-ignore no-explicit-any
const ort: any = (ortModule as { default?: unknown }).default ?? ortModule;

async function readMetadata(path: string): Promise<Record<string, string>> {
  const model = onnxTypes.ModelProto.decode(await fs.readFile(path)) as unknown as { metadataProps?: { key: string; value: string }[] };
  return Object.fromEntries((model.metadataProps ?? []).map((p) => [p.key, p.value]));
}

const fs = new NodeFileSystem();


/** Up to `perClass` digits of each class in `classes`, as 28x28 uint8 PNGs. */
async function digitPngs(classes: number[], perClass: number, from: "train" | "test"): Promise<{ label: number; png: Uint8Array }[]> {
  const digits = await loadMnistDigits({ heldOut: 2000, seed: 0 });
  const split = digits[from];
  const [n, h, w] = split.images.shape;
  const counts = new Map<number, number>();
  const out: { label: number; png: Uint8Array }[] = [];
  for (let i = 0; i < n; i++) {
    const label = Number((split.labels.data as BigInt64Array)[i]);
    if (!classes.includes(label) || (counts.get(label) ?? 0) >= perClass) continue;
    counts.set(label, (counts.get(label) ?? 0) + 1);
    const px = Uint8Array.from((split.images.data as Float32Array).subarray(i * h * w, (i + 1) * h * w), (v) => Math.round(v * 255));
    out.push({ label, png: encodePng({ width: w, height: h, data: px, channels: 1, depth: 8 }) });
  }
  return out;
}

function writeFolder(dir: string, images: { label: number; png: Uint8Array }[]): void {
  images.forEach(({ label, png }, i) => {
    mkdirSync(join(dir, String(label)), { recursive: true });
    writeFileSync(join(dir, String(label), `${i}.png`), png);
  });
}

function writeShards(dir: string, split: string, images: { label: number; png: Uint8Array }[], classNames: string[]): void {
  mkdirSync(dir, { recursive: true });
  const ids = new Map(classNames.map((c, i) => [Number(c), i]));
  const examples = images.map(({ label, png }) =>
    encodeExample({
      "image/encoded": { kind: "bytes", value: [png] },
      "image/format": { kind: "bytes", value: [new TextEncoder().encode("png")] },
      "image/class/label": { kind: "int64", value: BigInt64Array.of(BigInt(ids.get(label)!)) },
    })
  );
  const half = Math.ceil(examples.length / 2);
  writeFileSync(join(dir, `digits_${split}_00000-of-00002.tfrecord`), encodeRecords(examples.slice(0, half)));
  writeFileSync(join(dir, `digits_${split}_00001-of-00002.tfrecord`), encodeRecords(examples.slice(half)));
  writeFileSync(join(dir, "labels.txt"), classNames.map((c, i) => `${i}:${c}`).join("\n") + "\n");
}


async function tensorsOf(logdir: string): Promise<Map<string, HostTensor>> {
  const { tensors } = await restoreCheckpoint(fs, logdir + "/" + (await fs.readDir(logdir)).find((n) => /^model\.ckpt-\d+\.safetensors$/.test(n))!.replace(/\.safetensors$/, ""));
  return tensors as Map<string, HostTensor>;
}

async function fineTuneFlow(layout: "folder" | "tfrecord"): Promise<void> {
  const root = mkdtempSync(join(tmpdir(), "slimtrain-classifier-"));
  try {
    const [a, b, bTest] = await Promise.all([digitPngs([0, 1, 2, 3, 4], 12, "train"), digitPngs([5, 6, 7, 8, 9], 12, "train"), digitPngs([5, 6, 7, 8, 9], 10, "test")]);
    const dirA = join(root, "a"), dirB = join(root, "b");
    let dirBTest = join(root, "b_test");
    const split: string[] = [];
    if (layout === "folder") {
      writeFolder(dirA, a);
      writeFolder(dirB, b);
      writeFolder(dirBTest, bTest);
    } else {
      writeShards(dirA, "train", a, ["0", "1", "2", "3", "4"]);
      writeShards(dirB, "train", b, ["5", "6", "7", "8", "9"]);
      writeShards(dirB, "validation", bTest, ["5", "6", "7", "8", "9"]);
      dirBTest = dirB;
      split.push("--dataset_split_name", "validation");
    }
    const common = ["--model-name", "lenet", "--batch-size", "8", "--input-workers", "1", "--save-summaries-secs", "0"];
    const logA = join(root, "A"), logB = join(root, "B");
    const averaged = layout === "folder" ? ["--moving-average-decay", "0.9"] : [];
    const trainA = await cli(["train", ...common, "--dataset-dir", dirA, "--steps", "4", "--logdir", logA, "--optimizer", "sgd", "--learning-rate", "0.05", ...averaged]);
    assertEquals(trainA.code, 0, trainA.err);
    assert(/model +lenet \(5 classes\)/.test(trainA.out), trainA.out);
    assertEquals(row(trainA.out, "steps"), "4 (4 this run)");

    const trainB = await cli([
      "train", ...common, "--dataset_dir", dirB, "--max_number_of_steps", "4", "--train_dir", logB,
      "--checkpoint-path", logA, "--checkpoint-exclude-scopes", "LeNet/fc4", "--trainable-scopes", "LeNet/fc4",
    ]);
    assertEquals(trainB.code, 0, trainB.err);
    assert(/training 2 variables/.test(trainB.out), `only fc4's weights and biases train:\n${trainB.out}`);
    const [ta, tb] = await Promise.all([tensorsOf(logA), tensorsOf(logB)]);
    let frozen = 0;
    for (const [name, t] of tb) {
      if (!name.startsWith("LeNet/") || name.includes("RMSProp")) continue;
      if (name.startsWith("LeNet/fc4/")) {
        assert(ta.has(name) && (t.data as Float32Array).some((v, i) => v !== (ta.get(name)!.data as Float32Array)[i]), `${name} trained`);
      } else {
        assertEquals(Array.from(t.data as Float32Array), Array.from(ta.get(name)!.data as Float32Array), `${name} bit-identical to A`);
        frozen++;
      }
    }
    assertEquals(frozen, 6, "conv1, conv2 and fc3 weights and biases are frozen");
    if (averaged.length) {
      const average = ta.get("LeNet/conv1/weights/ExponentialMovingAverage");
      assert(average && (average.data as Float32Array).some((v, i) => v !== (ta.get("LeNet/conv1/weights")!.data as Float32Array)[i]), "A keeps moving averages that lag the weights");
      const evalA = await cli(["eval", "--model-name", "lenet", "--dataset-dir", dirA, "--logdir", logA, "--batch-size", "16", "--input-workers", "1", ...averaged]);
      assertEquals(evalA.code, 0, evalA.err);
    }

    const evalB = await cli(["eval", "--model-name", "lenet", "--dataset-dir", dirBTest, ...split, "--logdir", logB, "--batch-size", "16", "--input-workers", "1"]);
    assertEquals(evalB.code, 0, evalB.err);
    assertEquals(row(evalB.out, "images"), "50");
    const acc = Number(row(evalB.out, "eval/Accuracy").replace("%", ""));
    assert(acc >= 0 && acc <= 100, `accuracy ${acc}`);

    if (layout === "folder") {
      const output = join(root, "lenet_b.onnx");
      const exported = await cli(["export", "--model-name", "lenet", "--dataset-dir", dirB, "--logdir", logB, "--output", output]);
      assertEquals(exported.code, 0, exported.err);
      const session = await ort.InferenceSession.create(output);
      try {
        for (const n of [1, 3]) {
          const x = new ort.Tensor("float32", randomArray(n * 28 * 28, 5, -1, 1), [n, 28, 28, 1]);
          const out = await session.run({ images: x });
          assertEquals(Array.from(out.probabilities.dims), [n, 5], "the exported model takes any batch size");
          const p = out.probabilities.data as Float32Array;
          for (let r = 0; r < n; r++) assertClose(p[r * 5] + p[r * 5 + 1] + p[r * 5 + 2] + p[r * 5 + 3] + p[r * 5 + 4], 1, { rtol: 1e-5 });
        }
        const meta = await readMetadata(output);
        assertEquals(meta["slimtrain.class_names"], JSON.stringify(["5", "6", "7", "8", "9"]));
        assert(meta["slimtrain.preprocessing"]?.startsWith("lenet:"), JSON.stringify(meta));
      } finally {
        await session.release();
      }
      const wrong = await cli(["export", "--model-name", "lenet", "--num-classes", "7", "--logdir", logB, "--output", join(root, "x.onnx")]);
      assertEquals(wrong.code, 1);
      assert(/is not a lenet with 7 classes and 3 input channels: LeNet\/conv1\/weights is \[5, 5, 1, 32\] there/.test(wrong.err), wrong.err);
    }

    const resumed = await cli(["train", ...common, "--dataset-dir", dirB, "--steps", "6", "--logdir", logB, "--trainable-scopes", "LeNet/fc4"]);
    assertEquals(resumed.code, 0, resumed.err);
    assertEquals(row(resumed.out, "steps"), "6 (2 this run)");
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

test("slimtrain train --model-name lenet fine-tunes only the head from a checkpoint on an image folder; eval counts a partial batch", () => fineTuneFlow("folder"));

test("slimtrain train --model-name lenet reads slim's TFRecord shards and labels.txt; eval reads another split", () => fineTuneFlow("tfrecord"));

test("slimtrain train --model-name names the known nets and preprocessings for unknown ones, and requires --dataset-dir", async () => {
  const unknownNet = await cli(["train", "--model-name", "resnet_v9", "--dataset-dir", "x"]);
  assertEquals(unknownNet.code, 1);
  assert(/resnet_v9 is not a known net; known: .*resnet_v1_50/.test(unknownNet.err), unknownNet.err);
  const noDir = await cli(["train", "--model-name", "lenet"]);
  assert(/--dataset-dir is required/.test(noDir.err), noDir.err);
  const help = await cli(["train", "--help"]);
  assert(help.out.includes("--model-name <net> flags") && help.out.includes("--rmsprop-momentum"), "train --help shows both flag sets");
});
