/**
 * The Hub store of Node.js: huggingface_hub's cache, the folder Python's `huggingface_hub` (and so
 * diffusers and transformers) reads and writes, through `@huggingface/hub`'s `downloadFileToCacheDir`:
 *
 *   {cacheDir}/models--{org}--{name}/blobs/{etag}                    the contents, once per version
 *   {cacheDir}/models--{org}--{name}/snapshots/{commit}/{path}       links to the blobs
 *   {cacheDir}/models--{org}--{name}/refs/{revision}                 the commit a branch or tag had
 *
 * The environment a Hub user already sets is honoured: HF_ENDPOINT, HF_TOKEN (else the token file
 * Python's login saved), HF_HUB_OFFLINE, and HF_HUB_CACHE / HF_HOME (read by `@huggingface/hub`'s
 * `getHFHubCachePath`).
 */
import { downloadFileToCacheDir, getHFHubCachePath, getRepoFolderName } from "@huggingface/hub";
import { readFileSync } from "node:fs";
import { mkdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { homedir } from "node:os";
import { dirname, join, resolve } from "node:path";
import type { HubLoadOptions, HubPlatform, HubStore, StoredRevision } from "../hub/hubSource.js";
import type { ListedFile } from "../hub/hubApi.js";
import { COMMIT_HASH, type ModelId } from "../hub/modelId.js";
import type { LocalFile, ModelFileSource, ReadOptions } from "../pipeline/modelFolder.js";
import { directorySource } from "./nodePipeline.js";

/** Whether an environment flag is on, as huggingface_hub reads it (1, ON, YES, TRUE). */
function envFlag(value: string | undefined): boolean | undefined {
  return value === undefined || value === "" ? undefined : ["1", "ON", "YES", "TRUE"].includes(value.toUpperCase());
}

/**
 * The defaults Node.js takes from the environment (HF_ENDPOINT, HF_TOKEN, HF_HUB_OFFLINE as
 * huggingface_hub reads it: 1, ON, YES, TRUE).
 *
 * @example
 * ```ts
 * hubEnvironmentDefaults({ HF_HUB_OFFLINE: "1" }); // { hubUrl: undefined, accessToken: undefined, localFilesOnly: true }
 * ```
 */
export function hubEnvironmentDefaults(env: Record<string, string | undefined> = process.env): Pick<HubLoadOptions, "hubUrl" | "accessToken" | "localFilesOnly"> {
  return {
    hubUrl: env.HF_ENDPOINT || undefined,
    accessToken: env.HF_TOKEN || savedToken(env),
    localFilesOnly: envFlag(env.HF_HUB_OFFLINE),
  };
}

/**
 * The token `huggingface-cli login` (or `hf auth login`) saved: the file HF_TOKEN_PATH, else
 * $HF_HOME/token, else ~/.cache/huggingface/token, as Python reads it; undefined when there is none.
 */
function savedToken(env: Record<string, string | undefined>): string | undefined {
  const home = env.HF_HOME || join(env.XDG_CACHE_HOME || join(homedir(), ".cache"), "huggingface");
  try {
    const token = readFileSync(env.HF_TOKEN_PATH || join(home, "token"), "utf8").trim();
    return token === "" ? undefined : token;
  } catch {
    return undefined;
  }
}

/**
 * The cache folder: `cacheDir`, else HF_HUB_CACHE, else $HF_HOME/hub, else ~/.cache/huggingface/hub
 * (`@huggingface/hub`'s `getHFHubCachePath`, which is Python's rule).
 *
 * @example
 * ```ts
 * hubCacheDir(); // e.g. "/home/me/.cache/huggingface/hub"
 * ```
 */
export function hubCacheDir(cacheDir?: string): string {
  return resolve(cacheDir ?? getHFHubCachePath());
}

/** The store in the huggingface_hub cache folder `cacheDir` for `model`. */
class NodeHubStore implements HubStore {
  readonly location: string;
  readonly identity: string;
  private readonly repoFolder: string;

  constructor(
    private readonly model: ModelId,
    private readonly cacheDir: string,
    private readonly hubUrl: string,
  ) {
    this.repoFolder = join(cacheDir, getRepoFolderName({ type: "model", name: model.id }));
    this.location = this.repoFolder;
    this.identity = `fs:${this.repoFolder}`;
  }

  async stored(revision: string): Promise<StoredRevision | null> {
    let commit = revision;
    if (!COMMIT_HASH.test(revision)) {
      try {
        commit = (await readFile(join(this.repoFolder, "refs", revision), "utf8")).trim();
      } catch {
        return null;
      }
      if (!COMMIT_HASH.test(commit)) return null;
    }
    const snapshot = await stat(join(this.repoFolder, "snapshots", commit)).catch(() => null);
    return snapshot?.isDirectory() ? { commit, files: null } : null;
  }

  async remember(revision: string, commit: string): Promise<void> {
    if (revision === commit) return;
    // As huggingface_hub does: refs/{revision} holds the commit (and nothing else: never a token).
    const ref = join(this.repoFolder, "refs", revision);
    await mkdir(dirname(ref), { recursive: true });
    await writeFile(ref, commit);
  }

  async has(commit: string, file: ListedFile): Promise<boolean> {
    const info = await stat(join(this.repoFolder, "snapshots", commit, file.path)).catch(() => null);
    return info !== null && info.isFile() && info.size === file.size;
  }

  async download(commit: string, file: ListedFile, fetchFn: typeof fetch): Promise<void> {
    // xet: false (passed on to downloadFile) fetches a Xet-stored file whole from its resolve/ URL,
    // as huggingface_hub does without hf_xet: one body, counted and checked by fetchFn.
    const params = {
      repo: { type: "model" as const, name: this.model.id },
      path: file.path,
      revision: commit,
      hubUrl: this.hubUrl,
      cacheDir: this.cacheDir,
      // No accessToken here: fetchFn adds it for the Hub's origin (any token format a mirror uses).
      fetch: fetchFn,
      xet: false,
    };
    try {
      await downloadFileToCacheDir(params);
    } catch (e) {
      // downloadFileToCacheDir writes blobs/{etag}.incomplete and renames it when whole: after a
      // failure, remove the partial file rather than leave it for a resumption we do not do.
      if (file.blobId !== undefined) await rm(join(this.repoFolder, "blobs", `${file.blobId}.incomplete`), { force: true });
      throw e;
    }
  }

  /** The snapshot folder as a model folder: its links into ../../blobs are followed, nothing outside the repository is read. */
  private snapshot(commit: string): ModelFileSource {
    return directorySource(join(this.repoFolder, "snapshots", commit));
  }

  read(commit: string, path: string, options: ReadOptions): Promise<Uint8Array | null> {
    return this.snapshot(commit).read(path, options);
  }

  locate(commit: string, path: string, options: ReadOptions): Promise<LocalFile | null> {
    return this.snapshot(commit).locate!(path, options);
  }
}

/**
 * Node.js's Hub platform: the environment's defaults, the global fetch, the huggingface_hub cache.
 *
 * @example
 * ```ts
 * import { openHubSource } from "vq-diffusion";
 * const source = await openHubSource("org/vq-diffusion-tiny", { localFilesOnly: true }, nodeHubPlatform());
 * ```
 */
export function nodeHubPlatform(env: Record<string, string | undefined> = process.env): HubPlatform {
  return {
    defaults: hubEnvironmentDefaults(env),
    fetch: globalThis.fetch,
    store: (model, cacheDir, hubUrl) => new NodeHubStore(model, hubCacheDir(cacheDir), hubUrl),
  };
}
