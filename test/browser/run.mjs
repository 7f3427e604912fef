#!/usr/bin/env node
// The browser suite: builds the demo page, serves it on localhost, drives Debian's
// Chromium with playwright-core, and checks that training in the page
//   (a) on onnxruntime-web's wasm EP lowers the loss and matches, step for step, the
//       same network run by onnxruntime-node on the CPU (same seed, same batches);
//   (b) on its WebGPU EP (SwiftShader where there is no GPU) does the same while the
//       parameters stay in GPU buffers;
//   (c) offers a checkpoint (safetensors) and a TensorBoard event file (TFRecord)
//       for download, and the checkpoint holds the reference run's values;
//   (d) in its fine-tuning mode imports the bundled pretrained ONNX model frozen,
//       trains a new head on the digits 5-9 with the loss matching onnxruntime-node
//       step for step, leaves the imported weights bit-identical and scores the
//       exported model on held-out digits as the Node run does;
// and that OpfsFileSystem keeps the FileSystem contract on the real OPFS.
// Prints one line per case, screenshots to test-output/browser-<ep>.png, and ends with
// "browser: N passed, N failed, N skipped". Exits non-zero on failures.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import { createRequire } from "node:module";
import { dirname, extname, join, normalize, sep } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const demoDir = join(root, "web", "demo");
const outDir = join(root, "test-output");
const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const STEPS = 8, SEED = 1, RTOL = 1e-3, ATOL = 1e-5;
const FT_STEPS = 4;
const PAGE_TIMEOUT_MS = 150_000;
// DESIGN.md fact 5: headless Chromium gets a WebGPU adapter through SwiftShader with these.
const FLAGS = [
  "--no-sandbox", "--disable-gpu-sandbox", "--enable-unsafe-webgpu", "--enable-features=Vulkan", "--use-vulkan=swiftshader",
  "--use-webgpu-adapter=swiftshader", "--disable-background-networking", "--disable-component-update", "--disable-sync",
  "--no-first-run",
];
const MIME = {
  ".html": "text/html; charset=utf-8", ".js": "text/javascript", ".mjs": "text/javascript", ".wasm": "application/wasm",
  ".json": "application/json", ".map": "application/json", ".css": "text/css", ".png": "image/png", ".svg": "image/svg+xml",
};

let passed = 0, failed = 0, skipped = 0;
let crcTable; // CRC32C's table, built on first use
const tag = (ep) => `[browser chromium] [backend onnxruntime-web ${ep}]`;
const ok = (name) => (passed++, console.log(`ok   ${name}`));
const fail = (name, why) => (failed++, console.log(`FAIL ${name}: ${why}`));
const skip = (name, why) => (skipped++, console.log(`SKIP ${name}: ${why}`));
const finish = () => {
  console.log(`browser: ${passed} passed, ${failed} failed, ${skipped} skipped`);
  process.exit(failed > 0 ? 1 : 0);
};

// --- prerequisites -----------------------------------------------------------
const require = createRequire(join(root, "package.json"));
if (!existsSync(CHROMIUM)) {
  skip("[browser] all browser cases", `no Chromium at ${CHROMIUM} (apt-get install chromium, or set CHROMIUM_PATH)`);
  finish();
}
let chromium;
try {
  ({ chromium } = require("playwright-core"));
} catch (err) {
  skip("[browser] all browser cases", `playwright-core is not installed (npm install): ${err.message.split("\n")[0]}`);
  finish();
}

const build = spawnSync(process.execPath, [join(root, "scripts", "build_demo.mjs")], { cwd: root, encoding: "utf8" });
if (build.status !== 0) {
  fail("[browser] build the demo (scripts/build_demo.mjs)", (build.stderr || build.stdout).trim().slice(-2000));
  finish();
}
process.stdout.write(build.stdout);

const reference = runReference();
const fineTuneReference = runFineTuneReference();
mkdirSync(outDir, { recursive: true });
const server = await serve(demoDir);
const base = `http://127.0.0.1:${server.address().port}`;
let browser;
try {
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: FLAGS });
} catch (err) {
  skip("[browser] all browser cases", `Chromium at ${CHROMIUM} does not start under playwright-core: ${err.message.split("\n")[0]}`);
  server.close();
  finish();
}

try {
  await runFsCase();
  for (const ep of ["wasm", "webgpu"]) await runCase(ep);
  for (const ep of ["wasm", "webgpu"]) await runFineTuneCase(ep);
} finally {
  await browser.close();
  server.close();
}
finish();

// --- the OPFS adapter on its own --------------------------------------------------
async function runFsCase() {
  const name = "[browser chromium] OpfsFileSystem: nested dirs, atomic replace, append across sync, exclusive create, errors naming the path";
  const { build } = await import("esbuild");
  const testDir = join(demoDir, "dist", "test");
  try {
    await build({
      // Splitting keeps default.ts's Node adapter (and its node: imports) in a chunk the page never loads.
      entryPoints: [join(root, "test", "browser", "opfs_page.ts")], outdir: testDir, bundle: true, splitting: true,
      format: "esm", platform: "browser", target: "es2022", external: ["node:*"], logLevel: "error",
    });
    writeFileSync(join(testDir, "opfs.html"), '<!doctype html><pre id="result"></pre><script type="module" src="opfs_page.js"></script>');
  } catch (err) {
    return fail(name, `cannot bundle test/browser/opfs_page.ts: ${err.message}`);
  }
  const context = await browser.newContext();
  try {
    const page = await context.newPage();
    await page.goto(`${base}/dist/test/opfs.html`);
    await page.waitForFunction(() => document.getElementById("result")?.textContent, null, { timeout: 30_000 });
    const failures = JSON.parse(await page.textContent("#result"));
    if (failures.length) fail(name, failures.join("; "));
    else ok(name);
  } catch (err) {
    fail(name, err.message.split("\n")[0]);
  } finally {
    await context.close();
  }
}

// --- one provider --------------------------------------------------------------
async function runCase(ep) {
  const t = tag(ep);
  const trainName = `${t} ${STEPS} steps in the page: the loss falls and matches onnxruntime-node (cpu) step for step (rtol ${RTOL})`;
  const gpuName = `${t} parameters and optimizer slots stay in GPU buffers; per step only the batch goes up and the loss and summary come down`;
  const downloadName = `${t} download buttons give a safetensors checkpoint holding the reference values and a TFRecord event file`;
  const names = ep === "webgpu" ? [trainName, gpuName, downloadName] : [trainName, downloadName];
  if (reference.error) return names.forEach((n) => fail(n, `no Node reference: ${reference.error}`));

  for (const f of readdirSync(outDir)) if (f.startsWith(`browser-${ep}`)) rmSync(join(outDir, f), { force: true });
  const context = await browser.newContext({ acceptDownloads: true, viewport: { width: 900, height: 1100 } });
  const page = await context.newPage();
  const consoleErrors = [];
  page.on("console", (m) => m.type() === "error" && consoleErrors.push(m.text()));
  page.on("pageerror", (e) => consoleErrors.push(e.message));
  try {
    if (ep === "webgpu") {
      await page.goto(`${base}/index.html`);
      const adapter = await page.evaluate(async () => {
        if (!navigator.gpu) return "navigator.gpu is missing";
        const a = await navigator.gpu.requestAdapter();
        return a ? null : "navigator.gpu.requestAdapter() returned null";
      });
      if (adapter) {
        return names.forEach((n) => skip(n, `no WebGPU adapter in Chromium (${adapter}); it needs Vulkan: SwiftShader ships with Debian's chromium as /usr/lib/chromium/libvk_swiftshader.so`));
      }
    }
    const started = performance.now();
    await page.goto(`${base}/index.html?ep=${ep}&steps=${STEPS}&seed=${SEED}`);
    const settled = await page
      .waitForFunction(() => document.getElementById("result")?.textContent || document.getElementById("error")?.textContent, null, {
        timeout: PAGE_TIMEOUT_MS,
        polling: 250,
      })
      .then(() => null, (err) => err);
    const wallS = (performance.now() - started) / 1000;
    await page.screenshot({ path: join(outDir, `browser-${ep}.png`), fullPage: true });
    const errorText = await page.textContent("#error");
    if (settled || errorText) {
      const why = errorText || `no result within ${PAGE_TIMEOUT_MS / 1000} s (status: ${await page.textContent("#status")})`;
      return names.forEach((n) => fail(n, `${why.slice(0, 1500)}${consoleErrors.length ? `\n  console: ${consoleErrors.slice(0, 5).join("\n  ")}` : ""}`));
    }
    const result = JSON.parse(await page.textContent("#result"));
    console.log(
      `     ${ep}: ${result.runtime}, ${result.fs}; median ${result.medianStepMs.toFixed(1)} ms/step (first step ${result.stepMs[0].toFixed(0)} ms), ` +
        `page load to result ${wallS.toFixed(1)} s; Node cpu reference median ${reference.medianStepMs.toFixed(1)} ms/step`,
    );
    check(trainName, () => checkLosses(result));
    if (ep === "webgpu") check(gpuName, () => checkOnDevice(result));
    await checkAsync(downloadName, () => checkDownloads(page, result, ep));
  } finally {
    await context.close();
  }
}

// --- the fine-tuning mode on one provider ----------------------------------------
async function runFineTuneCase(ep) {
  const t = tag(ep);
  const lossName = `${t} fine-tune pretrained_digits04.onnx on 5-9, ${FT_STEPS} steps in the page: finite losses that fall and match onnxruntime-node (cpu) step for step (rtol ${RTOL})`;
  const frozenName = `${t} fine-tune: the imported weights stay bit-identical, only the new head trains${ep === "webgpu" ? " (its state in GPU buffers)" : ""}, and the exported model's held-out accuracy matches onnxruntime-node's`;
  const names = [lossName, frozenName];
  if (fineTuneReference.error) return names.forEach((n) => fail(n, `no Node reference: ${fineTuneReference.error}`));
  const run = await runPage(ep, `mode=finetune&ep=${ep}&steps=${FT_STEPS}&seed=${SEED}`, `browser-finetune-${ep}`);
  if (run.skip) return names.forEach((n) => skip(n, run.skip));
  if (run.error) return names.forEach((n) => fail(n, run.error));
  const r = run.result, ref = fineTuneReference;
  console.log(
    `     fine-tune ${ep}: ${r.runtime}, ${r.fs}; median ${r.medianStepMs.toFixed(1)} ms/step (first step ${r.stepMs[0].toFixed(0)} ms), ` +
      `held-out accuracy ${r.heldOutAccuracy.toFixed(4)} after ${r.steps} steps (node ${ref.heldOutAccuracy.toFixed(4)}), page load to result ${run.wallS.toFixed(1)} s`,
  );
  check(lossName, () => {
    const fmt = (xs) => xs.map((x) => x.toFixed(5)).join(", ");
    assert(r.losses.length === FT_STEPS, `expected ${FT_STEPS} losses, got ${r.losses.length}`);
    assert(r.losses.every(Number.isFinite), `a loss is not finite: ${fmt(r.losses)}`);
    assert(Math.min(...r.losses.slice(1)) < r.losses[0], `the loss never fell below the first step's: ${fmt(r.losses)}`);
    const bad = r.losses.findIndex((x, i) => !close(x, ref.losses[i]));
    assert(bad < 0, `step ${bad + 1} differs from onnxruntime-node: page ${fmt(r.losses)}; node ${fmt(ref.losses)}`);
  });
  check(frozenName, () => {
    assert(r.frozen.names.length > 0 && r.frozen.names.join() === ref.frozen.names.join(), `imported variables ${r.frozen.names}; node: ${ref.frozen.names}`);
    assert(r.frozen.changed.length === 0, `imported weights changed in the page: ${r.frozen.changed.join(", ")}`);
    assert(r.trained.join() === ref.trained.join() && r.trained.every((n) => n.startsWith("head_5_9/")), `trained ${r.trained}; node: ${ref.trained}`);
    if (ep === "webgpu") {
      const off = Object.entries(r.stateLocations).filter(([n, loc]) => n.startsWith("head_5_9/") && loc !== "gpu-buffer");
      assert(off.length === 0, `head state not in GPU buffers after the last step: ${off.map(([n, l]) => `${n} (${l})`).join(", ")}`);
    }
    // One borderline digit may flip between float32 kernels.
    const slack = 1 / r.heldOutCount + 1e-9;
    assert(r.heldOutCount === ref.heldOutCount && Math.abs(r.heldOutAccuracy - ref.heldOutAccuracy) <= slack,
      `held-out accuracy ${r.heldOutAccuracy} over ${r.heldOutCount} digits; node ${ref.heldOutAccuracy} over ${ref.heldOutCount}`);
  });
}

/** Opens the page with `query` and waits for its result: { result, wallS } or { error } or { skip }. */
async function runPage(ep, query, shot) {
  const context = await browser.newContext({ viewport: { width: 900, height: 1100 } });
  const page = await context.newPage();
  const consoleErrors = [];
  page.on("console", (m) => m.type() === "error" && consoleErrors.push(m.text()));
  page.on("pageerror", (e) => consoleErrors.push(e.message));
  try {
    if (ep === "webgpu") {
      await page.goto(`${base}/index.html`);
      const adapter = await page.evaluate(async () => (navigator.gpu && (await navigator.gpu.requestAdapter()) ? null : "no adapter"));
      if (adapter) return { skip: "no WebGPU adapter in Chromium (it needs Vulkan: SwiftShader ships with Debian's chromium)" };
    }
    const started = performance.now();
    await page.goto(`${base}/index.html?${query}`);
    const settled = await page
      .waitForFunction(() => document.getElementById("result")?.textContent || document.getElementById("error")?.textContent, null, {
        timeout: PAGE_TIMEOUT_MS,
        polling: 250,
      })
      .then(() => null, (err) => err);
    const wallS = (performance.now() - started) / 1000;
    await page.screenshot({ path: join(outDir, `${shot}.png`), fullPage: true });
    const errorText = await page.textContent("#error");
    if (settled || errorText) {
      const why = errorText || `no result within ${PAGE_TIMEOUT_MS / 1000} s (status: ${await page.textContent("#status")})`;
      return { error: `${why.slice(0, 1500)}${consoleErrors.length ? `\n  console: ${consoleErrors.slice(0, 5).join("\n  ")}` : ""}` };
    }
    return { result: JSON.parse(await page.textContent("#result")), wallS };
  } finally {
    await context.close();
  }
}

function check(name, fn) {
  try {
    fn();
    ok(name);
  } catch (err) {
    fail(name, err.message);
  }
}

async function checkAsync(name, fn) {
  try {
    await fn();
    ok(name);
  } catch (err) {
    fail(name, err.message);
  }
}

function assert(cond, message) {
  if (!cond) throw new Error(message);
}

function close(a, b, rtol = RTOL, atol = ATOL) {
  return Math.abs(a - b) <= atol + rtol * Math.abs(b);
}

function checkLosses(r) {
  const fmt = (xs) => xs.map((x) => x.toFixed(5)).join(", ");
  assert(r.losses.length === STEPS, `expected ${STEPS} losses, got ${r.losses.length}`);
  const tail = r.losses.slice(-3).reduce((a, b) => a + b, 0) / 3;
  assert(tail < r.losses[0], `the loss did not fall: first ${r.losses[0]}, mean of the last 3 ${tail} (${fmt(r.losses)})`);
  const bad = r.losses.findIndex((x, i) => !close(x, reference.losses[i]));
  assert(bad < 0, `step ${bad + 1} differs from onnxruntime-node: page ${fmt(r.losses)}; node ${fmt(reference.losses)}`);
}

function checkOnDevice(r) {
  const off = Object.entries(r.stateLocations).filter(([, loc]) => loc !== "gpu-buffer");
  assert(Object.keys(r.stateLocations).length > 0, "the page reported no state locations");
  assert(off.length === 0, `not in GPU buffers after the last step: ${off.map(([n, l]) => `${n} (${l})`).join(", ")}`);
  const p = r.transfers.perStep;
  const batchBytes = r.batchSize * (28 * 28 + 10) * 4;
  // Up: images and labels; down: the loss and the one scalar summary (4 bytes each).
  assert(p.fromHostBytes === batchBytes, `per step ${p.fromHostBytes} bytes went to the device, expected the batch's ${batchBytes}`);
  assert(p.toHostBytes === 8, `per step ${p.toHostBytes} bytes came back, expected 8 (loss + summary); the parameters are ${r.parameterBytes} bytes`);
}

async function checkDownloads(page, r, ep) {
  assert(r.checkpoint && r.eventFile, `the run reported checkpoint ${r.checkpoint} and event file ${r.eventFile}`);
  const ckpt = await download(page, "#download-checkpoint", ep);
  assert(ckpt.name === r.checkpoint.split("/").pop(), `checkpoint offered as ${ckpt.name}, expected ${r.checkpoint.split("/").pop()}`);
  const tensors = parseSafetensors(ckpt.bytes);
  for (const [name, ref] of Object.entries(reference.checkpointSums)) {
    const t = tensors.get(name);
    assert(t, `checkpoint lacks ${name} (has ${[...tensors.keys()].join(", ")})`);
    let sum = 0, l1 = 0;
    for (const v of t) (sum += v), (l1 += Math.abs(v));
    assert(close(l1, ref.l1) && Math.abs(sum - ref.sum) <= 1e-3 * ref.l1 + 1e-6, `${name}: sum ${sum}, L1 ${l1}; node: sum ${ref.sum}, L1 ${ref.l1}`);
  }
  const events = await download(page, "#download-events", ep);
  assert(events.name.startsWith("events.out.tfevents."), `event file offered as ${events.name}`);
  const records = parseTfRecords(events.bytes);
  const text = (b) => Buffer.from(b).toString("latin1");
  assert(text(records[0]).includes("brain.Event:2"), "the first record is not the file-version event");
  const scalars = records.filter((rec) => text(rec).includes("losses/total_loss")).length;
  assert(scalars === STEPS, `expected ${STEPS} losses/total_loss summaries, found ${scalars} in ${records.length} records`);
}

async function download(page, selector, ep) {
  const [d] = await Promise.all([page.waitForEvent("download", { timeout: 30_000 }), page.click(selector)]);
  const name = d.suggestedFilename();
  const path = join(outDir, `browser-${ep}-${name}`);
  await d.saveAs(path);
  return { name, bytes: new Uint8Array(readFileSync(path)) };
}

/** Parses a safetensors file into name → Float32Array (F32 tensors only), checking the header. */
function parseSafetensors(bytes) {
  assert(bytes.length >= 8, `checkpoint of ${bytes.length} bytes is too short`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = Number(view.getBigUint64(0, true));
  assert(8 + n <= bytes.length, `safetensors header length ${n} runs past the file (${bytes.length} bytes)`);
  const header = JSON.parse(Buffer.from(bytes.subarray(8, 8 + n)).toString("utf8"));
  const out = new Map();
  const dataStart = 8 + n;
  for (const [name, info] of Object.entries(header)) {
    if (name === "__metadata__") continue;
    const [begin, end] = info.data_offsets;
    assert(dataStart + end <= bytes.length && begin <= end, `${name}: data_offsets ${begin}..${end} run past the file`);
    const count = info.shape.reduce((a, b) => a * b, 1);
    if (info.dtype !== "F32") continue;
    assert(end - begin === count * 4, `${name}: ${end - begin} bytes for shape [${info.shape}]`);
    const copy = bytes.slice(dataStart + begin, dataStart + end);
    out.set(name, new Float32Array(copy.buffer));
  }
  return out;
}

/** Splits TFRecord framing, checking both masked CRC32C checksums of every record. */
function parseTfRecords(bytes) {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const records = [];
  for (let at = 0; at < bytes.length;) {
    assert(at + 12 <= bytes.length, `truncated record header at byte ${at}`);
    const len = Number(view.getBigUint64(at, true));
    assert(view.getUint32(at + 8, true) === maskedCrc(bytes.subarray(at, at + 8)), `bad length CRC at byte ${at}`);
    const data = bytes.subarray(at + 12, at + 12 + len);
    assert(at + 16 + len <= bytes.length, `truncated record at byte ${at}`);
    assert(view.getUint32(at + 12 + len, true) === maskedCrc(data), `bad data CRC in the record at byte ${at}`);
    records.push(data);
    at += 16 + len;
  }
  assert(records.length > 0, "the event file has no records");
  return records;
}

function maskedCrc(data) {
  crcTable ??= Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  let crc = 0xffffffff;
  for (const b of data) crc = crcTable[(crc ^ b) & 0xff] ^ (crc >>> 8);
  crc = (crc ^ 0xffffffff) >>> 0;
  return ((((crc >>> 15) | (crc << 17)) >>> 0) + 0xa282ead8) >>> 0;
}

// --- helpers -----------------------------------------------------------------
function runReference() {
  const tsx = join(root, "node_modules", ".bin", "tsx");
  const args = ["web/demo/reference.ts", "--digits", "web/demo/dist/digits.json", "--steps", String(STEPS), "--seed", String(SEED)];
  const r = spawnSync(tsx, args, { cwd: root, encoding: "utf8" });
  if (r.status !== 0) return { error: `tsx web/demo/reference.ts exited ${r.status}: ${(r.stderr || r.stdout).trim().slice(-1500)}` };
  try {
    return JSON.parse(r.stdout.trim().split("\n").pop());
  } catch (err) {
    return { error: `cannot parse the reference output: ${err.message}` };
  }
}

function runFineTuneReference() {
  const tsx = join(root, "node_modules", ".bin", "tsx");
  const args = [
    "web/demo/finetune_reference.ts", "--model", "web/demo/pretrained_digits04.onnx", "--digits", "web/demo/dist/digits_5_9.json",
    "--steps", String(FT_STEPS), "--seed", String(SEED),
  ];
  const r = spawnSync(tsx, args, { cwd: root, encoding: "utf8" });
  if (r.status !== 0) return { error: `tsx web/demo/finetune_reference.ts exited ${r.status}: ${(r.stderr || r.stdout).trim().slice(-1500)}` };
  try {
    return JSON.parse(r.stdout.trim().split("\n").pop());
  } catch (err) {
    return { error: `cannot parse the fine-tuning reference output: ${err.message}` };
  }
}

function serve(dir) {
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://localhost");
    const file = normalize(join(dir, decodeURIComponent(url.pathname === "/" ? "/index.html" : url.pathname)));
    if (!(file === dir || file.startsWith(dir + sep)) || !existsSync(file) || !statSync(file).isFile()) {
      res.writeHead(404, { "content-type": "text/plain" }).end(`Not found: ${url.pathname}`);
      return;
    }
    res.writeHead(200, { "content-type": MIME[extname(file)] ?? "application/octet-stream", "cache-control": "no-store" });
    res.end(readFileSync(file));
  });
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve(server)));
}
