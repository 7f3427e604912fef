/**
 * Shared by the data tests: where the fixtures live and what
 * scripts/make_data_fixtures.py (Python, independent of this code) says they hold.
 * Not a `_test.ts` file, so importing it registers no tests twice.
 * @module
 */
import { defaultFileSystem } from "../fs/default.ts";

/** The layout of fixtures/digits_expected.json. */
export interface DigitFixtures {
  height: number;
  width: number;
  class_names: string[];
  images: { file: string; digit: number; class_index: number; channels: number; pixels: number[] }[];
  tfrecord: { file: string; size: number; records: { offset: number; label: number; format: string; image: number }[] };
}

/**
 * Absolute path of the repository's fixtures/ folder.
 *
 * @example
 * ```ts
 * const shard = fs.join(FIXTURES, "digits.tfrecord");
 * ```
 */
export const FIXTURES = decodeURIComponent(new URL("../../fixtures", import.meta.url).pathname);

/**
 * Reads fixtures/digits_expected.json.
 *
 * @example
 * ```ts
 * const { images } = await digitFixtures();
 * ```
 */
export async function digitFixtures(): Promise<DigitFixtures> {
  const fs = await defaultFileSystem();
  return JSON.parse(new TextDecoder().decode(await fs.readFile(fs.join(FIXTURES, "digits_expected.json"))));
}

/**
 * Expected [0, 1] pixels of a fixture image at 1 or 3 channels, from its uint8
 * values (RGB to gray with tf.image.rgb_to_grayscale's weights).
 *
 * @example
 * ```ts
 * assertClose(decoded, expectedPixels(fixtures.images[0], 1));
 * ```
 */
export function expectedPixels(img: DigitFixtures["images"][number], channels: 1 | 3): number[] {
  const out: number[] = [];
  for (let p = 0; p < img.pixels.length / img.channels; p++) {
    const [r, g, b] = img.channels === 3 ? img.pixels.slice(p * 3, p * 3 + 3) : [0, 0, 0].map(() => img.pixels[p]);
    if (channels === 3) out.push(r / 255, g / 255, b / 255);
    else out.push(img.channels === 1 ? r / 255 : (0.2989 * r + 0.587 * g + 0.114 * b) / 255);
  }
  return out;
}
