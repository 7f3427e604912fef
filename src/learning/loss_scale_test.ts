import "../ops/mod.ts";
import { assert, assertEquals, assertThrows, randomArray, test } from "../../test/harness.ts";
import { Graph, GraphKeys } from "../graph/graph.ts";
import type { HostTensor } from "../graph/host_tensor.ts";
import { placeholder } from "../graph/variable.ts";
import { conv2d, flatten, fullyConnected } from "../layers/mod.ts";
import { sparseSoftmaxCrossEntropy } from "../losses/mod.ts";
import type { SummarySpec } from "../summary/summary_ops.ts";
import { createTrainOp, type CreateTrainOpOptions } from "./create_train_op.ts";
import { momentum } from "./optimizers/mod.ts";
import { TrainSession, type TrainSessionOptions } from "./train_session.ts";

const SCALE = "loss_scale/current_loss_scale", GOOD = "loss_scale/good_steps";

function smallNet(options: CreateTrainOpOptions) {
  const g = new Graph();
  return g.asDefault(() => {
    const x = placeholder([4, 6, 6, 2], "float32", "x");
    const labels = placeholder([4], "int64", "labels");
    const h = conv2d(x, 5, [3, 3], { scope: "conv" });
    const logits = fullyConnected(flatten(h), 3, { scope: "fc", activationFn: null });
    const loss = sparseSoftmaxCrossEntropy(logits, labels);
    return createTrainOp(loss, momentum({ learningRate: 0.05, momentum: 0.9 }), options);
  });
}

const batch: Record<string, HostTensor> = {
  x: { dtype: "float32", shape: [4, 6, 6, 2], data: randomArray(288, 17, -1, 1) },
  labels: { dtype: "int64", shape: [4], data: BigInt64Array.from([0n, 2n, 1n, 2n]) },
};

async function run(options: CreateTrainOpOptions, steps: number, sessionOptions: TrainSessionOptions = {}) {
  const s = await TrainSession.create(smallNet(options), { seed: 5, ...sessionOptions });
  try {
    s.initialize();
    const states: Map<string, HostTensor>[] = [await s.readState()];
    const losses: number[] = [];
    for (let i = 0; i < steps; i++) {
      losses.push((await s.run({ ...batch, global_step: { dtype: "float32", shape: [], data: new Float32Array([i]) } })).loss);
      states.push(await s.readState());
    }
    return { losses, states };
  } finally {
    await s.release();
  }
}

const value = (state: Map<string, HostTensor>, name: string) => (state.get(name)!.data as Float32Array)[0];
const trained = (state: Map<string, HostTensor>) =>
  [...state.entries()].filter(([n]) => !n.startsWith("loss_scale/")).map(([n, t]) => [n, Array.from(t.data as Float32Array)]);

test("createTrainOp mixedPrecision: float16 kernels on the CPU provider (run there in float32) give the float32 step bit for bit, so the scale is applied and removed exactly", async () => {
  const plain = await run({}, 5);
  const mixed = await run({ mixedPrecision: "float16" }, 5, { float16Compute: "native" });
  assertEquals(mixed.losses, plain.losses, "losses");
  assertEquals(trained(mixed.states[5]), trained(plain.states[5]), "weights and momentum after 5 steps");
  assertEquals(value(mixed.states[5], SCALE), 2 ** 15, "TensorFlow's initial scale, not grown within 2000 steps");
  assertEquals(value(mixed.states[5], GOOD), 5, "good steps counted");
});

test("createTrainOp mixedPrecision: a step whose float16 gradients overflow changes no variable and halves the scale", async () => {
  // 2^24 times a loss gradient of order 0.1 exceeds float16's 65504 at once.
  const { losses, states } = await run({ mixedPrecision: "float16", lossScale: { initialScale: 2 ** 24 } }, 12);
  let skipped = 0;
  while (skipped < 12 && value(states[skipped + 1], GOOD) === 0) {
    assertEquals(trained(states[skipped + 1]), trained(states[0]), `variables after skipped step ${skipped + 1}`);
    assertEquals(value(states[skipped + 1], SCALE), 2 ** (23 - skipped), `scale after skipped step ${skipped + 1}`);
    assertEquals(losses[skipped], losses[0], "the same weights and batch report the same (unscaled) loss");
    skipped++;
  }
  assert(skipped >= 2 && skipped < 12, `some steps skipped, then training went on (skipped ${skipped})`);
  const after = states[skipped + 1];
  assertEquals(value(after, GOOD), 1, "the first finite step counts as good");
  assert(trained(after).some(([, v], i) => JSON.stringify(v) !== JSON.stringify(trained(states[0])[i][1])), "the finite step updated the weights");
  assert(losses.slice(skipped).every(Number.isFinite) && losses[11] < losses[0], `loss falls after the skips: ${losses.join(", ")}`);
});

test("createTrainOp mixedPrecision: the scale doubles after growthSteps good steps in a row", async () => {
  const { states } = await run({ mixedPrecision: "float16", lossScale: { initialScale: 4, growthSteps: 3 } }, 7);
  assertEquals(states.map((s) => value(s, SCALE)), [4, 4, 4, 8, 8, 8, 16, 16]);
  assertEquals(states.map((s) => value(s, GOOD)), [0, 1, 2, 0, 1, 2, 0, 1]);
});

test("createTrainOp mixedPrecision: the scale is a checkpointed variable and a TensorBoard scalar", () => {
  const op = smallNet({ mixedPrecision: "float16" });
  const graph = op.totalLoss.graph;
  const globals = graph.getCollection<{ name: string; trainable: boolean }>(GraphKeys.GLOBAL_VARIABLES);
  for (const name of [SCALE, GOOD]) {
    const v = globals.find((g) => g.name === name);
    assert(v && !v.trainable, `${name} is a non-trainable global variable`);
  }
  assert(graph.getCollection<SummarySpec>(GraphKeys.SUMMARIES).some((s) => s.name === "loss_scale"), "loss_scale summary");
  assertEquals(op.mixedPrecision, "float16");
});

test("createTrainOp mixedPrecision and lossScale options: clear errors", async () => {
  await assertThrows(() => smallNet({ lossScale: { initialScale: 8 } }), "lossScale needs mixedPrecision");
  await assertThrows(() => smallNet({ mixedPrecision: "bfloat16" as "float16" }), 'mixedPrecision must be "float16", got "bfloat16"');
  await assertThrows(() => smallNet({ mixedPrecision: "float16", lossScale: { initialScale: 0 } }), "initialScale must be a positive finite number, got 0");
  await assertThrows(() => smallNet({ mixedPrecision: "float16", lossScale: { growthSteps: 1.5 } }), "growthSteps must be a positive integer, got 1.5");
  await assertThrows(
    () => TrainSession.create(smallNet({ mixedPrecision: "float16" }), { float16Compute: "half" as "native" }),
    'float16Compute must be "native" or "emulate", got "half"',
  );
});

test("train() with mixedPrecision: several steps per call, the scale saved in checkpoints and resumed bit for bit", async () => {
  const { MemoryFileSystem } = await import("../fs/memory_fs.ts");
  const { restoreLatest } = await import("../checkpoint/mod.ts");
  const { train } = await import("./train.ts");
  const options = { mixedPrecision: "float16" as const, lossScale: { initialScale: 2 ** 22, growthSteps: 2 } };
  const data = () => (async function* () {
    for (;;) yield batch;
  })();
  const quiet = () => {};
  const straightFs = new MemoryFileSystem(), resumedFs = new MemoryFileSystem();
  const straight: number[] = [], resumed: number[] = [];
  await train(smallNet(options), "logs", { fs: straightFs, data, numberOfSteps: 8, stepsPerRun: 2, log: quiet, onStep: (s) => straight.push(s.loss) });
  await train(smallNet(options), "logs", { fs: resumedFs, data, numberOfSteps: 4, stepsPerRun: 2, log: quiet, onStep: (s) => resumed.push(s.loss) });
  const middle = (await restoreLatest(resumedFs, "logs"))!;
  assert(middle.tensors.has(SCALE) && middle.tensors.has(GOOD), "the checkpoint holds the loss scale");
  await train(smallNet(options), "logs", { fs: resumedFs, data, numberOfSteps: 8, stepsPerRun: 2, log: quiet, onStep: (s) => resumed.push(s.loss) });
  assertEquals(resumed, straight, "losses of the resumed run");
  const a = (await restoreLatest(straightFs, "logs"))!, b = (await restoreLatest(resumedFs, "logs"))!;
  for (const [name, t] of a.tensors) assertEquals(Array.from(b.tensors.get(name)!.data as Float32Array), Array.from(t.data as Float32Array), name);
  const scale = (a.tensors.get(SCALE)!.data as Float32Array)[0];
  assert(scale < 2 ** 22, `overflowing steps lowered the scale from 2^22 (now ${scale})`);
});
