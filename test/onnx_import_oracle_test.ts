/**
 * The outside oracle for `onnx.importModel`: torchvision's resnet18 layout (at a
 * quarter of its width) and MobileNetV2 (width 0.25), exported by PyTorch in
 * training mode, imported with batch statistics, trained one SGD step by
 * slimtrain's pipeline; the loss, every updated parameter and every running
 * statistic must match the float64 step of scripts/make_onnx_import_oracle.py.
 * @module
 */
import { defaultFileSystem } from "../src/fs/default.ts";
import { Graph, GraphKeys } from "../src/graph/graph.ts";
import { type HostTensor, hostTensor } from "../src/graph/host_tensor.ts";
import { placeholder, type Variable } from "../src/graph/variable.ts";
import { createTrainOp } from "../src/learning/create_train_op.ts";
import { gradientDescent } from "../src/learning/optimizers/mod.ts";
import { TrainSession } from "../src/learning/train_session.ts";
import { getTotalLoss, sparseSoftmaxCrossEntropy } from "../src/losses/mod.ts";
import { importModel } from "../src/onnx/import/import_model.ts";
import { createRuntime } from "../src/runtime/create.ts";
import { evaluate } from "../src/runtime/evaluate.ts";
import { assert, assertClose, assertEquals, test } from "./harness.ts";

/** A tensor recorded whole, or (when large) by its norm, sum and sampled entries. */
interface Recorded {
  shape: number[];
  /** The largest magnitude of any element. */
  max_abs: number;
  values?: number[];
  l2?: number;
  sum?: number;
  indices?: number[];
  samples?: number[];
}

/** The layout of fixtures/onnx_import/<name>.json. */
interface Fixture {
  model: string;
  learning_rate: number;
  images_shape: number[];
  images_f32_base64: string;
  labels: number[];
  loss: number;
  updated_parameters: Record<string, Recorded>;
  running_statistics: Record<string, Recorded>;
}

const LOSS_RTOL = 1e-5;
/**
 * Updated tensors are held to 1e-4 relative in the max norm (each element within
 * 1e-4 of the tensor's largest magnitude) and their L2 norms to 1e-4 relative:
 * one step with random weights moves some small parameters by far more than
 * their size, and PyTorch's own float32 step differs from the float64 one by up
 * to 2.7e-5 of the tensor's largest magnitude (see the script's notes).
 */
const RTOL = 1e-4;

function fixturePath(file: string): string {
  return decodeURIComponent(new URL(`../fixtures/onnx_import/${file}`, import.meta.url).pathname).replace(/^\/([A-Za-z]:)/, "$1");
}

async function load(name: string): Promise<{ fixture: Fixture; bytes: Uint8Array }> {
  const fs = await defaultFileSystem();
  const fixture = JSON.parse(new TextDecoder().decode(await fs.readFile(fixturePath(`${name}.json`)))) as Fixture;
  return { fixture, bytes: await fs.readFile(fixturePath(fixture.model)) };
}

function decodeFloats(base64: string): Float32Array {
  const binary = atob(base64);
  const bytes = Uint8Array.from(binary, (c) => c.charCodeAt(0));
  return new Float32Array(bytes.buffer);
}

/** Compares a value with its record; returns the max-norm relative error (for the report). */
function compare(what: string, got: HostTensor, want: Recorded): number {
  assertEquals(got.shape, want.shape, `${what}: shape`);
  const data = got.data as Float32Array;
  const bound = RTOL * want.max_abs;
  let worst = 0;
  const one = (i: number, expected: number) => {
    const diff = Math.abs(data[i] - expected);
    worst = Math.max(worst, diff / want.max_abs);
    assert(diff <= bound, `${what}[${i}]: got ${data[i]}, float64 oracle ${expected} (difference ${diff.toExponential(2)}, allowed ${bound.toExponential(2)} = 1e-4 of the largest magnitude)`);
  };
  if (want.values) {
    want.values.forEach((v, i) => one(i, v));
    return worst;
  }
  want.indices!.forEach((idx, k) => one(idx, want.samples![k]));
  let sq = 0, sum = 0, maxAbs = 0;
  for (const v of data) {
    sq += v * v;
    sum += v;
    maxAbs = Math.max(maxAbs, Math.abs(v));
  }
  const l2 = Math.sqrt(sq);
  assert(Math.abs(l2 - want.l2!) <= RTOL * want.l2!, `${what}: L2 norm ${l2}, float64 oracle ${want.l2}`);
  assert(Math.abs(maxAbs - want.max_abs) <= bound, `${what}: largest magnitude ${maxAbs}, float64 oracle ${want.max_abs}`);
  // Every element may be off by the bound; the sum then by the bound times the count at most.
  assert(Math.abs(sum - want.sum!) <= bound * Math.sqrt(data.length), `${what}: sum ${sum}, float64 oracle ${want.sum}`);
  return worst;
}

async function oneStep(name: string): Promise<void> {
  const { fixture, bytes } = await load(name);
  const graph = new Graph();
  const { model, trainOp } = graph.asDefault(() => {
    const model = importModel(bytes, { batchNorm: "train" });
    const labels = placeholder([fixture.labels.length], "int64", "labels");
    sparseSoftmaxCrossEntropy(model.outputs.logits, labels);
    const trainOp = createTrainOp(getTotalLoss(), gradientDescent({ learningRate: fixture.learning_rate }));
    return { model, trainOp };
  });

  // Every PyTorch parameter is a trainable variable under its own name; statistics are state.
  const trainable = new Set(graph.getCollection<Variable>(GraphKeys.TRAINABLE_VARIABLES).map((v) => v.name));
  assertEquals([...trainable].sort(), Object.keys(fixture.updated_parameters).sort(), `${name}: trainable variables`);
  for (const stat of Object.keys(fixture.running_statistics)) {
    assert(model.variables[stat] && !model.variables[stat].trainable, `${name}: ${stat} must be a non-trainable variable`);
  }

  const runtime = await createRuntime({ executionProvider: "cpu", intraOpNumThreads: 1 });
  const session = await TrainSession.create(trainOp, { runtime });
  try {
    session.initialize();
    const images = hostTensor("float32", fixture.images_shape, decodeFloats(fixture.images_f32_base64));
    const labels = hostTensor("int64", [fixture.labels.length], BigInt64Array.from(fixture.labels, BigInt));
    const { loss } = await session.run({ images, labels });
    const lossError = Math.abs(loss - fixture.loss) / Math.abs(fixture.loss);
    assert(lossError <= LOSS_RTOL, `${name}: loss ${loss}, float64 oracle ${fixture.loss} (relative error ${lossError.toExponential(2)})`);
    const state = await session.readState();
    let worstParam = 0, worstStat = 0;
    for (const [k, want] of Object.entries(fixture.updated_parameters)) {
      worstParam = Math.max(worstParam, compare(`${name}: updated ${k}`, state.get(k)!, want));
    }
    for (const [k, want] of Object.entries(fixture.running_statistics)) {
      worstStat = Math.max(worstStat, compare(`${name}: ${k}`, state.get(k)!, want));
    }
    if ((globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env?.ORACLE_REPORT) {
      console.log(`  ${name}: loss rel ${lossError.toExponential(2)}, parameters worst max-norm rel ${worstParam.toExponential(2)}, statistics worst max-norm rel ${worstStat.toExponential(2)}`);
    }
  } finally {
    await session.release();
  }
}

/** The imported graph's forward pass against ONNX Runtime running the file itself. */
async function forwardMatchesOnnxRuntime(name: string): Promise<void> {
  const { fixture, bytes } = await load(name);
  const images = hostTensor("float32", fixture.images_shape, decodeFloats(fixture.images_f32_base64));
  const runtime = await createRuntime({ executionProvider: "cpu", intraOpNumThreads: 1 });
  const session = await runtime.createSession(bytes);
  let reference: Float32Array;
  try {
    const out = await session.run({ images: runtime.fromHost(images) }, ["logits"]);
    reference = (await runtime.toHost(out.logits)).data as Float32Array;
  } finally {
    await session.release();
  }
  const graph = new Graph();
  const model = graph.asDefault(() => importModel(bytes));
  const { logits } = await evaluate({ logits: model.outputs.logits }, { feeds: { images }, runtime });
  assertClose(logits.data as Float32Array, reference, { rtol: 1e-4, atol: 1e-5, message: `${name}: logits against ONNX Runtime` });
}

test("importModel() resnet18 layout from PyTorch: forward pass matches ONNX Runtime running the file", () =>
  forwardMatchesOnnxRuntime("resnet18_w16"));

test("importModel() mobilenet_v2 from PyTorch: forward pass matches ONNX Runtime running the file", () =>
  forwardMatchesOnnxRuntime("mobilenet_v2_w025"));

test("importModel() resnet18 layout from PyTorch: one SGD step matches the float64 oracle (loss, parameters, running statistics)", () =>
  oneStep("resnet18_w16"));

test("importModel() mobilenet_v2 from PyTorch (depthwise convs, ReLU6): one SGD step matches the float64 oracle", () =>
  oneStep("mobilenet_v2_w025"));
