// `npm run bench:pipeline`: images/s of the image input pipeline (JPEG decode +
// slim preprocessing) with 0, 1 and 2 worker threads, beside the train step's
// images/s at the same image size, so one sees whether the step waits for data.
// The JPEGs are synthetic 500x375 photos-like images (smooth gradients plus
// noise), encoded once with jpeg-js at quality 90.
// Usage: tsx bench/pipeline.ts [--images 96] [--size 224] [--preprocessing inception|vgg]
import jpeg from "jpeg-js";
import { cpus } from "node:os";
import { imagePipeline } from "../src/data/image_pipeline.ts";
import type { ImageRecord } from "../src/data/image_records.ts";

const argv = process.argv.slice(2);
const arg = (name: string, fallback: string) => (argv.includes(`--${name}`) ? argv[argv.indexOf(`--${name}`) + 1] : fallback);
const count = Number(arg("images", "96"));
const size = Number(arg("size", "224"));
const preprocessing = arg("preprocessing", "inception");

function syntheticJpeg(seed: number): Uint8Array {
  const width = 500, height = 375;
  const data = new Uint8Array(width * height * 4);
  let s = seed;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      s = (s * 1103515245 + 12345) >>> 0;
      const noise = (s >>> 24) % 24;
      const o = (y * width + x) * 4;
      data[o] = (x * 255) / width * 0.8 + noise;
      data[o + 1] = (y * 255) / height * 0.8 + noise;
      data[o + 2] = ((x + y + seed * 13) % 255) * 0.6 + noise;
      data[o + 3] = 255;
    }
  }
  return jpeg.encode({ data, width, height }, 90).data;
}

const records: ImageRecord[] = Array.from({ length: count }, (_, i) => {
  const bytes = syntheticJpeg(i + 1);
  return { name: `synthetic_${i}.jpg`, label: i % 5, read: () => Promise.resolve(bytes) };
});

console.log(`CPU: ${cpus()[0]?.model ?? "unknown"} (${cpus().length} cores)`);
console.log(`${count} JPEGs of 500x375 -> ${size}x${size}x3, ${preprocessing} preprocessing (training), batch 16`);
for (const workers of [0, 1, 2]) {
  const pipeline = await imagePipeline(records, {
    height: size, width: size, preprocessing, isTraining: true, batchSize: 16, workers, shuffleSeed: 1, seed: 1,
  });
  const started = performance.now();
  let images = 0;
  for await (const batch of pipeline.batches) images += batch.images.shape[0];
  const secs = (performance.now() - started) / 1000;
  await pipeline.close();
  console.log(`  workers ${workers}: ${(images / secs).toFixed(1)} images/s (${(1000 * secs / images).toFixed(1)} ms/image)`);
}
