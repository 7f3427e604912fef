/**
 * Encoded images with their class ids, listed without decoding: from a class-folder
 * tree (`dir/<class>/<image>`) or from TFRecord shards in slim's layout with its
 * `labels.txt`. The input pipeline decodes and preprocesses them later, on worker
 * threads.
 * @module
 */
import type { FileSystem } from "../fs/types.ts";
import { readRecords } from "../io/tfrecord.ts";
import { parseExample } from "./example_proto.ts";

/** One encoded image and its class id. */
export interface ImageRecord {
  /** File path, or "record i of shard" for TFRecords; named in errors. */
  name: string;
  label: number;
  /** The PNG or JPEG bytes. */
  read(): Promise<Uint8Array>;
}

/** A listed data set split. */
export interface ImageRecords {
  records: ImageRecord[];
  /** Class names by id. */
  classNames: string[];
}

const IMAGE_FILE = /\.(png|jpe?g)$/i;

function byName(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Lists `dir/<class>/*.png|jpg|jpeg`, classes sorted by name giving ids 0, 1, ...
 *
 * @example
 * ```ts
 * const { records, classNames } = await listImageFolder(fs, "flowers/train");
 * ```
 */
export async function listImageFolder(fs: FileSystem, dir: string): Promise<ImageRecords> {
  if (!(await fs.stat(dir))?.isDirectory) throw new Error(`Image folder ${dir} does not exist or is not a directory`);
  const classNames: string[] = [];
  for (const name of (await fs.readDir(dir)).sort(byName)) {
    if (!name.startsWith(".") && (await fs.stat(fs.join(dir, name)))?.isDirectory) classNames.push(name);
  }
  if (classNames.length === 0) throw new Error(`Image folder ${dir} has no class subdirectories (expected ${dir}/<class>/<image>.png)`);
  const records: ImageRecord[] = [];
  for (const [label, cls] of classNames.entries()) {
    for (const n of (await fs.readDir(fs.join(dir, cls))).filter((f) => IMAGE_FILE.test(f)).sort(byName)) {
      const path = fs.join(dir, cls, n);
      records.push({ name: path, label, read: () => fs.readFile(path) });
    }
  }
  if (records.length === 0) throw new Error(`Image folder ${dir} has no .png, .jpg or .jpeg files in its class folders`);
  return { records, classNames };
}

/**
 * Lists the examples of slim's TFRecord shards for a split
 * (`<dir>/<prefix>_<split>_*.tfrecord`, as slim's download_and_convert scripts
 * name them), with class names from `<dir>/labels.txt` (`id:name` lines).
 *
 * @example
 * ```ts
 * const { records, classNames } = await listTfrecordImages(fs, "flowers", "train");
 * ```
 */
export async function listTfrecordImages(fs: FileSystem, dir: string, split: string): Promise<ImageRecords> {
  const shards = (await fs.readDir(dir)).filter((n) => n.includes(`_${split}_`) && /\.tfrecords?$/.test(n)).sort(byName);
  if (shards.length === 0) throw new Error(`No TFRecord shards for split "${split}" in ${dir} (expected names like flowers_${split}_00000-of-00005.tfrecord)`);
  const records: ImageRecord[] = [];
  let maxLabel = -1;
  for (const shard of shards) {
    const file = fs.join(dir, shard);
    let index = 0;
    for (const { data, offset } of readRecords(await fs.readFile(file), { file })) {
      const name = `record ${index++} of ${file} (byte offset ${offset})`;
      const ex = parseExample(data, name);
      const encoded = ex.get("image/encoded"), label = ex.get("image/class/label");
      if (encoded?.kind !== "bytes" || encoded.value.length === 0) throw new Error(`Feature image/encoded is missing from ${name}`);
      if (label?.kind !== "int64" || label.value.length === 0) throw new Error(`Feature image/class/label is missing from ${name}`);
      const bytes = encoded.value[0];
      const id = Number(label.value[0]);
      maxLabel = Math.max(maxLabel, id);
      records.push({ name, label: id, read: () => Promise.resolve(bytes) });
    }
  }
  return { records, classNames: await readLabelsFile(fs, dir, maxLabel + 1) };
}

async function readLabelsFile(fs: FileSystem, dir: string, atLeast: number): Promise<string[]> {
  const path = fs.join(dir, "labels.txt");
  const names = Array.from({ length: atLeast }, (_, i) => String(i));
  if (!(await fs.stat(path))) return names;
  for (const line of new TextDecoder().decode(await fs.readFile(path)).split(/\r?\n/)) {
    const m = /^(\d+):(.*)$/.exec(line.trim());
    if (m) names[Number(m[1])] = m[2];
  }
  return names.map((n, i) => n ?? String(i));
}
