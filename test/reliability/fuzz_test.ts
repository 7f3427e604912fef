// Damaged files at every reader: seeded mutations of real files (a checkpoint, its
// state file, an event file, the digits TFRecord shard, an emitted ONNX model,
// TensorFlow V1 and V2 checkpoints)
// must end in a typed error, or an ordinary Error with a message, within a time
// limit; never a crash, a hang, or a thrown non-Error. Where a reader promises more
// (a restored checkpoint is the one written; a decoded image has the requested
// shape and finite pixels), a mutated file that passes must keep the promise.
// Each reader gets FUZZ_MS milliseconds (default 1000; for a long run: FUZZ_MS=60000 npx tsx test/run.ts fuzz).
// ONNX Runtime survived >100,000 mutated models on Node, Deno and Bun without
// crashing, so its loader is fuzzed in this process.
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  CheckpointError,
  decodeSafetensors,
  readAnyCheckpoint,
  readTensorflowCheckpoint,
  restoreCheckpoint,
  restoreLatest,
} from "../../src/checkpoint/mod.ts";
import { readState } from "../../src/checkpoint/state.ts";
import { TF_FIXTURES } from "../../src/checkpoint/tf_test_fixtures.ts";
import { encodeExample, parseExample } from "../../src/data/example_proto.ts";
import { FIXTURES } from "../../src/data/test_fixtures.ts";
import { tfrecordDataset } from "../../src/data/tfrecord_dataset.ts";
import { MemoryFileSystem } from "../../src/fs/memory_fs.ts";
import type { HostTensor } from "../../src/graph/host_tensor.ts";
import { encodeRecord, encodeRecords, readRecords, RecordError } from "../../src/io/tfrecord.ts";
import { train } from "../../src/learning/train.ts";
import { EventFileWriter } from "../../src/summary/event_writer.ts";
import { readEvents } from "../../src/summary/event_reader.ts";
import { assert, assertEquals, rng, test } from "../harness.ts";
import { mutate } from "./mutate.ts";
import { buildTinyModel, tinyBatchesFrom } from "./tiny_model.ts";

const env = (globalThis as { Deno?: { env: { get(k: string): string | undefined } } }).Deno?.env.get("FUZZ_MS") ??
  (globalThis as { process?: { env: Record<string, string | undefined> } }).process?.env.FUZZ_MS;
const BUDGET_MS = Number(env ?? 1000);
/** One call slower than this counts as a hang (the files are a few kilobytes). */
const CALL_LIMIT_MS = 5000;

type Verdict = "ok" | "typed" | "error";

/**
 * Runs `check` on mutations of `sources` for the budget. `check` throws what the
 * reader throws; `typed` says which errors are the reader's own. Anything else
 * thrown, a non-Error, an Error without a message, or a slow call fails the test,
 * naming the seed, iteration and mutation so it can be replayed.
 */
async function fuzz(
  name: string,
  seed: number,
  sources: Uint8Array[],
  check: (bytes: Uint8Array) => unknown,
  { typed, plainErrors = false }: { typed: (err: unknown) => boolean; plainErrors?: boolean },
): Promise<Record<Verdict, number>> {
  const r = rng(seed);
  const counts: Record<Verdict, number> = { ok: 0, typed: 0, error: 0 };
  const start = performance.now();
  for (let i = 0; performance.now() - start < BUDGET_MS; i++) {
    const { bytes, how } = mutate(sources[Math.floor(r() * sources.length)], r);
    const where = `${name}: seed ${seed}, iteration ${i} (${how})`;
    const t0 = performance.now();
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      await Promise.race([
        Promise.resolve().then(() => check(bytes)),
        new Promise((_, reject) => timer = setTimeout(() => reject(new HangError()), CALL_LIMIT_MS)),
      ]);
      counts.ok++;
    } catch (err) {
      if (err instanceof HangError) throw new Error(`${where}: no answer in ${CALL_LIMIT_MS} ms`);
      if (!(err instanceof Error)) throw new Error(`${where}: threw a non-Error: ${String(err)}`);
      if (!err.message) throw new Error(`${where}: threw ${err.constructor.name} without a message`);
      if (typed(err)) counts.typed++;
      else if (plainErrors) counts.error++;
      else throw new Error(`${where}: threw ${err.constructor.name}, not the reader's own error: ${err.message}`, { cause: err });
    } finally {
      clearTimeout(timer);
    }
    const ms = performance.now() - t0;
    if (ms > CALL_LIMIT_MS) throw new Error(`${where}: took ${ms.toFixed(0)} ms`);
  }
  const total = counts.ok + counts.typed + counts.error;
  console.log(`      fuzz ${name}: ${total} inputs in ${BUDGET_MS} ms (${counts.ok} read, ${counts.typed} typed errors, ${counts.error} other Errors)`);
  assert(total >= 20, `${name}: only ${total} inputs in ${BUDGET_MS} ms`);
  return counts;
}

class HangError extends Error {}

/** Real files from one short training run, read once for all readers. */
let files: Promise<{ checkpoint: Uint8Array; state: Uint8Array; events: Uint8Array; onnx: Uint8Array[]; original: Map<string, HostTensor> }> | undefined;
function realFiles() {
  files ??= (async () => {
    const dir = mkdtempSync(join(tmpdir(), "slimtrain-fuzz-"));
    try {
      await train(buildTinyModel().trainOp, dir, { data: tinyBatchesFrom, numberOfSteps: 3, saveSummariesSecs: 0, log: () => {}, handleSignals: false });
      const names = readdirSync(dir);
      const read = (n: string) => new Uint8Array(readFileSync(join(dir, n)));
      const checkpoint = read("model.ckpt-3.safetensors");
      const original = decodeSafetensors(checkpoint, { file: "original" }).tensors;
      return {
        checkpoint,
        original,
        state: read("checkpoint"),
        events: read(names.find((n) => n.startsWith("events.out.tfevents."))!),
        onnx: [read("training_model.onnx"), read("eval_model.onnx")],
      };
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  })();
  return files;
}

function sameTensors(a: Map<string, HostTensor>, b: Map<string, HostTensor>): boolean {
  if (a.size !== b.size) return false;
  for (const [k, t] of a) {
    const u = b.get(k);
    if (!u || u.dtype !== t.dtype || JSON.stringify(u.shape) !== JSON.stringify(t.shape) || u.data.length !== t.data.length) return false;
    for (let i = 0; i < t.data.length; i++) if (!Object.is(t.data[i], u.data[i])) return false;
  }
  return true;
}

test("decodeSafetensors() and restoreCheckpoint() on damaged checkpoints: CheckpointError, or exactly what was written", async () => {
  const { checkpoint, original } = await realFiles();
  await fuzz("decodeSafetensors", 101, [checkpoint], (bytes) => decodeSafetensors(bytes, { file: "x.safetensors" }), {
    typed: (e) => e instanceof CheckpointError,
  });
  const fs = new MemoryFileSystem();
  await fs.mkdirp("logs");
  await fuzz("restoreCheckpoint", 102, [checkpoint], async (bytes) => {
    await fs.writeFileAtomic("logs/model.ckpt-3.safetensors", bytes);
    const r = await restoreCheckpoint(fs, "logs/model.ckpt-3");
    // Both checksums passed: anything but the original would be silent corruption.
    if (r.globalStep !== 3 || !sameTensors(r.tensors, original)) throw new Error("a damaged checkpoint restored as different values");
  }, { typed: (e) => e instanceof CheckpointError });
});

test("readState() and restoreLatest() on a damaged state file still find the intact checkpoint", async () => {
  const { checkpoint, state } = await realFiles();
  const fs = new MemoryFileSystem();
  await fs.mkdirp("logs");
  await fs.writeFileAtomic("logs/model.ckpt-3.safetensors", checkpoint);
  await fuzz("readState/restoreLatest", 201, [state], async (bytes) => {
    await fs.writeFileAtomic("logs/checkpoint", bytes);
    await readState(fs, "logs");
    const r = await restoreLatest(fs, "logs");
    if (r?.globalStep !== 3) throw new Error(`restoreLatest gave ${r?.path ?? "nothing"} with the only checkpoint intact`);
  }, { typed: () => false });
});

test("readRecords() on a damaged TFRecord shard throws only RecordError", async () => {
  const shard = new Uint8Array(readFileSync(join(FIXTURES, "digits.tfrecord")));
  for (const allowTruncatedTail of [false, true]) {
    await fuzz(`readRecords${allowTruncatedTail ? " (allowTruncatedTail)" : ""}`, 301, [shard], (bytes) => {
      for (const rec of readRecords(bytes, { file: "d.tfrecord", allowTruncatedTail })) void rec;
    }, { typed: (e) => e instanceof RecordError });
  }
});

test("tfrecordDataset() on damaged Examples and images: Errors naming the record, or images of the asked shape with finite pixels", async () => {
  const shard = new Uint8Array(readFileSync(join(FIXTURES, "digits.tfrecord")));
  const payloads = [...readRecords(shard)].map((r) => r.data.slice());
  const fs = new MemoryFileSystem();
  const r = rng(401);
  // Half the inputs damage the Example protobuf, half only the image inside it, to reach the decoders.
  const sources = payloads.flatMap((p) => [p, (parseExample(p).get("image/encoded")!.value as Uint8Array[])[0].slice()]);
  await fuzz("tfrecordDataset", 402, sources, async (bytes) => {
    const which = Math.floor(r() * payloads.length);
    let payload = bytes;
    if (r() < 0.5) {
      const ex = parseExample(payloads[which]);
      ex.set("image/encoded", { kind: "bytes", value: [bytes] });
      payload = encodeExample(ex);
    }
    await fs.writeFileAtomic("s.tfrecord", encodeRecords([payloads[0], payload]));
    const got = await tfrecordDataset(fs, "s.tfrecord", { height: 28, width: 28, channels: 1 }).toArray();
    for (const { image, label } of got) {
      assertEquals(image.shape, [28, 28, 1]);
      assertEquals(label.shape, []);
      if (!(image.data as Float32Array).every(Number.isFinite)) throw new Error("a damaged image decoded to non-finite pixels");
    }
  }, { typed: (e) => e instanceof RecordError || (e as Error).message.includes("record 1 of s.tfrecord") });
});

test("readEvents() on damaged event files: RecordError or an Error naming the file and offset", async () => {
  const { events } = await realFiles();
  const mem = new MemoryFileSystem();
  const w = await EventFileWriter.create(mem, "logs", { hostname: "fuzz" });
  w.addScalar("loss", 0.5, 1);
  w.addHistogram("weights", Float32Array.from({ length: 50 }, (_, i) => Math.sin(i)), 1);
  w.addEvent({ wallTime: 1, step: 2, summary: { value: [{ tag: "legacy", simpleValue: 3 }] } });
  await w.close();
  const synthetic = await mem.readFile(w.path);
  const isOwn = (e: unknown) => e instanceof RecordError || /^Cannot decode the event in e\.tfevents at byte offset \d+/.test((e as Error).message);
  for (const allowTruncatedTail of [false, true]) {
    await fuzz(`readEvents${allowTruncatedTail ? " (allowTruncatedTail)" : ""}`, 501, [events, synthetic], (bytes) =>
      readEvents(bytes, { file: "e.tfevents", allowTruncatedTail }), { typed: isOwn });
  }
  // With valid framing around damaged payloads, every failure is the proto decoder's, wrapped with the place.
  const payloads = [...readRecords(events), ...readRecords(synthetic)].map((r) => r.data.slice());
  await fuzz("readEvents (re-framed payloads)", 502, payloads, (bytes) => readEvents(encodeRecord(bytes), { file: "e.tfevents" }), { typed: isOwn });
});

test("InferenceSession.create() on damaged ONNX models gives an Error, never a crash", async () => {
  const { onnx } = await realFiles();
  type Ort = typeof import("onnxruntime-node");
  const ort = await import("onnxruntime-node");
  // A CommonJS package: some runtimes put its exports on the namespace, others only under default.
  const { InferenceSession } = (ort.InferenceSession ? ort : (ort as unknown as { default: Ort }).default);
  // Severity 3 (errors only): ONNX Runtime warns on stderr about every lenient shape merge.
  const options = { intraOpNumThreads: 1, logSeverityLevel: 3 as const };
  const intact = await InferenceSession.create(onnx[0], options);
  await intact.release();
  await fuzz("onnxruntime-node InferenceSession.create", 601, onnx, async (bytes) => {
    const session = await InferenceSession.create(bytes, options);
    await session.release();
  }, { typed: () => false, plainErrors: true });
});

test("readTensorflowCheckpoint() on damaged V1 and V2 checkpoints: CheckpointError, or exactly what was written", async () => {
  const fixture = (name: string) => new Uint8Array(readFileSync(join(TF_FIXTURES, name)));
  const fs = new MemoryFileSystem();
  const isOwn = (e: unknown) => e instanceof CheckpointError;
  // The independent writer's V1 file, and one TensorFlow wrote.
  for (const name of ["vgg_16.ckpt", "real_tf/half_plus_two/export-00000-of-00001"]) {
    const v1 = fixture(name);
    await fs.writeFileAtomic("v1.ckpt", v1);
    const v1Original = (await readTensorflowCheckpoint("v1.ckpt", fs)).tensors;
    await fuzz(`readTensorflowCheckpoint (V1 ${name})`, 701, [v1], async (bytes) => {
      await fs.writeFileAtomic("v1.ckpt", bytes);
      // Every block has a CRC32C: a file that reads must read as written.
      if (!sameTensors((await readTensorflowCheckpoint("v1.ckpt", fs)).tensors, v1Original)) throw new Error("a damaged V1 file read as different values");
    }, { typed: isOwn });
  }

  // V2: damage the index or one data shard of the two-shard checkpoint, or the Snappy-compressed index.
  for (const dir of ["v2_sharded", "v2_snappy"]) {
    await fs.mkdirp(dir);
    const files = readdirSync(join(TF_FIXTURES, dir)).sort();
    for (const f of files) await fs.writeFileAtomic(`${dir}/${f}`, fixture(`${dir}/${f}`));
    const original = (await readTensorflowCheckpoint(`${dir}/model.ckpt`, fs)).tensors;
    for (const [i, f] of files.entries()) {
      // Both shards go through the same code: damaging one is enough.
      if (f.includes(".data-00000-") || (dir === "v2_snappy" && !f.endsWith(".index"))) continue;
      const intact = fixture(`${dir}/${f}`);
      await fuzz(`readTensorflowCheckpoint (${dir}/${f})`, 702 + i, [intact], async (bytes) => {
        await fs.writeFileAtomic(`${dir}/${f}`, bytes);
        const r = await readTensorflowCheckpoint(`${dir}/model.ckpt`, fs);
        // Blocks and tensors have CRC32Cs: a checkpoint that reads must read as written.
        if (!sameTensors(r.tensors, original)) throw new Error(`a damaged ${f} read as different values`);
      }, { typed: isOwn });
      await fs.writeFileAtomic(`${dir}/${f}`, intact);
    }
  }
});

test("readAnyCheckpoint() on damaged ONNX models and plain safetensors: CheckpointError only", async () => {
  const { onnx, checkpoint } = await realFiles();
  const fs = new MemoryFileSystem();
  await fuzz("readAnyCheckpoint (ONNX initializers)", 801, onnx, async (bytes) => {
    await fs.writeFileAtomic("m.onnx", bytes);
    await readAnyCheckpoint("m.onnx", { fs });
  }, { typed: (e) => e instanceof CheckpointError });
  await fuzz("readAnyCheckpoint (safetensors)", 802, [checkpoint], async (bytes) => {
    await fs.writeFileAtomic("w.safetensors", bytes);
    await readAnyCheckpoint("w.safetensors", { fs });
  }, { typed: (e) => e instanceof CheckpointError });
});
