/**
 * Source ops: placeholders (graph inputs fed per step), variables (graph inputs
 * carried between steps) and constants (ONNX initializers). The compiler maps them
 * to the model's inputs and initializers itself, so they have no lowering rule.
 * @module
 */
import type { DType, HostTensor } from "../graph/host_tensor.ts";
import { registerOp } from "./registry.ts";

const notLowered = (): never => {
  throw new Error("Source ops are emitted by the compiler, not lowered");
};

registerOp<{ shape: number[]; dtype: DType }>({
  type: "Placeholder",
  differentiable: false,
  infer: (_i, { shape, dtype }) => [{ shape: [...shape], dtype }],
  lower: notLowered,
});

registerOp<{ shape: number[]; dtype: DType }>({
  type: "Variable",
  differentiable: false,
  infer: (_i, { shape, dtype }) => [{ shape: [...shape], dtype }],
  lower: notLowered,
});

registerOp<{ value: HostTensor }>({
  type: "Const",
  differentiable: false,
  infer: (_i, { value }) => [{ shape: [...value.shape], dtype: value.dtype }],
  lower: notLowered,
});
