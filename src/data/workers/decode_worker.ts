/**
 * Entry point of an input-pipeline worker thread: answers each {@link DecodeTask}
 * message with its {@link DecodeResult}, transferring the pixels. Speaks the Web
 * Worker API (browsers, Deno, Bun) or `node:worker_threads` (Node.js), whichever
 * this thread has.
 * @module
 */
import { type DecodeTask, runDecodeTask } from "./decode_task.ts";

interface Port {
  post(message: unknown, transfer: ArrayBuffer[]): void;
  listen(handler: (task: DecodeTask) => void): void;
}

const scope = globalThis as unknown as {
  WorkerGlobalScope?: unknown;
  postMessage?: (message: unknown, transfer: ArrayBuffer[]) => void;
  onmessage?: ((event: { data: DecodeTask }) => void) | null;
};

async function port(): Promise<Port> {
  if (scope.WorkerGlobalScope !== undefined && scope.postMessage) return webPort();
  const { parentPort } = await import("node:worker_threads");
  if (parentPort) return { post: (m, t) => parentPort.postMessage(m, t), listen: (h) => void parentPort.on("message", h) };
  if (scope.postMessage) return webPort();
  throw new Error("decode worker: not started as a worker thread");
}

function webPort(): Port {
  return {
    post: (m, t) => scope.postMessage!(m, t),
    listen: (h) => {
      scope.onmessage = (e) => h(e.data);
    },
  };
}

const p = await port();
p.listen((task) => {
  const result = runDecodeTask(task);
  p.post(result, "data" in result ? [result.data.buffer as ArrayBuffer] : []);
});
