/**
 * Source ops: placeholders (graph inputs fed per step), dropout noise (inputs the
 * runtime fills from a seeded stream), variables (inputs carried between steps)
 * and constants (ONNX initializers). Each declares its `source` kind; the compiler
 * maps them to the model's inputs and initializers, so none is lowered to a node.
 * @module
 */
import type { DType, HostTensor } from "../graph/host_tensor.ts";
import { registerOp } from "./registry.ts";

const notLowered = (): never => {
  throw new Error("Source ops become model inputs or initializers, not nodes");
};

registerOp<{ shape: number[]; dtype: DType; random?: "uniform" }>({
  type: "Placeholder",
  differentiable: false,
  // Dropout declares its noise as a placeholder with `random: "uniform"` when it creates it.
  source: (node) => (node.attrs.random === "uniform" ? "noise" : "placeholder"),
  infer: (_i, { shape, dtype }) => [{ shape: [...shape], dtype }],
  lower: notLowered,
});

registerOp<{ shape: number[]; dtype: DType }>({
  type: "Variable",
  differentiable: false,
  source: () => "variable",
  infer: (_i, { shape, dtype }) => [{ shape: [...shape], dtype }],
  lower: notLowered,
});

registerOp<{ value: HostTensor }>({
  type: "Const",
  differentiable: false,
  source: () => "constant",
  infer: (_i, { value }) => [{ shape: [...value.shape], dtype: value.dtype }],
  lower: notLowered,
});
