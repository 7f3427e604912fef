/**
 * A small pool of worker threads for the input pipeline, so decoding and
 * augmentation run beside the training step instead of before it. Uses the Web
 * Worker API where the runtime has one (browsers, Deno, Bun) and
 * `node:worker_threads` on Node.js. Tasks and results are plain messages; each
 * task carries an `id` that its result echoes.
 * @module
 */

/** A message that names its task. */
export interface PoolMessage {
  id: number;
}

/** Runs tasks on worker threads; results come back in any order, matched by id. */
export interface WorkerPool<T extends PoolMessage, R extends PoolMessage> {
  /** Number of threads. */
  readonly size: number;
  /** Sends a task to the least busy thread; `transfer` lists buffers to move, not copy. */
  run(task: T, transfer?: ArrayBuffer[]): Promise<R>;
  /** Stops every thread; pending tasks reject. */
  close(): Promise<void>;
}

interface Thread {
  post(message: unknown, transfer: ArrayBuffer[]): void;
  terminate(): Promise<unknown> | void;
  /** Whether a busy thread keeps the process alive (Node.js); an idle one must not. */
  hold(busy: boolean): void;
  busy: number;
}

/**
 * Starts `size` workers from the module at `url`.
 *
 * @example
 * ```ts
 * const pool = await createWorkerPool<DecodeTask, DecodeResult>(decodeWorkerUrl(), 2);
 * const result = await pool.run(task, [task.bytes.buffer]);
 * await pool.close();
 * ```
 */
export async function createWorkerPool<T extends PoolMessage, R extends PoolMessage>(url: URL, size: number): Promise<WorkerPool<T, R>> {
  if (!Number.isInteger(size) || size < 1) throw new Error(`createWorkerPool: size must be a positive integer, got ${size}`);
  const pending = new Map<number, { resolve: (r: R) => void; reject: (e: Error) => void; thread: Thread }>();
  const fail = (err: Error) => {
    for (const p of pending.values()) p.reject(err);
    pending.clear();
  };
  const onMessage = (r: R) => {
    const p = pending.get(r.id);
    if (!p) return;
    pending.delete(r.id);
    if (--p.thread.busy === 0) p.thread.hold(false);
    p.resolve(r);
  };
  const onError = (e: unknown) => fail(new Error(`Input pipeline worker ${url.pathname.split("/").pop()} failed: ${(e as Error)?.message ?? e}`));
  const threads: Thread[] = [];
  for (let i = 0; i < size; i++) threads.push(await spawn(url, onMessage, onError));
  let closed = false;
  return {
    size,
    run(task, transfer = []) {
      if (closed) return Promise.reject(new Error("Worker pool is closed"));
      const thread = threads.reduce((a, b) => (b.busy < a.busy ? b : a));
      if (thread.busy++ === 0) thread.hold(true);
      return new Promise<R>((resolve, reject) => {
        pending.set(task.id, { resolve, reject, thread });
        thread.post(task, transfer);
      });
    },
    async close() {
      closed = true;
      fail(new Error("Worker pool closed"));
      await Promise.all(threads.map((t) => t.terminate()));
    },
  };
}

type WebWorkerCtor = new (url: URL, options: { type: "module" }) => {
  postMessage(m: unknown, transfer: ArrayBuffer[]): void;
  terminate(): void;
  onmessage: ((e: { data: unknown }) => void) | null;
  onerror: ((e: unknown) => void) | null;
};

/**
 * Node.js itself, not Deno or Bun (which also answer to `process`). Node has no Web
 * Worker, and the `Worker` global it may have is not one: onnxruntime-web's wasm
 * loader sets it to `worker_threads.Worker` when it runs under Node.
 */
function isNode(): boolean {
  const g = globalThis as { Deno?: unknown; Bun?: unknown; process?: { release?: { name?: string } } };
  return g.process?.release?.name === "node" && g.Deno === undefined && g.Bun === undefined;
}

async function spawn<R>(url: URL, onMessage: (r: R) => void, onError: (e: unknown) => void): Promise<Thread> {
  const NodeWorker = await nodeWorkerCtor();
  const WebWorker = (globalThis as { Worker?: WebWorkerCtor }).Worker;
  // onnxruntime-web's wasm loader may have replaced the Worker global by worker_threads' one, in Deno too.
  if (WebWorker && (WebWorker as unknown) !== NodeWorker && !isNode()) {
    const w = new WebWorker(url, { type: "module" });
    w.onmessage = (e) => onMessage(e.data as R);
    w.onerror = onError;
    return { post: (m, t) => w.postMessage(m, t), terminate: () => w.terminate(), hold: () => {}, busy: 0 };
  }
  if (!NodeWorker) throw new Error("createWorkerPool: this runtime has neither Web Workers nor node:worker_threads");
  // Under Node.js from TypeScript sources the bootstrap registers tsx itself; tsx's inherited loader flags would race with it.
  const w = isNode() && url.pathname.endsWith(".ts") ? new NodeWorker(tsBootstrap(url), { eval: true, execArgv: [] }) : new NodeWorker(url);
  w.on("message", (m: R) => onMessage(m));
  w.on("error", onError);
  w.unref();
  return { post: (m, t) => w.postMessage(m, t), terminate: () => w.terminate(), hold: (busy) => busy ? w.ref() : w.unref(), busy: 0 };
}

/** `node:worker_threads`' Worker where the runtime has it (Node.js, Deno, Bun), else undefined (browsers). */
async function nodeWorkerCtor(): Promise<typeof import("node:worker_threads").Worker | undefined> {
  try {
    return (await import("node:worker_threads")).Worker;
  } catch {
    return undefined;
  }
}

/**
 * Running from TypeScript sources under Node.js (tsx), a worker thread does not
 * inherit the TypeScript loader; this bootstrap registers it before importing.
 */
function tsBootstrap(url: URL): string {
  const resolve = (import.meta as { resolve?: (s: string) => string }).resolve;
  const api = resolve?.("tsx/esm/api");
  if (!api) throw new Error(`Cannot start worker ${url.pathname}: TypeScript workers on Node.js need tsx`);
  return `import(${JSON.stringify(api)}).then((m) => m.register()).then(() => import(${JSON.stringify(url.href)}))`;
}
