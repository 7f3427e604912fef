/**
 * The image input pipeline of `slimtrain train --dataset-dir`: listed records are
 * shuffled, read, then decoded and preprocessed on worker threads (slim's
 * preprocessing by name), in order, and batched into NHWC images with int64
 * labels, so the training step does not wait for JPEG decoding.
 * @module
 */
import type { HostTensor } from "../graph/host_tensor.ts";
import { createWorkerPool, type WorkerPool } from "../runtime/worker_pool.ts";
import { Dataset } from "./dataset.ts";
import type { ImageRecord } from "./image_records.ts";
import { parallelMap } from "./parallel_map.ts";
import { type DecodeResult, type DecodeTask, runDecodeTask } from "./workers/decode_task.ts";
import { decodeWorkerUrl } from "./workers/decode_worker_url.ts";

/** Options of {@link imagePipeline}. */
export interface ImagePipelineOptions {
  height: number;
  width: number;
  /** Default 3. */
  channels?: 1 | 3;
  /** slim preprocessing name (`vgg`, `inception`, `lenet`, `cifarnet` or a net's name); default a plain resize. */
  preprocessing?: string;
  /** Training augmentation (random crops, flips, colour). Default false. */
  isTraining?: boolean;
  batchSize: number;
  /** Reshuffles the records every pass with this seed; omit to keep their order. */
  shuffleSeed?: number;
  /** Repeats forever (training). Default false: one pass, last partial batch kept. */
  repeat?: boolean;
  /** Drop a last partial batch. Default: true when repeating. */
  dropRemainder?: boolean;
  /** Worker threads for decoding; 0 decodes on this thread. Default 2. */
  workers?: number;
  /** Seed of the augmentation draws. Default 0. */
  seed?: number;
  /**
   * Records to pass over before the first batch, without reading or decoding them:
   * a resumed run skips what it already trained on (`step * batchSize`).
   */
  skipRecords?: number;
}

/** A running pipeline: its batches, and `close()` to stop its workers. */
export interface ImagePipeline {
  batches: Dataset<{ images: HostTensor; labels: HostTensor }>;
  close(): Promise<void>;
}

/**
 * Builds the pipeline over `records`.
 *
 * @example
 * ```ts
 * const { records } = await listImageFolder(fs, "flowers/train");
 * const pipeline = await imagePipeline(records, { height: 224, width: 224, preprocessing: "vgg", isTraining: true, batchSize: 32, shuffleSeed: 1, repeat: true });
 * for await (const { images, labels } of pipeline.batches.take(10)) console.log(images.shape); // [32, 224, 224, 3]
 * await pipeline.close();
 * ```
 */
export async function imagePipeline(records: readonly ImageRecord[], options: ImagePipelineOptions): Promise<ImagePipeline> {
  const { height, width, channels = 3, preprocessing, isTraining = false, batchSize, shuffleSeed, repeat = false, workers = 2, seed = 0 } = options;
  if (records.length === 0) throw new Error("imagePipeline: no records to read");
  const pool: WorkerPool<DecodeTask, DecodeResult> | null = workers > 0 ? await createWorkerPool(decodeWorkerUrl(), workers) : null;
  let ds = Dataset.fromArray(records);
  if (shuffleSeed !== undefined) ds = ds.shuffle(records.length, { seed: shuffleSeed });
  if (repeat) ds = ds.repeat();
  const skip = options.skipRecords ?? 0;
  if (skip > 0) ds = ds.skip(skip);
  const decode = async (record: ImageRecord, position: number): Promise<{ image: HostTensor; label: HostTensor }> => {
    const bytes = await record.read();
    // The draw stream is the record's place in the whole run, so a resumed run augments as an uninterrupted one.
    const index = position + skip;
    const task: DecodeTask = { id: index, bytes, name: record.name, height, width, channels, preprocessing, isTraining, seed, stream: index };
    const result = pool ? await pool.run(task) : runDecodeTask(task);
    if ("error" in result) throw new Error(`Input pipeline: ${result.error}`);
    return {
      image: { dtype: "float32", shape: result.shape, data: result.data },
      label: { dtype: "int64", shape: [], data: BigInt64Array.of(BigInt(record.label)) },
    };
  };
  const decoded = parallelMap(ds, decode, Math.max(1, (pool?.size ?? 0) * 2));
  const batches = decoded
    .batch(batchSize, { dropRemainder: options.dropRemainder ?? repeat })
    .map(({ image, label }) => ({ images: image, labels: label }));
  return { batches, close: async () => void (await pool?.close()) };
}
