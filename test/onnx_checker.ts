/**
 * Python onnx's own checker (scripts/check_onnx.py, full_check: strict shape and
 * type inference) as an independent judge of emitted models, for tests.
 * @module
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const CHECKER = fileURLToPath(new URL("../scripts/check_onnx.py", import.meta.url));

/** Why the checker cannot run here, or null when /usr/bin/python3 imports onnx. */
export function onnxCheckerUnavailable(): string | null {
  try {
    execFileSync("/usr/bin/python3", ["-c", "import onnx"], { stdio: "ignore" });
    return null;
  } catch {
    return "/usr/bin/python3 cannot import onnx (apt-get install python3-onnx)";
  }
}

/**
 * Checks each model (name → bytes); returns the checker's verdict and output per name.
 *
 * @example
 * ```ts
 * const { model } = checkOnnxModels({ model: compiled.bytes });
 * assert(model.ok, model.output);
 * ```
 */
export function checkOnnxModels(models: Record<string, Uint8Array>): Record<string, { ok: boolean; output: string }> {
  const dir = mkdtempSync(join(tmpdir(), "slimtrain-onnx-"));
  try {
    const verdicts: Record<string, { ok: boolean; output: string }> = {};
    for (const [name, bytes] of Object.entries(models)) {
      const file = join(dir, `${name}.onnx`);
      writeFileSync(file, bytes);
      try {
        verdicts[name] = { ok: true, output: execFileSync("/usr/bin/python3", [CHECKER, file], { encoding: "utf8", stdio: "pipe" }) };
      } catch (err) {
        const e = err as { stdout?: string; stderr?: string; message: string };
        verdicts[name] = { ok: false, output: `${e.stdout ?? ""}${e.stderr ?? e.message}` };
      }
    }
    return verdicts;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
