/**
 * The demo's run on onnxruntime-node's CPU provider, as the browser test's
 * reference: same network, seed and batches as the page. Prints the result (plus
 * the sum and L1 norm of each variable in the final checkpoint) as one JSON line.
 * Usage: tsx web/demo/reference.ts --digits web/demo/dist/digits.json --steps 8 --seed 1
 * @module
 */
import { readFileSync } from "node:fs";
import { decodeSafetensors } from "../../src/checkpoint/mod.ts";
import { MemoryFileSystem } from "../../src/fs/memory_fs.ts";
import { createRuntime } from "../../src/runtime/create.ts";
import { type DigitsJson, parseDigits, runDemo } from "./net.ts";

const args = process.argv.slice(2);
const opt = (name: string, fallback: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : fallback;
};

const digits = parseDigits(JSON.parse(readFileSync(opt("digits", "web/demo/dist/digits.json"), "utf8")) as DigitsJson);
const runtime = await createRuntime({ package: "onnxruntime-node", executionProvider: "cpu", intraOpNumThreads: 2 });
const fs = new MemoryFileSystem();
await fs.mkdirp("runs");
const result = await runDemo({ runtime, fs, logdir: "runs/reference", digits, steps: Number(opt("steps", "8")), seed: Number(opt("seed", "1")) });
const sums: Record<string, { sum: number; l1: number }> = {};
if (result.checkpoint) {
  const { tensors } = decodeSafetensors(await fs.readFile(result.checkpoint), { file: result.checkpoint });
  for (const [name, t] of tensors) {
    if (t.dtype !== "float32") continue;
    const data = t.data as Float32Array;
    sums[name] = { sum: data.reduce((a, b) => a + b, 0), l1: data.reduce((a, b) => a + Math.abs(b), 0) };
  }
}
console.log(JSON.stringify({ ...result, checkpointSums: sums }));
