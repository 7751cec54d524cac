/**
 * `vq-diffusion worker`: takes the server's jobs from BullMQ and runs them on one loaded pipeline.
 * Any number of workers, on any number of machines, share a queue; BullMQ gives each job to one.
 *
 * - A job for another model (id, revision or image size) is refused: it fails at once, unretried,
 *   with a message naming both models (the server answers it naming `model`); so is a job outside
 *   the request's bounds (Redis holds what anyone with access to it wrote).
 * - Progress goes back with `job.updateProgress`, at most every `progressIntervalMs` and at the last step.
 * - A cancel published by the server (bullmqQueue.ts' `CANCEL_EVENT`) aborts the running job.
 * - The job's lock is renewed every `lockDuration / 2`; a worker that dies (SIGKILL, a lost machine)
 *   stops renewing it, and after `lockDuration` the stalled-job check of the other workers (every
 *   `lockDuration`) puts the job back in the queue, where one of them takes it (once: BullMQ's
 *   `maxStalledCount` 1; a job that stalls twice fails).
 * - `close()` (SIGTERM in the CLI) takes no new job and finishes the running ones.
 *
 * Node.js.
 */
import { QueueEvents, UnrecoverableError, Worker, type ConnectionOptions } from "bullmq";
import { argumentError } from "../errors.js";
import type { VQDiffusionPipeline } from "../pipeline/vqDiffusionPipeline.js";
import { CANCEL_EVENT, DEFAULT_QUEUE_NAME } from "./bullmqQueue.js";
import type { ImagesResult, JobProgress } from "./generationQueue.js";
import type { ImagesJob, ServedModel } from "./imagesRequest.js";
import { checkQueuedJob, runImagesJob } from "./runImagesJob.js";

/** Options of {@link startWorker}. */
export interface WorkerOptions {
  /** BullMQ's queue name (default `vq-diffusion`), the server's. */
  queueName?: string;
  /** Jobs run at once (default 1). */
  concurrency?: number;
  /** BullMQ's `lockDuration` in ms (default 30 000): how long a dead worker's job waits before another takes it. */
  lockDuration?: number;
  /** The least time between two progress reports of a job, in ms (default 200). */
  progressIntervalMs?: number;
  /** Receives one line per event (job taken, done, refused, cancelled) and connection errors. */
  log?: (line: string) => void;
}

/** A running worker. */
export interface RunningWorker {
  /** BullMQ's worker (its `id`, events). */
  readonly worker: Worker<ImagesJob, ImagesResult>;
  /** Takes no new job, finishes the running ones, closes the connections. */
  close(): Promise<void>;
}

/**
 * Starts a worker for `served` on the queue, and resolves once it is connected.
 *
 * @param connection - from `redisConnection(url, "--redis")`.
 * @param pipe - the loaded pipeline of `served`.
 * @throws Error naming the option at fault (`concurrency`, `lockDuration`, `progressIntervalMs`: integers >= 1).
 *
 * @example
 * ```ts
 * const pipe = await VQDiffusionPipeline.fromPretrained("fashion-mnist");
 * const { source } = await openModelSource("fashion-mnist", {}, "--model");
 * const served = await readServedModel(source, "fashion-mnist", null);
 * const running = await startWorker(redisConnection("redis://127.0.0.1:6379", "--redis"), pipe, served);
 * process.once("SIGTERM", () => void running.close());
 * ```
 */
export async function startWorker(connection: ConnectionOptions, pipe: VQDiffusionPipeline, served: ServedModel, options: WorkerOptions = {}): Promise<RunningWorker> {
  const { queueName = DEFAULT_QUEUE_NAME, concurrency = 1, lockDuration = 30_000, progressIntervalMs = 200, log = () => undefined } = options;
  for (const [name, v] of [["concurrency", concurrency], ["lockDuration", lockDuration], ["progressIntervalMs", progressIntervalMs]] as const) {
    if (!Number.isSafeInteger(v) || v < 1) throw argumentError(name, "an integer >= 1", v);
  }
  const worker = new Worker<ImagesJob, ImagesResult>(
    queueName,
    async (job, _token, signal) => {
      let data: ImagesJob;
      try {
        data = checkQueuedJob(job.data, served);
      } catch (e) {
        log(`job ${job.id}: refused: ${(e as Error).message}`);
        throw new UnrecoverableError((e as Error).message); // another worker would refuse it alike
      }
      log(`job ${job.id}: taken (attempt ${job.attemptsStarted}): ${data.n} image(s) of ${JSON.stringify(data.prompt)} in ${data.steps} steps`);
      let last = 0;
      const onProgress = (p: JobProgress) => {
        const now = Date.now();
        if (p.step < p.totalSteps && now - last < progressIntervalMs) return;
        last = now;
        job.updateProgress(p).catch(() => undefined); // progress is best effort; the result is not
      };
      try {
        const result = await runImagesJob(pipe, served, data, { signal, onProgress }, (w) => log(`job ${job.id}: warning: ${w}`));
        log(`job ${job.id}: done`);
        return result;
      } catch (e) {
        // A cancel is final: another attempt would be unwanted. The generation rejects with the signal's
        // reason, which BullMQ's cancelJob sets to the string it is given, so the signal says it was a cancel.
        if (signal?.aborted === true) {
          const reason: unknown = signal.reason;
          const message = `cancelled: ${reason instanceof Error ? reason.message : String(reason)}`;
          log(`job ${job.id}: ${message}`);
          throw new UnrecoverableError(message);
        }
        const message = e instanceof Error ? e.message : String(e);
        log(`job ${job.id}: failed: ${message}`);
        throw e;
      }
    },
    { connection, concurrency, lockDuration, stalledInterval: lockDuration, maxStalledCount: 1, autorun: false },
  );
  const events = new QueueEvents(queueName, { connection });
  const onError = (e: Error) => log(`redis: ${e.message}`);
  worker.on("error", onError);
  events.on("error", onError);
  (events as unknown as { on(e: string, f: (args: { jobId: string }) => void): void }).on(CANCEL_EVENT, ({ jobId }) => {
    if (worker.cancelJob(jobId, "cancelled by the client")) log(`job ${jobId}: cancel asked`);
  });
  await Promise.all([worker.waitUntilReady(), events.waitUntilReady()]);
  void worker.run().catch(onError);
  return {
    worker,
    async close() {
      await worker.close();
      await events.close();
    },
  };
}
