/**
 * The outside oracle: a small VGG-shaped network trained by slimtrain's whole
 * pipeline (autodiff, ONNX lowering, createTrainOp, TrainSession on the CPU EP)
 * must reproduce PyTorch's loss, every gradient, and the parameters after one and
 * two SGD steps, for the same float32 weights and batches. The numbers come from
 * scripts/make_torch_oracle.py, which documents the network layer by layer.
 * @module
 */
import { defaultFileSystem } from "../src/fs/default.ts";
import { Graph } from "../src/graph/graph.ts";
import { type HostTensor, hostTensor } from "../src/graph/host_tensor.ts";
import type { Tensor } from "../src/graph/tensor.ts";
import { placeholder, type Variable, variable } from "../src/graph/variable.ts";
import { createTrainOp, type TrainOp } from "../src/learning/create_train_op.ts";
import { gradientDescent } from "../src/learning/optimizers/mod.ts";
import { TrainSession } from "../src/learning/train_session.ts";
import {
  addN,
  biasAddNCHW,
  conv2dNCHW,
  l2Loss,
  maxPool2dNCHW,
  mul,
  reduceMean,
  relu,
  softmaxCrossEntropyWithLogits,
  squeeze,
} from "../src/ops/mod.ts";
import { createRuntime } from "../src/runtime/create.ts";
import { evaluate } from "../src/runtime/evaluate.ts";
import type { Runtime } from "../src/runtime/types.ts";
import { AssertionError, assert, assertClose, test } from "./harness.ts";

/** The layout of fixtures/torch_oracle/vgg_small.json. */
interface OracleFixture {
  learning_rate: number;
  weight_decay: number;
  num_classes: number;
  params: { name: string; shape: number[]; value: number[] }[];
  batches: { images_shape: number[]; images: number[]; labels: number[] }[];
  cases: OracleCase[];
}

interface OracleCase {
  name: string;
  /** Each layer as PyTorch ran it, in order; convs say their padding rule, pads and activation. */
  layers: {
    layer: string;
    op: "conv" | "max_pool";
    stride: number;
    kernel?: number;
    padding?: "SAME" | "VALID";
    pads?: number[];
    relu?: boolean;
  }[];
  loss: number;
  gradients: Record<string, number[]>;
  loss_step2: number;
  params_after_step1?: Record<string, number[]>;
  params_after_step2?: Record<string, number[]>;
}

/**
 * PyTorch's own float32 gradients differ from a float64 run by at most 6% of this
 * allowance (the script prints the budget per tensor; the largest element errors
 * are ~1e-7 absolute on gradients of size ~1), so rtol 1e-4 with atol 1e-5 leaves
 * room for a different but equally valid float32 summation order and no more.
 */
const RTOL = 1e-4;
const ATOL = 1e-5;
/**
 * One SGD step moves a parameter by lr·grad (≤ 0.14 here) while rounding the
 * parameter itself costs up to half an ulp of |p| < 1 (≈ 6e-8) on each side, so
 * the step difference is compared with an atol well above that rounding.
 */
const STEP_ATOL = 1e-6;

/** Set ORACLE_REPORT=1 to print every comparison's error and the share of the tolerance it uses. */
const REPORT = Boolean((globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env?.ORACLE_REPORT);

async function loadFixture(): Promise<OracleFixture> {
  const fs = await defaultFileSystem();
  const path = decodeURIComponent(new URL("../fixtures/torch_oracle/vgg_small.json", import.meta.url).pathname)
    .replace(/^\/([A-Za-z]:)/, "$1");
  return JSON.parse(new TextDecoder().decode(await fs.readFile(path)));
}

const fixture = loadFixture();

/** Compares elementwise; on failure and in report mode, names the tensor and its worst relative error. */
function check(what: string, got: ArrayLike<number> | number, want: ArrayLike<number> | number, atol = ATOL): void {
  const a = typeof got === "number" ? [got] : got;
  const e = typeof want === "number" ? [want] : want;
  let worstRel = 0, budget = 0;
  for (let i = 0; i < Math.min(a.length, e.length); i++) {
    const diff = Math.abs(a[i] - e[i]);
    // Relative error where rtol governs (|e| above atol/rtol); tiny elements are atol's.
    if (Math.abs(e[i]) >= atol / RTOL) worstRel = Math.max(worstRel, diff / Math.abs(e[i]));
    budget = Math.max(budget, diff / (atol + RTOL * Math.abs(e[i])));
  }
  if (REPORT) console.log(`  ${what}: max relative error ${worstRel.toExponential(2)}, ${(100 * budget).toFixed(1)}% of tolerance`);
  try {
    assertClose(a, e, { rtol: RTOL, atol, message: `${what} (max relative error ${worstRel.toExponential(2)})` });
  } catch (err) {
    if (err instanceof AssertionError) throw err;
    throw new AssertionError(`${what}: ${(err as Error).message}`);
  }
}

function oneHot(labels: number[], classes: number): HostTensor {
  const data = new Float32Array(labels.length * classes);
  labels.forEach((label, i) => (data[i * classes + label] = 1));
  return hostTensor("float32", [labels.length, classes], data);
}

interface Built {
  graph: Graph;
  trainOp: TrainOp;
  variables: Variable[];
}

/** The network of make_torch_oracle.py, with each layer's geometry taken from the fixture's log of the case. */
function buildNetwork(f: OracleFixture, c: OracleCase): Built {
  const graph = new Graph();
  return graph.asDefault(() => {
    const shapes = new Map(f.params.map((p) => [p.name, p.shape]));
    const images = placeholder(f.batches[0].images_shape, "float32", "images");
    const labels = placeholder([f.batches[0].labels.length, f.num_classes], "float32", "labels");
    const vars = new Map<string, Variable>();
    const param = (name: string) => {
      const shape = shapes.get(name);
      if (!shape) throw new Error(`fixture has no parameter ${name}`);
      const v = variable(name, { shape });
      vars.set(name, v);
      return v.value;
    };
    let x: Tensor = images;
    for (const layer of c.layers) {
      const { layer: name, op, stride } = layer;
      if (op === "max_pool") {
        x = maxPool2dNCHW(x, [layer.kernel!, layer.kernel!], { strides: [stride, stride], padding: "VALID" });
        continue;
      }
      // slimtrain derives TF's pads from "SAME"/"VALID"; the fixture's pads are what PyTorch used.
      x = conv2dNCHW(x, param(`${name}/weights`), { strides: [stride, stride], padding: layer.padding! });
      if (shapes.has(`${name}/biases`)) x = biasAddNCHW(x, param(`${name}/biases`));
      if (layer.relu) x = relu(x);
    }
    const logits = squeeze(x, [2, 3]);
    const crossEntropy = reduceMean(softmaxCrossEntropyWithLogits(logits, labels));
    const decay = [...vars.keys()].filter((n) => n.endsWith("/weights")).map((n) => mul(l2Loss(vars.get(n)!.value), f.weight_decay));
    const totalLoss = addN([crossEntropy, ...decay]);
    const trainOp = createTrainOp(totalLoss, gradientDescent({ learningRate: f.learning_rate }));
    return { graph, trainOp, variables: [...vars.values()] };
  });
}

function checkPads(c: OracleCase, built: Built): void {
  // The conv nodes appear in layer order; their pads must be the ones PyTorch used.
  const convs = built.graph.nodes.filter((n) => n.op === "Conv2D");
  const expected = c.layers.filter((l) => l.op === "conv");
  assert(convs.length === expected.length, `${c.name}: ${convs.length} convolutions built, fixture has ${expected.length}`);
  expected.forEach((l, i) => {
    const pads = (convs[i].attrs as { pads: number[] }).pads;
    assert(pads.join() === l.pads!.join(), `${c.name}: ${l.layer} pads [${pads}] but PyTorch used [${l.pads}]`);
  });
}

function batchFeeds(f: OracleFixture, i: number): Record<string, HostTensor> {
  const b = f.batches[i];
  return {
    images: hostTensor("float32", b.images_shape, Float32Array.from(b.images)),
    labels: oneHot(b.labels, f.num_classes),
  };
}

function initialValues(f: OracleFixture): Record<string, HostTensor> {
  return Object.fromEntries(f.params.map((p) => [p.name, hostTensor("float32", p.shape, Float32Array.from(p.value))]));
}

let runtime: Promise<Runtime> | undefined;
const cpu = () => (runtime ??= createRuntime({ executionProvider: "cpu", intraOpNumThreads: 1 }));

async function runCase(name: string): Promise<void> {
  const f = await fixture;
  const c = f.cases.find((x) => x.name === name);
  if (!c) throw new Error(`fixture has no case ${name}`);
  if (REPORT) console.log(`case ${name}:`);
  const built = buildNetwork(f, c);
  checkPads(c, built);
  const initial = initialValues(f);
  const rt = await cpu();

  // Gradients as the train step computes them, fetched from a model of their own.
  const fetches: Record<string, Tensor> = { loss: built.trainOp.totalLoss };
  for (const { grad, variable } of built.trainOp.gradsAndVars) {
    assert(grad, `${name}: no gradient for ${variable.name}`);
    fetches[`grad:${variable.name}`] = grad;
  }
  const evaluated = await evaluate(fetches, { variables: initial, feeds: batchFeeds(f, 0), runtime: rt });
  check(`${name}: loss (evaluate)`, evaluated.loss.data as Float32Array, c.loss);
  for (const v of built.variables) {
    check(`${name}: gradient of ${v.name}`, evaluated[`grad:${v.name}`].data as Float32Array, c.gradients[v.name]);
  }

  const session = await TrainSession.create(built.trainOp, { runtime: rt });
  try {
    // No initialize(): a variable the fixture failed to set would then fail the step loudly.
    for (const [k, value] of Object.entries(initial)) session.assign(k, value);
    const step1 = await session.run(batchFeeds(f, 0));
    check(`${name}: loss at step 1`, step1.loss, c.loss);
    const after1 = await session.readState();
    const p0 = Object.fromEntries(f.params.map((p) => [p.name, p.value]));
    if (c.params_after_step1) checkParams(`${name}: after step 1`, after1, c.params_after_step1, p0, p0);
    const step2 = await session.run(batchFeeds(f, 1));
    check(`${name}: loss at step 2`, step2.loss, c.loss_step2);
    if (c.params_after_step2) {
      const ours = Object.fromEntries([...after1].map(([k, v]) => [k, Array.from(v.data as Float32Array)]));
      checkParams(`${name}: after step 2`, await session.readState(), c.params_after_step2, ours, c.params_after_step1!);
    }
  } finally {
    await session.release();
  }
}

/**
 * Checks each parameter and, more sharply, the step it took: ours from `ourBefore`
 * against PyTorch's from `theirBefore` (the parameter itself dwarfs lr·grad).
 */
function checkParams(
  what: string,
  got: Map<string, HostTensor>,
  want: Record<string, number[]>,
  ourBefore: Record<string, number[]>,
  theirBefore: Record<string, number[]>,
): void {
  for (const [k, expected] of Object.entries(want)) {
    const value = got.get(k);
    assert(value, `${what}: session has no variable ${k}`);
    const data = Array.from(value.data as Float32Array);
    check(`${what}: ${k}`, data, expected);
    const ours = ourBefore[k], theirs = theirBefore[k];
    check(`${what}: step of ${k}`, data.map((x, i) => x - ours[i]), expected.map((x, i) => x - theirs[i]), STEP_ATOL);
  }
}

test("createTrainOp() on a small VGG matches PyTorch: loss, every gradient, parameters after two SGD steps", () =>
  runCase("vgg_small"));

test("createTrainOp() matches PyTorch with an overlapping 3x3 stride-2 max pool (scatter gradient path)", () =>
  runCase("overlap_pool"));

test("createTrainOp() matches PyTorch with a stride-1 VALID convolution", () => runCase("valid_conv"));
