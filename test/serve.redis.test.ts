/**
 * `vq-diffusion serve` over BullMQ with a real Redis (Debian's redis-server on 127.0.0.1, started and
 * stopped here; .ci/run installs it) and `vq-diffusion worker` processes: two workers share the jobs;
 * 50 requests at once all come back with their own images; a worker SIGKILLed mid-job loses nothing
 * (another takes the job, which completes once); a restarted Redis; a full queue; cancelled jobs
 * (removed while waiting, aborted while running); a worker refusing another model's job; workers
 * starting together on an empty Hub cache; SIGTERM letting a worker finish its job.
 *
 * The server runs in this process (startServer over BullmqQueue, what `serve --redis` runs); the
 * expected images are runImagesJob's on the bundled model here (serve.test.ts shows they are the CLI's).
 */
import { serverSentEvents } from "./helpers/serverSentEvents.js";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { QueueEvents, Queue } from "bullmq";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bundledModelFolder } from "../src/node/bundledModels.js";
import { directorySource } from "../src/node/directorySource.js";
import { VQDiffusionPipeline } from "../src/node/nodePipeline.js";
import { BullmqQueue, redisConnection } from "../src/serve/bullmqQueue.js";
import { startWorker } from "../src/serve/bullmqWorker.js";
import { startServer, type RunningServer } from "../src/serve/httpServer.js";
import { parseImagesRequest, type ServedModel } from "../src/serve/imagesRequest.js";
import { runImagesJob } from "../src/serve/runImagesJob.js";
import { readServedModel } from "../src/serve/servedModel.js";
import { readFolder, startHubServer, type HubServer } from "./helpers/hubServer.mjs";
import { startCli, startRedis, stopAll, tempFolder, type Child, type TestRedis } from "./helpers/serveProcesses.mjs";

let redis: TestRedis;
let pipe: VQDiffusionPipeline;
let served: ServedModel;
const closers: (() => Promise<unknown>)[] = [];

beforeAll(async () => {
  redis = await startRedis();
  pipe = await VQDiffusionPipeline.fromPretrained("fashion-mnist");
  served = await readServedModel(directorySource(bundledModelFolder("fashion-mnist")!), "fashion-mnist", null);
});
afterAll(async () => {
  for (const close of closers.reverse()) await close().catch(() => undefined);
  await pipe?.release();
  await stopAll();
});

/** A `vq-diffusion worker` process on `queue`, once it says it is ready (locks of 2 s: a dead worker's job is taken again within ~4 s). */
async function worker(queue: string, extra: string[] = [], env: Record<string, string | undefined> = {}): Promise<Child> {
  const child = startCli(["worker", "--redis", redis.url, "--queue", queue, "--lock-duration", "2000", ...extra], env);
  await child.waitFor(/ready: /);
  return child;
}

/** A server over BullMQ on `queue`, in this process, and an OpenAI client of it. */
async function server(queue: string, maxQueue = 100, model = served): Promise<{ s: RunningServer; client: OpenAI; q: BullmqQueue }> {
  const q = await BullmqQueue.open(redisConnection(redis.url, "--redis"), { name: queue, lostJobCheckMs: 500 });
  const s = await startServer({ served: model, queue: q, port: 0, maxQueue });
  closers.push(() => s.close());
  return { s, q, client: new OpenAI({ baseURL: `${s.url}/v1`, apiKey: "none", maxRetries: 0 }) };
}

/** The images the bundled model gives for a request body (base64 PNGs), computed here. */
async function expected(body: Record<string, unknown>): Promise<readonly string[]> {
  return (await runImagesJob(pipe, served, parseImagesRequest(body, served).job, {})).images;
}

function post(url: string, body: unknown, signal?: AbortSignal): Promise<Response> {
  return fetch(`${url}/v1/images/generations`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body), signal });
}

/** Reads a streamed response's events (as [event, data]) into `into`, resolving at its end. */
async function readEvents(response: Response, into: [string, Record<string, unknown>][]): Promise<void> {
  for await (const event of serverSentEvents(response)) into.push(event);
}

async function until(check: () => boolean | Promise<boolean>, what: string, ms = 60_000): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

const b64 = (r: OpenAI.Images.ImagesResponse) => r.data!.map((d) => d.b64_json);
const PROMPTS = ["t-shirt", "trouser", "pullover", "dress", "coat", "sandal", "shirt", "sneaker", "bag", "ankle boot"];

describe("two workers in separate processes", () => {
  let w1: Child;
  let w2: Child;
  let main: Awaited<ReturnType<typeof server>>;
  beforeAll(async () => {
    [w1, w2] = await Promise.all([worker("q-main"), worker("q-main")]);
    main = await server("q-main");
  });

  it("share 50 requests sent at once: none lost, each answered with its own images", async () => {
    const bodies = Array.from({ length: 50 }, (_, i) => ({ prompt: PROMPTS[i % 10], seed: i, steps: 2, n: 1 + (i % 2) }));
    const answers = await Promise.all(bodies.map((b) => main.client.images.generate(b as OpenAI.Images.ImageGenerateParamsNonStreaming)));
    for (let i = 0; i < bodies.length; i++) expect(b64(answers[i])).toEqual(await expected(bodies[i]));
    const done = (w: Child) => w.lines.filter((l) => / done$/.test(l)).length;
    expect(done(w1) + done(w2)).toBe(50);
    expect(done(w1)).toBeGreaterThan(0);
    expect(done(w2)).toBeGreaterThan(0);
  });

  it("cancel: a waiting job is removed, a running one aborted on its worker", async () => {
    const long = { prompt: "coat", n: 10, steps: 100, stream: true };
    const controllers = [new AbortController(), new AbortController(), new AbortController()];
    const events: [string, Record<string, unknown>][][] = [[], [], []];
    const reading: Promise<unknown>[] = [];
    const jobId = (k: number) => events[k].find(([e]) => e === "vq_diffusion.queued")?.[1].job_id as string | undefined;
    for (const k of [0, 1]) {
      const response = await post(main.s.url, { ...long, seed: k }, controllers[k].signal);
      reading.push(readEvents(response, events[k]).catch((e: Error) => e.name));
      await until(() => events[k].some(([e]) => e === "vq_diffusion.progress"), `job ${k} to run`);
    }
    // Both workers are busy: the third job waits in Redis.
    const third = await post(main.s.url, { ...long, seed: 2 }, controllers[2].signal);
    reading.push(readEvents(third, events[2]).catch((e: Error) => e.name));
    await until(() => jobId(2) !== undefined, "the third job's id");
    const queue = new Queue("q-main", { connection: redisConnection(redis.url, "--redis") });
    closers.push(() => queue.close());
    expect(await queue.getJobState(jobId(2)!)).toBe("waiting");
    controllers[2].abort();
    await until(async () => (await queue.getJobState(jobId(2)!)) === "unknown", "the waiting job's removal");
    controllers[0].abort();
    controllers[1].abort();
    const aborted = (k: number) => [...w1.lines, ...w2.lines].includes(`vq-diffusion worker: job ${jobId(k)}: cancelled: cancelled by the client`);
    await until(() => aborted(0) && aborted(1), "the running jobs' abort");
    expect([...w1.lines, ...w2.lines].some((l) => l.includes(jobId(2)!))).toBe(false); // no worker ever took the removed job
    await Promise.all(reading);
    await until(async () => main.q.pending() === 0, "nothing pending");
  });

  it("go on after Redis restarts: a request sent while it is down is answered once it is back", async () => {
    await redis.stop();
    const body = { prompt: "bag", seed: 11, steps: 6, n: 2 };
    const during = main.client.images.generate(body as OpenAI.Images.ImageGenerateParamsNonStreaming);
    await new Promise((r) => setTimeout(r, 500));
    await redis.start();
    expect(b64(await during)).toEqual(await expected(body));
    const after = { prompt: "dress", seed: 12, steps: 6 };
    expect(b64(await main.client.images.generate(after as OpenAI.Images.ImageGenerateParamsNonStreaming))).toEqual(await expected(after));
  });

  it("go on after Redis restarts without its data: the job in flight is queued again and answered", async () => {
    const body = { prompt: "shirt", seed: 13, steps: 40, n: 2, stream: true };
    const events: [string, Record<string, unknown>][] = [];
    const reading = readEvents(await post(main.s.url, body), events);
    await until(() => events.some(([e]) => e === "vq_diffusion.progress"), "the job to run");
    await redis.stop();
    redis.wipe();
    await redis.start();
    await reading;
    const images = events.filter(([e]) => e === "image_generation.completed").map(([, d]) => d.b64_json);
    expect(images).toEqual(await expected({ ...body, stream: false }));
    const id = events[0][1].job_id as string;
    expect([...w1.lines, ...w2.lines].filter((l) => l.includes(`job ${id}: taken`))).toHaveLength(2);
  });

  it("SIGTERM: a worker finishes the job it runs, then exits 0", async () => {
    const body = { prompt: "sandal", seed: 3, steps: 30, n: 2, stream: true };
    const events: [string, Record<string, unknown>][] = [];
    const reading = readEvents(await post(main.s.url, body), events);
    await until(() => events.some(([e]) => e === "vq_diffusion.progress"), "the job to run");
    w1.process.kill("SIGTERM");
    w2.process.kill("SIGTERM");
    await reading;
    const images = events.filter(([e]) => e === "image_generation.completed").map(([, d]) => d.b64_json);
    expect(images).toEqual(await expected({ ...body, stream: false }));
    expect([await w1.exited, await w2.exited]).toEqual([0, 0]);
  });
});

describe("a worker SIGKILLed mid-job", () => {
  it("loses nothing: another worker takes the job, which completes once", async () => {
    const k1 = await worker("q-kill");
    const { s } = await server("q-kill");
    const completions = new Map<string, number>();
    const watch = new QueueEvents("q-kill", { connection: redisConnection(redis.url, "--redis") });
    closers.push(() => watch.close());
    watch.on("completed", ({ jobId }) => completions.set(jobId, (completions.get(jobId) ?? 0) + 1));
    await watch.waitUntilReady();
    const body = { prompt: "pullover", seed: 5, n: 4, steps: 50, stream: true };
    const events: [string, Record<string, unknown>][] = [];
    const reading = readEvents(await post(s.url, body), events);
    await until(() => events.some(([e]) => e === "vq_diffusion.progress"), "the job to run on the first worker");
    const id = events[0][1].job_id as string;
    expect(k1.lines).toContain(`vq-diffusion worker: job ${id}: taken (attempt 1): 4 image(s) of "pullover" in 50 steps`);
    k1.process.kill("SIGKILL");
    expect(await k1.exited).toBe("SIGKILL");
    const k2 = await worker("q-kill");
    await reading;
    const images = events.filter(([e]) => e === "image_generation.completed").map(([, d]) => d.b64_json);
    expect(images).toEqual(await expected({ ...body, stream: false }));
    expect(k2.lines).toContain(`vq-diffusion worker: job ${id}: taken (attempt 2): 4 image(s) of "pullover" in 50 steps`);
    await until(() => completions.get(id) === 1, "the completed event");
    expect([...completions]).toEqual([[id, 1]]);
  });
});

describe("limits and refusals", () => {
  it("a full queue answers 429 with OpenAI's error object; the waiting jobs leave Redis with their clients", async () => {
    const { s, client } = await server("q-full", 2);
    const controllers = [new AbortController(), new AbortController()];
    const waiting = controllers.map((c, k) => post(s.url, { prompt: "bag", seed: k }, c.signal).catch((e: Error) => e.name));
    const queue = new Queue("q-full", { connection: redisConnection(redis.url, "--redis") });
    closers.push(() => queue.close());
    await until(async () => (await queue.getWaitingCount()) === 2, "two waiting jobs (no worker)");
    const full = await client.images.generate({ prompt: "bag" }).catch((e: unknown) => e);
    expect(full).toBeInstanceOf(OpenAI.RateLimitError);
    expect((full as InstanceType<typeof OpenAI.RateLimitError>).error).toEqual({
      message: "queue: expected fewer than 2 jobs waiting or running on this server, got 2; retry later", type: "rate_limit_error", param: null, code: "queue_full",
    });
    for (const c of controllers) c.abort();
    expect(await Promise.all(waiting)).toEqual(["AbortError", "AbortError"]);
    await until(async () => (await queue.getWaitingCount()) === 0, "the waiting jobs' removal");
  });

  it("a worker refuses a job for a model it does not serve, and the client is told so, naming model", async () => {
    const other: ServedModel = { ...served, id: "org/other" };
    const running = await startWorker(redisConnection(redis.url, "--redis"), pipe, other, { queueName: "q-refuse" });
    closers.push(() => running.close());
    const { client } = await server("q-refuse");
    const e = await client.images.generate({ prompt: "bag" }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(OpenAI.InternalServerError);
    expect((e as InstanceType<typeof OpenAI.InternalServerError>).error).toEqual({
      message: 'model: this worker serves "org/other" (revision default, 28x28), got a job for "fashion-mnist" (revision default, 28x28)',
      type: "server_error", param: "model", code: "model_not_served",
    });
  });

  it("a worker refuses a job written straight into Redis outside the request's bounds", async () => {
    const running = await startWorker(redisConnection(redis.url, "--redis"), pipe, served, { queueName: "q-hostile" });
    closers.push(() => running.close());
    const connection = redisConnection(redis.url, "--redis");
    const queue = new Queue("q-hostile", { connection });
    const events = new QueueEvents("q-hostile", { connection });
    closers.push(() => queue.close(), () => events.close());
    await events.waitUntilReady();
    const job = parseImagesRequest({ prompt: "bag" }, served).job;
    const outcome = async (data: unknown) => (await queue.add("images", data)).waitUntilFinished(events).then(() => "done", (x: Error) => x.message);
    expect(await outcome({ ...job, steps: 1e9 })).toBe("steps: expected an integer in [1, 100], got 1000000000");
    expect(await outcome({ ...job, n: 10_000 })).toBe("n: expected an integer in [1, 10], got 10000");
    expect(await outcome("rm -rf /")).toBe('job: expected the object a server queued, got "rm -rf /"');
  });
});

describe("workers on one machine", () => {
  let hub: HubServer;
  beforeAll(async () => {
    const files = readFolder(bundledModelFolder("fashion-mnist")!);
    hub = await startHubServer({ repos: { "org/fashion": { commits: { ["4".repeat(40)]: files }, refs: { main: "4".repeat(40) } } } });
    closers.push(() => hub.stop());
  });

  it("start together on an empty Hub cache, and both serve the model", async () => {
    const home = tempFolder("vqd-hf-");
    const env = { HF_HOME: home, HF_ENDPOINT: hub.url, HF_HUB_CACHE: undefined, HF_HUB_OFFLINE: undefined, HF_TOKEN: undefined };
    const workers = await Promise.all([worker("q-hub", ["--model", "org/fashion"], env), worker("q-hub", ["--model", "org/fashion"], env)]);
    const { client } = await server("q-hub", 100, { ...served, id: "org/fashion" });
    const bodies = Array.from({ length: 4 }, (_, i) => ({ prompt: PROMPTS[i], seed: i, steps: 4 }));
    const answers = await Promise.all(bodies.map((b) => client.images.generate(b as OpenAI.Images.ImageGenerateParamsNonStreaming)));
    for (let i = 0; i < bodies.length; i++) expect(b64(answers[i])).toEqual(await expected(bodies[i]));
    expect(workers.map((w) => w.lines.filter((l) => / done$/.test(l)).length).reduce((a, b) => a + b)).toBe(4);
    // One copy of each file in the cache's blobs, whole.
    const onnx = readFileSync(join(bundledModelFolder("fashion-mnist")!, "transformer/model.onnx"));
    const snapshot = join(home, "hub", "models--org--fashion", "snapshots", "4".repeat(40), "transformer/model.onnx");
    expect(readFileSync(snapshot).equals(onnx)).toBe(true);
  });
});
