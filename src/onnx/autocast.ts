/**
 * Mixed precision at the ONNX level, as PyTorch's autocast does it at dispatch:
 * the Conv, ConvTranspose, Gemm and MatMul nodes that an `autocast` op emits take
 * float16 operands and write a float16 result, which is cast back to float32 for
 * everything else (reductions, normalization, losses and the optimizer stay in
 * float32). Applied after lowering, so the forward convolutions and the gradient
 * rules' own convolutions and GEMMs are covered alike, and the graph, autodiff and
 * checkpoints never see a float16 tensor.
 * @module
 */
import { makeNode, type NodeProtoLike } from "./builder.ts";

/** The precisions `compileModel` can autocast to. */
export type AutocastDType = "float16";

/**
 * How float16 is computed: `cast` gives the provider float16 operands; `emulate`
 * keeps float32 kernels but rounds every operand and result to the nearest float16
 * value (subnormals, overflow to Inf included). ONNX Runtime's CPU provider has no
 * float16 convolution and removes the casts around its float32 fallback, so
 * emulation is how float16's numerics are checked on a machine without a GPU.
 */
export type AutocastMode = "cast" | "emulate";

/** ONNX node types that compute in float16 under autocast. */
const HALF_OPS = new Set(["Conv", "ConvTranspose", "Gemm", "MatMul"]);

/** TensorProto.DataType codes. */
const FLOAT = 1;
const FLOAT16 = 10;

/**
 * Rewrites nodes for float16 arithmetic across one model. Casts are shared: a
 * value cast down once serves every later product that reads it, and a product's
 * float16 result serves later products directly (no float32 round trip, which is
 * also exact: float16 → float32 → float16 returns the same bits).
 *
 * @example
 * ```ts
 * const casts = new HalfCasts((hint) => names.fresh(hint));
 * nodes.push(...casts.rewrite(emittedNodes));
 * ```
 */
export class HalfCasts {
  /** float32 value name → the float16 value holding it. */
  private readonly half = new Map<string, string>();

  constructor(
    private readonly freshName: (hint: string) => string,
    private readonly mode: AutocastMode = "cast",
    /** A float32 scalar initializer's value name (emulation's constants). */
    private readonly scalar: (value: number) => string = () => {
      throw new Error("HalfCasts: emulation needs scalar constants");
    },
  ) {}

  /** The nodes with every float16-capable product computed in float16, in order. */
  rewrite(nodes: readonly NodeProtoLike[]): NodeProtoLike[] {
    const out: NodeProtoLike[] = [];
    for (const node of nodes) {
      if (!HALF_OPS.has(node.opType)) {
        out.push(node);
        continue;
      }
      const input = node.input.map((name) => (name === "" ? name : this.halfOf(name, out)));
      const output = node.output.map((name) => {
        const h = this.freshName(`${name}/float16`);
        this.half.set(name, h);
        return h;
      });
      out.push({ ...node, input, output });
      node.output.forEach((name, i) => {
        if (this.mode === "cast") out.push(makeNode("Cast", [output[i]], [name], { to: FLOAT }, this.freshName(`${name}/to_float32`)));
        else {
          out.push(...this.rounding(output[i], name));
          this.half.set(name, name);
        }
      });
    }
    return out;
  }

  /** The float16 twin of `name`, casting it down (once) where none exists yet. */
  private halfOf(name: string, out: NodeProtoLike[]): string {
    let h = this.half.get(name);
    if (h === undefined) {
      h = this.freshName(`${name}/float16`);
      if (this.mode === "cast") out.push(makeNode("Cast", [name], [h], { to: FLOAT16 }, this.freshName(`${name}/to_float16`)));
      else out.push(...this.rounding(name, h));
      this.half.set(name, h);
    }
    return h;
  }

  /**
   * float32 `x` rounded to the nearest float16 value, in float32 arithmetic: normal
   * numbers keep 11 significant bits by Veltkamp splitting (with c = x·(2^13 + 1),
   * c − (c − x) is x rounded to 11 bits), values below float16's smallest normal
   * 2^-14 round to multiples of 2^-24, and magnitudes from 65520 up become ±Inf.
   * Only ops every execution provider has (no Round, no bit casts).
   */
  private rounding(x: string, to: string): NodeProtoLike[] {
    const nodes: NodeProtoLike[] = [];
    const op = (type: string, inputs: string[], attrs: Record<string, number> = {}, output?: string): string => {
      const out = output ?? this.freshName(`${to}/${type}`);
      nodes.push(makeNode(type, inputs, [out], attrs, this.freshName(`${to}/${type}`)));
      return out;
    };
    const c = op("Mul", [x, this.scalar(8193)]);
    const normal = op("Sub", [c, op("Sub", [c, x])]);
    // Adding and removing 1.5·2^23 rounds |t| < 2^22 to an integer, ties to even (the WebGPU EP has no Round).
    const t = op("Mul", [x, this.scalar(2 ** 24)]);
    const integer = op("Sub", [op("Add", [t, this.scalar(1.5 * 2 ** 23)]), this.scalar(1.5 * 2 ** 23)]);
    const subnormal = op("Mul", [integer, this.scalar(2 ** -24)]);
    const magnitude = op("Abs", [x]);
    const inRange = op("Where", [op("Less", [magnitude, this.scalar(2 ** -14)]), subnormal, normal]);
    const overflow = op("Mul", [x, this.scalar(Infinity)]);
    op("Where", [op("Less", [magnitude, this.scalar(65520)]), inRange, overflow], {}, to);
    return nodes;
  }
}
