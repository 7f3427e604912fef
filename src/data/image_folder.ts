/**
 * Loads a directory of class folders (`dir/<class>/<image>.png|jpg|jpeg`), the
 * layout `tf.keras.utils.image_dataset_from_directory` and slim's conversion
 * scripts start from, into one image tensor and one label tensor.
 * @module
 */
import type { FileSystem } from "../fs/types.ts";
import type { HostTensor } from "../graph/host_tensor.ts";
import { type ImageOptions, prepareImage } from "./image.ts";
import { listImageFolder } from "./image_records.ts";

/** What {@link loadImageFolder} returns. */
export interface ImageFolder {
  /** [N, height, width, channels] float32 in [0, 1]. */
  images: HostTensor;
  /** [N] int64 class ids, indexes into `classNames`. */
  labels: HostTensor;
  /** Class folder names, sorted; label `i` is `classNames[i]`. */
  classNames: string[];
  /** Path of each image, in the order of `images`. */
  files: string[];
}

/**
 * Reads every PNG/JPEG under `dir/<class>/`, with classes sorted by name giving
 * label ids 0, 1, ... and files sorted by name within a class. Each image is
 * converted to `channels` (alpha dropped, gray↔RGB) and resized bilinearly
 * (half-pixel centers, like `tf.image.resize`) to `height`×`width`.
 *
 * @example
 * ```ts
 * const fs = await defaultFileSystem();
 * const { images, labels, classNames } = await loadImageFolder(fs, "flowers", { height: 64, width: 64 });
 * const ds = Dataset.fromTensorSlices({ images, labels }).shuffle(1000, { seed: 1 }).batch(32);
 * ```
 */
export async function loadImageFolder(fs: FileSystem, dir: string, options: ImageOptions): Promise<ImageFolder> {
  const { height, width, channels = 3 } = options;
  if (!(Number.isInteger(height) && Number.isInteger(width) && height > 0 && width > 0)) {
    throw new Error(`Image size for ${dir} must be positive integers, got ${height}x${width}`);
  }
  if (channels !== 1 && channels !== 3) throw new Error(`Channels for ${dir} must be 1 or 3, got ${channels}`);

  const { records, classNames } = await listImageFolder(fs, dir);
  const files = records.map((r) => r.name);
  const classIds = records.map((r) => r.label);

  const per = height * width * channels;
  const data = new Float32Array(files.length * per);
  for (const [i, record] of records.entries()) {
    const image = prepareImage(await record.read(), record.name, { height, width, channels });
    data.set(image.data as Float32Array, i * per);
  }
  return {
    images: { dtype: "float32", shape: [files.length, height, width, channels], data },
    labels: { dtype: "int64", shape: [files.length], data: BigInt64Array.from(classIds, (c) => BigInt(c)) },
    classNames,
    files,
  };
}
