/**
 * One ONNX node as import rules see it: its type, name, value names, opset and
 * typed attribute getters that fall back to the spec's defaults.
 * @module
 */
import type { HostTensor } from "../../graph/host_tensor.ts";
import { type AttributeMessage, type NodeMessage, tensorFromProto } from "./read_model.ts";

/**
 * A node of the imported graph.
 *
 * @example
 * ```ts
 * const node = new OnnxNode(message, 17, 0);
 * node.int("group", 1); node.ints("strides", [1, 1]);
 * ```
 */
export class OnnxNode {
  readonly type: string;
  /** The operator set domain; "" (or "ai.onnx") is the default one. */
  readonly domain: string;
  readonly name: string;
  /** Input value names; "" marks an omitted optional input. */
  readonly inputs: string[];
  readonly outputs: string[];
  private readonly attrs = new Map<string, AttributeMessage>();

  constructor(message: NodeMessage, readonly opset: number, index: number) {
    this.type = message.opType;
    this.domain = message.domain ?? "";
    this.name = message.name || `${message.opType}_${index}`;
    this.inputs = message.input ?? [];
    this.outputs = message.output ?? [];
    for (const a of message.attribute ?? []) this.attrs.set(a.name, a);
  }

  /** `Conv node /conv1/Conv (opset 14)`, for error messages. */
  describe(): string {
    return `${this.type} node ${this.name} (opset ${this.opset})`;
  }

  /** Whether input `i` is given (optional inputs may be omitted or empty). */
  hasInput(i: number): boolean {
    return i < this.inputs.length && this.inputs[i] !== "";
  }

  has(name: string): boolean {
    return this.attrs.has(name);
  }

  // The schema is read with implicit presence, so a scalar equal to zero (axis 0,
  // keepdims 0, beta 0) arrives absent: an attribute that is listed but has no value holds 0.

  int(name: string, fallback: number): number {
    const a = this.attrs.get(name);
    return a ? Number(a.i ?? 0) : fallback;
  }

  ints(name: string, fallback: number[]): number[];
  ints(name: string, fallback?: undefined): number[] | undefined;
  ints(name: string, fallback?: number[]): number[] | undefined {
    const a = this.attrs.get(name);
    return a ? (a.ints ?? []).map(Number) : fallback;
  }

  float(name: string, fallback: number): number {
    const a = this.attrs.get(name);
    return a ? (a.f ?? 0) : fallback;
  }

  floats(name: string): number[] | undefined {
    const a = this.attrs.get(name);
    return a ? (a.floats ?? []) : undefined;
  }

  string(name: string, fallback: string): string {
    const a = this.attrs.get(name);
    return a ? new TextDecoder().decode(a.s ?? new Uint8Array()) : fallback;
  }

  tensor(name: string): HostTensor | undefined {
    const a = this.attrs.get(name);
    return a?.t ? tensorFromProto(a.t, `attribute ${name} of ${this.describe()}`) : undefined;
  }

  /** An error naming this node. */
  error(message: string): Error {
    return new Error(`importModel: ${this.describe()}: ${message}`);
  }
}
