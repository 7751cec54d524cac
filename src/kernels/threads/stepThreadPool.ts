/**
 * `StepThreadPool`: helper threads that `VQDiffusionScheduler.stepAsync` (and the sampler, given the
 * pool) splits a step over. The core starts no thread by itself: the caller hands in how to start
 * one. In a browser that is a Web Worker whose module calls {@link serveStepWorker}; in Node.js,
 * `createNodeStepThreadPool` from `vq-diffusion/node` builds the pool on `worker_threads`.
 *
 * The helpers share the step's arrays through SharedArrayBuffers, which a browser offers only on a
 * cross-origin isolated page (COOP/COEP headers). Where there is none, the pool starts no worker and
 * a step runs on the calling thread alone, exactly as `step`.
 *
 * Concurrency. Each step posts its own task, with its own shared arrays, to every helper; a helper
 * answers tasks in the order they came. Concurrent steps (two generations sharing a pool) therefore
 * queue on the helpers without seeing each other's data, and each gets its one-thread result.
 */
import { argumentError, describe } from "../../errors.js";
import type { StepReply, StepTask } from "./stepTask.js";

/** The most threads a step is split over. */
export const MAX_STEP_THREADS = 64;

/** What the pool receives from a helper: a message event's `data`, or an error. */
export interface StepWorkerEvent {
  readonly data?: unknown;
  readonly message?: unknown;
  readonly error?: unknown;
}

/**
 * A helper thread as the pool uses it: a Web Worker has this shape (`vq-diffusion/node` adapts
 * `worker_threads`). `ref`/`unref`, when present, keep the process alive only while a step waits on
 * the helper.
 */
export interface StepWorkerLike {
  postMessage(message: unknown): void;
  addEventListener(type: "message" | "error", listener: (event: StepWorkerEvent) => void): void;
  terminate(): unknown;
  ref?(): void;
  unref?(): void;
}

/** Options of {@link StepThreadPool}. */
export interface StepThreadPoolOptions {
  /** Threads a step is split over, the calling one included: an integer in [1, 64]; 1 starts no helper. */
  threads: number;
  /**
   * Starts one helper (called threads − 1 times, when the pool is made), e.g.
   * `() => new Worker(new URL("./stepWorker.js", import.meta.url), { type: "module" })`, whose module
   * calls {@link serveStepWorker}.
   */
  createWorker: () => StepWorkerLike;
}

/** One step's shared arrays (views of SharedArrayBuffers), reused by later steps. */
export interface SharedStepArrays {
  /** (B, K − 1, N) model output. */
  readonly logp: Float32Array;
  /** (B, N) x_t. */
  readonly tokens: Int32Array;
  /** (B, N) x_{t−1}. */
  readonly out: Int32Array;
  /** One word: rows of the model output copied so far. */
  readonly progress: Int32Array;
}

interface Helper {
  readonly worker: StepWorkerLike;
  readonly pending: Map<number, { readonly resolve: (reply: StepReply) => void; readonly reject: (error: Error) => void }>;
}

/** Whether this platform shares memory between threads (a browser page must be cross-origin isolated). */
export function sharedMemoryAvailable(): boolean {
  return typeof SharedArrayBuffer === "function" && typeof Atomics === "object" && (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated !== false;
}

/**
 * @example
 * ```ts
 * const pool = new StepThreadPool({
 *   threads: 2,
 *   createWorker: () => new Worker(new URL("./stepWorker.js", import.meta.url), { type: "module" }),
 * });
 * // scheduler.stepAsync(logPX0, t, sample, { generator, threads: pool }); sampler.sample({ ..., threads: pool })
 * await pool.close();
 * ```
 */
export class StepThreadPool {
  /** Threads a step is split over, the calling one included, as asked. */
  readonly threads: number;
  private readonly helpers: Helper[] = [];
  private readonly free: SharedStepArrays[] = [];
  /** Replies not yet in: {@link close} waits for them. */
  private readonly inFlight = new Set<Promise<unknown>>();
  private nextId = 1;
  private closed = false;
  private failure: Error | null = null;

  /** @throws on bad options, naming them, before any helper starts. */
  constructor(options: StepThreadPoolOptions) {
    if (typeof options !== "object" || options === null) throw argumentError("options", "{ threads, createWorker }", options);
    const { threads, createWorker } = options;
    if (!Number.isInteger(threads) || threads < 1 || threads > MAX_STEP_THREADS) {
      throw argumentError("threads", `an integer in [1, ${MAX_STEP_THREADS}]`, threads);
    }
    if (typeof createWorker !== "function") throw argumentError("createWorker", "a function that starts a worker", createWorker);
    this.threads = threads;
    if (!sharedMemoryAvailable()) return;
    for (let k = 0; k + 1 < threads; k++) {
      const worker = createWorker();
      if (typeof worker !== "object" || worker === null || typeof worker.postMessage !== "function" || typeof worker.addEventListener !== "function" || typeof worker.terminate !== "function") {
        for (const h of this.helpers) h.worker.terminate();
        throw argumentError("createWorker", "a function returning a worker (postMessage, addEventListener, terminate)", worker === null || typeof worker !== "object" ? worker : `${describe(worker)} without them`);
      }
      this.addHelper(worker, k);
    }
  }

  /** Helpers that share a step with the calling thread now: threads − 1, or 0 (closed, or no shared memory). */
  get helperCount(): number {
    return this.closed ? 0 : this.helpers.length;
  }

  /** Whether {@link close} was called. */
  get isClosed(): boolean {
    return this.closed;
  }

  private addHelper(worker: StepWorkerLike, k: number): void {
    const helper: Helper = { worker, pending: new Map() };
    worker.addEventListener("message", (event) => {
      const reply = event.data as StepReply;
      const waiting = helper.pending.get(reply?.id);
      if (!waiting) return;
      helper.pending.delete(reply.id);
      if (helper.pending.size === 0) worker.unref?.();
      waiting.resolve(reply);
    });
    worker.addEventListener("error", (event) => {
      const what = event?.message ?? event?.error ?? event;
      this.failure = new Error(`step thread pool: helper ${k + 1} failed: ${what instanceof Error ? what.message : String(what)}`);
      for (const waiting of helper.pending.values()) waiting.reject(this.failure);
      helper.pending.clear();
      worker.unref?.();
    });
    worker.unref?.();
    this.helpers.push(helper);
  }

  /** Posts a share of a step to helper k (0-based); resolves with its reply. Used by `stepAsync`. */
  run(k: number, task: Omit<StepTask, "id">): Promise<StepReply> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.closed) return Promise.reject(new Error("step thread pool: expected an open pool, got a closed one"));
    const helper = this.helpers[k];
    const id = this.nextId++;
    const reply = new Promise<StepReply>((resolve, reject) => {
      if (helper.pending.size === 0) helper.worker.ref?.();
      helper.pending.set(id, { resolve, reject });
      helper.worker.postMessage({ ...task, id });
    });
    const settled: Promise<unknown> = reply.then(
      () => this.inFlight.delete(settled),
      () => this.inFlight.delete(settled),
    );
    this.inFlight.add(settled);
    return reply;
  }

  /** Shared arrays for a step of B·(K − 1)·N floats and B·N tokens: a free set reused, or a new one. */
  lease(floats: number, tokens: number): SharedStepArrays {
    const i = this.free.findIndex((a) => a.logp.length === floats && a.tokens.length === tokens);
    if (i >= 0) return this.free.splice(i, 1)[0];
    return {
      logp: new Float32Array(new SharedArrayBuffer(4 * floats)),
      tokens: new Int32Array(new SharedArrayBuffer(4 * tokens)),
      out: new Int32Array(new SharedArrayBuffer(4 * tokens)),
      progress: new Int32Array(new SharedArrayBuffer(4)),
    };
  }

  /** Gives back arrays from {@link lease} once no helper reads them (the pool keeps two sets). */
  release(arrays: SharedStepArrays): void {
    if (!this.closed) this.free.unshift(arrays);
    this.free.length = Math.min(this.free.length, 2);
  }

  /**
   * Stops the helpers (after the steps in flight: it waits for their replies) and drops the shared
   * arrays. A closed pool refuses further steps.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all(this.inFlight);
    this.free.length = 0;
    await Promise.all(this.helpers.map((h) => h.worker.terminate()));
  }
}

/**
 * Checks that `value` is a {@link StepThreadPool} (this package's, or one from another copy of it);
 * throws naming `name` otherwise.
 */
export function checkStepThreadPool(name: string, value: unknown): StepThreadPool {
  const expected = "a StepThreadPool (new StepThreadPool(...) or createNodeStepThreadPool())";
  if (value instanceof StepThreadPool) return value;
  const v = value as Partial<StepThreadPool> | null;
  if (typeof v !== "object" || v === null || typeof v.run !== "function" || typeof v.lease !== "function" || !Number.isInteger(v.threads)) {
    throw argumentError(name, expected, value);
  }
  return value as StepThreadPool;
}
