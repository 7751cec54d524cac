/**
 * The HTTP API: OpenAI's images endpoint over a {@link GenerationQueue} (Node.js).
 *
 *   POST /v1/images/generations   OpenAI's request (imagesRequest.ts) → `{ created, data: [{ b64_json }], size, output_format }`;
 *                                 with `stream: true`, Server-Sent Events: `vq_diffusion.queued` (the job's id),
 *                                 `vq_diffusion.progress` (step of total), then one `image_generation.completed` per image
 *   GET  /v1/models               `{ object: "list", data: [{ id, object: "model", created, owned_by }] }`
 *   GET  /v1/models/{id}          the model object, or 404 `model_not_found`
 *   GET  /health                  200 `{ status: "ok", model, pending, max_queue }`; 503 `{ status: "draining" }` while stopping
 *
 * Every error is OpenAI's error object (apiError.ts). With an API key, `/v1/*` needs `Authorization:
 * Bearer KEY` (compared in constant time); `/health` stays open for load balancers. A client that
 * disconnects cancels its job (removed while waiting, aborted while running). `close()` stops taking
 * requests, lets the ones in flight finish and answers them, then closes the queue.
 *
 * Node's own `http` module rather than a framework: five routes, one JSON body of at most 16 KiB read
 * with a hard bound, one event stream and a client's disconnect to notice; a framework's router,
 * schema validation (whose messages would not be OpenAI's error objects naming the parameter) and
 * plugin system would add a dependency and its updates for none of that.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { argumentError } from "../errors.js";
import { ApiError } from "./apiError.js";
import { JobFailedError } from "./bullmqQueue.js";
import type { GenerationQueue, ImagesResult } from "./generationQueue.js";
import { parseImagesRequest, SERVE_LIMITS, type ServedModel } from "./imagesRequest.js";
import { MODEL_REFUSED } from "./runImagesJob.js";

/** Options of {@link startServer}. */
export interface ServerOptions {
  /** The model requests are checked against. */
  served: ServedModel;
  /** Where jobs run: `LocalQueue` or `BullmqQueue`. */
  queue: GenerationQueue;
  /** Jobs this server holds at once (waiting or running, default 64); one more is answered 429. */
  maxQueue?: number;
  /** The Bearer token `/v1/*` requires; none: open (bind to 127.0.0.1, or put a proxy with auth in front). */
  apiKey?: string;
  /** Default 127.0.0.1 (this machine only). */
  host?: string;
  /** Default 8080; 0 picks a free port (see {@link RunningServer.url}). */
  port?: number;
  /** Receives one line per failed job and per server error. */
  log?: (line: string) => void;
}

/** A listening server. */
export interface RunningServer {
  /** `http://host:port`, with the port actually bound. */
  readonly url: string;
  readonly server: Server;
  /** Stops taking requests (503), finishes and answers the ones in flight, closes the queue. */
  close(): Promise<void>;
}

/** When the model object says it was made: the server's start, in Unix seconds. */
const STARTED = Math.floor(Date.now() / 1000);

function sha256(text: string): Buffer {
  return createHash("sha256").update(text).digest();
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text), ...headers });
  res.end(text);
}

/** Reads the body within {@link SERVE_LIMITS.maxBodyBytes} and parses it as JSON. */
async function readJsonBody(req: IncomingMessage): Promise<unknown> {
  const max = SERVE_LIMITS.maxBodyBytes;
  const tooLarge = (got: string) =>
    new ApiError(413, { message: `body: expected at most ${max} bytes, got ${got}`, type: "invalid_request_error", param: null, code: "request_too_large" });
  const declared = Number(req.headers["content-length"]);
  if (Number.isFinite(declared) && declared > max) throw tooLarge(`${declared} (Content-Length)`);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > max) throw tooLarge("more");
    chunks.push(chunk);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString("utf8")) as unknown;
  } catch (e) {
    throw new ApiError(400, { message: `body: expected JSON, got text that does not parse (${(e as Error).message})`, type: "invalid_request_error", param: null, code: "invalid_json" });
  }
}

/** The answer to a failed job: a refusal names `model`; anything else is the server's. */
function failure(e: unknown): ApiError {
  if (e instanceof ApiError) return e;
  const message = (e as Error)?.message ?? String(e);
  if (e instanceof JobFailedError && message.startsWith(MODEL_REFUSED)) return ApiError.failed(message, "model", "model_not_served");
  return ApiError.failed(`generation failed: ${message}`);
}

/**
 * Starts the server and resolves once it listens.
 *
 * @throws Error naming `maxQueue` (an integer >= 1) or `apiKey` (a non-empty string); the listen error (EADDRINUSE).
 *
 * @example
 * ```ts
 * const queue = new LocalQueue((job, o) => runImagesJob(pipe, served, job, o), 1);
 * const running = await startServer({ served, queue, port: 8080 });
 * // curl -s localhost:8080/v1/images/generations -H 'content-type: application/json' -d '{"prompt":"sneaker"}'
 * ```
 */
export async function startServer(options: ServerOptions): Promise<RunningServer> {
  const { served, queue, maxQueue = 64, apiKey, host = "127.0.0.1", port = 8080, log = () => undefined } = options;
  if (!Number.isSafeInteger(maxQueue) || maxQueue < 1) throw argumentError("maxQueue", "an integer >= 1", maxQueue);
  if (apiKey !== undefined && (typeof apiKey !== "string" || apiKey === "")) throw argumentError("apiKey", "a non-empty string", apiKey);
  const keyHash = apiKey === undefined ? null : sha256(apiKey);
  let draining = false;
  let inFlight = 0;
  const drained: (() => void)[] = [];

  const modelObject = () => ({ id: served.id, object: "model", created: STARTED, owned_by: "vq-diffusion" });

  const authorize = (req: IncomingMessage): void => {
    if (keyHash === null) return;
    const header = req.headers.authorization;
    const token = typeof header === "string" && header.startsWith("Bearer ") ? header.slice(7) : null;
    if (token !== null && timingSafeEqual(sha256(token), keyHash)) return;
    throw new ApiError(401, {
      message: `Authorization: expected "Bearer " and the server's API key, got ${token === null ? (header === undefined ? "no Authorization header" : "another scheme") : "another key"}`,
      type: "invalid_request_error", param: null, code: "invalid_api_key",
    });
  };

  const generate = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const { job, stream } = parseImagesRequest(await readJsonBody(req), served);
    if (draining) throw new ApiError(503, { message: "server: expected a running server, got one that is shutting down; retry on another", type: "server_error", param: null, code: "server_shutting_down" });
    if (queue.pending() >= maxQueue) {
      throw new ApiError(429, {
        message: `queue: expected fewer than ${maxQueue} jobs waiting or running on this server, got ${queue.pending()}; retry later`,
        type: "rate_limit_error", param: null, code: "queue_full",
      });
    }
    const controller = new AbortController();
    res.on("close", () => {
      if (!res.writableFinished) controller.abort();
    });
    const created = Math.floor(Date.now() / 1000);
    if (!stream) {
      const result: ImagesResult = await queue.submit(job, { signal: controller.signal });
      sendJson(res, 200, { created, data: result.images.map((b64_json) => ({ b64_json })), size: job.size, output_format: "png" });
      return;
    }
    res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache", connection: "keep-alive" });
    res.flushHeaders();
    const send = (event: string, data: unknown) => res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
    try {
      const result = await queue.submit(job, {
        signal: controller.signal,
        onQueued: (jobId) => send("vq_diffusion.queued", { type: "vq_diffusion.queued", job_id: jobId }),
        onProgress: ({ step, totalSteps }) => send("vq_diffusion.progress", { type: "vq_diffusion.progress", step, total_steps: totalSteps }),
      });
      result.images.forEach((b64_json, index) =>
        send("image_generation.completed", { type: "image_generation.completed", image_index: index, b64_json, created_at: created, size: job.size, output_format: "png" }),
      );
    } catch (e) {
      if (controller.signal.aborted) return;
      const error = failure(e);
      if (error.status >= 500) log(`POST /v1/images/generations: ${error.message}`);
      send("error", error.body());
    }
    res.end();
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = (req.url ?? "/").split("?")[0];
    const only = (method: string) => {
      if (req.method !== method) {
        throw new ApiError(405, { message: `method: expected ${method} for ${path}, got ${req.method}`, type: "invalid_request_error", param: null, code: "method_not_allowed" });
      }
    };
    if (path === "/health") {
      only("GET");
      if (draining) return sendJson(res, 503, { status: "draining", model: served.id, pending: queue.pending() });
      return sendJson(res, 200, { status: "ok", model: served.id, pending: queue.pending(), max_queue: maxQueue });
    }
    if (!path.startsWith("/v1/")) throw new ApiError(404, { message: `url: expected /v1/images/generations, /v1/models or /health, got ${req.method} ${path}`, type: "invalid_request_error", param: null, code: "unknown_url" });
    authorize(req);
    if (path === "/v1/images/generations") {
      only("POST");
      return generate(req, res);
    }
    if (path === "/v1/models") {
      only("GET");
      return sendJson(res, 200, { object: "list", data: [modelObject()] });
    }
    if (path.startsWith("/v1/models/")) {
      only("GET");
      const id = decodeURIComponent(path.slice("/v1/models/".length));
      if (id === served.id) return sendJson(res, 200, modelObject());
      throw new ApiError(404, { message: `model: expected ${JSON.stringify(served.id)} (the model this server serves), got ${JSON.stringify(id)}`, type: "invalid_request_error", param: "model", code: "model_not_found" });
    }
    throw new ApiError(404, { message: `url: expected /v1/images/generations, /v1/models or /health, got ${req.method} ${path}`, type: "invalid_request_error", param: null, code: "unknown_url" });
  };

  const server = createServer((req, res) => {
    inFlight++;
    handle(req, res)
      .catch((e: unknown) => {
        if (res.headersSent || res.destroyed) return;
        if ((e as Error)?.name === "AbortError") return;
        const error = failure(e);
        if (error.status >= 500) log(`${req.method} ${req.url}: ${error.message}`);
        sendJson(res, error.status, error.body(), error.status === 429 ? { "retry-after": "1" } : {});
      })
      .finally(() => {
        if (--inFlight === 0) for (const wake of drained.splice(0)) wake();
      });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const url = `http://${address.family === "IPv6" ? `[${address.address}]` : address.address}:${address.port}`;
  return {
    url,
    server,
    async close() {
      draining = true;
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      if (inFlight > 0) await new Promise<void>((resolve) => drained.push(resolve));
      await queue.close();
      server.closeAllConnections();
      await closed;
    },
  };
}
