import { assert, assertEquals, assertThrows, test } from "../../test/harness.ts";
import { loadMnistDigits } from "./mnist.ts";
import { digitFixtures } from "./test_fixtures.ts";

// Loaded once: parsing the package's 21 MB of JSON dominates this file's run time.
const digits = loadMnistDigits({ heldOut: 2000 });

test("loadMnistDigits() returns padded [N,32,32,1] images in [0,1] and int64 labels", async () => {
  const { train, test: held } = await digits;
  assertEquals(train.images.shape, [8000, 32, 32, 1]);
  assertEquals(held.images.shape, [2000, 32, 32, 1]);
  assertEquals([train.images.dtype, train.labels.dtype, train.labels.shape], ["float32", "int64", [8000]]);
  assertEquals(held.labels.shape, [2000]);
  for (const split of [train, held]) {
    const px = split.images.data as Float32Array;
    let min = Infinity, max = -Infinity, borderMax = 0;
    for (let n = 0; n < split.labels.shape[0]; n++) {
      for (let y = 0; y < 32; y++) {
        for (let x = 0; x < 32; x++) {
          const v = px[n * 1024 + y * 32 + x];
          min = Math.min(min, v);
          max = Math.max(max, v);
          if (y < 2 || y >= 30 || x < 2 || x >= 30) borderMax = Math.max(borderMax, v);
        }
      }
    }
    assertEquals([min, max, borderMax], [0, 1, 0], "min, max, padding border");
    // Snapped back to MNIST's uint8 levels.
    assert(px.every((v) => Math.abs(Math.round(v * 255) - v * 255) < 1e-4), "pixels are not multiples of 1/255");
  }
});

test("loadMnistDigits() splits across all ten classes", async () => {
  const { train, test: held } = await digits;
  for (const [name, split, least] of [["train", train, 600], ["test", held, 120]] as const) {
    const counts = new Array(10).fill(0);
    for (const l of split.labels.data as BigInt64Array) counts[Number(l)]++;
    assert(counts.every((c) => c >= least), `${name} class counts ${counts}`);
  }
  const again = await loadMnistDigits({ heldOut: 2000 });
  assertEquals(again.test.labels.data.slice(0, 50), held.labels.data.slice(0, 50), "split is fixed");
  const other = await loadMnistDigits({ heldOut: 2000, seed: 1, pad: false });
  assertEquals(other.train.images.shape, [8000, 28, 28, 1]);
  assert(
    other.test.labels.data.slice(0, 50).join() !== held.labels.data.slice(0, 50).join(),
    "seed does not change the split",
  );
  await assertThrows(() => loadMnistDigits({ heldOut: 10001 }), /MNIST heldOut must be an integer from 0 to 10000, got 10001/);
});

test("loadMnistDigits() labels known digits (pixels from the Python-written fixtures)", async () => {
  const { train, test: held } = await digits;
  const fixtures = await digitFixtures();
  for (const img of fixtures.images.filter((i) => i.channels === 1)) {
    let found = -1;
    for (const split of [train, held]) {
      const px = split.images.data as Float32Array;
      for (let n = 0; n < split.labels.shape[0] && found < 0; n++) {
        let same = true;
        for (let p = 0; p < 784 && same; p++) {
          const v = px[n * 1024 + (Math.floor(p / 28) + 2) * 32 + (p % 28) + 2];
          same = Math.round(v * 255) === img.pixels[p];
        }
        if (same) found = Number(split.labels.data[n]);
      }
    }
    assertEquals(found, img.digit, `label of ${img.file}`);
  }
});
