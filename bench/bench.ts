// `npm run bench`: slimtrain's train steps (VGG-16, ResNet-50, MobileNet v2) against
// PyTorch's, same work, same machine, same run. Each side runs in its own child process (so peak RSS is its
// own); the table gives ms/step, images/s, GFLOP/s, the ratio to PyTorch, the share
// of the machine's fp32 GEMM peak through ONNX Runtime, peak RSS (and its ratio to
// PyTorch's), checkpoint time where a config saves one, and compile time. The CPU
// model (lscpu) heads the output.
// ResNet-50 and MobileNet v2 count their FLOPs from each side's own graph (3 × forward
// multiply-adds × 2), since slim's and torchvision's nets differ (slim's ResNet-50 does 15% fewer).
// Usage: tsx bench/bench.ts [--configs seed,main,mainjob,224x32,r50_seed,r50_64,mnv2_seed,mnv2_64,r50_64_x4,...] [--steps N] [--steps-per-run k] [--ep cpu|webgpu]
//                           [--torch-device cpu|cuda] [--threads N] [--no-torch] [--profile prefix] [--no-cpu-mem-arena] [--cpu-mem-pattern]
// --no-cpu-mem-arena turns ONNX Runtime's CPU arena off and --cpu-mem-pattern its memory pattern on (training's defaults: arena on, pattern off).
// With --profile each slimtrain worker also writes ONNX Runtime's profile and the bench prints kernel time by op type
// (profiling slows the step: time it in a run without it).
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { cpus, totalmem } from "node:os";

interface Config {
  name: string; batch: number; size: number; channels: number; classes: number; fcPadding: string; steps: number; warmup: number;
  /** The main job's own shape: Adam, weight decay, steps unrolled as its CLI does, one checkpoint saved. */
  optimizer?: "sgd" | "adam" | "momentum"; weightDecay?: number; stepsPerRun?: number; checkpoint?: boolean;
  /** A nets-factory name other than vgg_16: slimtrain builds it with getNetworkFn, PyTorch with torchvision. */
  net?: string;
}
// ResNet-50 and MobileNet v2: momentum SGD, weight decay 0 on both sides (as the VGG rows), batch norm in training mode.
const netConfig = (net: string, label: string, batch: number, size: number, stepsPerRun?: number): Config => ({
  name: `${label}: batch ${batch}, ${size}x${size}x3, 1000 classes${stepsPerRun ? `, ${stepsPerRun} steps a call` : ""}`, batch, size,
  channels: 3, classes: 1000, fcPadding: "VALID", steps: 5, warmup: 1, optimizer: "momentum", net, stepsPerRun,
});
const CONFIGS: Record<string, Config> = {
  seed: { name: "seed scale: batch 2, 224x224x3, 1000 classes", batch: 2, size: 224, channels: 3, classes: 1000, fcPadding: "VALID", steps: 3, warmup: 1 },
  main: { name: "main job: batch 32, 32x32x1 digits, fc SAME", batch: 32, size: 32, channels: 1, classes: 10, fcPadding: "SAME", steps: 5, warmup: 2 },
  mainjob: {
    name: "main job as run: batch 32 digits, Adam, weight decay, 4 steps a call, checkpoint", batch: 32, size: 32, channels: 1,
    classes: 10, fcPadding: "SAME", steps: 3, warmup: 1, optimizer: "adam", weightDecay: 0.0005, stepsPerRun: 4, checkpoint: true,
  },
  "224x32": { name: "GPU scale: batch 32, 224x224x3, 1000 classes", batch: 32, size: 224, channels: 3, classes: 1000, fcPadding: "VALID", steps: 5, warmup: 2 },
  r50_seed: netConfig("resnet_v1_50", "ResNet-50", 2, 224),
  r50_64: netConfig("resnet_v1_50", "ResNet-50", 16, 64),
  mnv2_seed: netConfig("mobilenet_v2", "MobileNet v2", 2, 224),
  mnv2_64: netConfig("mobilenet_v2", "MobileNet v2", 16, 64),
  // train({ stepsPerRun: 4 }): the step's outputs (weights and slots) are copied to JavaScript once per 4 steps.
  r50_seed_x4: netConfig("resnet_v1_50", "ResNet-50", 2, 224, 4),
  r50_64_x4: netConfig("resnet_v1_50", "ResNet-50", 16, 64, 4),
  mnv2_seed_x4: netConfig("mobilenet_v2", "MobileNet v2", 2, 224, 4),
  mnv2_64_x4: netConfig("mobilenet_v2", "MobileNet v2", 16, 64, 4),
  r50_224x32: netConfig("resnet_v1_50", "ResNet-50, GPU scale", 32, 224),
  mnv2_224x32: netConfig("mobilenet_v2", "MobileNet v2, GPU scale", 32, 224),
};
const argv = process.argv.slice(2);
const arg = (name: string, fallback: string) => (argv.includes(`--${name}`) ? argv[argv.indexOf(`--${name}`) + 1] : fallback);
const configs = arg("configs", "seed,main,mainjob").split(",");
const ep = arg("ep", "cpu");
const torchDevice = arg("torch-device", "cpu");
const threads = arg("threads", String(cpus().length));
const stepsOverride = arg("steps", "");
const stepsPerRun = arg("steps-per-run", "1");
const profile = arg("profile", "");
const memFlags = ["--no-cpu-mem-arena", "--cpu-mem-pattern"].filter((f) => argv.includes(f));
const python = existsSync("/usr/bin/python3") ? "/usr/bin/python3" : "python3";

/** A worker's JSON line (ms_per_step, peak_rss_mb, engine, compile_ms, ...) or why it failed. */
interface Measured {
  error?: string;
  engine: string;
  ms_per_step: number;
  peak_rss_mb: number;
  compile_ms: number;
  /** Every timed step, sorted. */
  all_ms?: number[];
  checkpoint_ms?: number | null;
  forward_macs?: number;
  trainable_params?: number;
  profile_ms_by_op?: Record<string, number>;
  profile_ms_by_part?: Record<string, number>;
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
const lscpu = spawnSync("lscpu", [], { encoding: "utf8" }).stdout ?? "";
const cpuModel = /^Model name:\s*(.+)$/m.exec(lscpu)?.[1].trim() ?? cpus()[0]?.model ?? "?";
console.log(`machine: ${cpus().length} x ${cpuModel}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB; threads ${threads}; ${new Date().toISOString()}`);
// The allocator's settings change both engines' steps by up to 35% (BENCHMARKS.md, 2026-12-03), so a table records them.
const allocatorVars = ["GLIBC_TUNABLES", "LD_PRELOAD", "MALLOC_ARENA_MAX"];
const allocatorEnv = allocatorVars.filter((k) => process.env[k]).map((k) => `${k}=${process.env[k]}`);
console.log(`allocator: ${allocatorEnv.length ? allocatorEnv.join(" ") : `default (none of ${allocatorVars.join(", ")} set)`}`);
const peak = runJson(tsx, ["bench/gemm_peak.ts", "--threads", threads]) as unknown as { gflops?: number; n?: number; ms?: number };
console.log(`fp32 peak through ONNX Runtime (MatMul ${peak.n}^3): ${peak.gflops?.toFixed(1)} GFLOP/s`);

const rows: string[][] = [];
const notes: string[] = [];
for (const key of configs) {
  const c = CONFIGS[key];
  if (!c) throw new Error(`bench: unknown config ${key} (known: ${Object.keys(CONFIGS).join(", ")})`);
  const steps = stepsOverride || String(c.steps);
  const common = ["--batch", `${c.batch}`, "--size", `${c.size}`, "--channels", `${c.channels}`, "--classes", `${c.classes}`,
    "--fc-padding", c.fcPadding, "--steps", steps, "--warmup", `${c.warmup}`, "--threads", threads,
    "--optimizer", c.optimizer ?? "sgd", "--weight-decay", `${c.weightDecay ?? 0}`, ...(c.checkpoint ? ["--checkpoint"] : []),
    ...(c.net ? ["--net", c.net] : [])];
  const ours = runJson(tsx, ["bench/step_worker.ts", ...common, "--ep", ep, "--steps-per-run", `${c.stepsPerRun ?? stepsPerRun}`,
    ...(profile ? ["--profile", `${profile}_${key}`] : []), ...memFlags]);
  const theirs = haveTorch ? runJson(python, ["bench/torch_step.py", ...common, "--device", torchDevice]) : { ...ours, error: "not run" };
  // Training ≈ 3 × forward MACs × 2 FLOP. VGG-16: forward MACs scale with the image area (15.5 G at 224²);
  // the other nets: as each side's graph counts them.
  const vggFlopPerImage = 3 * 15.5e9 * 2 * (c.size / 224) ** 2;
  const flopPerStep = (r: Measured) => c.net ? 3 * 2 * (r.forward_macs ?? NaN) : vggFlopPerImage * c.batch;
  const fmt = (r: Measured) => r.error ? [`error: ${r.error}`, "", "", "", "", ""] : [
    r.ms_per_step.toFixed(1), (c.batch / (r.ms_per_step / 1000)).toFixed(1),
    (flopPerStep(r) / (r.ms_per_step / 1000) / 1e9).toFixed(0), r.peak_rss_mb.toFixed(0),
    r.checkpoint_ms ? `${(r.checkpoint_ms / 1000).toFixed(2)} s` : "", r.engine,
  ];
  const ratio = !ours.error && !theirs.error ? (ours.ms_per_step / theirs.ms_per_step).toFixed(3) : "-";
  const ofPeak = !ours.error && peak.gflops ? `${((100 * flopPerStep(ours) / (ours.ms_per_step / 1000) / 1e9) / peak.gflops).toFixed(0)}%` : "-";
  if (c.net) {
    const gmac = (r: Measured) => r.error ? "-" : ((r.forward_macs ?? NaN) / c.batch / 1e9).toFixed(3);
    const params = (r: Measured) => r.error ? "-" : (r.trainable_params ?? NaN).toLocaleString("en-US");
    notes.push(`${key}: forward GMAC per image slimtrain ${gmac(ours)}, pytorch ${gmac(theirs)}; trainable parameters ${params(ours)} / ${params(theirs)}`);
  }
  // On a shared machine the fastest step is the least disturbed one: print it beside the median.
  if (!ours.error && !theirs.error && ours.all_ms && theirs.all_ms) {
    const best = (r: Measured) => Math.min(...r.all_ms!);
    notes.push(`${key}: fastest step slimtrain ${best(ours).toFixed(1)} ms, pytorch ${best(theirs).toFixed(1)} ms, ratio ${(best(ours) / best(theirs)).toFixed(3)}`);
  }
  if (ours.profile_ms_by_op) {
    const top = Object.entries(ours.profile_ms_by_op).slice(0, 10).map(([op, ms]) => `${op} ${ms}`).join(", ");
    notes.push(`${key}: kernel ms per step by op type: ${top}; by part: ${JSON.stringify(ours.profile_ms_by_part)}`);
  }
  rows.push([c.name, "slimtrain", ...fmt(ours), ratio, ofPeak, ours.error ? "" : `${(ours.compile_ms / 1000).toFixed(2)} s`]);
  rows.push(["", "pytorch", ...fmt(theirs), "1", "", ""]);
  if (!ours.error && !theirs.error) rows.push(["", "", `memory ratio ${(ours.peak_rss_mb / theirs.peak_rss_mb).toFixed(2)}`, "", "", "", "", "", "", "", ""]);
}
const header = ["config", "engine", "ms/step", "img/s", "GFLOP/s", "peak RSS MB", "checkpoint", "engine detail", "time vs torch", "of peak", "compile"];
const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
const line = (r: string[]) => "| " + r.map((x, i) => (x ?? "").padEnd(widths[i])).join(" | ") + " |";
console.log(line(header));
console.log("|" + widths.map((w) => "-".repeat(w + 2)).join("|") + "|");
for (const r of rows) console.log(line(r));
for (const n of notes) console.log(n);
