/**
 * `createNodeStepThreadPool`: a `StepThreadPool` whose helpers are `worker_threads` workers running
 * `stepWorker.js` (this folder). Idle helpers do not keep the process alive.
 */
import { availableParallelism } from "node:os";
import { Worker } from "node:worker_threads";
import { argumentError } from "../errors.js";
import { StepThreadPool, type StepWorkerEvent, type StepWorkerLike } from "../kernels/threads/stepThreadPool.js";

/** Options of {@link createNodeStepThreadPool}. */
export interface NodeStepThreadPoolOptions {
  /**
   * Threads a step is split over, the calling one included: an integer in [1, 64]. Default: the
   * machine's available parallelism (`os.availableParallelism()`), at most 8.
   */
  threads?: number;
}

/**
 * Starts threads − 1 helper workers for `stepAsync` and the sampler's `threads` option.
 *
 * @throws on bad options, naming them (e.g. `threads: expected an integer in [1, 64], got 0`).
 *
 * @example
 * ```ts
 * import { createNodeStepThreadPool, TorchGenerator, VQDiffusionSampler } from "vq-diffusion/node";
 * declare const sampler: VQDiffusionSampler;
 * const threads = createNodeStepThreadPool({ threads: 2 });
 * const { tokens } = await sampler.sample({ numLatentPixels: 1024, generator: new TorchGenerator().manualSeed(0), threads });
 * await threads.close();
 * ```
 */
export function createNodeStepThreadPool(options: NodeStepThreadPoolOptions = {}): StepThreadPool {
  if (typeof options !== "object" || options === null) throw argumentError("options", "{ threads? }", options);
  const threads = options.threads ?? Math.min(availableParallelism(), 8);
  const url = new URL("./stepWorker.js", import.meta.url);
  return new StepThreadPool({ threads, createWorker: () => nodeWorker(url) });
}

/** A `worker_threads` worker in the shape the pool uses (events as a Web Worker gives them). */
function nodeWorker(url: URL): StepWorkerLike {
  const worker = new Worker(url);
  let stopping = false;
  return {
    postMessage: (message) => worker.postMessage(message),
    addEventListener(type, listener: (event: StepWorkerEvent) => void) {
      if (type === "message") {
        worker.on("message", (data: unknown) => listener({ data }));
        return;
      }
      worker.on("error", (error: Error) => listener({ error, message: error.message }));
      worker.on("exit", (code: number) => {
        if (!stopping) listener({ message: `the worker exited with code ${code}` });
      });
    },
    terminate: () => {
      stopping = true;
      return worker.terminate();
    },
    ref: () => worker.ref(),
    unref: () => worker.unref(),
  };
}
