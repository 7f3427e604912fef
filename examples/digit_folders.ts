/**
 * Writes the bundled `mnist` digits as PNG class folders, the layout
 * `slimtrain train --dataset-dir` reads (`<dir>/<class>/<n>.png`), to try the
 * image-classifier CLI on real images: digits 0–4 and 5–9 for training, and
 * held-out 5–9 for evaluation.
 *
 *   npx tsx examples/digit_folders.ts [outDir] [perClass]
 *   # -> outDir/a_train (0-4), outDir/b_train (5-9), outDir/b_test (held-out 5-9)
 * @module
 */
import { encode as encodePng } from "fast-png";
import { data, fs as files } from "../mod.ts";
import type { HostTensor } from "../src/graph/host_tensor.ts";

const [outDir = "digits", perClassArg = "200"] = (globalThis as { Deno?: { args: string[] } }).Deno?.args ??
  (globalThis as { process?: { argv: string[] } }).process?.argv.slice(2) ?? [];
const perClass = Number(perClassArg);
const fs = await files.defaultFileSystem();
const digits = await data.loadMnistDigits({ heldOut: 2000, seed: 0 });

async function write(dir: string, split: { images: HostTensor; labels: HostTensor }, classes: number[], limit: number): Promise<number> {
  const [n, h, w] = split.images.shape;
  const counts = new Map<number, number>();
  let written = 0;
  for (let i = 0; i < n; i++) {
    const label = Number((split.labels.data as BigInt64Array)[i]);
    if (!classes.includes(label) || (counts.get(label) ?? 0) >= limit) continue;
    counts.set(label, (counts.get(label) ?? 0) + 1);
    const pixels = Uint8Array.from((split.images.data as Float32Array).subarray(i * h * w, (i + 1) * h * w), (v) => Math.round(v * 255));
    await fs.mkdirp(fs.join(dir, String(label)));
    await fs.writeFileAtomic(fs.join(dir, String(label), `${i}.png`), encodePng({ width: w, height: h, data: pixels, channels: 1, depth: 8 }));
    written++;
  }
  return written;
}

console.log(`${outDir}/a_train: ${await write(fs.join(outDir, "a_train"), digits.train, [0, 1, 2, 3, 4], perClass)} digits 0-4`);
console.log(`${outDir}/b_train: ${await write(fs.join(outDir, "b_train"), digits.train, [5, 6, 7, 8, 9], perClass)} digits 5-9`);
console.log(`${outDir}/b_test: ${await write(fs.join(outDir, "b_test"), digits.test, [5, 6, 7, 8, 9], Math.ceil(perClass / 2))} held-out digits 5-9`);
