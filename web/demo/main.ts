/**
 * The demo page: trains the shared network (net.ts) on onnxruntime-web with the
 * provider the user picks, draws the loss as it falls, keeps checkpoints and
 * events in OPFS and offers them for download. `?ep=wasm|webgpu&steps=N&seed=S`
 * starts a run at once (the browser test drives the page that way); the run's
 * results land in `<pre id="result">` as JSON, errors in `<pre id="error">`.
 * @module
 */
import { defaultFileSystem } from "../../src/fs/default.ts";
import { downloadFile } from "../../src/fs/download.ts";
import type { FileSystem } from "../../src/fs/types.ts";
import { createRuntime } from "../../src/runtime/create.ts";
import type { ExecutionProvider } from "../../src/runtime/types.ts";
import { type DemoResult, type DigitsJson, parseDigits, runDemo } from "./net.ts";

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const ui = {
  form: $<HTMLFormElement>("controls"),
  ep: $<HTMLSelectElement>("ep"),
  steps: $<HTMLInputElement>("steps"),
  seed: $<HTMLInputElement>("seed"),
  train: $<HTMLButtonElement>("train"),
  clear: $<HTMLButtonElement>("clear"),
  status: $("status"),
  curve: document.getElementById("curve") as unknown as SVGSVGElement,
  checkpoint: $<HTMLButtonElement>("download-checkpoint"),
  events: $<HTMLButtonElement>("download-events"),
  log: $("log"),
  result: $("result"),
  error: $("error"),
};

/** The folder every run's logdir goes under, in OPFS. */
const RUNS = "runs";
// onnxruntime-web resolves a relative wasmPaths against its own module, so give it
// the absolute URL of this bundle's folder, where build_demo.mjs put its files.
const WASM_PATHS = new URL("./", import.meta.url).href;

let last: { fs: FileSystem; result: DemoResult } | undefined;

ui.form.addEventListener("submit", (e) => {
  e.preventDefault();
  void start(ui.ep.value as ExecutionProvider, Number(ui.steps.value), Number(ui.seed.value));
});
ui.checkpoint.addEventListener("click", () => offer(last?.result.checkpoint));
ui.events.addEventListener("click", () => offer(last?.result.eventFile));
ui.clear.addEventListener("click", () => void clearRuns());
addEventListener("unhandledrejection", (e) => showError(e.reason));

const query = new URLSearchParams(location.search);
if (query.has("ep")) {
  ui.ep.value = query.get("ep")!;
  ui.steps.value = query.get("steps") ?? ui.steps.value;
  ui.seed.value = query.get("seed") ?? ui.seed.value;
  void start(ui.ep.value as ExecutionProvider, Number(ui.steps.value), Number(ui.seed.value));
}

async function start(ep: ExecutionProvider, steps: number, seed: number): Promise<void> {
  ui.train.disabled = ui.checkpoint.disabled = ui.events.disabled = true;
  ui.result.textContent = ui.error.textContent = ui.log.textContent = "";
  try {
    if (ep !== "wasm" && ep !== "webgpu") throw new Error(`Unknown execution provider ${JSON.stringify(ep)}: use wasm or webgpu`);
    if (!(Number.isInteger(steps) && steps >= 2)) throw new Error(`Steps must be an integer of at least 2, got ${steps}`);
    if (ep === "webgpu") await requireAdapter();
    setStatus("Loading digits…");
    const response = await fetch(new URL("digits.json", import.meta.url));
    if (!response.ok) throw new Error(`Digits file ${response.url}: HTTP ${response.status} (run scripts/build_demo.mjs)`);
    const digits = parseDigits((await response.json()) as DigitsJson);
    setStatus(`Loading onnxruntime-web (${ep})…`);
    const runtime = await createRuntime({ package: "onnxruntime-web", executionProvider: ep, wasmPaths: WASM_PATHS });
    const fs = await defaultFileSystem();
    await fs.mkdirp(RUNS);
    const logdir = fs.join(RUNS, `${ep}-${new Date().toISOString().replace(/[:.]/g, "-")}`);
    const losses: number[] = [];
    drawCurve(losses, steps);
    setStatus(`Compiling the train step and training on ${runtime.description}…`);
    const result = await runDemo({
      runtime, fs, logdir, digits, steps, seed,
      log: (line) => (ui.log.textContent += line + "\n"),
      onStep: ({ step, loss, secPerStep }) => {
        losses.push(loss);
        drawCurve(losses, steps);
        setStatus(`Step ${step}/${steps}: loss ${loss.toFixed(4)} (${(secPerStep * 1000).toFixed(0)} ms/step) on ${runtime.description}`);
      },
    });
    last = { fs, result };
    ui.checkpoint.disabled = !result.checkpoint;
    ui.events.disabled = !result.eventFile;
    setStatus(
      `Done: ${result.steps} steps, final loss ${result.finalLoss.toFixed(4)}, median ${result.medianStepMs.toFixed(1)} ms/step ` +
        `on ${result.runtime}. Files are in OPFS under ${logdir}.`,
    );
    ui.result.textContent = JSON.stringify({ ...result, fs: fs.constructor.name, logdir }, null, 1);
  } catch (err) {
    showError(err);
  } finally {
    ui.train.disabled = false;
  }
}

async function requireAdapter(): Promise<void> {
  const gpu = (navigator as { gpu?: { requestAdapter(): Promise<unknown> } }).gpu;
  if (!gpu) throw new Error("No WebGPU adapter: this browser has no navigator.gpu (try Chrome or Edge, or pick wasm)");
  if (!(await gpu.requestAdapter())) throw new Error("No WebGPU adapter: navigator.gpu.requestAdapter() returned null (pick wasm)");
}

async function offer(path: string | null | undefined): Promise<void> {
  if (!last || !path) return;
  try {
    await downloadFile(last.fs, path);
  } catch (err) {
    showError(err);
  }
}

async function clearRuns(): Promise<void> {
  try {
    const root = await navigator.storage.getDirectory();
    await root.removeEntry(RUNS, { recursive: true }).catch((err: DOMException) => {
      if (err.name !== "NotFoundError") throw err;
    });
    last = undefined;
    ui.checkpoint.disabled = ui.events.disabled = true;
    setStatus("Stored runs deleted.");
  } catch (err) {
    showError(err);
  }
}

function setStatus(text: string): void {
  ui.status.textContent = text;
}

function showError(err: unknown): void {
  const lines: string[] = [];
  for (let e = err; e; e = (e as { cause?: unknown }).cause) lines.push((e as Error).stack ?? String(e));
  ui.error.textContent = lines.join("\ncaused by: ");
  setStatus("Failed: see the error below.");
}

/** Loss per step as an inline SVG line chart (no chart library). */
function drawCurve(losses: number[], steps: number): void {
  const W = 720, H = 260, left = 48, right = 12, top = 14, bottom = 30;
  const max = Math.max(2.5, ...losses), min = 0;
  const x = (i: number) => left + ((W - left - right) * i) / Math.max(1, steps - 1);
  const y = (v: number) => top + (H - top - bottom) * (1 - (v - min) / (max - min));
  const ns = "http://www.w3.org/2000/svg";
  const el = (tag: string, attrs: Record<string, string | number>, text?: string) => {
    const node = document.createElementNS(ns, tag);
    for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
    if (text !== undefined) node.textContent = text;
    return node;
  };
  const nodes: Element[] = [];
  for (let k = 0; k <= 4; k++) {
    const v = min + ((max - min) * k) / 4;
    nodes.push(el("line", { x1: left, x2: W - right, y1: y(v), y2: y(v), stroke: "#e3e7ee" }));
    nodes.push(el("text", { x: left - 6, y: y(v) + 4, "text-anchor": "end", "font-size": 11, fill: "#5b6575" }, v.toFixed(1)));
  }
  nodes.push(el("text", { x: left, y: H - 8, "font-size": 11, fill: "#5b6575" }, "step 1"));
  nodes.push(el("text", { x: W - right, y: H - 8, "text-anchor": "end", "font-size": 11, fill: "#5b6575" }, `step ${steps}`));
  nodes.push(el("text", { x: (W + left) / 2, y: H - 8, "text-anchor": "middle", "font-size": 11, fill: "#5b6575" }, "loss (softmax cross-entropy)"));
  if (losses.length > 0) {
    const points = losses.map((v, i) => `${x(i).toFixed(1)},${y(v).toFixed(1)}`).join(" ");
    nodes.push(el("polyline", { points, fill: "none", stroke: "#2f6fdb", "stroke-width": 2, "stroke-linejoin": "round" }));
    const i = losses.length - 1;
    nodes.push(el("circle", { cx: x(i), cy: y(losses[i]), r: 3.5, fill: "#2f6fdb" }));
  }
  ui.curve.replaceChildren(...nodes);
}
