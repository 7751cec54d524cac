/**
 * `vq-diffusion serve` and `vq-diffusion worker`: the HTTP server (OpenAI's images API) over one
 * model, with jobs run in this process or, with `--redis`, on BullMQ workers (docs/serve.md).
 * Node.js; long-running: both stop on SIGTERM or SIGINT after the jobs in flight are done.
 */
import { checkRevision } from "../files/hub/modelId.js";
import { modelLocation } from "../node/modelLocation.js";
import { openModelSource } from "../node/modelSource.js";
import { loadNodePipeline, VQDiffusionPipeline } from "../node/nodePipeline.js";
import { BullmqQueue, DEFAULT_QUEUE_NAME, redisConnection } from "../serve/bullmqQueue.js";
import { startWorker } from "../serve/bullmqWorker.js";
import type { GenerationQueue } from "../serve/generationQueue.js";
import { startServer } from "../serve/httpServer.js";
import { SERVE_LIMITS } from "../serve/imagesRequest.js";
import { LocalQueue } from "../serve/localQueue.js";
import { runImagesJob } from "../serve/runImagesJob.js";
import { readServedModel } from "../serve/servedModel.js";
import { integer, options, UsageError } from "./args.js";

/** The environment variable that holds the server's API key when `--api-key` is not given. */
export const API_KEY_ENV = "VQ_DIFFUSION_API_KEY";

/** The options `serve` and `worker` share. */
interface ModelArgs {
  model: string;
  revision?: string;
  offline: boolean;
  queue: string;
  concurrency: number;
}

/** The parsed `serve` command. */
export interface ServeArgs extends ModelArgs {
  command: "serve";
  host: string;
  port: number;
  /** BullMQ's Redis; none: the in-process queue. */
  redis?: string;
  maxQueue: number;
  /** --api-key, else $VQ_DIFFUSION_API_KEY; none: no key asked. */
  apiKey?: string;
}

/** The parsed `worker` command. */
export interface WorkerArgs extends ModelArgs {
  command: "worker";
  redis: string;
  /** BullMQ's lockDuration, ms. */
  lockDuration: number;
}

/** `vq-diffusion serve --help` and `worker --help`. */
export const SERVE_HELP = `usage: vq-diffusion serve [--model M] [--revision REV] [--offline] [--port 8080] [--host 127.0.0.1]
                          [--redis URL [--queue NAME]] [--concurrency N] [--max-queue N] [--api-key K]
       vq-diffusion worker --redis URL [--queue NAME] [--model M] [--revision REV] [--offline] [--concurrency N] [--lock-duration MS]

serve: OpenAI's images API (POST /v1/images/generations, GET /v1/models, GET /health) over one model;
the same images as vq-diffusion generate for the same settings (docs/serve.md).

  --model M           the model, named as for generate (default fashion-mnist)
  --revision REV      the Hub model's branch, tag or commit
  --offline           a Hub model from the cache only
  --host H            the address to listen on (default 127.0.0.1: this machine only)
  --port N            the port, 0-65535 (default 8080; 0 picks a free one, printed)
  --redis URL         put jobs on BullMQ in this Redis (redis://host:port) for vq-diffusion worker
                      processes to run; without it, jobs run in this process
  --queue NAME        BullMQ's queue name, the same for the server and its workers (default ${DEFAULT_QUEUE_NAME})
  --concurrency N     without --redis: generations at once, 1-64 (default 1)
  --max-queue N       jobs this server holds at once, waiting or running, 1-100000 (default 64);
                      one more is answered 429 (queue_full)
  --api-key K         the Bearer token /v1/* asks for (default: $${API_KEY_ENV}; none: no key)
Requests: prompt (1-${SERVE_LIMITS.maxPromptChars} characters), n (1-${SERVE_LIMITS.maxImages}), size (the model's), response_format b64_json,
stream (Server-Sent Events with progress), and the model's seed, steps, guidance_scale, truncation_rate,
timestep_spacing; a body of at most ${SERVE_LIMITS.maxBodyBytes} bytes.

worker: runs the jobs of a serve --redis on this machine (run any number, on any number of machines).

  --redis URL         the server's Redis (required)
  --concurrency N     jobs at once, 1-64 (default 1)
  --lock-duration MS  how long a dead worker's job waits before another worker takes it, 1000-600000
                      (default 30000; BullMQ's lockDuration)

Both stop on SIGTERM or SIGINT once the jobs in flight are done.`;

/**
 * Parses `serve …` or `worker …` (argv[0] is the command); the API key defaults to `$VQ_DIFFUSION_API_KEY`.
 *
 * @throws UsageError naming the option: an unknown one (with the one meant), a value out of range,
 *   `worker` without `--redis`, `serve --redis` with `--concurrency` (each worker has its own).
 *
 * @example
 * ```ts
 * parseServeArgs(["worker", "--redis", "redis://127.0.0.1:6379"], {});
 * // { command: "worker", model: "fashion-mnist", offline: false, queue: "vq-diffusion", concurrency: 1, redis: "redis://127.0.0.1:6379", lockDuration: 30000 }
 * ```
 */
export function parseServeArgs(argv: readonly string[], env: Readonly<Record<string, string | undefined>> = process.env): ServeArgs | WorkerArgs | { command: "help" } {
  if (argv.includes("--help") || argv.includes("-h")) return { command: "help" };
  const serve = argv[0] === "serve";
  const model: ModelArgs = { model: "fashion-mnist", offline: false, queue: DEFAULT_QUEUE_NAME, concurrency: 1 };
  let host = "127.0.0.1";
  let port = 8080;
  let redis: string | undefined;
  let maxQueue = 64;
  let apiKey: string | undefined;
  let concurrencySet = false;
  let lockDuration = 30_000;
  const flags = serve
    ? ["--model", "--revision", "--offline", "--host", "--port", "--redis", "--queue", "--concurrency", "--max-queue", "--api-key", "--help"]
    : ["--redis", "--queue", "--model", "--revision", "--offline", "--concurrency", "--lock-duration", "--help"];
  for (const [name, value] of options(argv, flags)) {
    switch (name) {
      case "--model":
        try {
          modelLocation(value, name);
        } catch (e) {
          throw new UsageError((e as Error).message);
        }
        model.model = value;
        break;
      case "--revision":
        try {
          model.revision = checkRevision(value);
        } catch (e) {
          throw new UsageError(`--${(e as Error).message}`);
        }
        break;
      case "--offline":
        model.offline = true;
        break;
      case "--host":
        if (value === "") throw new UsageError(`--host: expected an address (127.0.0.1, 0.0.0.0, ::), got ""`);
        host = value;
        break;
      case "--port":
        port = integer(name, value, 0, 65535);
        break;
      case "--redis":
        try {
          redisConnection(value, name);
        } catch (e) {
          throw new UsageError((e as Error).message);
        }
        redis = value;
        break;
      case "--queue":
        if (!/^[A-Za-z0-9._-]{1,100}$/.test(value)) throw new UsageError(`--queue: expected a name of 1-100 letters, digits, '.', '_' or '-', got ${JSON.stringify(value)}`);
        model.queue = value;
        break;
      case "--concurrency":
        model.concurrency = integer(name, value, 1, 64);
        concurrencySet = true;
        break;
      case "--max-queue":
        maxQueue = integer(name, value, 1, 100_000);
        break;
      case "--api-key":
        if (value === "") throw new UsageError(`--api-key: expected a non-empty key, got ""`);
        apiKey = value;
        break;
      case "--lock-duration":
        lockDuration = integer(name, value, 1000, 600_000);
        break;
    }
  }
  if (model.revision !== undefined && modelLocation(model.model, "--model").kind !== "hub") {
    throw new UsageError(`--revision: expected a Hub model id org/name as --model, got --model ${JSON.stringify(model.model)}`);
  }
  if (!serve) {
    if (redis === undefined) throw new UsageError(`--redis: expected the server's Redis URL (redis://host:port), got nothing`);
    return { command: "worker", ...model, redis, lockDuration };
  }
  if (redis !== undefined && concurrencySet) {
    throw new UsageError(`--concurrency: expected no --concurrency with --redis (each worker takes its own --concurrency), got --concurrency ${model.concurrency}`);
  }
  if (redis === undefined && model.queue !== DEFAULT_QUEUE_NAME) throw new UsageError(`--queue: expected --redis with --queue, got --queue ${JSON.stringify(model.queue)} without it`);
  apiKey ??= env[API_KEY_ENV] || undefined;
  return { command: "serve", ...model, host, port, redis, maxQueue, apiKey };
}

/** Where the commands write (the CLI's streams, or a test's). */
export interface ServeIO {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
}

/** `signal` resolves on the first SIGTERM or SIGINT (from now on: one during loading waits for it); `dispose` removes the handlers. */
function catchSignals(): { signal: Promise<string>; dispose: () => void } {
  let on!: (signal: string) => void;
  const dispose = () => {
    process.off("SIGTERM", on);
    process.off("SIGINT", on);
  };
  const signal = new Promise<string>((resolve) => {
    on = (name: string) => {
      dispose();
      resolve(name);
    };
  });
  process.on("SIGTERM", on);
  process.on("SIGINT", on);
  return { signal, dispose };
}

/** A log line writer that drops a line repeated within 5 s (ioredis reports each retry while Redis is away). */
function logTo(io: ServeIO, who: string): (line: string) => void {
  const seen = new Map<string, number>();
  return (line) => {
    const now = Date.now();
    if (line.startsWith("redis: ") && now - (seen.get(line) ?? -Infinity) < 5000) return;
    seen.set(line, now);
    io.stderr(`${who}: ${line}\n`);
  };
}

/**
 * Runs `serve` or `worker` until SIGTERM or SIGINT; returns the exit code (0; 2 on a bad option).
 *
 * @throws the model's loading errors and Redis' connection errors (the CLI prints them, exit 1).
 *
 * @example
 * ```ts
 * await runServeCommand(["serve", "--port", "8080"], { stdout: console.log, stderr: console.error });
 * ```
 */
export async function runServeCommand(argv: readonly string[], io: ServeIO, usage: string): Promise<number> {
  let args;
  try {
    args = parseServeArgs(argv);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    io.stderr(`vq-diffusion: ${e.message}\n${usage}\n`);
    return 2;
  }
  if (args.command === "help") {
    io.stdout(SERVE_HELP + "\n");
    return 0;
  }
  const signals = catchSignals();
  try {
    return await run(args, logTo(io, `vq-diffusion ${args.command}`), signals.signal);
  } finally {
    signals.dispose();
  }
}

/** Loads, serves or works until `stop` resolves, then drains. */
async function run(args: ServeArgs | WorkerArgs, log: (line: string) => void, stop: Promise<string>): Promise<number> {
  const load = { revision: args.revision, localFilesOnly: args.offline ? true : undefined };
  const { source } = await openModelSource(args.model, load, "--model");
  const served = await readServedModel(source, args.model, args.revision ?? null);
  const loadPipeline = () => loadNodePipeline(VQDiffusionPipeline, args.model, { ...load, onWarning: (w) => log(`warning: ${w}`) }, "--model");
  if (args.command === "worker") {
    const pipe = await loadPipeline();
    const running = await startWorker(redisConnection(args.redis, "--redis"), pipe, served, {
      queueName: args.queue, concurrency: args.concurrency, lockDuration: args.lockDuration, log,
    });
    log(`ready: model ${served.id} (${served.width}x${served.height}), queue ${args.queue}, concurrency ${args.concurrency}, worker ${running.worker.id}`);
    log(`${await stop}: finishing the jobs in flight`);
    await running.close();
    await pipe.release();
    log("stopped");
    return 0;
  }
  let queue: GenerationQueue;
  let release = async () => undefined as void;
  if (args.redis !== undefined) {
    queue = await BullmqQueue.open(redisConnection(args.redis, "--redis"), { name: args.queue, log });
  } else {
    const pipe = await loadPipeline();
    queue = new LocalQueue((job, o) => runImagesJob(pipe, served, job, o, (w) => log(`warning: ${w}`)), args.concurrency);
    release = () => pipe.release();
  }
  const running = await startServer({ served, queue, maxQueue: args.maxQueue, apiKey: args.apiKey, host: args.host, port: args.port, log });
  const where = args.redis !== undefined ? `BullMQ queue ${args.queue}` : `in-process queue, concurrency ${args.concurrency}`;
  log(`listening on ${running.url}: model ${served.id} (${served.width}x${served.height}), ${where}, max queue ${args.maxQueue}${args.apiKey ? ", API key required" : ""}`);
  log(`${await stop}: finishing the jobs in flight`);
  await running.close();
  await release();
  log("stopped");
  return 0;
}
