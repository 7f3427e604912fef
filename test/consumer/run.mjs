#!/usr/bin/env node
// The consumer suite: slimtrain as its users get it, from outside this repository.
//
//   1. Builds and packs the npm package (tsup into a staging folder, then `npm pack`),
//      and checks what the tarball ships.
//   2. Installs the tarball into a fresh app, with the app-level .npmrc line the
//      README documents for CPU-only / offline machines (onnxruntime-node's
//      postinstall would otherwise try to download its CUDA provider).
//   3. Trains two steps of a tiny net from plain JavaScript that imports "slimtrain"
//      (test/consumer/train_two_steps.mjs) under Node.js, Bun and Deno, and from a
//      Deno script outside the repository that imports mod.ts by path through
//      deno.json's import map; each must report a finite loss and a checkpoint.
//   4. Type-checks a TypeScript consumer without the DOM library (skipLibCheck off).
//   5. Runs `deno check mod.ts`, `deno lint` and `deno publish --dry-run`.
//
// Prints one "ok"/"FAIL"/"SKIP" line per check and "N passed, N failed, N skipped".
// Network: only the npm registry, for dependencies missing from npm's cache.
// SLIMTRAIN_CONSUMER_KEEP=1 keeps the temporary folder for inspection.
import { spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, "..", "..");
const bin = (name) => join(root, "node_modules", ".bin", name);
const work = mkdtempSync(join(tmpdir(), "slimtrain-consumer-"));
const app = join(work, "app");

// Children must not inherit the npm_config_* variables `npm test` sets (this repo's
// .npmrc among them) or CI's ONNXRUNTIME_NODE_INSTALL: the app's own configuration is under test.
const inherited = (k) => !/^npm_/i.test(k) && !/^ONNXRUNTIME_NODE_INSTALL/i.test(k) && k !== "INIT_CWD";
const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => inherited(k)));
env.NO_COLOR = "1";

let passed = 0, failed = 0, skipped = 0;
const failures = [];

/** Runs a command and returns its stdout; throws with stdout and stderr when it fails or times out. */
function run(cmd, args, { cwd = root, timeoutMs = 240_000 } = {}) {
  const r = spawnSync(cmd, args, { cwd, env, encoding: "utf8", timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 });
  if (r.error || r.status !== 0) {
    const why = r.error ? r.error.message : `exit ${r.status}${r.signal ? ` (${r.signal})` : ""}`;
    const output = `${r.stdout ?? ""}${r.stderr ?? ""}`.trim().split("\n").slice(-40).join("\n");
    throw new Error(`${[cmd, ...args].join(" ")} (in ${cwd}): ${why}\n${output}`);
  }
  return r.stdout;
}

async function check(name, fn) {
  const start = performance.now();
  try {
    const note = await fn();
    passed++;
    console.log(`ok   [consumer] ${name}${note ? `: ${note}` : ""} (${(performance.now() - start).toFixed(0)} ms)`);
    return true;
  } catch (err) {
    failed++;
    failures.push(`${name}\n${err.stack ?? err}`);
    console.log(`FAIL [consumer] ${name}: ${String(err.message).split("\n")[0]}`);
    return false;
  }
}

function skip(name, reason) {
  skipped++;
  console.log(`SKIP [consumer] ${name}: ${reason}`);
}

function assert(cond, message) {
  if (!cond) throw new Error(message);
}

/** The last line of a training script's output, checked: finite loss, checkpoint file present. */
function checkTrained(output, logdir) {
  const line = output.trim().split("\n").pop();
  let result;
  try {
    result = JSON.parse(line);
  } catch {
    throw new Error(`expected a JSON result line, got:\n${output.trim().split("\n").slice(-20).join("\n")}`);
  }
  assert(Number.isFinite(result.loss), `loss is not finite: ${result.loss}`);
  assert(result.checkpoint === join(logdir, "model.ckpt-2"), `latest checkpoint is ${result.checkpoint}, expected ${join(logdir, "model.ckpt-2")}`);
  assert(existsSync(`${result.checkpoint}.safetensors`), `${result.checkpoint}.safetensors does not exist`);
  return `loss ${result.loss.toFixed(4)}, ${result.checkpoint.slice(work.length + 1)}`;
}

const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
let tarball;

const packed = await check("npm pack ships dist/, bin/, README, LICENSE and no sources or tests", () => {
  // Built into a staging copy rather than this checkout's dist/, which other runs may be using.
  const stage = join(work, "package");
  mkdirSync(stage);
  for (const entry of [...pkg.files.filter((f) => f !== "dist"), "package.json", "README.md", "LICENSE"]) {
    cpSync(join(root, entry), join(stage, entry), { recursive: true });
  }
  run(bin("tsup"), ["--out-dir", join(stage, "dist")]);
  const [info] = JSON.parse(run("npm", ["pack", "--ignore-scripts", "--json", "--pack-destination", work], { cwd: stage }));
  tarball = join(work, info.filename);
  const files = info.files.map((f) => f.path);
  for (const required of ["package.json", "README.md", "LICENSE", "dist/mod.js", "dist/mod.d.ts", "dist/cli.js", "bin/slimtrain.mjs"]) {
    assert(files.includes(required), `the tarball lacks ${required}`);
  }
  const unwanted = files.filter((f) => /_test\.|(^|\/)(src|test|fixtures)\/|\.ts$/.test(f) && !f.endsWith(".d.ts"));
  assert(unwanted.length === 0, `the tarball ships ${unwanted.length} source/test files: ${unwanted.slice(0, 5).join(", ")}`);
  return `${info.entryCount} files, ${(info.size / 1024).toFixed(0)} KiB packed, ${(info.unpackedSize / 1024).toFixed(0)} KiB unpacked`;
});

const installed = packed && await check("npm install <tarball> in a fresh app (onnxruntime-node-install=skip in its .npmrc)", () => {
  mkdirSync(app);
  writeFileSync(join(app, "package.json"), JSON.stringify({ name: "consumer-app", private: true, type: "module" }, null, 2));
  writeFileSync(join(app, ".npmrc"), "onnxruntime-node-install=skip\n");
  run("npm", ["install", tarball, "--no-audit", "--no-fund", "--prefer-offline"], { cwd: app });
  assert(existsSync(join(app, "node_modules", "slimtrain", "dist", "mod.js")), "node_modules/slimtrain/dist/mod.js missing after install");
  // Where the postinstall would download (Linux x64), it must not have: the skip took effect.
  const cuda = join(app, "node_modules", "onnxruntime-node", "bin", "napi-v6", "linux", "x64", "libonnxruntime_providers_cuda.so");
  assert(!existsSync(cuda), `onnxruntime-node's postinstall ran and downloaded ${cuda}`);
  cpSync(join(here, "train_two_steps.mjs"), join(app, "train_two_steps.mjs"));
});

const runtimes = [
  { name: "Node.js", cmd: process.execPath, args: [] },
  { name: "Bun", cmd: bin("bun"), args: [] },
  { name: "Deno", cmd: bin("deno"), args: ["run", "-A"] },
];
for (const rt of runtimes) {
  const name = `${rt.name}: import "slimtrain" from plain JS in the app, train 2 steps, checkpoint written`;
  if (!installed) skip(name, "the package did not install");
  else if (!existsSync(rt.cmd)) skip(name, `${rt.cmd} is not installed`);
  else {
    await check(name, () => {
      const logdir = join(work, `logs-${rt.name.toLowerCase().replace(/\W/g, "")}`);
      return checkTrained(run(rt.cmd, [...rt.args, "train_two_steps.mjs", logdir], { cwd: app }), logdir);
    });
  }
}

const fromSource = "Deno: a script outside the repo imports mod.ts by path (deno.json as import map), trains 2 steps";
if (!installed) skip(fromSource, "needs the app's node_modules for the npm: packages");
else if (!existsSync(bin("deno"))) skip(fromSource, `${bin("deno")} is not installed`);
else {
  await check(fromSource, () => {
    // The same script, importing the repository's mod.ts instead of the package. The npm:
    // packages come from the app's node_modules (no download); Deno can then also find a
    // bare specifier the map lacks there, so test/package_manifest_test.ts checks the map is complete.
    const script = readFileSync(join(here, "train_two_steps.mjs"), "utf8")
      .replace(/from "slimtrain";/, `from ${JSON.stringify(pathToFileURL(join(root, "mod.ts")).href)};`);
    writeFileSync(join(app, "train_from_source.mjs"), script);
    const logdir = join(work, "logs-deno-source");
    const output = run(bin("deno"), ["run", "-A", `--import-map=${join(root, "deno.json")}`, "train_from_source.mjs", logdir], { cwd: app });
    return checkTrained(output, logdir);
  });
}

const typesName = "TypeScript consumer without the DOM lib (lib ES2022, types node, skipLibCheck false) compiles";
if (!installed) skip(typesName, "the package did not install");
else {
  await check(typesName, () => {
    writeFileSync(
      join(app, "typed_app.ts"),
      [
        `import { fs, graph, learning, losses } from "slimtrain";`,
        `const g: graph.Graph = new graph.Graph();`,
        `const memory: fs.FileSystem = new fs.MemoryFileSystem();`,
        `const browserOnly = new fs.OpfsFileSystem(); // its types must not need lib.dom`,
        `const train: typeof learning.train = learning.train;`,
        `const total: typeof losses.getTotalLoss = losses.getTotalLoss;`,
        `export { browserOnly, g, memory, total, train };`,
      ].join("\n"),
    );
    writeFileSync(
      join(app, "tsconfig.json"),
      JSON.stringify({
        compilerOptions: {
          target: "ES2022", module: "NodeNext", moduleResolution: "NodeNext", lib: ["ES2022"], types: ["node"],
          typeRoots: [join(root, "node_modules", "@types")], strict: true, skipLibCheck: false, noEmit: true,
        },
        files: ["typed_app.ts"],
      }, null, 2),
    );
    run(bin("tsc"), ["-p", app]);
  });
}

const deno = bin("deno");
for (const [name, args] of [
  ["deno check mod.ts", ["check", "mod.ts"]],
  ["deno lint", ["lint"]],
  ["deno publish --dry-run (JSR: no slow types, license, analyzable imports)", ["publish", "--dry-run", "--allow-dirty"]],
]) {
  if (!existsSync(deno)) skip(name, `${deno} is not installed`);
  else {
    await check(name, () => {
      const r = spawnSync(deno, args, { cwd: root, env, encoding: "utf8", timeout: 240_000, maxBuffer: 64 * 1024 * 1024 });
      const lines = `${r.stdout ?? ""}${r.stderr ?? ""}`.split("\n");
      // One line per finding: the rule (or TS code) and where, without deno's source excerpts.
      const findings = [];
      lines.forEach((l, i) => {
        if (!/^(error|warning)\[|^TS\d+/.test(l)) return;
        const where = lines.slice(i + 1, i + 12).find((n) => /^\s+(-->|at file:)/.test(n));
        findings.push(`${l.trim()}${where ? ` ${where.trim()}` : ""}`);
      });
      const ok = r.status === 0 && !r.error && !findings.some((f) => f.startsWith("warning["));
      const why = r.error ? r.error.message : `exit ${r.status}`;
      assert(ok, `${why}, ${findings.length} findings\n${(findings.length ? findings : lines.slice(-20)).join("\n")}`);
    });
  }
}

for (const f of failures) console.log(`\n--- ${f}`);
if (process.env.SLIMTRAIN_CONSUMER_KEEP) console.log(`\nkept ${work}`);
else rmSync(work, { recursive: true, force: true });
console.log(`\nconsumer: ${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(failed > 0 ? 1 : 0);
