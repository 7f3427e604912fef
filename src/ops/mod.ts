/**
 * Every op slimtrain can differentiate and lower. Importing this module registers
 * them all.
 * @module
 */
import "./sources.ts";
export * from "./apply.ts";
export * from "./binary.ts";
export * from "./compare.ts";
export * from "./unary.ts";
export * from "./reduce.ts";
export * from "./shape_ops.ts";
export * from "./matmul.ts";
export * from "./conv.ts";
export * from "./pool.ts";
export * from "./nn.ts";
export * from "./norm.ts";
export * from "./activations.ts";
export * from "./grouped_conv.ts";
export * from "./conv_transpose.ts";
export { getOp, registerOp } from "./registry.ts";
export type { GradArgs, Lowering, OnnxAttr, OpDef } from "./registry.ts";
