// Prints the GPU benchmark's JSON lines (from gpu_step.mjs and torch_gpu.py) as one
// Markdown table per net, each row against PyTorch fp32 on the same GPU, plus the
// correctness checks. Usage: node bench/gpu/table.mjs results.jsonl
import { readFileSync } from "node:fs";

const rows = readFileSync(process.argv[2], "utf8").split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l));
const checks = rows.filter((r) => "relative_gap" in r);
const timed = rows.filter((r) => "ms_per_step" in r);
const failed = rows.filter((r) => r.error);

for (const c of checks) {
  console.log(`check ${c.net} ${c.batch}x${c.size}²: loss after one step CPU EP ${c.loss_cpu.toFixed(6)}, WebGPU ${c.loss_webgpu.toFixed(6)} (gap ${c.relative_gap.toExponential(1)}) ${c.ok ? "ok" : "MISMATCH"}`);
}
for (const net of [...new Set(timed.map((r) => r.net))]) {
  const mine = timed.filter((r) => r.net === net);
  const base = mine.find((r) => r.impl === "pytorch" && r.mode.endsWith("fp32"));
  console.log(`\n${net}, batch ${mine[0].batch}, ${mine[0].size}x${mine[0].size}, SGD, train step`);
  console.log("| implementation | mode | ms/step | images/s | × PyTorch fp32 |");
  console.log("| --- | --- | --- | --- | --- |");
  for (const r of mine) {
    const ratio = base ? (r.ms_per_step / base.ms_per_step).toFixed(2) : "–";
    const rate = r.images_per_s >= 100 ? r.images_per_s.toFixed(0) : r.images_per_s.toPrecision(2);
    console.log(`| ${r.impl} | ${r.mode} | ${r.ms_per_step.toFixed(1)} | ${rate} | ${ratio} |`);
  }
}
for (const f of failed) console.log(`FAILED ${f.impl} ${f.net} ${f.mode ?? ""}: ${f.error}`);
