/**
 * Runs every `*_test.ts` under src/ and test/ (or those matching the arguments)
 * on the current runtime and prints one line per test plus a closing
 * "N passed, N failed" line.
 * @module
 */
import { readdirSync, statSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { registry, runtimeName, setCurrentFile } from "./harness.ts";

const root = resolve(import.meta.dirname ?? new URL(".", import.meta.url).pathname, "..");
const args = (globalThis as { Deno?: { args: string[] } }).Deno?.args ?? process.argv.slice(2);
const filters = args.filter((a) => !a.startsWith("-"));

function findTests(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    if (name === "node_modules" || name.startsWith(".")) continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...findTests(p));
    else if (name.endsWith("_test.ts")) out.push(p);
  }
  return out;
}

const files = [...findTests(join(root, "src")), ...findTests(join(root, "test"))]
  .map((f) => relative(root, f))
  .filter((f) => filters.length === 0 || filters.some((x) => f.includes(x)))
  .sort();

const runtime = runtimeName();
let passed = 0, failed = 0, skipped = 0;
const failures: string[] = [];
for (const file of files) {
  setCurrentFile(file);
  const before = registry.length;
  try {
    await import(pathToFileURL(join(root, file)).href);
  } catch (err) {
    failed++;
    failures.push(`${file}: cannot load: ${(err as Error).stack ?? err}`);
    console.log(`FAIL [${runtime}] ${file}: cannot load: ${(err as Error).message}`);
    continue;
  }
  for (const t of registry.slice(before)) {
    if (t.skip) {
      skipped++;
      console.log(`SKIP [${runtime}] ${t.file} > ${t.name}: ${t.skip}`);
      continue;
    }
    const start = performance.now();
    try {
      await t.fn();
      passed++;
      console.log(`ok   [${runtime}] ${t.file} > ${t.name} (${(performance.now() - start).toFixed(0)} ms)`);
    } catch (err) {
      failed++;
      failures.push(`${t.file} > ${t.name}\n${(err as Error).stack ?? err}`);
      console.log(`FAIL [${runtime}] ${t.file} > ${t.name}: ${(err as Error).message}`);
    }
  }
}
for (const f of failures) console.log(`\n--- ${f}`);
console.log(`\n${runtime}: ${passed} passed, ${failed} failed, ${skipped} skipped`);
// Open ONNX Runtime handles can keep some runtimes alive; the verdict is in.
const exit = (globalThis as { Deno?: { exit(c: number): never } }).Deno?.exit ?? process.exit;
exit(failed > 0 ? 1 : 0);
