/**
 * The demo's network and training run, shared by the page (onnxruntime-web) and
 * the Node reference run (onnxruntime-node) so both compute the same steps on the
 * same batches: two slim conv layers with max pooling and a dense layer on real
 * 28×28 MNIST digits, trained with `learning.train` on whatever file system and
 * runtime the caller passes. Nothing here touches the DOM or `node:` modules.
 * @module
 */
import "../../src/ops/mod.ts";
import { Graph, GraphKeys } from "../../src/graph/graph.ts";
import type { HostTensor } from "../../src/graph/host_tensor.ts";
import { varianceScalingInitializer } from "../../src/graph/initializers.ts";
import { placeholder, type Variable } from "../../src/graph/variable.ts";
import { argScope, conv2d, flatten, fullyConnected, maxPool2d } from "../../src/layers/mod.ts";
import { createTrainOp, type TrainOp } from "../../src/learning/create_train_op.ts";
import { momentum } from "../../src/learning/optimizers/mod.ts";
import { latestCheckpoint } from "../../src/checkpoint/mod.ts";
import { reduceMean, softmaxCrossEntropyWithLogits } from "../../src/ops/mod.ts";
import type { TransferCounts } from "../../src/runtime/types.ts";
import { scalar } from "../../src/summary/summary_ops.ts";
import { type RecordedRun, recordedTrain, type RunOptions } from "./recorded_run.ts";

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
export interface DemoResult extends Omit<RecordedRun, "transfersPerStep"> {
  transfers: { total: TransferCounts; perStep: TransferCounts };
  /** Bytes of all variables (what a step would move if parameters crossed to the host). */
  parameterBytes: number;
  checkpoint: string | null;
  eventFile: string | null;
}

/** Options of {@link runDemo}. */
export interface DemoOptions extends RunOptions {
  digits: Digits;
  /** Default 16. */
  batchSize?: number;
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
  const { transfersPerStep, ...run } = await recordedTrain(trainOp, o, batchSize, (step) => batchAt(o.digits, step, batchSize));
  const parameterBytes = trainOp.totalLoss.graph.getCollection<Variable>(GraphKeys.GLOBAL_VARIABLES)
    .reduce((sum, v) => sum + 4 * v.shape.reduce((a, b) => a * b, 1), 0);
  const entries = await o.fs.readDir(o.logdir);
  const prefix = await latestCheckpoint(o.fs, o.logdir);
  const eventName = entries.find((n) => n.startsWith("events.out.tfevents."));
  return {
    ...run,
    transfers: { total: { ...o.runtime.transfers }, perStep: transfersPerStep },
    parameterBytes,
    checkpoint: prefix ? `${prefix}.safetensors` : null,
    eventFile: eventName ? o.fs.join(o.logdir, eventName) : null,
  };
}
