import { defineConfig } from "tsup";

// ESM + .d.ts for npm users. Runtime packages stay external: onnxruntime-node and
// onnxruntime-web are loaded only when their backend is chosen.
export default defineConfig({
  // decode_worker is started by URL (src/data/workers/decode_worker_url.ts), so it needs its own file.
  entry: { mod: "mod.ts", cli: "src/cli/main.ts", decode_worker: "src/data/workers/decode_worker.ts" },
  format: ["esm"],
  // esnext keeps the `with { type: "json" }` import attributes (ES2025) the digits need; es2022 dropped them.
  target: "esnext",
  platform: "neutral",
  dts: { entry: { mod: "mod.ts" } },
  splitting: true,
  sourcemap: true,
  clean: true,
  external: ["onnxruntime-node", "onnxruntime-web", "onnxruntime-web/webgpu", /^node:/],
});
