/**
 * Finds a split of `--dataset-dir` in the layouts slim users have: class folders
 * per split (`<dir>/<split>/<class>/*.jpg`), one tree of class folders
 * (`<dir>/<class>/*.jpg`, used for every split), or slim's TFRecord shards
 * (`<dir>/<name>_<split>_*.tfrecord` with `labels.txt`).
 * @module
 */
import { decodeImage } from "../../data/image.ts";
import { type ImageRecord, type ImageRecords, listImageFolder, listTfrecordImages } from "../../data/image_records.ts";
import type { FileSystem } from "../../fs/types.ts";

/**
 * The records and class names of a split.
 *
 * @example
 * ```ts
 * const { records, classNames } = await loadSplit(fs, "flowers", "train");
 * ```
 */
export async function loadSplit(fs: FileSystem, dir: string, split: string): Promise<ImageRecords & { layout: string }> {
  if (!(await fs.stat(dir))?.isDirectory) throw new Error(`--dataset-dir ${dir} does not exist or is not a directory`);
  const names = await fs.readDir(dir);
  if (names.some((n) => n.includes(`_${split}_`) && /\.tfrecords?$/.test(n))) {
    return { ...(await listTfrecordImages(fs, dir, split)), layout: `TFRecord shards *_${split}_*` };
  }
  const splitDir = fs.join(dir, split);
  if ((await fs.stat(splitDir))?.isDirectory) return { ...(await listImageFolder(fs, splitDir)), layout: `image folder ${splitDir}` };
  if (names.some((n) => /\.tfrecords?$/.test(n))) {
    throw new Error(`--dataset-dir ${dir} has TFRecord shards but none for split "${split}" (expected <name>_${split}_NNNNN-of-NNNNN.tfrecord)`);
  }
  return { ...(await listImageFolder(fs, dir)), layout: `image folder ${dir}` };
}

/**
 * The input channels a net gets: vgg and inception preprocessing need RGB; lenet
 * and cifarnet keep a grayscale data set's single channel (judged by its first image).
 *
 * @example
 * ```ts
 * await inputChannels(split.records, "lenet"); // 1 for PNG digits
 * ```
 */
export async function inputChannels(records: readonly ImageRecord[], preprocessing: string): Promise<1 | 3> {
  if (!["lenet", "cifarnet"].includes(preprocessing)) return 3;
  return decodeImage(await records[0].read(), records[0].name).shape[2] <= 2 ? 1 : 3;
}
