#!/usr/bin/env node
// Builds the browser demo into web/demo/dist/: the page's script bundled with
// esbuild (each onnxruntime-web build in its own chunk, loaded only when its
// provider is picked), onnxruntime-web's .wasm/.mjs runtime files beside it, and
// a few hundred real digits from the `mnist` package as digits.json, more of the
// digits 5-9 as digits_5_9.json for the fine-tuning mode, and the pretrained digits
// 0-4 model (web/demo/pretrained_digits04.onnx, made by scripts/make_demo_onnx.ts).
// Usage: node scripts/build_demo.mjs [--digits-per-class N] [--fine-tune-per-class N]
import { build } from "esbuild";
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const demo = join(root, "web", "demo");
const out = join(demo, "dist");
const require = createRequire(join(root, "package.json"));
const arg = process.argv.indexOf("--digits-per-class");
const perClass = arg > 0 ? Number(process.argv[arg + 1]) : 32;
const ftArg = process.argv.indexOf("--fine-tune-per-class");
const fineTunePerClass = ftArg > 0 ? Number(process.argv[ftArg + 1]) : 96;
const PRETRAINED = "pretrained_digits04.onnx";

mkdirSync(out, { recursive: true });
const started = performance.now();

await build({
  entryPoints: [join(demo, "main.ts")],
  outdir: out,
  bundle: true,
  splitting: true,
  format: "esm",
  platform: "browser",
  target: "es2022",
  sourcemap: true,
  // The extern-wasm builds of onnxruntime-web load their .mjs glue and .wasm from
  // `env.wasm.wasmPaths` (the files copied below) instead of inlining the glue,
  // so its worker threads, where the page is cross-origin isolated, load a real file.
  conditions: ["onnxruntime-web-use-extern-wasm"],
  // Reached only through runtime checks that a browser never passes (Node adapters).
  external: ["onnxruntime-node", "node:*"],
  logLevel: "warning",
});

// Copy only what changed: the .wasm files are tens of MB each.
// package.json is not in its exports map; one of the exported runtime files is.
const ortDist = dirname(require.resolve("onnxruntime-web/ort-wasm-simd-threaded.wasm"));
const runtimeFiles = readdirSync(ortDist).filter((f) => /^ort-wasm.*\.(wasm|mjs)$/.test(f));
for (const f of runtimeFiles) {
  const src = join(ortDist, f), dst = join(out, f);
  const s = statSync(src);
  if (existsSync(dst) && statSync(dst).size === s.size && statSync(dst).mtimeMs >= s.mtimeMs) continue;
  copyFileSync(src, dst);
}

writeFileSync(join(out, "digits.json"), JSON.stringify(pickDigits(perClass)));
writeFileSync(join(out, "digits_5_9.json"), JSON.stringify(pickDigits(fineTunePerClass, [5, 6, 7, 8, 9])));
if (!existsSync(join(demo, PRETRAINED))) throw new Error(`build_demo: web/demo/${PRETRAINED} is missing (make it with npx tsx scripts/make_demo_onnx.ts)`);
copyFileSync(join(demo, PRETRAINED), join(out, PRETRAINED));
console.log(
  `build_demo: web/demo/dist (${runtimeFiles.length} runtime files, ${perClass * 10} digits, ${fineTunePerClass * 5} digits 5-9, ${PRETRAINED}) ` +
    `in ${((performance.now() - started) / 1000).toFixed(1)} s`,
);

/** `perClass` digits of each class in `classes`, shuffled with a fixed seed, pixels snapped to MNIST's 0-255. */
function pickDigits(perClass, classes = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]) {
  const side = 28, px = side * side;
  const all = [];
  for (const d of classes) {
    const data = JSON.parse(readFileSync(require.resolve(`mnist/src/digits/${d}.json`), "utf8")).data;
    const available = Math.floor(data.length / px);
    if (available < perClass) throw new Error(`mnist digit ${d}: only ${available} samples, asked for ${perClass}`);
    for (let i = 0; i < perClass; i++) all.push({ label: d, pixels: data.slice(i * px, (i + 1) * px) });
  }
  // A fixed LCG, so every build (and the Node reference run) sees the same order.
  let state = 12345;
  const rand = () => (state = (Math.imul(state, 1103515245) + 12345) >>> 0) / 2 ** 32;
  for (let i = all.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [all[i], all[j]] = [all[j], all[i]];
  }
  const bytes = new Uint8Array(all.length * px);
  all.forEach((d, i) => d.pixels.forEach((v, j) => (bytes[i * px + j] = Math.max(0, Math.min(255, Math.round(v * 255))))));
  return { side, count: all.length, labels: all.map((d) => d.label), pixels: Buffer.from(bytes).toString("base64") };
}
