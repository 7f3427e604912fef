import { assert, assertClose, assertEquals, assertThrows, randomArray, test } from "../../../test/harness.ts";
import { defaultFileSystem } from "../../fs/default.ts";
import type { HostTensor } from "../../graph/host_tensor.ts";
import { seededRandom } from "../../graph/random.ts";
import { FIXTURES } from "../test_fixtures.ts";
import { adjustSaturation } from "./color.ts";
import { sampleDistortedBoundingBox } from "./distorted_box.ts";
import { cifarnetPreprocess } from "./cifarnet.ts";
import { getPreprocessing, PREPROCESSING_NAMES } from "./factory.ts";
import { asImage, resizeBilinearLegacy, smallestSizeAtLeast } from "./image_ops.ts";
import { inceptionPreprocess } from "./inception.ts";
import { lenetPreprocess } from "./lenet.ts";
import { VGG_CHANNEL_MEANS, vggPreprocess } from "./vgg.ts";

interface Reference {
  image: { shape: number[]; data: number[] };
  cases: Record<string, { shape: number[]; data: number[] }>;
}

async function reference(): Promise<{ image: HostTensor; cases: Reference["cases"] }> {
  const fs = await defaultFileSystem();
  const ref: Reference = JSON.parse(new TextDecoder().decode(await fs.readFile(fs.join(FIXTURES, "preprocessing", "reference.json"))));
  return { image: { dtype: "float32", shape: ref.image.shape, data: Float32Array.from(ref.image.data) }, cases: ref.cases };
}

function randomImage(h: number, w: number, c: number, seed: number): HostTensor {
  return { dtype: "float32", shape: [h, w, c], data: randomArray(h * w * c, seed, 0, 1) };
}

test("vgg, inception, lenet and cifarnet eval preprocessing match the NumPy reference", async () => {
  const { image, cases } = await reference();
  const got: Record<string, HostTensor> = {
    vgg_eval_40_16x16: vggPreprocess(image, 16, 16, { resizeSideMin: 40 }),
    vgg_eval_20_12x18: vggPreprocess(image, 12, 18, { resizeSideMin: 20 }),
    inception_eval_14x14: inceptionPreprocess(image, 14, 14),
    lenet_28x28: lenetPreprocess(image, 28, 28),
    cifarnet_eval_20x36: cifarnetPreprocess(image, 20, 36),
  };
  for (const [name, expected] of Object.entries(cases)) {
    assertEquals(got[name].shape, expected.shape, name);
    assertClose(got[name].data as Float32Array, expected.data, { rtol: 1e-5, atol: 2e-4, message: name });
  }
});

test("resizeBilinearLegacy() samples at dst * in / out without a half-pixel offset", () => {
  // A ramp makes the sampling positions visible: out[x] = x * in / out where inside.
  const ramp = { dtype: "float32" as const, shape: [1, 8, 1], data: Float32Array.from({ length: 8 }, (_, i) => i) };
  const out = resizeBilinearLegacy(asImage(ramp, "test"), 1, 5).data;
  assertClose(out, [0, 1.6, 3.2, 4.8, 6.4]);
  const up = resizeBilinearLegacy(asImage(ramp, "test"), 1, 16).data;
  assertEquals(up[15], 7, "the last column clamps to the edge");
});

test("smallestSizeAtLeast() keeps the aspect ratio and rounds half to even", () => {
  assertEquals(smallestSizeAtLeast(480, 640, 256), [256, 341]);
  assertEquals(smallestSizeAtLeast(640, 480, 256), [341, 256]);
  assertEquals(smallestSizeAtLeast(4, 10, 5), [5, 12], "12.5 rounds to 12");
});

test("vggPreprocess() training keeps values within [0, 255] minus the means and repeats per seed", () => {
  const image = randomImage(30, 45, 3, 11);
  const r = seededRandom(3, "vgg");
  for (let i = 0; i < 20; i++) {
    const out = vggPreprocess(image, 24, 24, { isTraining: true, random: r, resizeSideMin: 26, resizeSideMax: 40 });
    assertEquals(out.shape, [24, 24, 3]);
    const data = out.data as Float32Array;
    for (let k = 0; k < data.length; k++) {
      const mean = VGG_CHANNEL_MEANS[k % 3];
      assert(data[k] >= -mean - 1e-3 && data[k] <= 255 - mean + 1e-3, `value ${data[k]} outside [0, 255] - mean`);
    }
  }
  const a = vggPreprocess(image, 24, 24, { isTraining: true, random: seededRandom(5) });
  const b = vggPreprocess(image, 24, 24, { isTraining: true, random: seededRandom(5) });
  assertEquals(a.data, b.data, "the same seed gives the same crop");
});

test("inceptionPreprocess() training output lies in [-1, 1] and varies with the seed", () => {
  const image = randomImage(40, 30, 3, 12);
  const outs = [1, 2, 3].map((s) => inceptionPreprocess(image, 16, 16, { isTraining: true, random: seededRandom(s) }));
  for (const out of outs) {
    assertEquals(out.shape, [16, 16, 3]);
    for (const v of out.data as Float32Array) assert(v >= -1 && v <= 1, `value ${v} outside [-1, 1]`);
  }
  assert(outs[0].data.some((v, i) => v !== outs[1].data[i]), "different seeds give different crops");
});

test("sampleDistortedBoundingBox() windows respect the area and aspect ranges", () => {
  const r = seededRandom(9);
  for (let i = 0; i < 200; i++) {
    const win = sampleDistortedBoundingBox(120, 160, r);
    assert(win.top >= 0 && win.left >= 0 && win.top + win.height <= 120 && win.left + win.width <= 160, JSON.stringify(win));
    const share = (win.height * win.width) / (120 * 160);
    const whole = win.height === 120 && win.width === 160;
    assert(whole || (share >= 0.05 && share <= 1), `area share ${share}`);
    const aspect = win.width / win.height;
    assert(whole || (aspect > 0.75 - 0.05 && aspect < 1.33 + 0.05), `aspect ${aspect}`);
  }
});

test("cifarnetPreprocess() training standardizes each image to mean 0 and unit deviation", () => {
  const out = cifarnetPreprocess(randomImage(32, 32, 3, 13), 32, 32, { isTraining: true, random: seededRandom(4) });
  const d = out.data as Float32Array;
  const mean = d.reduce((s, v) => s + v, 0) / d.length;
  const variance = d.reduce((s, v) => s + (v - mean) ** 2, 0) / d.length;
  assertClose(mean, 0, { atol: 1e-4 });
  assertClose(variance, 1, { rtol: 1e-3 });
});

test("adjustSaturation() keeps grays gray and scales the spread of a coloured pixel", () => {
  const image = asImage({ dtype: "float32", shape: [1, 2, 3], data: Float32Array.from([0.5, 0.5, 0.5, 0.8, 0.4, 0.2]) }, "test");
  const out = adjustSaturation(image, 0.5).data;
  assertClose(out.subarray(0, 3), [0.5, 0.5, 0.5]);
  // HSV: v = 0.8, s = 0.75 -> 0.375; min becomes v * (1 - s) = 0.5, hue kept.
  assertClose(out.subarray(3), [0.8, 0.6, 0.5], { atol: 1e-6 });
});

test("getPreprocessing() maps net names as slim's factory and lists the known names for an unknown one", async () => {
  const image = randomImage(20, 20, 3, 14);
  assertEquals(getPreprocessing("resnet_v1_50")(image, 16, 16).data, vggPreprocess(image, 16, 16).data);
  assertEquals(getPreprocessing("mobilenet_v2")(image, 16, 16).data, inceptionPreprocess(image, 16, 16).data);
  assert(PREPROCESSING_NAMES.includes("inception_v3"));
  await assertThrows(() => getPreprocessing("resnet_v9"), /unknown preprocessing "resnet_v9"; known: .*lenet/);
  await assertThrows(() => getPreprocessing("vgg_16", true)(image, 16, 16), /training needs a random source/);
});
