// The `slimtrain` CLI end to end through main(): train writes events and
// checkpoints, a second train resumes, --fresh starts over, eval prints the
// accuracy, export writes an ONNX model that a fresh onnxruntime-node session runs
// to the eval graph's logits; help and flag errors. VGG-16 at batch 2 with plain
// SGD: an Adam checkpoint of this net is 1.6 GB, an SGD one 0.5 GB.
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import * as ortModule from "onnxruntime-node";
import { readState, restoreCheckpoint } from "../src/checkpoint/mod.ts";
import { EXPORT_FLAGS } from "../src/cli/eval_export_commands.ts";
import { buildDigitsEvalGraph, learningRateByName } from "../src/cli/digits_model.ts";
import { TRAIN_FLAGS } from "../src/cli/train_command.ts";
import { NodeFileSystem } from "../src/fs/node_fs.ts";
import { Graph } from "../src/graph/graph.ts";
import { xavierInitializer } from "../src/graph/initializers.ts";
import { placeholder, variable } from "../src/graph/variable.ts";
import { createTrainOp } from "../src/learning/create_train_op.ts";
import { gradientDescent } from "../src/learning/optimizers/mod.ts";
import { train } from "../src/learning/train.ts";
import { matmul, mul, reduceMean } from "../src/ops/mod.ts";
import type { HostTensor } from "../src/graph/host_tensor.ts";
import { evaluate } from "../src/runtime/evaluate.ts";
import { readEvents } from "../src/summary/event_reader.ts";
import { cli, type CliResult, row } from "./cli_capture.ts";
import { assert, assertClose, assertEquals, randomArray, runtimeName, test } from "./harness.ts";
import { traceSchedule } from "./schedule_trace.ts";

// deno-lint-ignore no-explicit-any
const ort: any = (ortModule as { default?: unknown }).default ?? ortModule;
const fs = new NodeFileSystem();

function expectOk(r: CliResult, what: string): void {
  assert(r.code === 0, `${what} exited ${r.code}: ${r.err}\n${r.out}`);
}

test("main() help lists every flag of train and export", async () => {
  const train = await cli(["train", "--help"]);
  expectOk(train, "train --help");
  for (const f of TRAIN_FLAGS) assert(train.out.includes(`--${f.name}`), `train --help lacks --${f.name}:\n${train.out}`);
  const steps = TRAIN_FLAGS.find((f) => f.name === "steps");
  assert(steps?.default !== undefined, "train has a --steps default");
  assert(train.out.includes(`(default: ${steps.default})`), `defaults are shown:\n${train.out}`);
  const exp = await cli(["help", "export"]);
  expectOk(exp, "help export");
  for (const f of EXPORT_FLAGS) assert(exp.out.includes(`--${f.name}`), `help export lacks --${f.name}`);
  const top = await cli([]);
  expectOk(top, "no arguments");
  for (const c of ["slimtrain train", "slimtrain eval", "slimtrain export"]) assert(top.out.includes(c), `usage lacks ${c}`);
});

test("main() exits 1 naming the flag for an unknown flag or a bad value, 2 for an unknown command", async () => {
  const dir = mkdtempSync(join(tmpdir(), "slimtrain-cli-flags-"));
  try {
    const cases: [string[], RegExp][] = [
      [["train", "--stpes", "3"], /^slimtrain train: Unknown flag --stpes/],
      [["train", "--steps", "three"], /^slimtrain train: Flag --steps must be a number, got "three"/],
      [["train", "--steps", "2.5", "--logdir", dir], /^slimtrain train: --steps must be a positive integer, got 2\.5/],
      [["train", "--batch-size", "0", "--logdir", dir], /^slimtrain train: --batch-size must be a positive integer/],
      [["train", "--steps-per-run", "0", "--logdir", dir], /^slimtrain train: --steps-per-run must be a positive integer, got 0/],
      [["train", "--threads", "1.5", "--logdir", dir], /^slimtrain train: --threads must be a positive integer, got 1\.5/],
      [["train", "--held-out", "9999", "--batch-size", "2", "--logdir", dir], /^slimtrain train: --held-out must be an integer from 1 to 9998 /],
      [["train", "--held-out", "0", "--logdir", dir], /^slimtrain train: --held-out must be an integer from 1 to 9968 /],
      [["train", "--save-interval-secs", "-1", "--logdir", dir], /^slimtrain train: --save-interval-secs must be a non-negative number, got -1/],
      [["train", "--optimizer", "lbfgs"], /^slimtrain train: Flag --optimizer must be one of adam, momentum, sgd, rmsprop, adagrad, got "lbfgs"/],
      [["train", "--learning-rate-decay-type", "step"], /^slimtrain train: Flag --learning-rate-decay-type must be one of fixed, exponential, polynomial, cosine, got "step"/],
      [["train", "--steps"], /^slimtrain train: Flag --steps needs a value/],
      [["train", "logs"], /^slimtrain train: Unexpected argument "logs"/],
      [["eval", "--ep", "tpu"], /^slimtrain eval: Flag --ep must be one of/],
      [["eval", "--logdir", dir], /^slimtrain eval: No checkpoint in /],
      [["eval", "--held-out", "0", "--logdir", dir], /^slimtrain eval: --held-out must be an integer from 1 to 10000/],
      [["export", "--outptu", "m.onnx"], /^slimtrain export: Unknown flag --outptu/],
    ];
    for (const [args, pattern] of cases) {
      const r = await cli(args);
      assertEquals(r.code, 1, `exit code of ${args.join(" ")}`);
      assert(pattern.test(r.err), `${args.join(" ")}: stderr ${JSON.stringify(r.err)} should match ${pattern}`);
    }
    assert(readdirSync(dir).length === 0, "a rejected command leaves the logdir alone");
    const unknown = await cli(["trian"]);
    assertEquals(unknown.code, 2);
    assert(unknown.err.includes(`Unknown command "trian"`), unknown.err);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("learningRateByName() decays to zero at the last step (polynomial, cosine) or by 0.94 every two epochs", async () => {
  const [lr] = randomArray(1, 11, 1e-4, 1e-2);
  const steps = 40, stepsPerEpoch = 7, at = [0, 10, 13, 14, 20, 27, 28, 40, 55];
  assertEquals(learningRateByName("fixed", lr, { steps, stepsPerEpoch }), lr);
  const expected: Record<string, (s: number) => number> = {
    exponential: (s) => lr * 0.94 ** Math.floor(s / (2 * stepsPerEpoch)),
    polynomial: (s) => lr * (1 - Math.min(s, steps) / steps),
    cosine: (s) => lr * 0.5 * (1 + Math.cos((Math.PI * Math.min(s, steps)) / steps)),
  };
  for (const [type, want] of Object.entries(expected)) {
    const schedule = learningRateByName(type, lr, { steps, stepsPerEpoch });
    assert(typeof schedule === "function", `${type} gives a schedule`);
    assertClose(await traceSchedule(schedule, at), at.map(want), { rtol: 1e-5, atol: 1e-9, message: type });
  }
  let error = "";
  try {
    learningRateByName("step", lr, { steps, stepsPerEpoch });
  } catch (e) {
    error = (e as Error).message;
  }
  assertEquals(error, "Unknown learning-rate decay type step (choose from fixed, exponential, polynomial, cosine)");
});

// The expensive tests below share one logdir: train once, then eval and export it.
const logdir = mkdtempSync(join(tmpdir(), "slimtrain-cli-"));
const small = ["--batch-size", "2", "--held-out", "100", "--optimizer", "sgd", "--logdir", logdir];
let trainedAt = 0;

test("main(train) writes events and checkpoints, resumes on a second run, and --fresh starts over", async () => {
  const first = await cli(["train", "--steps", "2", ...small, "--save-interval-secs", "0", "--save-summaries-secs", "0"]);
  expectOk(first, "train --steps 2");
  assert(!/Restored/.test(first.out), "a first run has nothing to restore");
  assert(first.out.includes("step 2/2"), `progress reaches step 2/2:\n${first.out}`);
  assertEquals(row(first.out, "steps"), "2 (2 this run)");
  assert(/^\d+\.\d{2}% of 100 digits$/.test(row(first.out, "held-out accuracy")), row(first.out, "held-out accuracy"));
  const firstLoss = Number(row(first.out, "final loss"));
  assert(Number.isFinite(firstLoss) && firstLoss > 0, `final loss ${firstLoss}`);

  const files = readdirSync(logdir);
  for (const f of ["checkpoint", "model.ckpt-2.safetensors", "training_model.onnx"]) assert(files.includes(f), `${f} missing: ${files.join(", ")}`);
  assertEquals((await readState(fs, logdir))!.latest, "model.ckpt-2", "the state file names the latest checkpoint");
  const eventFiles = files.filter((f) => f.startsWith("events.out.tfevents."));
  assertEquals(eventFiles.length, 1, "one event file");
  const events = readEvents(await fs.readFile(join(logdir, eventFiles[0])), { file: eventFiles[0] });
  const losses = events.flatMap((e) => e.values.filter((v) => v.tag === "losses/total_loss" && v.kind === "scalar").map((v) => ({ step: e.step, value: v.value! })));
  assert(losses.length > 0, "a losses/total_loss scalar was written");
  const last = losses[losses.length - 1];
  assertEquals(last.step, 2, "the last loss summary is tagged with global step 2");
  assertClose(last.value, firstLoss, { rtol: 0, atol: 5e-5, message: "summary = the printed final loss" });

  const resumed = await cli(["train", "--steps", "3", ...small]);
  expectOk(resumed, "train --steps 3");
  assert(resumed.out.includes(`Restored ${join(logdir, "model.ckpt-2")} (global step 2)`), `resume says so:\n${resumed.out}`);
  assertEquals(row(resumed.out, "steps"), "3 (1 this run)");
  assertEquals(row(resumed.out, "checkpoint"), join(logdir, "model.ckpt-3"));
  assert(existsSync(join(logdir, "model.ckpt-3.safetensors")), "model.ckpt-3 written");
  assertEquals((await readState(fs, logdir))!.latest, "model.ckpt-3");

  const fresh = await cli(["train", "--steps", "2", ...small, "--fresh"]);
  expectOk(fresh, "train --fresh");
  assert(!/Restored/.test(fresh.out), `--fresh restores nothing:\n${fresh.out}`);
  assertEquals(row(fresh.out, "steps"), "2 (2 this run)");
  // Same seed, same data order, same start: the very same two steps again.
  assertEquals(row(fresh.out, "final loss"), row(first.out, "final loss"), "the fresh run repeats the first");
  assert(!existsSync(join(logdir, "model.ckpt-3.safetensors")), "--fresh removed the old checkpoints");
  assertEquals((await readState(fs, logdir))!.latest, "model.ckpt-2");
  trainedAt = 2;
});

test("main(eval) prints the held-out accuracy of the latest checkpoint", async () => {
  assert(trainedAt === 2, "needs the checkpoint of the train test");
  const r = await cli(["eval", "--logdir", logdir, "--held-out", "100"]);
  expectOk(r, "eval");
  const line = `${join(logdir, "model.ckpt-2")} (global step 2): held-out accuracy `;
  assert(r.out.startsWith(line) && / \d+\.\d{2}% of 100 digits\n$/.test(r.out), `eval output: ${JSON.stringify(r.out)}`);
});

test("main(export) writes an ONNX model of any batch size: batches of 1 and 7 in a fresh session give the eval graph's logits", async () => {
  try {
    assert(trainedAt === 2, "needs the checkpoint of the train test");
    const output = join(logdir, "exported.onnx");
    const r = await cli(["export", "--output", output, "--logdir", logdir]);
    expectOk(r, "export");
    assert(r.out.includes(`Wrote ${output}: input images [batch, 32, 32, 1]`), r.out);

    const seven: HostTensor = { dtype: "float32", shape: [7, 32, 32, 1], data: randomArray(7 * 32 * 32, 77, 0, 1) };
    const one: HostTensor = { dtype: "float32", shape: [1, 32, 32, 1], data: seven.data.slice(3 * 32 * 32, 4 * 32 * 32) as Float32Array };
    const session = await ort.InferenceSession.create(output);
    const exported: Record<number, { data: Float32Array; dims: number[] }> = {};
    try {
      assertEquals(session.inputNames, ["images"], "the exported model is fed only images");
      assertEquals(session.outputNames, ["logits"]);
      for (const images of [one, seven]) {
        const out = await session.run({ images: new ort.Tensor("float32", images.data, images.shape) });
        exported[images.shape[0]] = { data: out.logits.data as Float32Array, dims: [...out.logits.dims] };
      }
    } finally {
      await session.release();
    }
    assertEquals(exported[1].dims, [1, 10], "logits shape of a batch of 1");
    assertEquals(exported[7].dims, [7, 10], "logits shape of a batch of 7");

    const restored = await restoreCheckpoint(fs, join(logdir, "model.ckpt-2"));
    assertEquals(restored.globalStep, 2);
    const { logits } = buildDigitsEvalGraph(7);
    const expected = await evaluate({ logits }, { feeds: { images: seven }, variables: Object.fromEntries(restored.tensors) });
    assertClose(exported[7].data, expected.logits.data as Float32Array, { rtol: 1e-4, atol: 1e-5, message: "exported vs eval-graph logits" });
    assertClose(exported[1].data, exported[7].data.slice(30, 40), { rtol: 1e-4, atol: 1e-5, message: "a batch of 1 vs its row in a batch of 7" });
    assert(new Set(Array.from(exported[7].data, (x) => x.toFixed(4))).size > 1, "the logits are not all equal");
  } finally {
    rmSync(logdir, { recursive: true, force: true });
  }
});

test("main(export) refuses a checkpoint of another model, naming the first variable it lacks, and writes nothing", async () => {
  const dir = mkdtempSync(join(tmpdir(), "slimtrain-cli-other-"));
  try {
    const g = new Graph();
    const trainOp = g.asDefault(() => {
      const x = placeholder([2, 3], "float32", "x");
      const w = variable("tiny/weights", { shape: [3, 1], initializer: xavierInitializer() });
      return createTrainOp(reduceMean(mul(matmul(x, w.value), matmul(x, w.value))), gradientDescent({ learningRate: 0.1 }));
    });
    const batch = { x: { dtype: "float32" as const, shape: [2, 3], data: randomArray(6, 5) } };
    await train(trainOp, dir, { data: [batch, batch], numberOfSteps: 2, log: () => {}, handleSignals: false });
    const output = join(dir, "exported.onnx");
    const r = await cli(["export", "--logdir", dir, "--output", output]);
    assertEquals(r.code, 1, `export of another model's checkpoint: ${r.out}`);
    assertEquals(
      r.err.trim(),
      `slimtrain export: exportInferenceModel: no value for variable vgg_16/conv1/conv1_1/weights in checkpoint ${join(dir, "model.ckpt-2")}, and the outputs need it`,
    );
    assert(!existsSync(output), "no model written");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

// What `npx slimtrain` runs: bin/slimtrain.mjs on the bundle in dist/ (built by `npm install`), under Node.js.
// The bundler once dropped the JSON import attribute the digits need, so the bundle
// failed where the sources passed; one real step through it catches that.
test("the npm bin (bin/slimtrain.mjs on dist/, what npx slimtrain runs) trains a step on the digits and evaluates", () => {
  if (!runtimeName().startsWith("node")) return; // Deno and Bun run mod.ts, tested above.
  const bundle = join(process.cwd(), "dist", "cli.js"), cli = join(process.cwd(), "bin", "slimtrain.mjs");
  assert(existsSync(bundle), `${bundle} is missing: npm install builds it (npm run build)`);
  const dir = mkdtempSync(join(tmpdir(), "slimtrain-dist-"));
  try {
    const r = spawnSync(process.execPath, [cli, "train", "--steps", "1", "--batch-size", "2", "--held-out", "100", "--optimizer", "sgd", "--logdir", dir], {
      encoding: "utf8",
    });
    assertEquals(r.status, 0, `slimtrain train exited ${r.status}:\n${r.stderr}\n${r.stdout}`);
    assert(/held-out accuracy +\d+\.\d+% of 100 digits/.test(r.stdout), `no accuracy row in:\n${r.stdout}`);
    assert(existsSync(join(dir, "model.ckpt-1.safetensors")), "a checkpoint at step 1");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
