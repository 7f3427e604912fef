import { assert, assertClose, assertEquals, randomArray, test } from "../../test/harness.ts";
import { Graph } from "../graph/graph.ts";
import { placeholder } from "../graph/variable.ts";
import { flatten } from "../layers/core.ts";
import { conv2d, fullyConnected } from "../layers/layers.ts";
import type { HostTensor } from "../graph/host_tensor.ts";
import { createTrainOp } from "../learning/create_train_op.ts";
import { TrainSession } from "../learning/train_session.ts";
import { gradientDescent } from "../learning/optimizers/gradient_descent.ts";
import { momentum } from "../learning/optimizers/momentum.ts";
import { exponentialDecay } from "../learning/schedules.ts";
import type { Optimizer } from "../learning/optimizer.ts";
import { getTotalLoss } from "../losses/collection.ts";
import { softmaxCrossEntropy } from "../losses/losses.ts";
import { createRuntime } from "../runtime/create.ts";
import type { LoweringTarget } from "../ops/registry.ts";
import { compileModel, type CompiledModel } from "./compile.ts";

interface Built {
  model: CompiledModel;
  ops: string[];
  gemmsWithAddend: number;
}

/** A conv (per-tap filter gradient), a dense conv (fc as conv, one Gemm) and a fully connected layer (MatMul), one train step. */
function build(optimizer: () => Optimizer, target: LoweringTarget, fuseUpdates: boolean): Built {
  const g = new Graph();
  return g.asDefault(() => {
    const images = placeholder([3, 6, 6, 2], "float32", "images");
    const labels = placeholder([3, 5], "float32", "labels");
    let net = conv2d(images, 4, [3, 3], { scope: "conv1" });
    net = conv2d(net, 6, [6, 6], { padding: "VALID", scope: "dense" });
    net = fullyConnected(flatten(net), 5, { activationFn: null, scope: "logits" });
    softmaxCrossEntropy(net, labels);
    const trainOp = createTrainOp(getTotalLoss(), optimizer());
    const model = compileModel({ name: "step", fetches: { loss: trainOp.totalLoss }, updates: trainOp.updates, target, fuseUpdates });
    const nodes = model.parts.nodes as { opType: string; input: string[] }[];
    return { model, ops: nodes.map((n) => n.opType), gemmsWithAddend: nodes.filter((n) => n.opType === "Gemm" && n.input.length === 3).length };
  });
}

async function runStep(model: CompiledModel): Promise<Record<string, Float32Array>> {
  const runtime = await createRuntime({ executionProvider: "cpu" });
  const session = await runtime.createSession(model.bytes);
  try {
    const feeds = Object.fromEntries(model.inputs.map((input, i) => {
      const shape = [...input.tensor.shape];
      const count = shape.reduce((a, b) => a * b, 1);
      if (input.tensor.dtype === "int64") return [input.name, runtime.fromHost({ dtype: "int64", shape, data: new BigInt64Array(count).fill(7n) })];
      return [input.name, runtime.fromHost({ dtype: "float32", shape, data: randomArray(count, 11 + i) })];
    }));
    const names = model.outputs.map((o) => o.name);
    const out = await session.run(feeds, names);
    return Object.fromEntries(await Promise.all(names.map(async (n) => [n, (await runtime.toHost(out[n])).data as Float32Array])));
  } finally {
    await session.release();
  }
}

const optimizers: [string, () => Optimizer][] = [
  ["SGD", () => gradientDescent({ learningRate: 0.3 })],
  ["SGD with a schedule", () => gradientDescent({ learningRate: exponentialDecay({ learningRate: 0.3, decaySteps: 2, decayRate: 0.5 }) })],
  ["momentum", () => momentum({ learningRate: 0.3, momentum: 0.9 })],
];

for (const target of ["cpu", "portable"] as const) {
  for (const [label, optimizer] of optimizers) {
    test(`fused updates (${label}, ${target} target): the step's new variables and slots equal the unfused step's`, async () => {
      const fused = build(optimizer, target, true);
      const plain = build(optimizer, target, false);
      // SGD: each weight comes out of its gradient's Gemm (on the cpu target 4-D filters as
      // the Gemm's matrix, viewed by the runtime), or of one Add to the scaled product (no Mul
      // and Sub). Momentum: the slot comes out of the Gemm (m·accum as C, beta m).
      const filters = target === "cpu" ? ["Gemm"] : ["Add"];
      const fusedForms: Record<string, string[]> = label === "momentum"
        ? { "logits/weights/Momentum/updated": ["Gemm"], ...(target === "cpu" ? { "conv1/weights/Momentum/updated": ["Gemm"] } : {}) }
        : { "conv1/weights/updated": filters, "dense/weights/updated": filters, "logits/weights/updated": ["Gemm"] };
      if (target === "cpu") {
        const written = fused.model.outputs.find((o) => o.name === "conv1/weights/updated" || o.name === "conv1/weights/Momentum/updated");
        assertEquals(written?.written, [4 * 2, 9], `${label}: conv1's filter is written as the per-tap gradient's [K·C, taps] matrix`);
      }
      for (const built of [fused, plain]) {
        const nodes = built.model.parts.nodes as { opType: string; output: string[] }[];
        for (const [output, forms] of Object.entries(fusedForms)) {
          const op = nodes.find((n) => n.output.includes(output))?.opType ?? "none";
          assertEquals(forms.includes(op), built === fused, `${label}: ${output} written by ${op}`);
        }
      }
      // The fully connected layer's 2-D gradient takes the update as Gemm's C.
      assert(fused.gemmsWithAddend >= 1, `${label}: a Gemm carries the update`);
      assertEquals(plain.gemmsWithAddend, 0);
      const a = await runStep(fused.model), b = await runStep(plain.model);
      for (const name of Object.keys(b)) assertClose(a[name], b[name], { rtol: 1e-5, atol: 1e-6, message: `${label}: ${name}` });
    });
  }
}

test("fused updates: a gradient read twice (clipping) stays unfused", () => {
  const g = new Graph();
  g.asDefault(() => {
    const x = placeholder([4, 3], "float32", "x");
    const labels = placeholder([4, 2], "float32", "labels");
    softmaxCrossEntropy(fullyConnected(x, 2, { activationFn: null, scope: "fc" }), labels);
    const trainOp = createTrainOp(getTotalLoss(), gradientDescent({ learningRate: 0.1 }), { clipGradientNorm: 1 });
    const model = compileModel({ name: "step", fetches: { loss: trainOp.totalLoss }, updates: trainOp.updates });
    const gemms = (model.parts.nodes as { opType: string; input: string[] }[]).filter((n) => n.opType === "Gemm" && n.input.length === 3);
    assertEquals(gemms.length, 0);
  });
});

test("fused updates written as matrices: TrainSession views them in the variables' shapes, and two steps in one call equal two calls", async () => {
  const sessions: TrainSession[] = [];
  const states: Map<string, HostTensor>[] = [];
  const batch = (seed: number) => ({
    images: { dtype: "float32" as const, shape: [3, 6, 6, 2], data: randomArray(3 * 6 * 6 * 2, seed) },
    labels: { dtype: "float32" as const, shape: [3, 5], data: Float32Array.from({ length: 15 }, (_, i) => (i % 5 === seed % 5 ? 1 : 0)) },
  });
  for (const unrolled of [false, true]) {
    const g = new Graph();
    const trainOp = g.asDefault(() => {
      const images = placeholder([3, 6, 6, 2], "float32", "images");
      const labels = placeholder([3, 5], "float32", "labels");
      let net = conv2d(images, 4, [3, 3], { scope: "conv1" });
      net = conv2d(net, 6, [6, 6], { padding: "VALID", scope: "dense" });
      softmaxCrossEntropy(fullyConnected(flatten(net), 5, { activationFn: null, scope: "logits" }), labels);
      return createTrainOp(getTotalLoss(), momentum({ learningRate: 0.2, momentum: 0.9 }));
    });
    const session = await TrainSession.create(trainOp, { executionProvider: "cpu" });
    sessions.push(session);
    assert(session.model.outputs.some((o) => o.written), "some update is written as a matrix");
    session.initialize();
    if (unrolled) await session.runSteps([batch(1), batch(2)]);
    else for (const seed of [1, 2]) await session.run(batch(seed));
    states.push(await session.readState());
  }
  for (const [name, value] of states[0]) {
    const other = states[1].get(name)!;
    assertEquals(other.shape, value.shape, name);
    assertClose(Float32Array.from(other.data as ArrayLike<number>), Float32Array.from(value.data as ArrayLike<number>), { rtol: 1e-6, atol: 1e-7, message: name });
  }
  assertEquals(states[0].get("conv1/weights")!.shape, [3, 3, 2, 4]);
  for (const s of sessions) await s.release();
});
