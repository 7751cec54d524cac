/**
 * `vq-diffusion serve` without Redis: OpenAI's images API over the bundled model and the in-process
 * queue, spoken by OpenAI's own client (the `openai` package, pointed at 127.0.0.1). The images equal
 * `vq-diffusion generate`'s for the same settings (to the byte of the CLI's sheet); every bad request
 * gets its OpenAI error object naming the parameter; a full queue answers 429; a client that leaves
 * removes its waiting job and aborts its running one; an API key is asked when set; SIGTERM answers
 * the request in flight, then the process exits.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import OpenAI from "openai";
import pngjs from "pngjs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { main, type CliIO } from "../src/cli/main.js";
import { bundledModelFolder } from "../src/node/bundledModels.js";
import { directorySource } from "../src/node/directorySource.js";
import { VQDiffusionPipeline } from "../src/node/nodePipeline.js";
import { generationSheet } from "../src/cli/sheet.js";
import type { RGBAImage } from "../src/pipeline/images.js";
import type { ImagesResult, JobRunner } from "../src/serve/generationQueue.js";
import { startServer, type RunningServer } from "../src/serve/httpServer.js";
import { parseImagesRequest, type ImagesJob, type ServedModel } from "../src/serve/imagesRequest.js";
import { LocalQueue } from "../src/serve/localQueue.js";
import { runImagesJob } from "../src/serve/runImagesJob.js";
import { readServedModel } from "../src/serve/servedModel.js";
import { startCli, stopAll } from "./helpers/serveProcesses.mjs";

const dir = mkdtempSync(join(tmpdir(), "vqd-serve-"));
let pipe: VQDiffusionPipeline;
let served: ServedModel;
let server: RunningServer;
let client: OpenAI;

beforeAll(async () => {
  pipe = await VQDiffusionPipeline.fromPretrained("fashion-mnist");
  served = await readServedModel(directorySource(bundledModelFolder("fashion-mnist")!), "fashion-mnist", null);
  server = await startServer({ served, queue: new LocalQueue((job, o) => runImagesJob(pipe, served, job, o), 1), port: 0, maxQueue: 8 });
  client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: "none", maxRetries: 0 });
});
afterAll(async () => {
  await server?.close();
  await pipe?.release();
  await stopAll();
  rmSync(dir, { recursive: true, force: true });
});

function decodePng(b64: string): RGBAImage {
  const png = pngjs.PNG.sync.read(Buffer.from(b64, "base64"));
  return { data: new Uint8ClampedArray(png.data), width: png.width, height: png.height };
}

function post(url: string, body: unknown, init: RequestInit = {}): Promise<Response> {
  return fetch(`${url}/v1/images/generations`, { method: "POST", headers: { "content-type": "application/json" }, body: typeof body === "string" ? body : JSON.stringify(body), ...init });
}

describe("POST /v1/images/generations with OpenAI's client", () => {
  it("gives the CLI's images for the same settings (the CLI's sheet, to the byte)", async () => {
    const io: CliIO = { stdout: () => undefined, stderr: () => undefined, stderrIsTTY: false };
    const out = join(dir, "cli.png");
    const argv = ["generate", "--prompt", "ankle boot", "--images", "3", "--seed", "7", "--steps", "12", "--guidance", "3", "--truncation", "0.9", "--spacing", "leading", "--out", out];
    expect(await main(argv, io)).toBe(0);
    // OpenAI's parameters, and the model's own as extra fields of the body.
    const params = { model: "fashion-mnist", prompt: "ankle boot", n: 3, size: "28x28", response_format: "b64_json", seed: 7, steps: 12, guidance_scale: 3, truncation_rate: 0.9, timestep_spacing: "leading" } as const;
    const response = await client.images.generate(params as OpenAI.Images.ImageGenerateParamsNonStreaming);
    expect(response.data).toHaveLength(3);
    const images = response.data!.map((d) => decodePng(d.b64_json!));
    expect(images.map((im) => `${im.width}x${im.height}`)).toEqual(["28x28", "28x28", "28x28"]);
    // The CLI lays its images on a sheet (one prompt's block, ×4): the same sheet from the server's images has the CLI file's pixels.
    const sheet = generationSheet(images, ["ankle boot"], 3, 4);
    const cli = decodePng(readFileSync(out).toString("base64"));
    expect([cli.width, cli.height]).toEqual([sheet.width, sheet.height]);
    expect(Buffer.from(cli.data).equals(Buffer.from(sheet.data.buffer, sheet.data.byteOffset, sheet.data.byteLength))).toBe(true);
    // And the images differ from one another (the sheet is not trivially equal).
    expect(Buffer.from(images[0].data).equals(Buffer.from(images[1].data))).toBe(false);
  });

  it("streams progress and the images as Server-Sent Events (stream: true), which OpenAI's client reads", async () => {
    const stream = await client.images.generate({ prompt: "sneaker", n: 2, stream: true, steps: 4 } as unknown as OpenAI.Images.ImageGenerateParamsStreaming);
    const seen: string[] = [];
    const b64: string[] = [];
    for await (const event of stream) {
      const e = event as unknown as { type: string; step?: number; b64_json?: string };
      seen.push(e.type === "vq_diffusion.progress" ? `progress ${e.step}` : e.type);
      if (e.b64_json) b64.push(e.b64_json);
    }
    expect(seen).toEqual(["vq_diffusion.queued", "progress 1", "progress 2", "progress 3", "progress 4", "image_generation.completed", "image_generation.completed"]);
    const direct = await client.images.generate({ prompt: "sneaker", n: 2, steps: 4 } as OpenAI.Images.ImageGenerateParamsNonStreaming);
    expect(b64).toEqual(direct.data!.map((d) => d.b64_json));
  });

  it("lists the model, and says it is healthy", async () => {
    const models = [];
    for await (const m of client.models.list()) models.push(m.id);
    expect(models).toEqual(["fashion-mnist"]);
    expect((await client.models.retrieve("fashion-mnist")).id).toBe("fashion-mnist");
    const health = await fetch(`${server.url}/health`);
    expect(await health.json()).toEqual({ status: "ok", model: "fashion-mnist", pending: 0, max_queue: 8 });
  });

  it("raises OpenAI's typed errors with the parameter named", async () => {
    const e = await client.images.generate({ prompt: "sneaker", size: "256x256" }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(OpenAI.BadRequestError);
    const bad = e as InstanceType<typeof OpenAI.BadRequestError>;
    expect([bad.status, bad.param, bad.code, bad.type]).toEqual([400, "size", "invalid_value", "invalid_request_error"]);
    const m = await client.images.generate({ prompt: "sneaker", model: "dall-e-3" }).catch((x: unknown) => x);
    expect(m).toBeInstanceOf(OpenAI.NotFoundError);
    expect((m as InstanceType<typeof OpenAI.NotFoundError>).param).toBe("model");
  });
});

describe("bad requests: each one's OpenAI error object", () => {
  const invalid = (param: string, message: string, code = "invalid_value") => ({ status: 400, error: { message, type: "invalid_request_error", param, code } });
  const cases: [string, unknown, { status: number; error: Record<string, unknown> }][] = [
    ["no prompt", {}, invalid("prompt", "prompt: expected a string of 1 to 1000 characters, got nothing", "missing_required_parameter")],
    ["a number as prompt", { prompt: 5 }, invalid("prompt", "prompt: expected a string of 1 to 1000 characters, got 5")],
    ["an empty prompt", { prompt: "" }, invalid("prompt", 'prompt: expected a string of 1 to 1000 characters, got ""')],
    ["a prompt over 1000 characters", { prompt: "é".repeat(1001) }, invalid("prompt", "prompt: expected a string of 1 to 1000 characters, got a string of 1001 characters")],
    ["n = 0", { prompt: "bag", n: 0 }, invalid("n", "n: expected an integer in [1, 10], got 0")],
    ["n = 11", { prompt: "bag", n: 11 }, invalid("n", "n: expected an integer in [1, 10], got 11")],
    ["n = 1.5", { prompt: "bag", n: 1.5 }, invalid("n", "n: expected an integer in [1, 10], got 1.5")],
    ["n as a string", { prompt: "bag", n: "2" }, invalid("n", 'n: expected an integer in [1, 10], got "2"')],
    ["another size", { prompt: "bag", size: "1024x1024" }, invalid("size", 'size: expected "28x28" (the model\'s size), got "1024x1024"')],
    ["response_format url", { prompt: "bag", response_format: "url" }, invalid("response_format", 'response_format: expected "b64_json" (the server keeps no files to give URLs of), got "url"')],
    ["steps = 0", { prompt: "bag", steps: 0 }, invalid("steps", "steps: expected an integer in [1, 100], got 0")],
    ["steps over T", { prompt: "bag", steps: 101 }, invalid("steps", "steps: expected an integer in [1, 100], got 101")],
    ["a negative seed", { prompt: "bag", seed: -1 }, invalid("seed", "seed: expected an integer in [0, 9007199254740991], got -1")],
    ["a negative guidance", { prompt: "bag", guidance_scale: -1 }, invalid("guidance_scale", "guidance_scale: expected a finite number >= 0, got -1")],
    ["a truncation of 0", { prompt: "bag", truncation_rate: 0 }, invalid("truncation_rate", "truncation_rate: expected a number in (0, 1], got 0")],
    ["an unknown spacing", { prompt: "bag", timestep_spacing: "cosine" }, invalid("timestep_spacing", 'timestep_spacing: expected "linspace", "leading" or "trailing", got "cosine"')],
    ["stream as a string", { prompt: "bag", stream: "yes" }, invalid("stream", 'stream: expected true or false, got "yes"')],
    ["diffusers' name of steps", { prompt: "bag", num_inference_steps: 5 }, invalid("num_inference_steps", 'num_inference_steps: expected one of prompt, model, n, size, response_format, user, stream, seed, steps, guidance_scale, truncation_rate, timestep_spacing, got the unknown field "num_inference_steps" (did you mean steps?)', "unknown_parameter")],
    ["a misspelt field", { prompt: "bag", seeed: 5 }, invalid("seeed", 'seeed: expected one of prompt, model, n, size, response_format, user, stream, seed, steps, guidance_scale, truncation_rate, timestep_spacing, got the unknown field "seeed" (did you mean seed?)', "unknown_parameter")],
    ["another model", { prompt: "bag", model: "dall-e-2" }, { status: 404, error: { message: 'model: expected "fashion-mnist" (the model this server serves), got "dall-e-2"', type: "invalid_request_error", param: "model", code: "model_not_found" } }],
    ["a JSON array", "[]", { status: 400, error: { message: "body: expected a JSON object, got []", type: "invalid_request_error", param: null, code: "invalid_json" } }],
    ["a body over 16 KiB", JSON.stringify({ prompt: "x".repeat(20_000) }), { status: 413, error: { message: "body: expected at most 16384 bytes, got 20013 (Content-Length)", type: "invalid_request_error", param: null, code: "request_too_large" } }],
  ];
  it.each(cases)("%s", async (_, body, expected) => {
    const response = await post(server.url, body);
    expect({ status: response.status, ...(await response.json()) }).toEqual(expected);
  });

  it("text that is not JSON, an unknown URL, a wrong method", async () => {
    const notJson = await post(server.url, "prompt=bag");
    expect(notJson.status).toBe(400);
    expect(await notJson.json()).toEqual({ error: { message: expect.stringMatching(/^body: expected JSON, got text that does not parse \(/), type: "invalid_request_error", param: null, code: "invalid_json" } });
    const unknown = await fetch(`${server.url}/v1/images/edits`, { method: "POST" });
    expect([unknown.status, await unknown.json()]).toEqual([404, { error: { message: "url: expected /v1/images/generations, /v1/models or /health, got POST /v1/images/edits", type: "invalid_request_error", param: null, code: "unknown_url" } }]);
    const method = await fetch(`${server.url}/v1/images/generations`);
    expect([method.status, await method.json()]).toEqual([405, { error: { message: "method: expected POST for /v1/images/generations, got GET", type: "invalid_request_error", param: null, code: "method_not_allowed" } }]);
  });
});

/** A queue whose jobs wait on a gate the test opens (no generation: no CPU). */
function gatedRunner(): { run: JobRunner; started: string[]; open: () => void; outcomes: Map<string, string> } {
  let open!: () => void;
  const gate = new Promise<void>((resolve) => (open = resolve));
  const started: string[] = [];
  const outcomes = new Map<string, string>();
  const run: JobRunner = async (job: ImagesJob, { signal }): Promise<ImagesResult> => {
    started.push(job.prompt);
    try {
      await Promise.race([gate, new Promise((_, reject) => signal?.addEventListener("abort", () => reject(new DOMException("aborted", "AbortError"))))]);
      outcomes.set(job.prompt, "done");
      return { images: [] };
    } catch (e) {
      outcomes.set(job.prompt, (e as Error).name);
      throw e;
    }
  };
  return { run, started, open: () => open(), outcomes };
}

async function until(check: () => boolean | Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 600; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe("limits and cancellation (in-process queue)", () => {
  it("answers 429 with OpenAI's error object once max-queue jobs are waiting or running", async () => {
    const gated = gatedRunner();
    const s = await startServer({ served, queue: new LocalQueue(gated.run, 1), port: 0, maxQueue: 2 });
    const c = new OpenAI({ baseURL: `${s.url}/v1`, apiKey: "none", maxRetries: 0 });
    const first = c.images.generate({ prompt: "a" });
    const second = c.images.generate({ prompt: "b" });
    await until(async () => (await (await fetch(`${s.url}/health`)).json()).pending === 2, "two pending jobs");
    const full = await c.images.generate({ prompt: "c" }).catch((e: unknown) => e);
    expect(full).toBeInstanceOf(OpenAI.RateLimitError);
    expect((full as InstanceType<typeof OpenAI.RateLimitError>).error).toEqual({
      message: "queue: expected fewer than 2 jobs waiting or running on this server, got 2; retry later", type: "rate_limit_error", param: null, code: "queue_full",
    });
    gated.open();
    expect((await first).data).toEqual([]);
    expect((await second).data).toEqual([]);
    expect(gated.started).toEqual(["a", "b"]);
    await s.close();
  });

  it("runs --concurrency jobs at once, the others in the order they came", async () => {
    const gated = gatedRunner();
    const queue = new LocalQueue(gated.run, 2);
    const job = (prompt: string) => parseImagesRequest({ prompt }, served).job;
    const all = ["a", "b", "c", "d"].map((p) => queue.submit(job(p)));
    await until(() => gated.started.length === 2, "two jobs to start");
    expect([gated.started, queue.pending()]).toEqual([["a", "b"], 4]);
    gated.open();
    await Promise.all(all);
    expect(gated.started).toEqual(["a", "b", "c", "d"]);
    await queue.close();
    await expect(queue.submit(job("e"))).rejects.toThrow("queue: expected an open queue, got one that is closing");
    expect(() => new LocalQueue(gated.run, 0)).toThrow("concurrency: expected an integer >= 1, got 0");
  });

  it("removes a waiting job and aborts a running one when their clients leave", async () => {
    const gated = gatedRunner();
    const s = await startServer({ served, queue: new LocalQueue(gated.run, 1), port: 0 });
    const running = new AbortController();
    const waiting = new AbortController();
    const a = post(s.url, { prompt: "running" }, { signal: running.signal }).catch((e: Error) => e.name);
    await until(() => gated.started.length === 1, "the first job to start");
    const b = post(s.url, { prompt: "waiting" }, { signal: waiting.signal }).catch((e: Error) => e.name);
    await until(async () => (await (await fetch(`${s.url}/health`)).json()).pending === 2, "the second job to wait");
    waiting.abort();
    expect(await b).toBe("AbortError");
    await until(async () => (await (await fetch(`${s.url}/health`)).json()).pending === 1, "the waiting job to be removed");
    running.abort();
    expect(await a).toBe("AbortError");
    await until(() => gated.outcomes.has("running"), "the running job to stop");
    expect(gated.outcomes.get("running")).toBe("AbortError");
    expect(gated.started).toEqual(["running"]); // the waiting one never ran
    await s.close();
  });

  it("aborts a real generation between steps when its client leaves", async () => {
    const outcomes: string[] = [];
    let steps = 0;
    const run: JobRunner = (job, o) =>
      runImagesJob(pipe, served, job, { ...o, onProgress: () => void steps++ }).then(
        (r) => (outcomes.push("done"), r),
        (e: Error) => (outcomes.push(e.name), Promise.reject(e)),
      );
    const s = await startServer({ served, queue: new LocalQueue(run, 1), port: 0 });
    const controller = new AbortController();
    const request = post(s.url, { prompt: "bag", n: 10, steps: 100 }, { signal: controller.signal }).catch((e: Error) => e.name);
    await until(() => steps > 0, "the first step");
    controller.abort();
    expect(await request).toBe("AbortError");
    await until(() => outcomes.length > 0, "the run to end");
    expect(outcomes).toEqual(["AbortError"]);
    expect(steps).toBeLessThan(100);
    await s.close();
  });
});

describe("API key", () => {
  it("asks for the Bearer token on /v1, not on /health", async () => {
    const s = await startServer({ served, queue: new LocalQueue(gatedRunner().run, 1), port: 0, apiKey: "sk-local-1" });
    const wrong = await new OpenAI({ baseURL: `${s.url}/v1`, apiKey: "sk-other", maxRetries: 0 }).models.list().catch((e: unknown) => e);
    expect(wrong).toBeInstanceOf(OpenAI.AuthenticationError);
    expect((wrong as InstanceType<typeof OpenAI.AuthenticationError>).error).toEqual({
      message: 'Authorization: expected "Bearer " and the server\'s API key, got another key', type: "invalid_request_error", param: null, code: "invalid_api_key",
    });
    const none = await fetch(`${s.url}/v1/models`);
    expect([none.status, ((await none.json()) as { error: { message: string } }).error.message]).toEqual([401, 'Authorization: expected "Bearer " and the server\'s API key, got no Authorization header']);
    const right = new OpenAI({ baseURL: `${s.url}/v1`, apiKey: "sk-local-1", maxRetries: 0 });
    expect((await right.models.retrieve("fashion-mnist")).object).toBe("model");
    expect((await fetch(`${s.url}/health`)).status).toBe(200);
    await s.close();
  });
});

describe("vq-diffusion serve (the process)", () => {
  it("answers the request in flight on SIGTERM, then exits 0", async () => {
    const child = startCli(["serve", "--port", "0"], { VQ_DIFFUSION_API_KEY: "sk-env" });
    const url = /listening on (http:\/\/\S+):/.exec(await child.waitFor(/listening on/))![1];
    expect(child.lines.join("\n")).toContain("API key required");
    const request = post(url, { prompt: "bag", n: 4, steps: 60 }, { headers: { "content-type": "application/json", authorization: "Bearer sk-env" } });
    await until(async () => (await (await fetch(`${url}/health`)).json()).pending === 1, "the job to be queued");
    child.process.kill("SIGTERM");
    const response = await request;
    expect(response.status).toBe(200);
    expect(((await response.json()) as { data: unknown[] }).data).toHaveLength(4);
    expect(await child.exited).toBe(0);
    expect(child.lines.slice(-2)).toEqual(["vq-diffusion serve: SIGTERM: finishing the jobs in flight", "vq-diffusion serve: stopped"]);
  });

  it("refuses bad options with the usage line (exit 2)", async () => {
    const io = { out: [] as string[], err: [] as string[] };
    const cli: CliIO = { stdout: (t) => void io.out.push(t), stderr: (t) => void io.err.push(t), stderrIsTTY: false };
    expect(await main(["serve", "--port", "70000"], cli)).toBe(2);
    expect(io.err[0]).toMatch(/^vq-diffusion: --port: expected an integer in \[0, 65535\], got "70000"\n/);
    expect(await main(["worker", "--model", "fashion-mnist"], cli)).toBe(2);
    expect(io.err[1]).toMatch(/^vq-diffusion: --redis: expected the server's Redis URL \(redis:\/\/host:port\), got nothing\n/);
    expect(await main(["serve", "--redis", "http://127.0.0.1:6379"], cli)).toBe(2);
    expect(io.err[2]).toMatch(/^vq-diffusion: --redis: expected a Redis URL redis:\/\/host:port \(or rediss:\/\/ for TLS\), got "http:\/\/127.0.0.1:6379"\n/);
    expect(await main(["serve", "--redis", "redis://127.0.0.1:1", "--concurrency", "2"], cli)).toBe(2);
    expect(io.err[3]).toMatch(/^vq-diffusion: --concurrency: expected no --concurrency with --redis/);
    expect(await main(["worker", "--redis", "redis://127.0.0.1:1", "--steps", "3"], cli)).toBe(2);
    expect(io.err[4]).toMatch(/^vq-diffusion: --steps: expected one of --redis, --queue, --model/);
  });
});
