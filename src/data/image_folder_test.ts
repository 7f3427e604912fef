import { encode as encodePng } from "fast-png";
import jpeg from "jpeg-js";
import { assert, assertClose, assertEquals, assertThrows, randomArray, test } from "../../test/harness.ts";
import { defaultFileSystem } from "../fs/default.ts";
import { MemoryFileSystem } from "../fs/memory_fs.ts";
import type { HostTensor } from "../graph/host_tensor.ts";
import { convertChannels, decodeImage, resizeBilinear } from "./image.ts";
import { loadImageFolder } from "./image_folder.ts";
import { digitFixtures, expectedPixels, FIXTURES } from "./test_fixtures.ts";

test("loadImageFolder() decodes the fixture digits to their pixels and class ids", async () => {
  const expected = await digitFixtures();
  const fs = await defaultFileSystem();
  const dir = fs.join(FIXTURES, "digits");
  for (const channels of [1, 3] as const) {
    const got = await loadImageFolder(fs, dir, { height: 28, width: 28, channels });
    assertEquals(got.classNames, expected.class_names);
    assertEquals(got.files, expected.images.map((i) => fs.join(FIXTURES, i.file)));
    assertEquals(got.labels.data, BigInt64Array.from(expected.images, (i) => BigInt(i.class_index)));
    assertEquals(got.images.shape, [12, 28, 28, channels]);
    const per = 28 * 28 * channels;
    expected.images.forEach((img, n) => {
      const slice = (got.images.data as Float32Array).subarray(n * per, (n + 1) * per);
      assertClose(slice, expectedPixels(img, channels), { atol: 1e-6, message: `${img.file} at ${channels} channels` });
    });
  }
  assert(expected.images.some((i) => i.channels === 3), "fixtures lack the RGB image");
});

/** Bilinear sampling written out directly: clamp the four neighbours, weight by area. */
function referenceResize(src: Float32Array, h: number, w: number, c: number, oh: number, ow: number): number[] {
  const out: number[] = [];
  const clamp = (v: number, hi: number) => Math.min(Math.max(v, 0), hi);
  for (let y = 0; y < oh; y++) {
    for (let x = 0; x < ow; x++) {
      const sy = (y + 0.5) * (h / oh) - 0.5, sx = (x + 0.5) * (w / ow) - 0.5;
      const y0 = Math.floor(sy), x0 = Math.floor(sx), dy = sy - y0, dx = sx - x0;
      for (let k = 0; k < c; k++) {
        const at = (yy: number, xx: number) => src[(clamp(yy, h - 1) * w + clamp(xx, w - 1)) * c + k];
        out.push(
          at(y0, x0) * (1 - dy) * (1 - dx) + at(y0, x0 + 1) * (1 - dy) * dx +
            at(y0 + 1, x0) * dy * (1 - dx) + at(y0 + 1, x0 + 1) * dy * dx,
        );
      }
    }
  }
  return out;
}

test("resizeBilinear() matches direct half-pixel bilinear sampling", () => {
  const cases = [[5, 7, 3, 11, 4], [9, 6, 1, 4, 13], [8, 8, 2, 3, 5]];
  cases.forEach(([h, w, c, oh, ow], i) => {
    const data = randomArray(h * w * c, 100 + i, 0, 1);
    const got = resizeBilinear({ dtype: "float32", shape: [h, w, c], data }, oh, ow);
    assertEquals(got.shape, [oh, ow, c]);
    assertClose(got.data as Float32Array, referenceResize(data, h, w, c, oh, ow), { atol: 1e-6 });
  });
  // Halving with half-pixel centers averages each 2x2 block, a property independent of any formula above.
  const data = randomArray(6 * 4, 110, 0, 1);
  const half = resizeBilinear({ dtype: "float32", shape: [6, 4, 1], data }, 3, 2);
  const blocks: number[] = [];
  for (let y = 0; y < 3; y++) {
    for (let x = 0; x < 2; x++) {
      const a = (2 * y * 4) + 2 * x;
      blocks.push((data[a] + data[a + 1] + data[a + 4] + data[a + 5]) / 4);
    }
  }
  assertClose(half.data as Float32Array, blocks, { atol: 1e-6 });
});

async function folderWith(files: Record<string, Uint8Array>): Promise<MemoryFileSystem> {
  const fs = new MemoryFileSystem();
  for (const [path, data] of Object.entries(files)) {
    await fs.mkdirp(path.slice(0, path.lastIndexOf("/")));
    await fs.writeFileAtomic(path, data);
  }
  return fs;
}

test("loadImageFolder() names the file that fails to decode", async () => {
  const disk = await defaultFileSystem();
  const good = await disk.readFile(disk.join(FIXTURES, "digits", "3", "5.png"));
  const truncated = good.slice(0, Math.floor(good.length / 2));
  const fs = await folderWith({ "imgs/a/good.png": good, "imgs/b/bad.png": truncated });
  await assertThrows(() => loadImageFolder(fs, "imgs", { height: 8, width: 8 }), /Cannot decode image imgs\/b\/bad\.png/);
  const flipped = good.slice();
  flipped[good.length - 20] ^= 0x10; // inside IDAT or IEND: the CRC check must catch it
  const fs2 = await folderWith({ "imgs/a/flipped.png": flipped });
  await assertThrows(() => loadImageFolder(fs2, "imgs", { height: 8, width: 8 }), /Cannot decode image imgs\/a\/flipped\.png/);
  const fs3 = await folderWith({ "imgs/a/text.jpg": new TextEncoder().encode("not an image") });
  await assertThrows(() => loadImageFolder(fs3, "imgs", { height: 8, width: 8 }), /Image imgs\/a\/text\.jpg is neither PNG nor JPEG/);
});

test("loadImageFolder() reads JPEG and RGBA PNG, dropping alpha and converting channels", async () => {
  const h = 16, w = 12;
  // A smooth image survives JPEG at quality 100 nearly unchanged.
  const rgba = new Uint8Array(h * w * 4);
  const noise = randomArray(h * w * 4, 120, 0, 1);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const p = (y * w + x) * 4;
      rgba[p] = 40 + 10 * y;
      rgba[p + 1] = 200 - 12 * x;
      rgba[p + 2] = 90 + 5 * (x + y);
      rgba[p + 3] = Math.floor(noise[p + 3] * 256);
    }
  }
  const rgb = new Uint8Array(h * w * 3);
  for (let p = 0; p < h * w; p++) rgb.set(rgba.subarray(p * 4, p * 4 + 3), p * 3);
  const jpg = jpeg.encode({ width: w, height: h, data: rgba }, 100).data;
  const png = encodePng({ width: w, height: h, data: rgba, channels: 4, depth: 8 });
  const fs = await folderWith({ "d/jpg/x.JPG": new Uint8Array(jpg), "d/png/y.png": png, "d/png/skip.txt": png });
  const got = await loadImageFolder(fs, "d", { height: h, width: w, channels: 3 });
  assertEquals(got.files, ["d/jpg/x.JPG", "d/png/y.png"]);
  assertEquals(got.labels.data, BigInt64Array.of(0n, 1n));
  const data = got.images.data as Float32Array, per = h * w * 3;
  const want = Array.from(rgb, (v) => v / 255);
  assertClose(data.subarray(0, per), want, { atol: 4 / 255, message: "JPEG" });
  assertClose(data.subarray(per), want, { atol: 1e-6, message: "RGBA PNG" });
  const gray = await loadImageFolder(fs, "d", { height: h, width: w, channels: 1 });
  const wantGray = convertChannels({ dtype: "float32", shape: [h, w, 3], data: Float32Array.from(want) }, 1);
  assertClose((gray.images.data as Float32Array).subarray(h * w), wantGray.data as Float32Array, { atol: 1e-6 });
  const asGray = convertChannels(decodeImage(png, "y.png"), 1).data as Float32Array;
  assertClose(asGray[0], (0.2989 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2]) / 255, { atol: 1e-6 });
});

test("decodeImage() expands palette and 16-bit PNGs", () => {
  const palette = [[255, 0, 0], [0, 128, 255], [10, 20, 30]];
  const indices = Uint8Array.from(randomArray(20, 130, 0, 3), Math.floor);
  const indexed = encodePng({ width: 5, height: 4, data: indices, channels: 1, depth: 8, palette });
  const img: HostTensor = decodeImage(indexed, "palette.png");
  assertEquals(img.shape, [4, 5, 3]);
  assertClose(img.data as Float32Array, Array.from(indices).flatMap((i) => palette[i].map((v) => v / 255)), { atol: 1e-6 });
  const deep = Uint16Array.from(randomArray(12, 131, 0, 65535), Math.floor);
  const img16 = decodeImage(encodePng({ width: 4, height: 3, data: deep, channels: 1, depth: 16 }), "deep.png");
  assertClose(img16.data as Float32Array, Array.from(deep, (v) => v / 65535), { atol: 1e-6 });
});
