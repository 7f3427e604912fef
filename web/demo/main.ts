/**
 * The demo page: trains the shared network (net.ts) from scratch, or fine-tunes
 * the bundled pretrained ONNX model (finetune.ts), on onnxruntime-web with the
 * provider the user picks; draws the loss as it falls, keeps checkpoints and
 * events in OPFS and offers them for download.
 * `?mode=scratch|finetune&ep=wasm|webgpu&steps=N&seed=S` starts a run at once (the
 * browser test drives the page that way); the run's results land in
 * `<pre id="result">` as JSON, errors in `<pre id="error">`.
 * @module
 */
import { defaultFileSystem } from "../../src/fs/default.ts";
import { downloadFile } from "../../src/fs/download.ts";
import type { FileSystem } from "../../src/fs/types.ts";
import { createRuntime } from "../../src/runtime/create.ts";
import type { ExecutionProvider } from "../../src/runtime/types.ts";
import { runFineTune } from "./finetune.ts";
import { type DigitsJson, parseDigits, runDemo } from "./net.ts";

type Mode = "scratch" | "finetune";
/** Files of a finished run that the download buttons offer. */
interface RunFiles {
  checkpoint: string | null;
  eventFile: string | null;
  exported?: string;
}

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const ui = {
  form: $<HTMLFormElement>("controls"),
  mode: $<HTMLSelectElement>("mode"),
  ep: $<HTMLSelectElement>("ep"),
  steps: $<HTMLInputElement>("steps"),
  seed: $<HTMLInputElement>("seed"),
  train: $<HTMLButtonElement>("train"),
  clear: $<HTMLButtonElement>("clear"),
  status: $("status"),
  curve: document.getElementById("curve") as unknown as SVGSVGElement,
  checkpoint: $<HTMLButtonElement>("download-checkpoint"),
  events: $<HTMLButtonElement>("download-events"),
  model: $<HTMLButtonElement>("download-model"),
  log: $("log"),
  result: $("result"),
  error: $("error"),
};

/** The folder every run's logdir goes under, in OPFS. */
const RUNS = "runs";
// onnxruntime-web resolves a relative wasmPaths against its own module, so give it
// the absolute URL of this bundle's folder, where build_demo.mjs put its files.
const WASM_PATHS = new URL("./", import.meta.url).href;
/** The pretrained digits 0-4 model that build_demo.mjs copies beside the bundle. */
const PRETRAINED = "pretrained_digits04.onnx";
/** A sensible number of steps for each mode, put in the form when the mode changes. */
const DEFAULT_STEPS: Record<Mode, number> = { scratch: 60, finetune: 200 };

let last: { fs: FileSystem; result: RunFiles } | undefined;

ui.form.addEventListener("submit", (e) => {
  e.preventDefault();
  void start(ui.mode.value as Mode, ui.ep.value as ExecutionProvider, Number(ui.steps.value), Number(ui.seed.value));
});
ui.mode.addEventListener("change", () => (ui.steps.value = String(DEFAULT_STEPS[ui.mode.value as Mode] ?? ui.steps.value)));
ui.checkpoint.addEventListener("click", () => offer(last?.result.checkpoint));
ui.events.addEventListener("click", () => offer(last?.result.eventFile));
ui.model.addEventListener("click", () => offer(last?.result.exported));
ui.clear.addEventListener("click", () => void clearRuns());
addEventListener("unhandledrejection", (e) => showError(e.reason));

const query = new URLSearchParams(location.search);
if (query.has("ep")) {
  ui.mode.value = query.get("mode") ?? "scratch";
  ui.ep.value = query.get("ep")!;
  ui.steps.value = query.get("steps") ?? ui.steps.value;
  ui.seed.value = query.get("seed") ?? ui.seed.value;
  void start((query.get("mode") ?? "scratch") as Mode, query.get("ep") as ExecutionProvider, Number(ui.steps.value), Number(ui.seed.value));
}

async function start(mode: Mode, ep: ExecutionProvider, steps: number, seed: number): Promise<void> {
  ui.train.disabled = ui.checkpoint.disabled = ui.events.disabled = ui.model.disabled = true;
  ui.model.hidden = mode !== "finetune";
  ui.result.textContent = ui.error.textContent = ui.log.textContent = "";
  try {
    if (mode !== "scratch" && mode !== "finetune") throw new Error(`Unknown mode ${JSON.stringify(mode)}: use scratch or finetune`);
    if (ep !== "wasm" && ep !== "webgpu") throw new Error(`Unknown execution provider ${JSON.stringify(ep)}: use wasm or webgpu`);
    if (!(Number.isInteger(steps) && steps >= 2)) throw new Error(`Steps must be an integer of at least 2, got ${steps}`);
    if (ep === "webgpu") await requireAdapter();
    setStatus("Loading digits…");
    const digits = parseDigits((await fetchAsset(mode === "finetune" ? "digits_5_9.json" : "digits.json").then((r) => r.json())) as DigitsJson);
    const pretrained = mode === "finetune" ? new Uint8Array(await (await fetchAsset(PRETRAINED)).arrayBuffer()) : undefined;
    setStatus(`Loading onnxruntime-web (${ep})…`);
    const runtime = await createRuntime({ package: "onnxruntime-web", executionProvider: ep, wasmPaths: WASM_PATHS });
    const fs = await defaultFileSystem();
    await fs.mkdirp(RUNS);
    const logdir = fs.join(RUNS, `${mode}-${ep}-${new Date().toISOString().replace(/[:.]/g, "-")}`);
    const losses: number[] = [];
    drawCurve(losses, steps);
    setStatus(
      pretrained
        ? `Importing ${PRETRAINED} (${(pretrained.length / 1024).toFixed(0)} KiB), compiling the train step and fine-tuning on ${runtime.description}…`
        : `Compiling the train step and training on ${runtime.description}…`,
    );
    const common = {
      runtime, fs, logdir, digits, steps, seed,
      log: (line: string) => (ui.log.textContent += line + "\n"),
      onStep: ({ step, loss, secPerStep }: { step: number; loss: number; secPerStep: number }) => {
        losses.push(loss);
        drawCurve(losses, steps);
        setStatus(`Step ${step}/${steps}: loss ${loss.toFixed(4)} (${(secPerStep * 1000).toFixed(0)} ms/step) on ${runtime.description}`);
      },
    };
    let done: string;
    let result: RunFiles & object;
    if (pretrained) {
      const r = await runFineTune({ ...common, model: pretrained });
      result = r;
      const frozen = r.frozen.changed.length === 0
        ? `all ${r.frozen.names.length} imported weights bit-identical to the file`
        : `imported weights changed: ${r.frozen.changed.join(", ")}`;
      done = `Done: fine-tuned ${r.trained.join(", ")} for ${r.steps} steps, final loss ${r.finalLoss.toFixed(4)}; ` +
        `held-out accuracy on 5–9 ${(100 * r.heldOutAccuracy).toFixed(1)}% (${r.heldOutCount} digits); ${frozen}; ` +
        `median ${r.medianStepMs.toFixed(1)} ms/step on ${r.runtime}.`;
    } else {
      const r = await runDemo(common);
      result = r;
      done = `Done: ${r.steps} steps, final loss ${r.finalLoss.toFixed(4)}, median ${r.medianStepMs.toFixed(1)} ms/step on ${r.runtime}.`;
    }
    last = { fs, result };
    ui.checkpoint.disabled = !result.checkpoint;
    ui.events.disabled = !result.eventFile;
    ui.model.disabled = !result.exported;
    setStatus(`${done} Files are in OPFS under ${logdir}.`);
    ui.result.textContent = JSON.stringify({ ...result, fs: fs.constructor.name, logdir }, null, 1);
  } catch (err) {
    showError(err);
  } finally {
    ui.train.disabled = false;
  }
}

async function fetchAsset(name: string): Promise<Response> {
  const response = await fetch(new URL(name, import.meta.url));
  if (!response.ok) throw new Error(`Demo file ${response.url}: HTTP ${response.status} (run scripts/build_demo.mjs)`);
  return response;
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
