/**
 * The demo's network and training run, shared by the page (onnxruntime-web) and
 * the Node reference run (onnxruntime-node) so both compute the same steps on the
 * same batches: two slim conv layers with max pooling and a dense layer on real
 * 28×28 MNIST digits, trained with `learning.train` on whatever file system and
 * runtime the caller passes. Nothing here touches the DOM or `node:` modules.
 * @module
 */
import "../../src/ops/mod.ts";
import type { FileSystem } from "../../src/fs/types.ts";
import { Graph, GraphKeys } from "../../src/graph/graph.ts";
import type { HostTensor } from "../../src/graph/host_tensor.ts";
import { varianceScalingInitializer } from "../../src/graph/initializers.ts";
import { placeholder, type Variable } from "../../src/graph/variable.ts";
import { argScope, conv2d, flatten, fullyConnected, maxPool2d } from "../../src/layers/mod.ts";
import { createTrainOp, type TrainOp } from "../../src/learning/create_train_op.ts";
import { momentum } from "../../src/learning/optimizers/mod.ts";
import { train } from "../../src/learning/train.ts";
import type { TrainSession } from "../../src/learning/train_session.ts";
import { latestCheckpoint } from "../../src/checkpoint/mod.ts";
import { reduceMean, softmaxCrossEntropyWithLogits } from "../../src/ops/mod.ts";
import type { Runtime, TransferCounts } from "../../src/runtime/types.ts";
import { scalar } from "../../src/summary/summary_ops.ts";

/** Digits as `scripts/build_demo.mjs` writes them: pixels 0-255, row-major 28×28. */
export interface DigitsJson {
  side: number;
  count: number;
  labels: number[];
  /** base64 of `count * side * side` bytes. */
  pixels: string;
}

/** Decoded digits. */
export interface Digits {
  side: number;
  count: number;
  labels: Uint8Array;
  pixels: Uint8Array;
}

/** What one run reports (the page puts it in `<pre id="result">`). */
export interface DemoResult {
  runtime: string;
  ep: string;
  steps: number;
  seed: number;
  batchSize: number;
  /** Loss before each step's update, step 1 first. */
  losses: number[];
  finalLoss: number;
  /** Wall time of each step in milliseconds. */
  stepMs: number[];
  /** Median of `stepMs` without the first step (which includes warm-up). */
  medianStepMs: number;
  transfers: { total: TransferCounts; perStep: TransferCounts };
  /** Where each variable's value lived after the last step ("cpu", "gpu-buffer"). */
  stateLocations: Record<string, string>;
  /** Bytes of all variables (what a step would move if parameters crossed to the host). */
  parameterBytes: number;
  checkpoint: string | null;
  eventFile: string | null;
}

/** Options of {@link runDemo}. */
export interface DemoOptions {
  runtime: Runtime;
  fs: FileSystem;
  logdir: string;
  digits: Digits;
  steps: number;
  seed: number;
  /** Default 16. */
  batchSize?: number;
  onStep?: (info: { step: number; loss: number; secPerStep: number }) => void;
  log?: (line: string) => void;
}

/**
 * Decodes the digits file.
 *
 * @example
 * ```ts
 * const digits = parseDigits(await (await fetch("dist/digits.json")).json());
 * ```
 */
export function parseDigits(json: DigitsJson): Digits {
  const raw = atob(json.pixels);
  const pixels = Uint8Array.from(raw, (c) => c.charCodeAt(0));
  if (pixels.length !== json.count * json.side * json.side || json.labels.length !== json.count) {
    throw new Error(`Digits file: expected ${json.count} digits of ${json.side}×${json.side}, got ${pixels.length} bytes and ${json.labels.length} labels`);
  }
  return { side: json.side, count: json.count, labels: Uint8Array.from(json.labels), pixels };
}

/**
 * The network: conv 3×3×8, pool, conv 3×3×16, pool, dense 10; softmax cross-entropy
 * on one-hot labels; momentum SGD. Images are NHWC like slim's.
 *
 * @example
 * ```ts
 * const trainOp = buildNet(16);
 * ```
 */
export function buildNet(batchSize: number, side = 28): TrainOp {
  return new Graph().asDefault(() => {
    const images = placeholder([batchSize, side, side, 1], "float32", "images");
    const labels = placeholder([batchSize, 10], "float32", "labels");
    const logits = argScope([conv2d, fullyConnected], { weightsInitializer: varianceScalingInitializer() }, () => {
      let net = conv2d(images, 8, [3, 3], { scope: "conv1" });
      net = maxPool2d(net, [2, 2], { scope: "pool1" });
      net = conv2d(net, 16, [3, 3], { scope: "conv2" });
      net = maxPool2d(net, [2, 2], { scope: "pool2" });
      return fullyConnected(flatten(net), 10, { activationFn: null, scope: "logits" });
    });
    const loss = reduceMean(softmaxCrossEntropyWithLogits(logits, labels));
    scalar("losses/total_loss", loss);
    return createTrainOp(loss, momentum({ learningRate: 0.05, momentum: 0.9 }));
  });
}

/**
 * The batch for a step: digits `step * batchSize` onwards, wrapping around, so a
 * run's batches depend only on the step.
 *
 * @example
 * ```ts
 * const { images, labels } = batchAt(digits, 0, 16);
 * ```
 */
export function batchAt(digits: Digits, step: number, batchSize: number): Record<string, HostTensor> {
  const px = digits.side * digits.side;
  const images = new Float32Array(batchSize * px);
  const labels = new Float32Array(batchSize * 10);
  for (let i = 0; i < batchSize; i++) {
    const k = (step * batchSize + i) % digits.count;
    for (let j = 0; j < px; j++) images[i * px + j] = digits.pixels[k * px + j] / 255;
    labels[i * 10 + digits.labels[k]] = 1;
  }
  return {
    images: { dtype: "float32", shape: [batchSize, digits.side, digits.side, 1], data: images },
    labels: { dtype: "float32", shape: [batchSize, 10], data: labels },
  };
}

/**
 * Trains the network with `learning.train` (summaries every step, a checkpoint at
 * the end) and reports losses, step times, transfer counts and where the
 * parameters lived.
 *
 * @example
 * ```ts
 * const result = await runDemo({ runtime, fs, logdir: "runs/1", digits, steps: 8, seed: 1 });
 * ```
 */
export async function runDemo(o: DemoOptions): Promise<DemoResult> {
  const batchSize = o.batchSize ?? 16;
  const trainOp = buildNet(batchSize, o.digits.side);
  const losses: number[] = [], stepMs: number[] = [];
  let session: TrainSession | undefined;
  // Counts after step 1 and after the latest step: their difference is what steps
  // 2..n moved (step 1 also uploads the initial values; the final checkpoint reads them back).
  let afterFirst: TransferCounts | undefined, afterLast: TransferCounts | undefined;
  let stateLocations: Record<string, string> = {};
  await train(trainOp, o.logdir, {
    runtime: o.runtime,
    fs: o.fs,
    seed: o.seed,
    numberOfSteps: o.steps,
    saveSummariesSecs: 0,
    handleSignals: false,
    log: o.log ?? (() => {}),
    data: function* (start: number) {
      for (let s = start; ; s++) yield batchAt(o.digits, s, batchSize);
    },
    initFn: (ctx) => {
      session = ctx.session;
    },
    onStep: (info) => {
      losses.push(info.loss);
      stepMs.push(info.secPerStep * 1000);
      afterLast = { ...o.runtime.transfers };
      afterFirst ??= afterLast;
      // Read here, before `train` saves the final checkpoint and releases the session.
      if (session) stateLocations = Object.fromEntries([...session.state].map(([name, v]) => [name, v.location]));
      o.onStep?.(info);
    },
  });
  const parameterBytes = trainOp.totalLoss.graph.getCollection<Variable>(GraphKeys.GLOBAL_VARIABLES)
    .reduce((sum, v) => sum + 4 * v.shape.reduce((a, b) => a * b, 1), 0);
  const entries = await o.fs.readDir(o.logdir);
  const prefix = await latestCheckpoint(o.fs, o.logdir);
  const eventName = entries.find((n) => n.startsWith("events.out.tfevents."));
  return {
    runtime: o.runtime.description,
    ep: o.runtime.executionProvider,
    steps: losses.length,
    seed: o.seed,
    batchSize,
    losses,
    finalLoss: losses[losses.length - 1],
    stepMs,
    medianStepMs: median(stepMs.slice(1)),
    transfers: { total: { ...o.runtime.transfers }, perStep: perStep(afterFirst, afterLast, losses.length - 1) },
    stateLocations,
    parameterBytes,
    checkpoint: prefix ? `${prefix}.safetensors` : null,
    eventFile: eventName ? o.fs.join(o.logdir, eventName) : null,
  };
}

function perStep(first: TransferCounts | undefined, last: TransferCounts | undefined, steps: number): TransferCounts {
  const d = (key: keyof TransferCounts) => (first && last && steps > 0 ? (last[key] - first[key]) / steps : NaN);
  return { toHost: d("toHost"), toHostBytes: d("toHostBytes"), fromHost: d("fromHost"), fromHostBytes: d("fromHostBytes") };
}

function median(xs: number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}
