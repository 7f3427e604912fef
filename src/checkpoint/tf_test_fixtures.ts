/**
 * Shared by the TensorFlow checkpoint tests: where the fixtures live and what
 * scripts/make_tf_checkpoint_fixtures.py (Python, independent of this code) says
 * they hold. Not a `_test.ts` file, so importing it registers no tests twice.
 * @module
 */
import type { FileSystem } from "../fs/types.ts";
import type { HostTensor } from "../graph/host_tensor.ts";
import { assert, assertEquals } from "../../test/harness.ts";

/**
 * One tensor as fixtures/tf_checkpoints/expected.json records it (int64 values as strings).
 *
 * @example
 * ```ts
 * const t: ExpectedTensor = { dtype: "int64", shape: [], values: ["-5"] };
 * ```
 */
export interface ExpectedTensor {
  dtype: string;
  shape: number[];
  values: (number | boolean | string)[];
}

/**
 * The layout of fixtures/tf_checkpoints/expected.json.
 *
 * @example
 * ```ts
 * const v2: Record<string, ExpectedTensor> = (await expectedCheckpoints(fs))["v2/model.ckpt-12"];
 * ```
 */
export type ExpectedCheckpoints = Record<string, Record<string, ExpectedTensor>> & {
  corrupt: {
    "v2_corrupt/model.ckpt-12": { tensor: string; file: string; offset: number };
    "vgg_16_corrupt_block.ckpt": { block_offset: number };
  };
};

/**
 * Absolute path of fixtures/tf_checkpoints.
 *
 * @example
 * ```ts
 * const prefix = `${TF_FIXTURES}/v2/model.ckpt-12`;
 * ```
 */
export const TF_FIXTURES = decodeURIComponent(new URL("../../fixtures/tf_checkpoints", import.meta.url).pathname)
  .replace(/^\/([A-Za-z]:)/, "$1");

/**
 * A Node-style file system for the fixtures (the tests that use it are skipped where there is none).
 *
 * @example
 * ```ts
 * const fs = await fixtureFs();
 * ```
 */
export async function fixtureFs(): Promise<FileSystem> {
  return new (await import("../fs/node_fs.ts")).NodeFileSystem();
}

/**
 * Reads fixtures/tf_checkpoints/expected.json.
 *
 * @example
 * ```ts
 * const expected = await expectedCheckpoints(fs);
 * ```
 */
export async function expectedCheckpoints(fs: FileSystem): Promise<ExpectedCheckpoints> {
  return JSON.parse(new TextDecoder().decode(await fs.readFile(`${TF_FIXTURES}/expected.json`)));
}

const TO: Record<string, string> = { float: "float32", double: "float32", half: "float32", int32: "int32", int64: "int64", bool: "bool" };

/**
 * Asserts that `got` holds exactly the readable tensors of `expected`, bit for bit
 * (float64 rounded to float32 once), and that strings were skipped.
 *
 * @example
 * ```ts
 * assertMatchesExpected(result.tensors, result.skipped, expected["v2/model.ckpt-12"]);
 * ```
 */
export function assertMatchesExpected(got: Map<string, HostTensor>, skipped: Map<string, string>, expected: Record<string, ExpectedTensor>): void {
  const readable = Object.keys(expected).filter((k) => expected[k].dtype !== "string").sort();
  assertEquals([...got.keys()].sort(), readable);
  for (const name of Object.keys(expected).filter((k) => expected[k].dtype === "string")) {
    assertEquals(skipped.get(name), "dtype string", name);
  }
  for (const name of readable) {
    const e = expected[name], t = got.get(name)!;
    assertEquals([t.dtype, t.shape], [TO[e.dtype], e.shape], name);
    const want = e.dtype === "int64" ? e.values.map((v) => BigInt(v as string))
      : e.dtype === "bool" ? e.values.map((v) => v ? 1 : 0)
      : e.dtype === "int32" ? e.values
      : e.values.map((v) => Math.fround(v as number));
    assert(t.data.length === want.length, `${name}: ${t.data.length} values, expected ${want.length}`);
    for (let i = 0; i < want.length; i++) {
      assert(Object.is(t.data[i], want[i]), `${name}[${i}]: got ${t.data[i]}, expected ${want[i]}`);
    }
  }
}
