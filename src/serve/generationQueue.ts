/**
 * The contract between the HTTP server and where generations run: an in-process queue
 * (`LocalQueue`, the default) or BullMQ over Redis (`BullmqQueue`, with `--redis`). The server
 * bounds how many jobs it holds with {@link GenerationQueue.pending}; a queue runs them, reports
 * progress, and cancels a job whose signal aborts (removed while it waits, aborted while it runs).
 */
import type { ImagesJob } from "./imagesRequest.js";

/** A job's progress: `step` of `totalSteps` reverse steps done (1-based). */
export interface JobProgress {
  readonly step: number;
  readonly totalSteps: number;
}

/** A finished job: its images as base64 PNG files, prompt-major (OpenAI's `b64_json`). */
export interface ImagesResult {
  readonly images: readonly string[];
}

/** What a job runner receives besides the job. */
export interface RunOptions {
  /** Aborts the generation between steps (the sampler throws an `AbortError`). */
  signal?: AbortSignal;
  onProgress?: (progress: JobProgress) => void;
}

/** Runs one job to its images (`runImagesJob` over a loaded pipeline). */
export type JobRunner = (job: ImagesJob, options: RunOptions) => Promise<ImagesResult>;

/** Options of {@link GenerationQueue.submit}. */
export interface SubmitOptions extends RunOptions {
  /** Called once the job is queued, with its id (before any progress). */
  onQueued?: (jobId: string) => void;
}

/**
 * Where the server sends jobs.
 *
 * @example
 * ```ts
 * const result = await queue.submit(job, { signal: controller.signal, onProgress: (p) => console.log(p.step) });
 * result.images[0]; // "iVBORw0KGgo…" (a base64 PNG)
 * ```
 */
export interface GenerationQueue {
  /**
   * Queues a job and resolves with its images once it has run (once, whatever retries it took).
   *
   * @throws the job's error; an `AbortError` (`DOMException`) when `signal` aborts first.
   */
  submit(job: ImagesJob, options?: SubmitOptions): Promise<ImagesResult>;
  /** Jobs submitted here and not yet finished (waiting or running). */
  pending(): number;
  /** Waits for the jobs in flight to finish, then frees the queue's resources; `submit` refuses afterwards. */
  close(): Promise<void>;
}

/**
 * The error a cancelled job's `submit` rejects with (the same as the sampler's, so callers test `name`).
 *
 * @example
 * ```ts
 * abortError("job 3 cancelled while waiting").name; // "AbortError"
 * ```
 */
export function abortError(message: string): DOMException {
  return new DOMException(message, "AbortError");
}
