/**
 * The demo's fine-tuning run on onnxruntime-node's CPU provider, as the browser
 * test's reference: same pretrained model, digits, seed and batches as the page.
 * Prints the result as one JSON line.
 * Usage: tsx web/demo/finetune_reference.ts --model web/demo/pretrained_digits04.onnx
 *          --digits web/demo/dist/digits_5_9.json --steps 4 --seed 1
 * @module
 */
import { readFileSync } from "node:fs";
import { MemoryFileSystem } from "../../src/fs/memory_fs.ts";
import { createRuntime } from "../../src/runtime/create.ts";
import { runFineTune } from "./finetune.ts";
import { type DigitsJson, parseDigits } from "./net.ts";

const args = process.argv.slice(2);
const opt = (name: string, fallback: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : fallback;
};

const digits = parseDigits(JSON.parse(readFileSync(opt("digits", "web/demo/dist/digits_5_9.json"), "utf8")) as DigitsJson);
const model = new Uint8Array(readFileSync(opt("model", "web/demo/pretrained_digits04.onnx")));
const runtime = await createRuntime({ package: "onnxruntime-node", executionProvider: "cpu", intraOpNumThreads: 2 });
const fs = new MemoryFileSystem();
await fs.mkdirp("runs");
const result = await runFineTune({
  runtime, fs, logdir: "runs/reference", model, digits, steps: Number(opt("steps", "4")), seed: Number(opt("seed", "1")),
  learningRate: args.includes("--learning-rate") ? Number(opt("learning-rate", "")) : undefined,
});
console.log(JSON.stringify(result));
