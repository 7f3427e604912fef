/**
 * The table of import rules, one per ONNX op type, filled by the rules_*.ts
 * files (one per op family).
 * @module
 */
import type { ImportRule } from "./context.ts";

const RULES = new Map<string, ImportRule>();

/**
 * Declares how ONNX op types import.
 *
 * @example
 * ```ts
 * defineRule(["Relu"], (node, ctx) => [relu(ctx.tensor(node, 0))]);
 * ```
 */
export function defineRule(types: readonly string[], rule: ImportRule): void {
  for (const t of types) {
    if (RULES.has(t)) throw new Error(`defineRule: ONNX op ${t} already has an import rule`);
    RULES.set(t, rule);
  }
}

/**
 * The rule for an op type, if any.
 *
 * @example
 * ```ts
 * ruleFor("Conv") !== undefined; // true
 * ```
 */
export function ruleFor(type: string): ImportRule | undefined {
  return RULES.get(type);
}

/**
 * Every op type with an import rule, sorted.
 *
 * @example
 * ```ts
 * onnx.supportedOps().includes("BatchNormalization"); // true
 * ```
 */
export function supportedOps(): string[] {
  return [...RULES.keys()].sort();
}
