/**
 * The work an input-pipeline worker does for one image: decode PNG/JPEG bytes,
 * convert channels, then either slim's preprocessing (by name) or a plain
 * bilinear resize. Runtime-neutral: the same function runs in a worker thread or,
 * without workers, on the calling thread.
 * @module
 */
import { seededRandom } from "../../graph/random.ts";
import { convertChannels, decodeImage, resizeBilinear } from "../image.ts";
import { getPreprocessing } from "../preprocessing/factory.ts";

/** One image to decode and preprocess. */
export interface DecodeTask {
  id: number;
  bytes: Uint8Array;
  /** File or record name, for error messages. */
  name: string;
  height: number;
  width: number;
  channels: 1 | 3;
  /** A slim preprocessing name (`vgg`, `inception`, a net's name, ...); none resizes bilinearly. */
  preprocessing?: string;
  isTraining?: boolean;
  /** Seed and stream of the augmentation draws, so a result does not depend on which worker ran it. */
  seed?: number;
  stream?: number;
}

/** A decoded image, or the error that stopped it. */
export type DecodeResult =
  | { id: number; shape: number[]; data: Float32Array }
  | { id: number; error: string };

/**
 * Runs one task; errors come back as values so a worker never dies on a bad file.
 *
 * @example
 * ```ts
 * const r = runDecodeTask({ id: 0, bytes, name: "cat.jpg", height: 224, width: 224, channels: 3, preprocessing: "vgg" });
 * ```
 */
export function runDecodeTask(task: DecodeTask): DecodeResult {
  try {
    const image = convertChannels(decodeImage(task.bytes, task.name), task.channels);
    const out = task.preprocessing
      ? getPreprocessing(task.preprocessing, task.isTraining ?? false)(image, task.height, task.width, seededRandom(task.seed ?? 0, task.stream ?? task.id))
      : resizeBilinear(image, task.height, task.width);
    return { id: task.id, shape: out.shape, data: out.data as Float32Array };
  } catch (err) {
    return { id: task.id, error: (err as Error).message };
  }
}
