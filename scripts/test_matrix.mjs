#!/usr/bin/env node
// Runs the test suite under every runtime (Node.js, Deno, Bun), the browser suite
// and the consumer suite (test/consumer/run.mjs), then prints one summary line per
// runtime × backend and a closing "N passed, N failed" line. Exits non-zero when
// anything failed. `node scripts/test_matrix.mjs consumer` runs the consumer suite alone.
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const bin = (name) => join(root, "node_modules", ".bin", name);
const filters = process.argv.slice(2);

// SwiftShader gives the WebGPU EP a (software) Vulkan adapter on machines without a GPU.
const swiftshader = "/usr/lib/chromium/vk_swiftshader_icd.json";
const env = { ...process.env, XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR ?? "/tmp" };
if (!env.VK_ICD_FILENAMES && existsSync(swiftshader)) env.VK_ICD_FILENAMES = swiftshader;

const suites = [
  { name: "node", cmd: bin("tsx"), args: ["test/run.ts", ...filters] },
  { name: "deno", cmd: bin("deno"), args: ["run", "-A", "test/run.ts", ...filters] },
  { name: "bun", cmd: bin("bun"), args: ["test/run.ts", ...filters] },
];
if (filters.length === 0 || filters.includes("browser")) {
  suites.push({ name: "browser", cmd: process.execPath, args: ["test/browser/run.mjs"] });
}
// The packed package installed into a fresh app and used from Node.js, Deno and Bun; the JSR checks.
if (filters.length === 0 || filters.includes("consumer")) {
  suites.push({ name: "consumer", cmd: process.execPath, args: ["test/consumer/run.mjs"] });
}

let passed = 0, failed = 0, skipped = 0;
const summary = [];
for (const suite of suites) {
  if (!existsSync(suite.cmd) && suite.cmd !== process.execPath) {
    summary.push(`${suite.name}: not installed (${suite.cmd})`);
    failed++;
    continue;
  }
  if (suite.name === "browser" && !existsSync(join(root, suite.args[0]))) continue;
  console.log(`\n=== ${suite.name} ===`);
  const lines = [];
  const code = await new Promise((resolve) => {
    const child = spawn(suite.cmd, suite.args, { cwd: root, env, stdio: ["ignore", "pipe", "pipe"] });
    const forward = (stream, out) => {
      let buf = "";
      stream.on("data", (d) => {
        out.write(d);
        buf += d;
        const parts = buf.split("\n");
        buf = parts.pop();
        lines.push(...parts);
      });
      stream.on("end", () => buf && lines.push(buf));
    };
    forward(child.stdout, process.stdout);
    forward(child.stderr, process.stderr);
    child.on("close", resolve);
  });
  const tally = lines.map((l) => l.match(/(\d+) passed, (\d+) failed(?:, (\d+) skipped)?/)).filter(Boolean).pop();
  if (tally) {
    passed += Number(tally[1]);
    failed += Number(tally[2]);
    skipped += Number(tally[3] ?? 0);
  }
  if (code !== 0 && (!tally || Number(tally[2]) === 0)) failed++;
  const backends = [...new Set(lines.map((l) => l.match(/\[backend ([^\]]+)\]/)?.[1]).filter(Boolean))];
  summary.push(
    `${suite.name}: ${tally ? `${tally[1]} passed, ${tally[2]} failed, ${tally[3] ?? 0} skipped` : `exit ${code}`}` +
      (backends.length ? ` (backends: ${backends.join(", ")})` : ""),
  );
  const skips = lines.filter((l) => l.startsWith("SKIP"));
  for (const s of skips) summary.push(`  ${s}`);
}
console.log("\n=== summary ===");
for (const s of summary) console.log(s);
console.log(`\ntotal: ${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(failed > 0 ? 1 : 0);
