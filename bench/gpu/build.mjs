// Bundles bench/gpu/gpu_step.ts into plain JavaScript for the GPU machine, which has
// Node.js (carried in .device/) but no TypeScript loader and no network. The bundle
// goes into .device/gpu_bench/ so it travels with the packed runtime; onnxruntime
// stays external and resolves from the node_modules that .device/run.sh links.
// Usage, from the project root: node bench/gpu/build.mjs
import { build } from "tsup";

await build({
  config: false,
  entry: { gpu_step: "bench/gpu/gpu_step.ts" },
  outDir: ".device/gpu_bench",
  format: ["esm"],
  platform: "node",
  target: "node20",
  outExtension: () => ({ js: ".mjs" }),
  splitting: false,
  sourcemap: false,
  clean: false,
  silent: true,
  // Bundle our own sources and small dependencies; ONNX Runtime loads native code from node_modules.
  noExternal: [/^(?!onnxruntime)/],
  external: ["onnxruntime-node", "onnxruntime-web", "onnxruntime-web/webgpu"],
});
console.log("built .device/gpu_bench/gpu_step.mjs");
