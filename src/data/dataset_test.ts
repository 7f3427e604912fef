import { assert, assertClose, assertEquals, assertThrows, randomArray, rng, test } from "../../test/harness.ts";
import type { HostTensor } from "../graph/host_tensor.ts";
import { Dataset } from "./dataset.ts";

const range = (n: number) => Array.from({ length: n }, (_, i) => i);
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function randomLabels(n: number, seed: number): BigInt64Array {
  const r = rng(seed);
  return BigInt64Array.from({ length: n }, () => BigInt(Math.floor(r() * 1000) - 500));
}

test("Dataset.fromArray() yields items in order on every pass", async () => {
  const items = Array.from(randomArray(9, 1));
  const ds = Dataset.fromArray(items);
  assertEquals(await ds.toArray(), items);
  assertEquals(await ds.toArray(), items);
});

test("Dataset.shuffle() is a permutation, reproducible per seed, different across seeds", async () => {
  const items = range(50);
  const a = await Dataset.fromArray(items).shuffle(50, { seed: 7 }).toArray();
  const b = await Dataset.fromArray(items).shuffle(50, { seed: 7 }).toArray();
  const c = await Dataset.fromArray(items).shuffle(50, { seed: 8 }).toArray();
  assertEquals([...a].sort((x, y) => x - y), items);
  assertEquals([...c].sort((x, y) => x - y), items);
  assertEquals(a, b, "same seed");
  assert(JSON.stringify(a) !== JSON.stringify(c), "different seeds gave the same order");
  assert(JSON.stringify(a) !== JSON.stringify(items), "shuffle left the order unchanged");
});

test("Dataset.shuffle() reshuffles every epoch and replays the epochs from the seed", async () => {
  const make = () => Dataset.fromArray(range(30)).shuffle(30, { seed: 3 }).repeat(3);
  const run = await make().toArray();
  const again = await make().toArray();
  assertEquals(run, again, "rebuilt pipeline");
  const epochs = [run.slice(0, 30), run.slice(30, 60), run.slice(60)];
  for (const e of epochs) assertEquals([...e].sort((x, y) => x - y), range(30));
  assert(JSON.stringify(epochs[0]) !== JSON.stringify(epochs[1]), "epochs 0 and 1 have the same order");
  assert(JSON.stringify(epochs[1]) !== JSON.stringify(epochs[2]), "epochs 1 and 2 have the same order");
  // A second pass over the same dataset object is a new iteration, as in tf.data.
  const ds = Dataset.fromArray(range(30)).shuffle(30, { seed: 3 });
  const first = await ds.toArray(), second = await ds.toArray();
  assert(JSON.stringify(first) !== JSON.stringify(second), "second pass repeated the first order");
});

test("Dataset.shuffle() with a small buffer only draws from the buffer window", async () => {
  for (const [size, seed] of [[1, 11], [4, 12], [10, 13]]) {
    const out = await Dataset.fromArray(range(60)).shuffle(size, { seed }).toArray();
    assertEquals([...out].sort((x, y) => x - y), range(60));
    // Before output i, only inputs 0 .. i + size - 1 have entered the buffer.
    out.forEach((x, i) => assert(x < i + size, `buffer ${size}: output ${i} is input ${x}`));
    if (size === 1) assertEquals(out, range(60), "buffer of 1");
    else assert(JSON.stringify(out) !== JSON.stringify(range(60)), `buffer ${size} did not shuffle`);
  }
});

test("Dataset.fromTensorSlices() slices along axis 0 into copies", async () => {
  const images: HostTensor = { dtype: "float32", shape: [5, 2, 3], data: randomArray(30, 21) };
  const labels: HostTensor = { dtype: "int64", shape: [5], data: randomLabels(5, 22) };
  const rows = await Dataset.fromTensorSlices({ images, labels }).toArray();
  assertEquals(rows.length, 5);
  rows.forEach((row, i) => {
    assertEquals(row.images.shape, [2, 3]);
    assertEquals(row.labels.shape, []);
    assertClose(row.images.data as Float32Array, (images.data as Float32Array).subarray(i * 6, i * 6 + 6));
    assertEquals(row.labels.data, BigInt64Array.of((labels.data as BigInt64Array)[i]));
  });
  (rows[0].images.data as Float32Array)[0] = 99;
  assert((images.data as Float32Array)[0] !== 99, "slice shares memory with the source");
  const single = await Dataset.fromTensorSlices(images).toArray();
  assertClose(single[4].data as Float32Array, (images.data as Float32Array).subarray(24));
  const short: HostTensor = { dtype: "int64", shape: [4], data: randomLabels(4, 23) };
  await assertThrows(() => Dataset.fromTensorSlices({ images, short }), /short has 4 rows but images has 5/);
});

test("Dataset.batch() stacks per key and keeps or drops the remainder", async () => {
  const x: HostTensor = { dtype: "float32", shape: [7, 2], data: randomArray(14, 31) };
  const y: HostTensor = { dtype: "int64", shape: [7], data: randomLabels(7, 32) };
  const kept = await Dataset.fromTensorSlices({ x, y }).batch(3).toArray();
  assertEquals(kept.map((b) => b.x.shape), [[3, 2], [3, 2], [1, 2]]);
  assertEquals(kept.map((b) => b.y.shape), [[3], [3], [1]]);
  assertClose(kept.flatMap((b) => Array.from(b.x.data as Float32Array)), x.data as Float32Array);
  assertEquals(kept.flatMap((b) => Array.from(b.y.data as BigInt64Array)), Array.from(y.data as BigInt64Array));
  const dropped = await Dataset.fromTensorSlices({ x, y }).batch(3, { dropRemainder: true }).toArray();
  assertEquals(dropped.map((b) => b.x.shape), [[3, 2], [3, 2]]);
  assertEquals(dropped[1].y.data, y.data.slice(3, 6));
  const plain = await Dataset.fromTensorSlices(x).batch(4).toArray();
  assertEquals(plain.map((b) => b.shape), [[4, 2], [3, 2]]);
  const ragged = Dataset.fromArray([
    { x: { dtype: "float32", shape: [2], data: randomArray(2, 33) } as HostTensor },
    { x: { dtype: "float32", shape: [3], data: randomArray(3, 34) } as HostTensor },
  ]);
  await assertThrows(() => ragged.batch(2).toArray(), /Batch element 1 has key x float32 \[3\], but element 0 has float32 \[2\]/);
});

test("Dataset.repeat(), take() and skip() compose", async () => {
  const items = Array.from(randomArray(4, 41));
  assertEquals(await Dataset.fromArray(items).repeat(2).toArray(), [...items, ...items]);
  assertEquals(await Dataset.fromArray(items).repeat().take(10).toArray(), [...items, ...items, ...items.slice(0, 2)]);
  assertEquals(await Dataset.fromArray(items).skip(1).take(2).toArray(), items.slice(1, 3));
  assertEquals(await Dataset.fromArray(items).skip(9).toArray(), []);
  assertEquals(await Dataset.fromArray(items).take(0).toArray(), []);
  assertEquals(await Dataset.fromArray<number>([]).repeat().toArray(), [], "forever over nothing ends");
  await assertThrows(() => Dataset.fromArray(items).take(-1), /Dataset.take needs an integer count >= 0, got -1/);
});

test("Dataset.skip() resumes a seeded pipeline at a given step", async () => {
  const x: HostTensor = { dtype: "float32", shape: [10, 3], data: randomArray(30, 51) };
  const make = () => Dataset.fromTensorSlices({ x }).shuffle(10, { seed: 5 }).repeat().batch(4);
  const full = await make().take(8).toArray();
  const resumed = await make().skip(5).take(3).toArray();
  resumed.forEach((b, i) => assertClose(b.x.data as Float32Array, full[5 + i].x.data as Float32Array));
});

test("Dataset.map() accepts sync and async functions", async () => {
  const items = Array.from(randomArray(6, 61));
  const out = await Dataset.fromArray(items).map((v) => v * 2).map(async (v) => {
    await sleep(1);
    return v + 1;
  }).toArray();
  assertClose(out, items.map((v) => v * 2 + 1));
});

/** Runs a producer and a consumer that both await timers and logs their events. */
async function trace(prefetch: number): Promise<string[]> {
  const events: string[] = [];
  const ds = Dataset.fromArray(range(4)).map(async (i) => {
    events.push(`produce-start ${i}`);
    await sleep(3);
    events.push(`produce-end ${i}`);
    return i;
  });
  for await (const i of ds.prefetch(prefetch)) {
    events.push(`consume-start ${i}`);
    await sleep(3);
    events.push(`consume-end ${i}`);
  }
  return events;
}

test("Dataset.prefetch() produces the next element while the consumer awaits", async () => {
  const at = (events: string[], e: string) => {
    const i = events.indexOf(e);
    assert(i >= 0, `missing event ${e}`);
    return i;
  };
  const serial = await trace(0);
  const ahead = await trace(1);
  assertEquals(ahead.filter((e) => e.startsWith("consume-end")), range(4).map((i) => `consume-end ${i}`));
  for (let i = 0; i < 3; i++) {
    assert(at(serial, `produce-start ${i + 1}`) > at(serial, `consume-end ${i}`), `serial run overlapped at ${i}`);
    assert(at(ahead, `produce-start ${i + 1}`) < at(ahead, `consume-end ${i}`), `prefetch(1) did not overlap at ${i}`);
  }
});

test("Dataset.prefetch(n) prepares exactly n elements ahead of the consumer", async () => {
  for (const n of [0, 1, 2]) {
    const events: string[] = [];
    const ds = Dataset.fromArray(range(6)).map(async (i) => {
      events.push(`start ${i}`);
      await sleep(1);
      events.push(`end ${i}`);
      return i;
    });
    let whileHolding: string[] = [];
    for await (const i of ds.prefetch(n)) {
      if (i !== 0) continue;
      // Far more timer turns than producing n elements needs, so the check is on
      // which events happened, not on how fast.
      for (let t = 0; t < 15; t++) await sleep(2);
      whileHolding = [...events];
    }
    if (n > 0) assert(whileHolding.includes(`end ${n}`), `prefetch(${n}) did not finish element ${n}: ${whileHolding}`);
    assert(!whileHolding.includes(`start ${n + 1}`), `prefetch(${n}) ran past ${n} elements: ${whileHolding}`);
  }
});

test("Dataset.prefetch() passes errors on and closes upstream on early exit", async () => {
  const boom = Dataset.fromArray(range(5)).map((i) => {
    if (i === 3) throw new Error("Element 3 is bad");
    return i;
  });
  const seen: number[] = [];
  await assertThrows(async () => {
    for await (const i of boom.prefetch(2)) seen.push(i);
  }, "Element 3 is bad");
  assertEquals(seen, [0, 1, 2]);
  let closed = false;
  const source = Dataset.fromGenerator(async function* () {
    try {
      for (let i = 0; ; i++) yield i;
    } finally {
      closed = true;
    }
  });
  for await (const i of source.prefetch(3)) if (i === 2) break;
  assert(closed, "upstream generator was not closed");
});
