/**
 * Several processes and one huggingface_hub cache, with real child processes (built package, dist/):
 * loads of the same model into one empty cache at once all succeed, each file fetched once (a lock
 * per blob, as huggingface_hub's `.locks/`, and a temporary file of the process's own renamed into
 * place); a download interrupted by Ctrl-C leaves a partial file that the next load removes; a
 * partial file of another program is removed only once nobody has written it for 10 minutes.
 */
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { readFolder, startHubServer, type HubServer } from "./helpers/hubServer.mjs";

const ROOT = new URL("..", import.meta.url).pathname;
const TINY = new URL("./fixtures/pipeline-golden/tiny-a/", import.meta.url).pathname;
const MAIN = "8".repeat(40);
const tiny = readFolder(TINY);
delete tiny["cases.json"];
const FILES = Object.keys(tiny).sort();
const REPO = "models--org--tiny";

let server: HubServer;
const dirs: string[] = [];
const newCache = () => {
  const d = mkdtempSync(join(tmpdir(), "vqd-procs-"));
  dirs.push(d);
  return d;
};

beforeAll(async () => {
  // Every file body takes 200 ms: the processes' downloads of one file overlap.
  server = await startHubServer({ repos: { "org/tiny": { commits: { [MAIN]: tiny }, refs: { main: MAIN } } }, bodyDelayMs: 200 });
});
afterEach(() => server.clearFaults());
afterAll(async () => {
  await server.stop();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** A child process opening org/tiny in `cacheDir` (every pipeline file fetched); resolves with its exit code (or signal) and stderr. */
function load(cacheDir: string, onStart?: (child: ReturnType<typeof spawn>) => void): Promise<{ code: number | null; signal: string | null; stderr: string }> {
  const script = `
    const { openHubSource } = await import(${JSON.stringify(pathToFileURL(join(ROOT, "dist/index.js")).href)});
    const { nodeHubPlatform } = await import(${JSON.stringify(pathToFileURL(join(ROOT, "dist/node.js")).href)});
    console.debug = () => undefined;
    await openHubSource("org/tiny", { hubUrl: ${JSON.stringify(server.url)}, cacheDir: ${JSON.stringify(cacheDir)} }, nodeHubPlatform({}));`;
  const child = spawn(process.execPath, ["--input-type=module", "-e", script], { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr!.on("data", (d) => (stderr += d));
  onStart?.(child);
  return new Promise((done) => child.on("exit", (code, signal) => done({ code, signal, stderr })));
}

/** The snapshot's files are the repository's, and nothing partial or locked is left. */
function expectWhole(cacheDir: string): void {
  for (const f of FILES) expect(new Uint8Array(readFileSync(join(cacheDir, REPO, "snapshots", MAIN, f))), f).toEqual(tiny[f]);
  expect(readdirSync(join(cacheDir, REPO, "blobs")).filter((b) => b.includes(".incomplete"))).toEqual([]);
  expect(readdirSync(join(cacheDir, ".locks", REPO))).toEqual([]);
}

describe("several processes, one cache", () => {
  it("three processes loading the same model into one empty cache all succeed, each file fetched once (3 tries)", { timeout: 120_000 }, async () => {
    for (let attempt = 0; attempt < 3; attempt++) {
      const cacheDir = newCache();
      const before = FILES.map((f) => server.downloads(f));
      const results = await Promise.all([0, 1, 2].map(() => load(cacheDir)));
      expect(results, `try ${attempt}`).toEqual([0, 1, 2].map(() => ({ code: 0, signal: null, stderr: "" })));
      expectWhole(cacheDir);
      expect(FILES.map((f, i) => server.downloads(f) - before[i])).toEqual(FILES.map(() => 1));
    }
  });

  it("a download interrupted by Ctrl-C leaves a partial file and no lock; the next load removes the file and completes", { timeout: 60_000 }, async () => {
    const cacheDir = newCache();
    const blobs = join(cacheDir, REPO, "blobs");
    server.fault("transformer/model.onnx", "hang");
    const interrupted = await load(cacheDir, (child) => {
      const poll = setInterval(() => {
        if (existsSync(blobs) && readdirSync(blobs).some((b) => b.endsWith(".incomplete"))) {
          clearInterval(poll);
          child.kill("SIGINT");
        }
      }, 20);
      child.on("exit", () => clearInterval(poll));
    });
    expect(interrupted.signal).toBe("SIGINT");
    expect(readdirSync(blobs).filter((b) => b.endsWith(".incomplete")).length).toBeGreaterThan(0);
    // proper-lockfile released the locks as the process went (signal-exit): the next load need not wait for them to go stale.
    expect(readdirSync(join(cacheDir, ".locks", REPO))).toEqual([]);
    server.clearFaults();
    expect(await load(cacheDir)).toEqual({ code: 0, signal: null, stderr: "" });
    expectWhole(cacheDir);
  });

  it("another program's partial file is removed once nobody has written it for 10 minutes, and kept before", { timeout: 60_000 }, async () => {
    const cacheDir = newCache();
    const blobs = join(cacheDir, REPO, "blobs");
    mkdirSync(blobs, { recursive: true });
    // The blob ids of the listing: the git sha1 of a small file, the sha256 of an LFS one.
    const listing = (await (await fetch(`${server.url}/api/models/org/tiny/tree/${MAIN}?recursive=true`)).json()) as { path: string; oid: string; lfs?: { oid: string } }[];
    const onnx = listing.find((e) => e.path === "transformer/model.onnx")!.lfs!.oid;
    const index = listing.find((e) => e.path === "model_index.json")!.oid;
    const hourAgo = new Date(Date.now() - 3600_000);
    // huggingface_hub's own names: {etag}.{8 hex}.incomplete (process-unique), {etag}.incomplete (older versions, @huggingface/hub).
    const stale = [`${onnx}.0123abcd.incomplete`, `${index}.incomplete`];
    const fresh = `${onnx}.89abcdef.incomplete`;
    for (const name of [...stale, fresh]) writeFileSync(join(blobs, name), "partial");
    for (const name of stale) utimesSync(join(blobs, name), hourAgo, hourAgo);
    expect(await load(cacheDir)).toEqual({ code: 0, signal: null, stderr: "" });
    expect(readdirSync(blobs).filter((b) => b.endsWith(".incomplete"))).toEqual([fresh]);
    for (const f of FILES) expect(new Uint8Array(readFileSync(join(cacheDir, REPO, "snapshots", MAIN, f))), f).toEqual(tiny[f]);
  });
});
