/**
 * The nets against the float64 oracle of scripts/make_nets_oracle.py: slim's
 * resnet_v1_50, mobilenet_v2 and inception_v1, built by `src/nets` under their
 * arg scopes, trained one SGD step through createTrainOp (batch norm's moving
 * statistics updated by UPDATE_OPS in the same step) on the CPU EP (or the one
 * NETS_ORACLE_EP names), must give PyTorch's loss, gradients, updated parameters
 * and moving statistics, and then its evaluation-mode logits. Both sides compute the weights from the formula the
 * script documents. These models carry up to 25M parameters, so the file runs
 * under Node only (Deno and Bun would repeat a minute of the same work).
 * @module
 */
import { defaultFileSystem } from "../src/fs/default.ts";
import { Graph } from "../src/graph/graph.ts";
import { type HostTensor, hostTensor } from "../src/graph/host_tensor.ts";
import { fromStorage } from "../src/graph/storage_layout.ts";
import type { Tensor } from "../src/graph/tensor.ts";
import { placeholder, type Variable } from "../src/graph/variable.ts";
import { type ArgScope, argScope } from "../src/layers/mod.ts";
import { createTrainOp } from "../src/learning/create_train_op.ts";
import { gradientDescent } from "../src/learning/optimizers/mod.ts";
import { TrainSession } from "../src/learning/train_session.ts";
import { getTotalLoss, softmaxCrossEntropy } from "../src/losses/mod.ts";
import { inceptionArgScope } from "../src/nets/inception_utils.ts";
import { inceptionV1 } from "../src/nets/inception_v1.ts";
import { mobilenetV2, trainingScope } from "../src/nets/mobilenet_v2.ts";
import type { NetResult } from "../src/nets/net_utils.ts";
import { resnetArgScope } from "../src/nets/resnet_utils.ts";
import { resnetV1_50 } from "../src/nets/resnet_v1.ts";
import { createRuntime } from "../src/runtime/create.ts";
import { evaluate } from "../src/runtime/evaluate.ts";
import type { Runtime } from "../src/runtime/types.ts";
import { AssertionError, assert, assertEquals, runtimeName, test } from "./harness.ts";

/** The layout of fixtures/nets_oracle/<net>.json. */
interface NetOracle {
  net: string;
  images_shape: number[];
  labels: number[];
  num_classes: number;
  learning_rate: number;
  loss: number;
  loss_f32_error: number;
  eval_logits_f32_error: number;
  variables: {
    name: string;
    shape: number[];
    trainable: boolean;
    index: number[];
    after: number[];
    after_norm: number;
    grad?: number[];
    grad_norm?: number;
    grad_f32_error?: number;
    grad_norm_f32_error?: number;
  }[];
  eval_logits: number[][];
}

/** How each net is built for the oracle: slim's arg scope and the options the script assumes. */
const NETS: Record<string, { scope: (isTraining: boolean) => ArgScope; build: (images: Tensor, numClasses: number, isTraining: boolean) => NetResult }> = {
  resnet_v1_50: {
    scope: () => resnetArgScope(),
    build: (x, numClasses, isTraining) => resnetV1_50(x, { numClasses, isTraining }),
  },
  mobilenet_v2: {
    scope: (isTraining) => trainingScope({ isTraining, dropoutKeepProb: 1 }),
    build: (x, numClasses, isTraining) => mobilenetV2(x, { numClasses, isTraining }),
  },
  inception_v1: {
    scope: () => inceptionArgScope(),
    build: (x, numClasses, isTraining) => inceptionV1(x, { numClasses, isTraining, dropoutKeepProb: 1, globalPool: true }),
  },
};

// --- The weight formula (scripts/make_nets_oracle.py documents it) ---

function fnv1a32(s: string): number {
  let h = 0x811c9dc5;
  for (const b of new TextEncoder().encode(s)) h = Math.imul(h ^ b, 0x01000193) >>> 0;
  return h;
}

/** Element i of the name's pattern: a multiple of 2^-23 in [-1, 1). */
function patternValue(nameHash: number, i: number): number {
  let h = (Math.imul(i + 1, 0x9e3779b1) ^ nameHash) >>> 0;
  h = (h ^ (h >>> 16)) >>> 0;
  h = Math.imul(h, 0x85ebca6b) >>> 0;
  h = (h ^ (h >>> 13)) >>> 0;
  h = Math.imul(h, 0xc2b2ae35) >>> 0;
  h = (h ^ (h >>> 16)) >>> 0;
  return (h >>> 8) / 2 ** 23 - 1;
}

function powerOfTwoScale(fanIn: number): number {
  const limit = 6 / fanIn;
  let s = 1;
  while (s * s > limit) s /= 2;
  while (2 * s * (2 * s) <= limit) s *= 2;
  return s;
}

/** The formula's value for a variable in slim's layout, rounded once to float32. */
function formulaValue(name: string, shape: readonly number[]): HostTensor {
  const n = shape.reduce((a, b) => a * b, 1);
  let map: (v: number) => number;
  if (name.endsWith("/depthwise_weights")) {
    const s = powerOfTwoScale(shape[0] * shape[1]);
    map = (v) => v * s;
  } else if (name.endsWith("/weights")) {
    const s = powerOfTwoScale(shape.slice(0, -1).reduce((a, b) => a * b, 1));
    map = (v) => v * s;
  } else if (name.endsWith("/biases")) map = (v) => v / 16;
  else if (name.endsWith("/beta")) map = (v) => v / 8;
  else if (name.endsWith("/gamma")) map = (v) => 1 + v / 4;
  else if (name.endsWith("/moving_mean")) map = (v) => v / 8;
  else if (name.endsWith("/moving_variance")) map = (v) => 1 + v / 2;
  else if (name === "images") map = (v) => v;
  else throw new Error(`nets oracle: no initial-value rule for ${name}`);
  const hash = fnv1a32(name);
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) data[i] = map(patternValue(hash, i));
  return hostTensor("float32", [...shape], data);
}

// --- Comparison ---

/** Set ORACLE_REPORT=1 to print each comparison's worst error as a share of its tolerance. */
const REPORT = Boolean((globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env?.ORACLE_REPORT);

/**
 * |got - want| <= rtol·|want| + atol elementwise. The errors come from float32
 * arithmetic over 50-odd layers of batch norm against float64 (the script's
 * values), where normalizing by small batch variances amplifies rounding; the
 * bounds are set from the measured worst cases with margin (run with
 * ORACLE_REPORT=1 to see the share used).
 */
function check(what: string, got: ArrayLike<number>, want: ArrayLike<number>, rtol: number, atol: number): void {
  assertEquals(got.length, want.length, `${what}: length`);
  let worst = 0, at = -1;
  for (let i = 0; i < want.length; i++) {
    const share = Math.abs(got[i] - want[i]) / (atol + rtol * Math.abs(want[i]));
    if (!(share <= worst)) [worst, at] = [share, i];
  }
  if (REPORT) console.log(`  ${what}: ${(100 * worst).toFixed(1)}% of tolerance`);
  if (!(worst <= 1)) {
    throw new AssertionError(`${what}: element ${at} is ${got[at]}, expected ${want[at]} (rtol ${rtol}, atol ${atol}; ${worst.toFixed(2)}× the tolerance)`);
  }
}

function norm(data: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < data.length; i++) s += data[i] * data[i];
  return Math.sqrt(s);
}

const at = (data: ArrayLike<number>, index: number[]) => index.map((i) => data[i]);

// --- The run ---

async function loadOracle(net: string): Promise<NetOracle> {
  const fs = await defaultFileSystem();
  const path = decodeURIComponent(new URL(`../fixtures/nets_oracle/${net}.json`, import.meta.url).pathname).replace(/^\/([A-Za-z]:)/, "$1");
  return JSON.parse(new TextDecoder().decode(await fs.readFile(path)));
}

function buildNet(o: NetOracle, isTraining: boolean) {
  const spec = NETS[o.net];
  const graph = new Graph();
  return graph.asDefault(() => {
    const images = placeholder(o.images_shape, "float32", "images");
    const [logits] = argScope(spec.scope(isTraining), () => spec.build(images, o.num_classes, isTraining));
    return { graph, logits };
  });
}

function feeds(o: NetOracle): Record<string, HostTensor> {
  const labels = new Float32Array(o.labels.length * o.num_classes);
  o.labels.forEach((label, i) => (labels[i * o.num_classes + label] = 1));
  return { images: formulaValue("images", o.images_shape), labels: hostTensor("float32", [o.labels.length, o.num_classes], labels) };
}

/**
 * The EP the oracle runs on: the CPU EP by default; NETS_ORACLE_EP=webgpu runs
 * the same steps on the WebGPU EP without CPU fallback (on SwiftShader mobilenet_v2
 * takes about 95 s, so it is opt-in).
 */
const EP = ((globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env?.NETS_ORACLE_EP ?? "cpu") as "cpu" | "webgpu";
let runtime: Promise<Runtime> | undefined;
const cpu = () => (runtime ??= createRuntime(EP === "cpu" ? { executionProvider: "cpu", intraOpNumThreads: 2 } : { executionProvider: EP }));

/**
 * Tolerances are multiples of PyTorch's own float32 error against the float64
 * oracle, per quantity and variable (the fixture records it): slimtrain, also in
 * float32, must land within BUDGET times as far, plus a relative floor of
 * FLOOR. Batch norm over a batch of 2 at 64×64 makes some gradients
 * ill-conditioned in any float32 implementation, so a fixed rtol would be either
 * meaningless for the well-conditioned majority or fail on the rest.
 */
const BUDGET = 10;
const FLOOR = 1e-5;

async function runOracle(net: string): Promise<void> {
  const o = await loadOracle(net);
  if (REPORT) console.log(`${net}:`);
  const { graph, logits } = buildNet(o, true);
  const trainOp = graph.asDefault(() => {
    const labels = placeholder([o.labels.length, o.num_classes], "float32", "labels");
    softmaxCrossEntropy(logits, labels);
    return createTrainOp(getTotalLoss(), gradientDescent({ learningRate: o.learning_rate }));
  });
  const variables = [...graph.variables.values()];
  assertEquals(variables.map((v) => [v.name, [...v.shape], v.trainable]), o.variables.map((v) => [v.name, v.shape, v.trainable]), `${net}: variables`);
  const initial: Record<string, HostTensor> = Object.fromEntries(variables.map((v) => [v.name, formulaValue(v.name, v.shape)]));
  const rt = await cpu();
  const byName = new Map(o.variables.map((v) => [v.name, v]));

  // Loss and gradients at the formula's weights.
  const fetches: Record<string, Tensor> = { loss: trainOp.totalLoss };
  for (const { grad, variable } of trainOp.gradsAndVars) {
    assert(grad, `${net}: no gradient for ${variable.name}`);
    fetches[`grad:${variable.name}`] = grad;
  }
  const got = await evaluate(fetches, { variables: initial, feeds: feeds(o), runtime: rt });
  const lossAtol = BUDGET * o.loss_f32_error;
  check(`${net}: loss`, got.loss.data as Float32Array, [o.loss], FLOOR, lossAtol);
  for (const { variable } of trainOp.gradsAndVars) {
    const want = byName.get(variable.name)!;
    const grad = inSlimLayout(got[`grad:${variable.name}`], variable);
    const entryAtol = BUDGET * want.grad_f32_error!;
    check(`${net}: gradient norm of ${variable.name}`, [norm(grad.data as Float32Array)], [want.grad_norm!], FLOOR, BUDGET * want.grad_norm_f32_error! + entryAtol);
    check(`${net}: gradient of ${variable.name}`, at(grad.data as Float32Array, want.index), want.grad!, FLOOR, entryAtol);
  }

  // One step: parameters and moving statistics after it.
  const session = await TrainSession.create(trainOp, { runtime: rt });
  let after: Map<string, HostTensor>;
  try {
    for (const [name, value] of Object.entries(initial)) session.assign(name, value);
    const step = await session.run(feeds(o));
    check(`${net}: loss of the step`, [step.loss], [o.loss], FLOOR, lossAtol);
    after = await session.readState();
  } finally {
    await session.release();
  }
  for (const v of variables) {
    const want = byName.get(v.name)!;
    const value = after.get(v.name)!.data as Float32Array;
    const before = initial[v.name].data as Float32Array;
    if (v.trainable) {
      // The step, which the parameter itself dwarfs: lr·grad within the gradient's tolerance, plus rounding of the parameter.
      const steps = want.index.map((i) => value[i] - before[i]);
      const wantSteps = want.index.map((i, k) => want.after[k] - before[i]);
      const rounding = 2 ** -23 * Math.max(...at(before, want.index).map(Math.abs));
      check(`${net}: SGD step of ${v.name}`, steps, wantSteps, FLOOR, o.learning_rate * BUDGET * want.grad_f32_error! + rounding);
      // The step can dominate (conv1's gradient norm is ~1500 at lr 0.05), so the norm gets the gradient's budget too.
      const stepNormAtol = o.learning_rate * BUDGET * (want.grad_norm_f32_error! + want.grad_f32_error!);
      check(`${net}: norm of ${v.name} after the step`, [norm(value)], [want.after_norm], 1e-6, stepNormAtol);
    } else {
      check(`${net}: ${v.name} after the step`, at(value, want.index), want.after, 1e-5, 1e-7);
      check(`${net}: norm of ${v.name} after the step`, [norm(value)], [want.after_norm], 1e-5, 0);
    }
  }

  // Evaluation mode: the moving statistics after the step normalize; the trainable
  // parameters are the initial ones (the script explains why).
  const evalNet = buildNet(o, false);
  const state = Object.fromEntries(variables.map((v) => [v.name, v.trainable ? initial[v.name] : after.get(v.name)!]));
  const evalOut = await evaluate({ logits: evalNet.logits }, { variables: state, feeds: { images: feeds(o).images }, runtime: rt });
  check(`${net}: eval-mode logits`, evalOut.logits.data as Float32Array, o.eval_logits.flat(), FLOOR, BUDGET * o.eval_logits_f32_error);
}

function inSlimLayout(grad: HostTensor, v: Variable): HostTensor {
  if (grad.shape.join() === v.shape.join()) return grad;
  return fromStorage(grad, v.storage);
}

const NAMES: Record<string, string> = {
  resnet_v1_50: "resnet_v1_50 (slim's arg scope, 64×64, batch 2) matches the float64 oracle: loss, gradients, SGD step, moving statistics, eval logits",
  mobilenet_v2: "mobilenet_v2 (trainingScope, 64×64, batch 2) matches the float64 oracle: loss, gradients, SGD step, moving statistics, eval logits",
  inception_v1: "inception_v1 (inception arg scope, 64×64, global pool) matches the float64 oracle: loss, gradients, SGD step, moving statistics, eval logits",
};

for (const [net, description] of Object.entries(NAMES)) {
  const name = EP === "cpu" ? description : `[${EP}] ${description}`;
  if (runtimeName().startsWith("node")) test(name, () => runOracle(net));
  else test.skip(name, "Node only: the same minute of work as under Node");
}
