import { assert, assertEquals, assertThrows, test } from "../../test/harness.ts";
import { defaultFileSystem } from "../fs/default.ts";
import { MemoryFileSystem } from "../fs/memory_fs.ts";
import type { HostTensor } from "../graph/host_tensor.ts";
import { imagePipeline } from "./image_pipeline.ts";
import { listImageFolder, listTfrecordImages } from "./image_records.ts";
import { digitFixtures, FIXTURES } from "./test_fixtures.ts";

async function collect(batches: AsyncIterable<{ images: HostTensor; labels: HostTensor }>): Promise<{ images: number[]; labels: bigint[]; shapes: number[][] }> {
  const out = { images: [] as number[], labels: [] as bigint[], shapes: [] as number[][] };
  for await (const b of batches) {
    out.images.push(...(b.images.data as Float32Array));
    out.labels.push(...(b.labels.data as BigInt64Array));
    out.shapes.push(b.images.shape);
  }
  return out;
}

test("imagePipeline() gives the same augmented batches on worker threads as on this thread", async () => {
  const fs = await defaultFileSystem();
  const { records, classNames } = await listImageFolder(fs, fs.join(FIXTURES, "digits"));
  assertEquals(classNames, (await digitFixtures()).class_names);
  const options = { height: 20, width: 20, channels: 3 as const, preprocessing: "inception", isTraining: true, batchSize: 5, shuffleSeed: 3, seed: 9 };
  const threaded = await imagePipeline(records, { ...options, workers: 2 });
  const inline = await imagePipeline(records, { ...options, workers: 0 });
  try {
    const a = await collect(threaded.batches);
    const b = await collect(inline.batches);
    assertEquals(a.shapes, [[5, 20, 20, 3], [5, 20, 20, 3], [2, 20, 20, 3]], "one pass keeps the last partial batch");
    assertEquals(a.labels, b.labels);
    assertEquals(a.images, b.images);
    assert(a.images.some((v) => v < -0.5) && a.images.every((v) => v >= -1 && v <= 1), "inception preprocessing maps to [-1, 1]");
    const sorted = [...a.labels].sort((x, y) => Number(x - y));
    assertEquals(sorted, records.map((r) => BigInt(r.label)), "every record appears once per pass");
  } finally {
    await threaded.close();
    await inline.close();
  }
});

test("imagePipeline() names the file of an image that cannot be decoded", async () => {
  const bad = [{ name: "flowers/roses/broken.jpg", label: 0, read: () => Promise.resolve(new Uint8Array([0xff, 0xd8, 0xff, 1, 2])) }];
  const pipeline = await imagePipeline(bad, { height: 8, width: 8, batchSize: 1, workers: 1 });
  try {
    await assertThrows(() => collect(pipeline.batches), /broken\.jpg/);
  } finally {
    await pipeline.close();
  }
});

test("listTfrecordImages() reads slim's shard names and labels.txt", async () => {
  const disk = await defaultFileSystem();
  const fs = new MemoryFileSystem();
  await fs.mkdirp("data");
  await fs.writeFileAtomic("data/digits_train_00000-of-00001.tfrecord", await disk.readFile(disk.join(FIXTURES, "digits.tfrecord")));
  await fs.writeFileAtomic("data/labels.txt", new TextEncoder().encode("0:zero\n1:one\n"));
  const { records, classNames } = await listTfrecordImages(fs, "data", "train");
  const expected = (await digitFixtures()).tfrecord.records;
  assertEquals(records.map((r) => r.label), expected.map((r) => r.label));
  assertEquals(classNames.slice(0, 2), ["zero", "one"]);
  assertEquals(classNames.length, Math.max(...expected.map((r) => r.label)) + 1);
  await assertThrows(() => listTfrecordImages(fs, "data", "validation"), /No TFRecord shards for split "validation" in data/);
});
