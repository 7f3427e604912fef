// Mixed precision on real digits: LeNet trained 50 steps with float16 products
// (emulated rounding on the CPU provider: operands and results of every
// convolution and matrix product rounded to float16, dynamic loss scaling) follows
// the float32 loss curve and lands in the same held-out accuracy band.
import { Dataset } from "../src/data/dataset.ts";
import { loadMnistDigits } from "../src/data/mnist.ts";
import { Graph } from "../src/graph/graph.ts";
import type { HostTensor } from "../src/graph/host_tensor.ts";
import { placeholder } from "../src/graph/variable.ts";
import { createTrainOp } from "../src/learning/create_train_op.ts";
import { momentum } from "../src/learning/optimizers/mod.ts";
import { TrainSession } from "../src/learning/train_session.ts";
import { getTotalLoss, sparseSoftmaxCrossEntropy } from "../src/losses/mod.ts";
import { getNetworkFn } from "../src/nets/nets_factory.ts";
import { evaluate } from "../src/runtime/evaluate.ts";
import { assert, test } from "./harness.ts";

const BATCH = 32, STEPS = 50, HELD_OUT = 500;

async function trainLenet(mixedPrecision: "float16" | undefined, digits: Awaited<ReturnType<typeof loadMnistDigits>>) {
  const g = new Graph();
  const op = g.asDefault(() => {
    const images = placeholder([BATCH, 32, 32, 1], "float32", "images");
    const labels = placeholder([BATCH], "int64", "labels");
    const [logits] = getNetworkFn("lenet", { numClasses: 10, weightDecay: 1e-4, isTraining: true })(images);
    sparseSoftmaxCrossEntropy(logits, labels);
    return createTrainOp(getTotalLoss(), momentum({ learningRate: 0.01, momentum: 0.9 }), { mixedPrecision });
  });
  const session = await TrainSession.create(op, { seed: 1 });
  try {
    session.initialize();
    const batches = Dataset.fromTensorSlices({ images: digits.train.images, labels: digits.train.labels })
      .shuffle(8000, { seed: 2 }).batch(BATCH, { dropRemainder: true })[Symbol.asyncIterator]();
    const losses: number[] = [];
    for (let step = 0; step < STEPS; step++) {
      const b = (await batches.next()).value as Record<string, HostTensor>;
      losses.push((await session.run({ ...b, global_step: { dtype: "float32", shape: [], data: new Float32Array([step]) } })).loss);
    }
    return { losses, state: await session.readState() };
  } finally {
    await session.release();
  }
}

async function accuracy(state: Map<string, HostTensor>, test: { images: HostTensor; labels: HostTensor }): Promise<number> {
  const g = new Graph();
  const logits = g.asDefault(() =>
    getNetworkFn("lenet", { numClasses: 10, isTraining: false })(placeholder([HELD_OUT, 32, 32, 1], "float32", "images"))[0]
  );
  const images = { ...test.images, shape: [HELD_OUT, 32, 32, 1], data: (test.images.data as Float32Array).subarray(0, HELD_OUT * 1024) };
  const { logits: out } = await evaluate({ logits }, { feeds: { images }, variables: Object.fromEntries(state) });
  const l = out.data as Float32Array, labels = test.labels.data as BigInt64Array;
  let right = 0;
  for (let i = 0; i < HELD_OUT; i++) {
    const row = l.subarray(i * 10, i * 10 + 10);
    if (row.indexOf(Math.max(...row)) === Number(labels[i])) right++;
  }
  return right / HELD_OUT;
}

test("mixedPrecision float16 trains LeNet on the digits along the float32 loss curve, to the same accuracy band", async () => {
  const digits = await loadMnistDigits({ heldOut: 2000, seed: 0 });
  const f32 = await trainLenet(undefined, digits), f16 = await trainLenet("float16", digits);
  const window = (l: number[], i: number) => l.slice(i, i + 20).reduce((a, b) => a + b) / 20;
  // The first step or two overflow at the initial scale of 2^15 and are skipped (as in
  // PyTorch and TensorFlow), so the curves are compared from step 10 on.
  const scale = (f16.state.get("loss_scale/current_loss_scale")!.data as Float32Array)[0];
  assert(scale >= 2 ** 12 && scale <= 2 ** 15, `at most three skipped steps (scale ${scale})`);
  for (const i of [10, 30]) {
    const a = window(f32.losses, i), b = window(f16.losses, i);
    assert(Math.abs(a - b) <= 0.08 * a, `mean loss of steps ${i}-${i + 19}: float32 ${a.toFixed(4)}, float16 ${b.toFixed(4)}`);
  }
  assert(f16.losses.some((l, i) => l !== f32.losses[i]), "float16 rounding left every loss unchanged");
  assert(window(f16.losses, 30) < 0.6 * f16.losses[0], `float16 loss falls: ${f16.losses.map((l) => l.toFixed(2)).join(" ")}`);
  const [accF32, accF16] = [await accuracy(f32.state, digits.test), await accuracy(f16.state, digits.test)];
  assert(accF32 > 0.6, `float32 LeNet learns in ${STEPS} steps (${accF32})`);
  assert(Math.abs(accF16 - accF32) <= 0.03, `held-out accuracy: float32 ${accF32}, float16 ${accF16}`);
});
