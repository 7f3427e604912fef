/**
 * slim's `arg_scope`: default options for layer functions, applied to every call
 * made while a body runs. Scopes nest (inner defaults merge over outer ones) and
 * arguments passed explicitly always win. A layer opts in by registering itself
 * with `addArgScope` and reading its options through `scopedOptions`.
 * @module
 */

import { checkOptions, type OptionSpecs } from "./option_specs.ts";

/** Any function: arg scopes key on the function object itself. */
// `any`: each layer has its own parameter list, which `unknown[]` would reject.
// deno-lint-ignore no-explicit-any
export type ScopedFn = (...args: any[]) => unknown;

/** The options object a layer takes as its last parameter. */
export type OptionsOf<F> = F extends (...args: infer A) => unknown
  ? Required<A> extends [...unknown[], infer L] ? NonNullable<L> : never
  : never;

/** Defaults for the functions `F`: only options that every one of them takes, as slim requires. */
export type ArgDefaults<F extends ScopedFn> = CommonOptions<OptionsOf<F>>;

// `keyof` a union is its shared keys; the `Extract` keeps the mapped type from distributing over the union.
type CommonOptions<U> = { [K in Extract<keyof U, string>]?: U[K] };

/**
 * A snapshot of the defaults in force: what `currentArgScope()` and scope
 * factories like `vggArgScope()` return, and what `argScope(scope, body)` re-enters.
 */
export type ArgScope = ReadonlyMap<ScopedFn, Readonly<Record<string, unknown>>>;

interface Registration {
  name: string;
  /** The options the layer takes; undefined when it declared none (nothing is checked). */
  options?: OptionSpecs;
}

const registered = new Map<ScopedFn, Registration>();
const stack: ArgScope[] = [];

/**
 * Registers a layer so `argScope` may give it defaults (slim's `@add_arg_scope`).
 * The layer must read its options with `scopedOptions(layer, options)`. Declaring
 * `options` (each option's accepted type) makes `scopedOptions` and `argScope`
 * reject unknown names and wrong types when the graph is built; the second
 * argument may also be just the name used in messages.
 *
 * @example
 * ```ts
 * export function myLayer(x: Tensor, { scale = 1 }: { scale?: number } = {}): Tensor {
 *   const o = scopedOptions(myLayer, { scale });
 *   return mul(x, o.scale);
 * }
 * addArgScope(myLayer, { options: { scale: optionTypes.number } });
 * ```
 */
export function addArgScope<F extends ScopedFn>(fn: F, nameOrSpec: string | { name?: string; options?: OptionSpecs } = {}): F {
  const spec = typeof nameOrSpec === "string" ? { name: nameOrSpec } : nameOrSpec;
  registered.set(fn, { name: spec.name ?? (fn.name || "anonymous function"), options: spec.options });
  return fn;
}

/**
 * Whether `fn` was registered with `addArgScope` (slim's `has_arg_scope`).
 *
 * @example
 * ```ts
 * hasArgScope(conv2d); // true
 * ```
 */
export function hasArgScope(fn: ScopedFn): boolean {
  return registered.has(fn);
}

/**
 * The defaults in force right now (slim's `current_arg_scope`); empty outside any scope.
 *
 * @example
 * ```ts
 * const sc = argScope([conv2d], { padding: "VALID" }, () => currentArgScope());
 * argScope(sc, () => conv2d(x, 8, 3)); // VALID padding
 * ```
 */
export function currentArgScope(): ArgScope {
  return stack.length ? stack[stack.length - 1] : new Map();
}

/**
 * Runs `body` with `defaults` applied to each function in `fns`, merged over the
 * enclosing scope's defaults; or, given a saved `ArgScope`, runs `body` with
 * exactly that scope in force (as slim does when handed a scope dict). The body
 * must be synchronous: the scope ends when it returns.
 *
 * @example
 * ```ts
 * const net = argScope([conv2d, fullyConnected], { weightsRegularizer: l2Regularizer(0.0005) }, () =>
 *   argScope([conv2d], { padding: "VALID" }, () => conv2d(images, 64, [3, 3], { scope: "conv1" })));
 * argScope(vggArgScope(), () => vgg16(images));
 * ```
 */
export function argScope<T>(scope: ArgScope, body: () => T): T;
export function argScope<F extends ScopedFn, T>(fns: F | readonly F[], defaults: ArgDefaults<F>, body: () => T): T;
export function argScope<T>(
  first: ArgScope | ScopedFn | readonly ScopedFn[],
  second: unknown,
  third?: () => T,
): T {
  let next: ArgScope;
  let body: () => T;
  if (first instanceof Map) {
    if (typeof second !== "function") throw new Error("argScope: a saved scope takes the body as its second argument");
    next = first;
    body = second as () => T;
  } else {
    const fns = typeof first === "function" ? [first] : [...(first as readonly ScopedFn[])];
    if (typeof second !== "object" || second === null || typeof third !== "function") {
      throw new Error("argScope: expected (fns, defaults, body)");
    }
    const merged = new Map(currentArgScope());
    for (const fn of fns) {
      const reg = registered.get(fn);
      if (!reg) throw new Error(`argScope: ${fn.name || "anonymous function"} is not decorated with addArgScope`);
      if (reg.options) checkOptions(reg.name, reg.options, second, "argScope: ");
      merged.set(fn, { ...merged.get(fn), ...definedOnly(second) });
    }
    next = merged;
    body = third;
  }
  stack.push(next);
  try {
    const out = body();
    if (out instanceof Promise) {
      throw new Error("argScope: the body must be synchronous (it returned a Promise); build the graph inside, await outside");
    }
    return out;
  } finally {
    stack.pop();
  }
}

/**
 * `fn`'s options with the current scope's defaults filled in beneath the explicit
 * ones. Options left `undefined` count as not given; `null` is an explicit value
 * (e.g. `activationFn: null` for no activation). When `fn` declared its options,
 * unknown names and wrong types throw here, naming the layer and the option.
 *
 * @example
 * ```ts
 * const { padding = "SAME" } = scopedOptions(conv2d, options);
 * ```
 */
export function scopedOptions<O extends object>(fn: ScopedFn, options: O | undefined): O {
  const reg = registered.get(fn);
  if (!reg) throw new Error(`scopedOptions: ${fn.name || "anonymous function"} is not decorated with addArgScope`);
  if (reg.options && options !== undefined) checkOptions(reg.name, reg.options, options);
  const defaults = currentArgScope().get(fn);
  if (!defaults) return { ...options } as O;
  return { ...defaults, ...definedOnly(options ?? {}) } as O;
}

function definedOnly(o: object): Record<string, unknown> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
}
