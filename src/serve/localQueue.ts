/**
 * The default queue: jobs wait in this process, first come first served, and at most `concurrency`
 * run at once on the one loaded pipeline (which serves concurrent `generate` calls; on a CPU, one
 * at a time is the fastest per job, as each run already uses every core).
 */
import { argumentError } from "../errors.js";
import type { ImagesJob } from "./imagesRequest.js";
import { abortError, type GenerationQueue, type ImagesResult, type JobRunner, type SubmitOptions } from "./generationQueue.js";

interface Waiting {
  readonly start: () => void;
  readonly cancel: () => void;
}

/**
 * @example
 * ```ts
 * const queue = new LocalQueue((job, options) => runImagesJob(pipe, served, job, options), 1);
 * const { images } = await queue.submit(job);
 * ```
 */
export class LocalQueue implements GenerationQueue {
  private readonly waiting: Waiting[] = [];
  private running = 0;
  private count = 0;
  private closed = false;
  private readonly idle: (() => void)[] = [];

  /**
   * @param run - runs one job (with the pipeline this process loaded).
   * @param concurrency - jobs run at once, an integer >= 1.
   * @throws Error naming `concurrency` when it is not such an integer.
   */
  constructor(
    private readonly run: JobRunner,
    private readonly concurrency: number,
  ) {
    if (!Number.isSafeInteger(concurrency) || concurrency < 1) throw argumentError("concurrency", "an integer >= 1", concurrency);
  }

  /** @inheritdoc */
  pending(): number {
    return this.waiting.length + this.running;
  }

  /** @inheritdoc */
  submit(job: ImagesJob, options: SubmitOptions = {}): Promise<ImagesResult> {
    if (this.closed) return Promise.reject(new Error("queue: expected an open queue, got one that is closing"));
    const id = `local-${++this.count}`;
    const { signal, onProgress } = options;
    if (signal?.aborted) return Promise.reject(abortError(`job ${id} cancelled before it was queued`));
    return new Promise<ImagesResult>((resolve, reject) => {
      const entry: Waiting = {
        start: () => {
          signal?.removeEventListener("abort", entry.cancel);
          this.running++;
          this.run(job, { signal, onProgress })
            .then(resolve, reject)
            .finally(() => {
              this.running--;
              this.next();
            });
        },
        cancel: () => {
          const at = this.waiting.indexOf(entry);
          if (at < 0) return;
          this.waiting.splice(at, 1);
          reject(abortError(`job ${id} cancelled while waiting`));
          this.next();
        },
      };
      signal?.addEventListener("abort", entry.cancel, { once: true });
      this.waiting.push(entry);
      options.onQueued?.(id);
      this.next();
    });
  }

  /** @inheritdoc */
  async close(): Promise<void> {
    this.closed = true;
    if (this.pending() === 0) return;
    await new Promise<void>((resolve) => this.idle.push(resolve));
  }

  /** Starts waiting jobs while there is room; wakes `close` when nothing is left. */
  private next(): void {
    while (this.running < this.concurrency && this.waiting.length > 0) this.waiting.shift()!.start();
    if (this.pending() === 0) for (const wake of this.idle.splice(0)) wake();
  }
}
