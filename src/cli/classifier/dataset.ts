/**
 * Finds a split of `--dataset-dir` in the layouts slim users have: class folders
 * per split (`<dir>/<split>/<class>/*.jpg`), one tree of class folders
 * (`<dir>/<class>/*.jpg`, used for every split), or slim's TFRecord shards
 * (`<dir>/<name>_<split>_*.tfrecord` with `labels.txt`).
 * @module
 */
import { type ImageRecords, listImageFolder, listTfrecordImages } from "../../data/image_records.ts";
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
