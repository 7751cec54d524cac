/**
 * The queue over Redis, with BullMQ (the Redis queue Node.js projects use; nothing here talks to
 * Redis itself). The server adds each job to a BullMQ `Queue`; `vq-diffusion worker` processes
 * (bullmqWorker.ts) take them on any number of machines. Progress, results and failures come back
 * through BullMQ's `QueueEvents` stream; a cancelled job is removed while it waits, and while it runs
 * the server publishes a custom event (BullMQ's `QueueEventsProducer`) on which the worker running it
 * aborts it (BullMQ's `Worker.cancelJob`). A job whose worker dies is taken again by another once its
 * lock expires (BullMQ's stalled-job check), and its result is delivered once: the first `completed`
 * event settles the request, and a job completes only once (BullMQ moves it to completed with its
 * lock's token, which a dead worker no longer holds).
 *
 * Node.js (BullMQ drives Redis through ioredis).
 */
import { randomUUID } from "node:crypto";
import { Queue, QueueEvents, QueueEventsProducer, type ConnectionOptions } from "bullmq";
import { argumentError } from "../errors.js";
import type { ImagesJob } from "./imagesRequest.js";
import { abortError, type GenerationQueue, type ImagesResult, type JobProgress, type SubmitOptions } from "./generationQueue.js";

/** BullMQ's default queue name for the server and its workers (`--queue`). */
export const DEFAULT_QUEUE_NAME = "vq-diffusion";

/** The custom QueueEvents event that asks the worker running a job to abort it. */
export const CANCEL_EVENT = "vq-diffusion.cancel";

/**
 * How the server and workers reach Redis: `redis://[user:password@]host:port[/db]` (or `rediss://`
 * for TLS), with ioredis retrying for ever (`maxRetriesPerRequest: null`, which BullMQ's blocking
 * connections need), so that a restarted Redis is reconnected to and commands issued meanwhile wait.
 *
 * @throws Error naming `name` when `url` is not a redis:// or rediss:// URL.
 *
 * @example
 * ```ts
 * redisConnection("redis://127.0.0.1:6379", "--redis"); // { url: "redis://127.0.0.1:6379", maxRetriesPerRequest: null }
 * ```
 */
export function redisConnection(url: string, name: string): ConnectionOptions {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw argumentError(name, "a Redis URL redis://host:port", url);
  }
  if (parsed.protocol !== "redis:" && parsed.protocol !== "rediss:") throw argumentError(name, "a Redis URL redis://host:port (or rediss:// for TLS)", url);
  return { url, maxRetriesPerRequest: null };
}

interface Pending {
  readonly job: ImagesJob;
  readonly resolve: (result: ImagesResult) => void;
  readonly reject: (error: Error) => void;
  readonly onProgress?: (progress: JobProgress) => void;
  /** Whether the job is in Redis (added, and not since found gone). */
  added: boolean;
  /** Checks in a row that found the job gone from Redis. */
  missing: number;
}

/** Options of {@link BullmqQueue.open}. */
export interface BullmqQueueOptions {
  /** BullMQ's queue name (default `vq-diffusion`), the workers'. */
  name?: string;
  /** Receives connection errors (Redis gone: ioredis keeps retrying meanwhile) and lost jobs queued again, as lines. */
  log?: (line: string) => void;
  /**
   * How often the jobs this server waits for are looked up in Redis, in ms (default 5 000). One
   * found gone twice in a row (a Redis restarted without its data) is added again, so that its
   * client still gets its images.
   */
  lostJobCheckMs?: number;
}

/**
 * A job's failure as the server sees it: BullMQ's `failedReason` (the worker's error message).
 *
 * @example
 * ```ts
 * await queue.submit(job).catch((e) => e instanceof JobFailedError && console.log(e.jobId, e.message));
 * ```
 */
export class JobFailedError extends Error {
  /** @param jobId - BullMQ's id of the failed job. */
  constructor(
    message: string,
    readonly jobId: string,
  ) {
    super(message);
    this.name = "JobFailedError";
  }
}

/**
 * @example
 * ```ts
 * const queue = await BullmqQueue.open(redisConnection("redis://127.0.0.1:6379", "--redis"), { name: "vq-diffusion" });
 * const { images } = await queue.submit(job);
 * await queue.close();
 * ```
 */
export class BullmqQueue implements GenerationQueue {
  private readonly jobs = new Map<string, Pending>();
  private closed = false;
  private readonly idle: (() => void)[] = [];
  private readonly timer: ReturnType<typeof setInterval>;
  private checking = false;

  private constructor(
    private readonly queue: Queue<ImagesJob, ImagesResult>,
    private readonly events: QueueEvents,
    private readonly producer: QueueEventsProducer,
    private readonly log: (line: string) => void,
    lostJobCheckMs: number,
  ) {
    this.timer = setInterval(() => void this.requeueLost(), lostJobCheckMs);
    this.timer.unref?.(); // the server's socket, not this check, keeps a process alive
    events.on("progress", ({ jobId, data }) => {
      const p = data as Partial<JobProgress> | null;
      if (p !== null && typeof p === "object" && typeof p.step === "number" && typeof p.totalSteps === "number") {
        this.jobs.get(jobId)?.onProgress?.({ step: p.step, totalSteps: p.totalSteps });
      }
    });
    events.on("completed", ({ jobId, returnvalue }) => this.settle(jobId, (p) => p.resolve(returnvalue as unknown as ImagesResult)));
    events.on("failed", ({ jobId, failedReason }) => this.settle(jobId, (p) => p.reject(new JobFailedError(failedReason, jobId))));
  }

  /**
   * Opens the queue and its event stream on Redis (waits until both are connected, so that no
   * event of a job submitted afterwards is missed).
   *
   * @throws Error naming `lostJobCheckMs` when it is not an integer >= 1.
   */
  static async open(connection: ConnectionOptions, options: BullmqQueueOptions = {}): Promise<BullmqQueue> {
    const { name = DEFAULT_QUEUE_NAME, log = () => undefined, lostJobCheckMs = 5000 } = options;
    if (!Number.isSafeInteger(lostJobCheckMs) || lostJobCheckMs < 1) throw argumentError("lostJobCheckMs", "an integer >= 1", lostJobCheckMs);
    const queue = new Queue<ImagesJob, ImagesResult>(name, { connection });
    const events = new QueueEvents(name, { connection });
    const producer = new QueueEventsProducer(name, { connection });
    const onError = (e: Error) => log(`redis: ${e.message}`);
    for (const emitter of [queue, events, producer] as const) (emitter as unknown as { on(e: "error", f: (e: Error) => void): void }).on("error", onError);
    await Promise.all([queue.waitUntilReady(), events.waitUntilReady(), producer.waitUntilReady()]);
    return new BullmqQueue(queue, events, producer, log, lostJobCheckMs);
  }

  /** Adds again the jobs found gone from Redis twice in a row (a Redis restarted without its data). */
  private async requeueLost(): Promise<void> {
    if (this.checking) return;
    this.checking = true;
    try {
      for (const [jobId, p] of this.jobs) {
        if (!p.added) continue;
        const state = await this.queue.getJobState(jobId).catch(() => null); // Redis away: look again later
        if (state === null) continue;
        p.missing = state === "unknown" ? p.missing + 1 : 0;
        if (p.missing < 2 || !this.jobs.has(jobId)) continue;
        p.missing = 0;
        await this.add(jobId, p.job);
        this.log(`job ${jobId}: gone from Redis (restarted without its data?), queued again`);
      }
    } catch (e) {
      this.log(`redis: ${(e as Error).message}`);
    } finally {
      this.checking = false;
    }
  }

  /** Adds a job: no retry on failure, removed from Redis once it completes or fails (its result travels in the event). */
  private async add(jobId: string, job: ImagesJob): Promise<void> {
    await this.queue.add("images", job, { jobId, attempts: 1, removeOnComplete: true, removeOnFail: true });
  }

  /** @inheritdoc */
  pending(): number {
    return this.jobs.size;
  }

  /**
   * @inheritdoc
   * The job is added with a fresh id, no retry on failure (`attempts: 1`: a failure is the job's, and
   * another worker would fail alike), and removed from Redis once it completes or fails (its result
   * travels in the event). While it waits for its result, it is looked up every `lostJobCheckMs`
   * and added again if Redis lost it.
   */
  async submit(job: ImagesJob, options: SubmitOptions = {}): Promise<ImagesResult> {
    if (this.closed) throw new Error("queue: expected an open queue, got one that is closing");
    const { signal, onProgress } = options;
    const jobId = randomUUID();
    if (signal?.aborted) throw abortError(`job ${jobId} cancelled before it was queued`);
    let pending!: Pending;
    const done = new Promise<ImagesResult>((resolve, reject) => {
      pending = { job, resolve, reject, onProgress, added: false, missing: 0 };
      this.jobs.set(jobId, pending);
    });
    const cancel = () => {
      this.settle(jobId, (p) => p.reject(abortError(`job ${jobId} cancelled`)));
      if (pending.added) void this.cancel(jobId); // else once added, below
    };
    signal?.addEventListener("abort", cancel, { once: true });
    try {
      await this.add(jobId, job);
      pending.added = true;
      if (signal?.aborted) void this.cancel(jobId);
      else options.onQueued?.(jobId);
      return await done;
    } catch (e) {
      this.settle(jobId, () => undefined);
      throw e;
    } finally {
      signal?.removeEventListener("abort", cancel);
    }
  }

  /** Removes a waiting job; a running one (locked: BullMQ refuses to remove it) is asked to abort on its worker. */
  private async cancel(jobId: string): Promise<void> {
    const removed = await this.queue.remove(jobId).then((n) => n === 1, () => false);
    if (removed) return;
    // Redis gone: the job runs to its end and its result is dropped (nobody waits for it).
    await this.producer.publishEvent({ eventName: CANCEL_EVENT, jobId }).catch(() => undefined);
  }

  /** Settles a job once: later events of it (a duplicate, a failure after a cancel) find nothing. */
  private settle(jobId: string, how: (p: Pending) => void): void {
    const p = this.jobs.get(jobId);
    if (p === undefined) return;
    this.jobs.delete(jobId);
    how(p);
    if (this.jobs.size === 0) for (const wake of this.idle.splice(0)) wake();
  }

  /** @inheritdoc */
  async close(): Promise<void> {
    this.closed = true;
    if (this.jobs.size > 0) await new Promise<void>((resolve) => this.idle.push(resolve));
    clearInterval(this.timer);
    await Promise.all([this.events.close(), this.producer.close(), this.queue.close()]);
  }
}
