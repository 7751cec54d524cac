/**
 * The helper side of a `StepThreadPool` in a browser: the module a Web Worker runs calls
 * `serveStepWorker()`, which answers every step share the pool posts (Node.js: `vq-diffusion/node`'s
 * pool runs its own worker module, which does the same on `worker_threads`).
 */
import { answerStepTask, type StepTask } from "./stepTask.js";

/** The worker's global scope, as far as the helper uses it (a `DedicatedWorkerGlobalScope` has this shape). */
export interface StepWorkerScope {
  addEventListener(type: "message", listener: (event: { readonly data: unknown }) => void): void;
  postMessage(message: unknown): void;
}

/**
 * Serves step shares on this worker: call it once in the module given to the pool's `createWorker`.
 *
 * @param scope - the worker's global scope (default `globalThis`).
 *
 * @example
 * ```ts
 * // stepWorker.ts, started by new Worker(new URL("./stepWorker.ts", import.meta.url), { type: "module" })
 * import { serveStepWorker } from "vq-diffusion";
 * serveStepWorker();
 * ```
 */
export function serveStepWorker(scope: StepWorkerScope = globalThis as unknown as StepWorkerScope): void {
  scope.addEventListener("message", (event) => scope.postMessage(answerStepTask(event.data as StepTask)));
}
