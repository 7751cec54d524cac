/**
 * `VQDiffusionScheduler.fromPretrained` names its model by the pipeline's rule (modelLocation): a
 * bundled model, a folder (absolute, ./, ../, file:), an http(s) URL, a Hub id org/name, in
 * vq-diffusion/node; a URL or a Hub id in the core. The Hub is a server on 127.0.0.1
 * (test/helpers/hubServer.mjs): only the scheduler's config is fetched, into huggingface_hub's
 * cache layout, and read from there offline. Options it does not take are refused before any request.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { VQDiffusionScheduler as CoreScheduler, type OrtModule } from "../src/index.js";
import { VQDiffusionPipeline, VQDiffusionScheduler } from "../src/node.js";
import { readFolder, startHubServer, type HubServer } from "./helpers/hubServer.mjs";

const FASHION = new URL("../models/fashion-mnist/", import.meta.url).pathname;
const TINY = new URL("./fixtures/pipeline-golden/tiny-a/", import.meta.url).pathname;
const MAIN = "1".repeat(40);
const bytes = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));
const ITHQ_SCHEDULER = {
  _class_name: "VQDiffusionScheduler", _diffusers_version: "0.10.0.dev0", alpha_cum_end: 0.000009, alpha_cum_start: 0.99999,
  gamma_cum_end: 0.99999, gamma_cum_start: 0.000009, num_train_timesteps: 100, num_vec_classes: 4097,
};
const FORMS = "a bundled model (fashion-mnist), a folder (an existing one, or a path starting with ./, ../ or /), an http(s):// URL, or a Hub model id org/name";

/** The scheduler fromConfig makes of a folder's scheduler/scheduler_config.json. */
const expected = (folder: string) => CoreScheduler.fromConfig(JSON.parse(readFileSync(join(folder, "scheduler", "scheduler_config.json"), "utf8")));
function same(a: CoreScheduler, b: CoreScheduler): void {
  expect(b.config).toEqual(a.config);
  expect(b.toJSON()).toEqual(a.toJSON());
  expect(b.logCumprodCt).toEqual(a.logCumprodCt);
}

let server: HubServer;
const caches: string[] = [];
function newCache(): string {
  const dir = mkdtempSync(join(tmpdir(), "vqd-sched-hub-"));
  caches.push(dir);
  return dir;
}
const debug = console.debug;
beforeAll(async () => {
  console.debug = () => undefined; // @huggingface/hub logs every download
  server = await startHubServer({
    repos: {
      // ITHQ's layout, its scheduler config, and a "transformer" that must never be fetched.
      "microsoft/vq-diffusion-ithq": {
        commits: {
          [MAIN]: {
            "model_index.json": bytes({ _class_name: "VQDiffusionPipeline" }),
            "scheduler/scheduler_config.json": bytes(ITHQ_SCHEDULER),
            "transformer/model.onnx": new Uint8Array(1 << 16).fill(1),
            "transformer/diffusion_pytorch_model.bin": new Uint8Array(1 << 16).fill(2),
          },
        },
        refs: { main: MAIN },
      },
      "org/tiny": { commits: { [MAIN]: readFolder(TINY) }, refs: { main: MAIN } },
      // A scheduler alone: its config at the root (what diffusers' save_config writes).
      "org/scheduler-only": { commits: { [MAIN]: { "scheduler_config.json": bytes({ num_vec_classes: 9, num_train_timesteps: 20, extra: 1 }) } }, refs: { main: MAIN } },
      "org/empty": { commits: { [MAIN]: { "README.md": bytes("nothing") } }, refs: { main: MAIN } },
    },
  });
});
afterAll(async () => {
  console.debug = debug;
  await server.stop();
  for (const dir of caches) rmSync(dir, { recursive: true, force: true });
});

describe("the scheduler's fromPretrained follows the pipeline's naming rule (vq-diffusion/node)", () => {
  it("a bundled model by its name: the pipeline folder's scheduler/scheduler_config.json", async () => {
    const s = await VQDiffusionScheduler.fromPretrained("fashion-mnist");
    expect(s).toBeInstanceOf(VQDiffusionScheduler);
    same(expected(FASHION), s);
    expect(s.numEmbed).toBe(257);
  });

  it("a folder: absolute, ./ or ../ relative, file: URL, or an existing one named without ./; a bare name that is none is refused", async () => {
    const rel = relative(process.cwd(), FASHION);
    for (const form of [FASHION, `./${rel}`, pathToFileURL(FASHION).href, `../${join(process.cwd().split("/").pop()!, rel)}`]) {
      same(expected(FASHION), await VQDiffusionScheduler.fromPretrained(form));
    }
    same(expected(FASHION), await VQDiffusionScheduler.fromPretrained(FASHION, { subfolder: "scheduler" }));
    same(expected(FASHION), await VQDiffusionScheduler.fromPretrained(`${rel}/scheduler`));
    await expect(VQDiffusionScheduler.fromPretrained("my-model")).rejects.toThrow(
      new Error(`pretrainedModelNameOrPath: expected ${FORMS}, got "my-model", which is neither a folder in the working directory nor a bundled model`),
    );
    await expect(VQDiffusionScheduler.fromPretrained(FASHION, { subfolder: "" })).rejects.toThrow(
      new Error(`pretrainedModelNameOrPath: expected a folder holding scheduler_config.json, got ${FASHION.replace(/\/$/, "")}, which has no such file`),
    );
    await expect(VQDiffusionScheduler.fromPretrained(FASHION, { subfolder: "../fashion-mnist/scheduler" })).rejects.toThrow(
      new Error(
        'subfolder: expected a path inside the model folder (relative, "/"-separated, no "..", ".", empty segment, backslash, colon or NUL), got "../fashion-mnist/scheduler"',
      ),
    );
  });

  it("an http(s) URL of a folder, and a Hub id: only the scheduler's config is fetched, then read from the cache offline", async () => {
    same(expected(TINY), await VQDiffusionScheduler.fromPretrained(`${server.url}/org/tiny/resolve/${MAIN}`));

    const cacheDir = newCache();
    const s = await VQDiffusionScheduler.fromPretrained("microsoft/vq-diffusion-ithq", { hubUrl: server.url, cacheDir });
    same(CoreScheduler.fromConfig(ITHQ_SCHEDULER), s);
    expect(server.downloads("scheduler/scheduler_config.json")).toBeGreaterThanOrEqual(1);
    expect(server.downloads("transformer/model.onnx")).toBe(0);
    const snapshot = join(cacheDir, "models--microsoft--vq-diffusion-ithq", "snapshots", MAIN);
    expect(readdirSync(snapshot, { recursive: true, encoding: "utf8" }).sort()).toEqual(["scheduler", "scheduler/scheduler_config.json"]);

    const before = server.requests.length;
    same(s, await VQDiffusionScheduler.fromPretrained("microsoft/vq-diffusion-ithq", { hubUrl: server.url, cacheDir, localFilesOnly: true }));
    expect(server.requests.length).toBe(before);

    // A scheduler repository: the config at its root, unknown keys warned about once, naming the file.
    const warnings: string[] = [];
    const alone = await VQDiffusionScheduler.fromPretrained("org/scheduler-only", { hubUrl: server.url, cacheDir, onWarning: (m) => warnings.push(m) });
    expect([alone.numEmbed, alone.config.numTrainTimesteps]).toEqual([9, 20]);
    expect(warnings).toEqual([
      "scheduler_config.json: ignoring the keys extra, as diffusers does: VQDiffusionScheduler takes num_vec_classes, num_train_timesteps, alpha_cum_start, alpha_cum_end, gamma_cum_start, gamma_cum_end",
    ]);
    await expect(VQDiffusionScheduler.fromPretrained("org/empty", { hubUrl: server.url, cacheDir })).rejects.toThrow(
      new Error(
        `pretrainedModelNameOrPath: expected a folder holding scheduler_config.json or scheduler/scheduler_config.json, got org/empty at main (${MAIN}) in the cache ${join(cacheDir, "models--org--empty")}, which has neither`,
      ),
    );
  });
});

describe("the core's fromPretrained: a URL or a Hub id (no Cache Storage in Node.js: the files are kept for the one load)", () => {
  it("loads both, and refuses a bare relative path where there is no page", async () => {
    same(expected(TINY), await CoreScheduler.fromPretrained(`${server.url}/org/tiny/resolve/${MAIN}`));
    const before = server.downloads("transformer/model.onnx");
    const s = await CoreScheduler.fromPretrained("microsoft/vq-diffusion-ithq", { hubUrl: server.url });
    expect(s).toBeInstanceOf(CoreScheduler);
    same(CoreScheduler.fromConfig(ITHQ_SCHEDULER), s);
    expect(server.downloads("transformer/model.onnx")).toBe(before);
    same(expected(TINY), await CoreScheduler.fromPretrained("org/tiny", { hubUrl: server.url, subfolder: "scheduler" }));
    await expect(CoreScheduler.fromPretrained("fashion-mnist")).rejects.toThrow(/^baseUrl: expected an absolute URL \(https:\/\/…\) where there is no page/);
  });
});

describe("fromPretrained options: a key not taken is refused, before any request", () => {
  it("the scheduler's and the pipeline's, core and Node.js", async () => {
    const before = server.requests.length;
    const loose = (o: Record<string, unknown>) => o as never;
    const hub = "revision, hubUrl, accessToken, localFilesOnly, cacheDir, onProgress, signal";
    await expect(VQDiffusionScheduler.fromPretrained("org/tiny", loose({ hubUrl: server.url, sub_folder: "scheduler" }))).rejects.toThrow(
      new Error(`options: expected only the keys subfolder, onWarning, ${hub}, got the unknown key "sub_folder" (did you mean subfolder?)`),
    );
    await expect(VQDiffusionScheduler.fromPretrained("org/tiny", loose({ hubUrl: server.url, local_files_only: true, token: "t" }))).rejects.toThrow(
      new Error(
        `options: expected only the keys subfolder, onWarning, ${hub}, got the unknown keys "local_files_only" (Python's spelling of localFilesOnly), "token" (Python's spelling of accessToken)`,
      ),
    );
    await expect(CoreScheduler.fromPretrained("org/tiny", loose({ hubUrl: server.url, revison: "main" }))).rejects.toThrow(
      new Error(`options: expected only the keys subfolder, onWarning, fetch, ${hub}, got the unknown key "revison" (did you mean revision?)`),
    );
    await expect(CoreScheduler.fromPretrained("org/tiny", null as never)).rejects.toThrow(
      new Error(`options: expected { subfolder?, onWarning?, fetch?, ${hub.replaceAll(",", "?,")}? }, got null`),
    );
    await expect(VQDiffusionScheduler.fromPretrained("org/tiny", loose({ onWarning: "console" }))).rejects.toThrow(
      new Error('onWarning: expected a function (message: string) => void, got "console"'),
    );
    await expect(VQDiffusionPipeline.fromPretrained("org/tiny", loose({ hubUrl: server.url, cache_dir: "/tmp/x", progress_callback: () => undefined }))).rejects.toThrow(
      new Error(
        `options: expected only the keys ort, sessionOptions, onWarning, ${hub}, variant, dtype, quantize, got the unknown keys "cache_dir" (Python's spelling of cacheDir), "progress_callback" (Python's spelling of onProgress)`,
      ),
    );
    const ort = {} as OrtModule;
    const { VQDiffusionPipeline: CorePipeline } = await import("../src/index.js");
    await expect(CorePipeline.fromPretrained("org/tiny", loose({ ort, hubUrl: server.url, session_options: {} }))).rejects.toThrow(
      new Error(`options: expected only the keys ort, sessionOptions, onWarning, fetch, ${hub}, got the unknown key "session_options" (Python's spelling of sessionOptions)`),
    );
    expect(server.requests.length).toBe(before);
  });
});
