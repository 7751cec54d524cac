/**
 * The environment a Hugging Face user already sets, read as huggingface_hub reads it (its
 * constants.py): the offline switches HF_HUB_OFFLINE and TRANSFORMERS_OFFLINE with `_is_true`'s
 * values (1, ON, YES, TRUE in any case); `~` and `$VAR` in HF_HOME, HF_HUB_CACHE (and the legacy
 * HUGGINGFACE_HUB_CACHE), XDG_CACHE_HOME and HF_TOKEN_PATH (os.path.expanduser, then
 * os.path.expandvars); `~` in the `cacheDir` option (Path.expanduser); the token variables.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir, userInfo } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hubCacheDir, hubEnvironmentDefaults, VQDiffusionPipeline } from "../src/node.js";
import { hubDownloadTimeoutMs, hubMetadataTimeoutMs } from "../src/node/hubEnvironment.js";
import { readFolder, startHubServer, type HubServer } from "./helpers/hubServer.mjs";

const HOME = "/home/someone";

describe("offline switches, as huggingface_hub's constants.HF_HUB_OFFLINE", () => {
  const offline = (env: Record<string, string>) => hubEnvironmentDefaults({ HOME, ...env }).localFilesOnly;

  it.each(["1", "ON", "on", "On", "YES", "yes", "TRUE", "true", "True"])("%j is on, in HF_HUB_OFFLINE and in TRANSFORMERS_OFFLINE", (value) => {
    expect(offline({ HF_HUB_OFFLINE: value })).toBe(true);
    expect(offline({ TRANSFORMERS_OFFLINE: value })).toBe(true);
  });

  it.each(["0", "OFF", "no", "false", "2", "y", " 1", "enabled", ""])("%j is off", (value) => {
    expect(offline({ HF_HUB_OFFLINE: value })).toBe(false);
    expect(offline({ TRANSFORMERS_OFFLINE: value })).toBe(false);
  });

  it("unset is off; HF_HUB_OFFLINE, when set and not empty, decides over TRANSFORMERS_OFFLINE (Python's `or`)", () => {
    expect(offline({})).toBe(false);
    expect(offline({ HF_HUB_OFFLINE: "0", TRANSFORMERS_OFFLINE: "1" })).toBe(false);
    expect(offline({ HF_HUB_OFFLINE: "", TRANSFORMERS_OFFLINE: "1" })).toBe(true);
    expect(offline({ HF_HUB_OFFLINE: "1", TRANSFORMERS_OFFLINE: "0" })).toBe(true);
  });
});

describe("cache and token locations: ~ and $VAR expanded as huggingface_hub expands them", () => {
  const me = userInfo();

  it.each<[Record<string, string>, string]>([
    [{}, `${HOME}/.cache/huggingface/hub`],
    [{ HF_HUB_CACHE: "~/models" }, `${HOME}/models`],
    [{ HF_HUB_CACHE: "~" }, HOME],
    [{ HF_HOME: "~/hf" }, `${HOME}/hf/hub`],
    [{ HF_HOME: "$HOME/hf" }, `${HOME}/hf/hub`],
    [{ HF_HOME: "${HOME}/hf", HF_HUB_CACHE: "${SCRATCH}/c", SCRATCH: "/scratch" }, "/scratch/c"],
    [{ HF_HUB_CACHE: "$NO_SUCH_VARIABLE/c" }, `${process.cwd()}/$NO_SUCH_VARIABLE/c`],
    [{ HUGGINGFACE_HUB_CACHE: "~/legacy" }, `${HOME}/legacy`],
    [{ HUGGINGFACE_HUB_CACHE: "~/legacy", HF_HUB_CACHE: "~/new" }, `${HOME}/new`],
    [{ XDG_CACHE_HOME: "~/xdg" }, `${HOME}/xdg/huggingface/hub`],
    [{ HF_HUB_CACHE: `~${me.username}/c` }, `${me.homedir}/c`],
    [{ HF_HUB_CACHE: "a/~/b" }, `${process.cwd()}/a/~/b`],
  ])("%j → %s", (env, expected) => {
    expect(hubCacheDir(undefined, { HOME, ...env })).toBe(expected);
  });

  it("~user of no user of this system is an error naming the variable (Python's Path.expanduser raises too)", () => {
    expect(() => hubCacheDir(undefined, { HOME, HF_HUB_CACHE: "~no-such-user-here/c" })).toThrow(
      'HF_HUB_CACHE: expected a path whose leading ~user names a user of this system, got "~no-such-user-here/c"',
    );
    expect(() => hubCacheDir("~no-such-user-here", { HOME })).toThrow('cacheDir: expected a path whose leading ~user names a user of this system, got "~no-such-user-here"');
  });

  it("the cacheDir option: ~ expanded (Path.expanduser), $VAR kept, before the environment", () => {
    const env = { HOME, HF_HUB_CACHE: "/elsewhere" };
    expect(hubCacheDir("~/my-cache", env)).toBe(`${HOME}/my-cache`);
    expect(hubCacheDir("~", env)).toBe(HOME);
    expect(hubCacheDir("$HOME/c", env)).toBe(`${process.cwd()}/$HOME/c`);
  });

  it("the token: HF_TOKEN, else HUGGING_FACE_HUB_TOKEN, else the file HF_TOKEN_PATH or $HF_HOME/token, each with ~ expanded", () => {
    const home = mkdtempSync(join(tmpdir(), "vqd-home-"));
    try {
      mkdirSync(join(home, "hf"));
      writeFileSync(join(home, "hf", "token"), "hf_from_home\n");
      writeFileSync(join(home, "tok"), " hf_from_path \r\n");
      expect(hubEnvironmentDefaults({ HOME: home, HF_HOME: "~/hf" }).accessToken).toBe("hf_from_home");
      expect(hubEnvironmentDefaults({ HOME: home, HF_HOME: "~/hf", HF_TOKEN_PATH: "~/tok" }).accessToken).toBe("hf_from_path");
      expect(hubEnvironmentDefaults({ HOME: home, HF_HOME: "~/hf", HUGGING_FACE_HUB_TOKEN: "hf_legacy" }).accessToken).toBe("hf_legacy");
      expect(hubEnvironmentDefaults({ HOME: home, HF_TOKEN: "hf_env", HUGGING_FACE_HUB_TOKEN: "hf_legacy" }).accessToken).toBe("hf_env");
      expect(hubEnvironmentDefaults({ HOME: home }).accessToken).toBeUndefined();
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });
});

describe("timeouts, as huggingface_hub's _as_int(…) or 10", () => {
  it.each<[string | undefined, number]>([[undefined, 10_000], ["30", 30_000], [" 5 ", 5_000], ["0", 10_000], ["-3", 10_000], ["2.5", 10_000], ["ten", 10_000], ["", 10_000]])(
    "%j seconds → %i ms, in HF_HUB_ETAG_TIMEOUT and HF_HUB_DOWNLOAD_TIMEOUT",
    (value, ms) => {
      expect(hubMetadataTimeoutMs({ HF_HUB_ETAG_TIMEOUT: value })).toBe(ms);
      expect(hubDownloadTimeoutMs({ HF_HUB_DOWNLOAD_TIMEOUT: value })).toBe(ms);
    },
  );
});

describe("a load with HF_HOME=~/… and TRANSFORMERS_OFFLINE=1 (loopback Hub)", () => {
  const MAIN = "5".repeat(40);
  let server: HubServer;
  let home: string;
  const saved: Record<string, string | undefined> = {};
  const debug = console.debug;
  beforeAll(async () => {
    console.debug = () => undefined;
    server = await startHubServer({ repos: { "org/tiny": { commits: { [MAIN]: readFolder(new URL("./fixtures/pipeline-golden/tiny-a/", import.meta.url).pathname) }, refs: { main: MAIN } } } });
    home = mkdtempSync(join(tmpdir(), "vqd-home-"));
    for (const k of ["HOME", "HF_HOME", "HF_HUB_CACHE", "HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_ENDPOINT"]) saved[k] = process.env[k];
  });
  afterAll(async () => {
    console.debug = debug;
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
    await server.stop();
    rmSync(home, { recursive: true, force: true });
  });

  it("downloads into $HOME/hf/hub, not into a folder named ~; then TRANSFORMERS_OFFLINE=1 makes no request", async () => {
    process.env.HOME = home;
    process.env.HF_HOME = "~/hf";
    process.env.HF_ENDPOINT = server.url;
    delete process.env.HF_HUB_CACHE;
    delete process.env.HF_HUB_OFFLINE;
    delete process.env.TRANSFORMERS_OFFLINE;
    await (await VQDiffusionPipeline.fromPretrained("org/tiny")).release();
    expect(readFileSync(join(home, "hf", "hub", "models--org--tiny", "refs", "main"), "utf8")).toBe(MAIN);
    const before = server.requests.length;
    process.env.TRANSFORMERS_OFFLINE = "yes";
    await (await VQDiffusionPipeline.fromPretrained("org/tiny", { cacheDir: "~/hf/hub" })).release();
    expect(server.requests.length).toBe(before);
  });
});
