// `npm run bench`: slimtrain's VGG-16 train step against PyTorch's, same work, same
// machine, same run. Each side runs in its own child process (so peak RSS is its
// own); the table gives ms/step, images/s, GFLOP/s, the ratio to PyTorch, peak RSS
// and compile time, plus the machine's fp32 GEMM peak through ONNX Runtime.
// Usage: tsx bench/bench.ts [--configs seed,main,224x32] [--steps N] [--steps-per-run k] [--ep cpu|webgpu]
//                           [--torch-device cpu|cuda] [--threads N] [--no-torch]
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { cpus, totalmem } from "node:os";

interface Config { name: string; batch: number; size: number; channels: number; classes: number; fcPadding: string; steps: number; warmup: number }
const CONFIGS: Record<string, Config> = {
  seed: { name: "seed scale: batch 2, 224x224x3, 1000 classes", batch: 2, size: 224, channels: 3, classes: 1000, fcPadding: "VALID", steps: 3, warmup: 1 },
  main: { name: "main job: batch 32, 32x32x1 digits, fc SAME", batch: 32, size: 32, channels: 1, classes: 10, fcPadding: "SAME", steps: 5, warmup: 2 },
  "224x32": { name: "GPU scale: batch 32, 224x224x3, 1000 classes", batch: 32, size: 224, channels: 3, classes: 1000, fcPadding: "VALID", steps: 5, warmup: 2 },
};
const argv = process.argv.slice(2);
const arg = (name: string, fallback: string) => (argv.includes(`--${name}`) ? argv[argv.indexOf(`--${name}`) + 1] : fallback);
const configs = arg("configs", "seed,main").split(",");
const ep = arg("ep", "cpu");
const torchDevice = arg("torch-device", "cpu");
const threads = arg("threads", String(cpus().length));
const stepsOverride = arg("steps", "");
const stepsPerRun = arg("steps-per-run", "1");
const python = existsSync("/usr/bin/python3") ? "/usr/bin/python3" : "python3";

/** A worker's JSON line (ms_per_step, peak_rss_mb, engine, compile_ms, ...) or why it failed. */
interface Measured {
  error?: string;
  engine: string;
  ms_per_step: number;
  peak_rss_mb: number;
  compile_ms: number;
}

function runJson(cmd: string, args: string[]): Measured {
  const r = spawnSync(cmd, args, { encoding: "utf8", maxBuffer: 1 << 26 });
  const line = r.stdout.trim().split("\n").filter((l) => l.startsWith("{")).pop();
  if (r.status !== 0 || !line) {
    return { error: (r.stderr || r.stdout).trim().split("\n").slice(-3).join(" | "), engine: cmd, ms_per_step: NaN, peak_rss_mb: NaN, compile_ms: NaN };
  }
  return JSON.parse(line);
}

function ensureTorch(): boolean {
  if (argv.includes("--no-torch")) return false;
  if (spawnSync(python, ["-c", "import torch"]).status === 0) return true;
  console.error("PyTorch missing: installing Debian's python3-torch (apt-get) ...");
  spawnSync("apt-get", ["install", "-y", "-qq", "python3-torch"], { stdio: "inherit", env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" } });
  return spawnSync(python, ["-c", "import torch"]).status === 0;
}

const tsx = "node_modules/.bin/tsx";
const haveTorch = ensureTorch();
console.log(`machine: ${cpus().length} x ${cpus()[0]?.model ?? "?"}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB; threads ${threads}; ${new Date().toISOString()}`);
const peak = runJson(tsx, ["bench/gemm_peak.ts", "--threads", threads]) as unknown as { gflops?: number; n?: number; ms?: number };
console.log(`fp32 peak through ONNX Runtime (MatMul ${peak.n}^3): ${peak.gflops?.toFixed(1)} GFLOP/s`);

const rows: string[][] = [];
for (const key of configs) {
  const c = CONFIGS[key];
  if (!c) throw new Error(`bench: unknown config ${key} (known: ${Object.keys(CONFIGS).join(", ")})`);
  const steps = stepsOverride || String(c.steps);
  const common = ["--batch", `${c.batch}`, "--size", `${c.size}`, "--channels", `${c.channels}`, "--classes", `${c.classes}`,
    "--fc-padding", c.fcPadding, "--steps", steps, "--warmup", `${c.warmup}`, "--threads", threads];
  const ours = runJson(tsx, ["bench/step_worker.ts", ...common, "--ep", ep, "--steps-per-run", stepsPerRun]);
  const theirs = haveTorch ? runJson(python, ["bench/torch_step.py", ...common, "--device", torchDevice]) : { ...ours, error: "not run" };
  // VGG-16 training ≈ 3 × forward MACs × 2 FLOP; forward MACs scale with the image area (15.5 G at 224²).
  const flopPerImage = 3 * 15.5e9 * 2 * (c.size / 224) ** 2;
  const fmt = (r: Measured) => r.error ? [`error: ${r.error}`, "", "", "", ""] : [
    r.ms_per_step.toFixed(1), (c.batch / (r.ms_per_step / 1000)).toFixed(1),
    ((flopPerImage * c.batch) / (r.ms_per_step / 1000) / 1e9).toFixed(0), r.peak_rss_mb.toFixed(0), r.engine,
  ];
  const ratio = !ours.error && !theirs.error ? (ours.ms_per_step / theirs.ms_per_step).toFixed(3) : "-";
  const ofPeak = !ours.error && peak.gflops ? `${((100 * (flopPerImage * c.batch) / (ours.ms_per_step / 1000) / 1e9) / peak.gflops).toFixed(0)}%` : "-";
  rows.push([c.name, "slimtrain", ...fmt(ours), ratio, ofPeak, ours.error ? "" : `${(ours.compile_ms / 1000).toFixed(2)} s`]);
  rows.push(["", "pytorch", ...fmt(theirs), "1", "", ""]);
  if (!ours.error && !theirs.error) rows.push(["", "", `memory ratio ${(ours.peak_rss_mb / theirs.peak_rss_mb).toFixed(2)}`, "", "", "", "", "", "", ""]);
}
const header = ["config", "engine", "ms/step", "img/s", "GFLOP/s", "peak RSS MB", "engine detail", "time vs torch", "of peak", "compile"];
const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
const line = (r: string[]) => "| " + r.map((x, i) => (x ?? "").padEnd(widths[i])).join(" | ") + " |";
console.log(line(header));
console.log("|" + widths.map((w) => "-".repeat(w + 2)).join("|") + "|");
for (const r of rows) console.log(line(r));
