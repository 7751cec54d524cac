/**
 * The Hub store of Node.js: huggingface_hub's cache, the folder Python's `huggingface_hub` (and so
 * diffusers and transformers) reads and writes, shared safely by several processes (src/node/cacheBlob.ts):
 *
 *   {cacheDir}/models--{org}--{name}/blobs/{etag}                    the contents, once per version
 *   {cacheDir}/models--{org}--{name}/snapshots/{commit}/{path}       links to the blobs
 *   {cacheDir}/models--{org}--{name}/refs/{revision}                 the commit a branch or tag had
 *   {cacheDir}/.locks/models--{org}--{name}/{etag}.vq-diffusion.lock  a download in progress
 *
 * The environment a Hub user already sets is honoured as huggingface_hub reads it
 * (src/node/hubEnvironment.ts): HF_ENDPOINT, HF_TOKEN (else the token file Python's login saved),
 * HF_HUB_OFFLINE / TRANSFORMERS_OFFLINE, and HF_HUB_CACHE / HF_HOME with `~` and `$VAR` expanded.
 */
import { getRepoFolderName } from "@huggingface/hub";
import { mkdir, readFile, stat, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import type { HubLoadOptions, HubPlatform, HubStore, StoredRevision } from "../files/hub/hubSource.js";
import { resolveUrl, type ListedFile } from "../files/hub/hubApi.js";
import { COMMIT_HASH, type ModelId } from "../files/hub/modelId.js";
import type { LocalFile, ModelFileSource, ReadOptions } from "../files/modelFileSource.js";
import { storeBlob } from "./cacheBlob.js";
import { hubCacheDir, hubDownloadTimeoutMs, hubMetadataTimeoutMs, hubOffline, hubToken, type Environment } from "./hubEnvironment.js";
import { directorySource } from "./directorySource.js";

/**
 * The defaults Node.js takes from the environment, as huggingface_hub reads it
 * (src/node/hubEnvironment.ts): HF_ENDPOINT; HF_TOKEN, else HUGGING_FACE_HUB_TOKEN, else the token
 * file of Python's login; HF_HUB_OFFLINE, else TRANSFORMERS_OFFLINE (1, ON, YES, TRUE in any case).
 *
 * @example
 * ```ts
 * hubEnvironmentDefaults({ TRANSFORMERS_OFFLINE: "1" }); // { hubUrl: undefined, accessToken: undefined, localFilesOnly: true }
 * ```
 */
export function hubEnvironmentDefaults(env: Environment = process.env): Pick<HubLoadOptions, "hubUrl" | "accessToken" | "localFilesOnly"> {
  return {
    hubUrl: env.HF_ENDPOINT || undefined,
    accessToken: hubToken(env),
    localFilesOnly: hubOffline(env),
  };
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

  async download(commit: string, file: ListedFile, fetchFn: typeof fetch, signal?: AbortSignal): Promise<void> {
    // The blob's name is the listing's id of the content (the LFS sha256, else the git sha1), as
    // huggingface_hub names it by the ETag the Hub gives for the same content.
    if (file.blobId === undefined) throw new Error(`${file.path}: expected the listing to give the file's blob id (oid), got none: the cache names its copy by it`);
    const place = {
      repoFolder: this.repoFolder,
      locksFolder: join(this.cacheDir, ".locks", getRepoFolderName({ type: "model", name: this.model.id })),
      etag: file.blobId,
      size: file.size,
      pointer: join(this.repoFolder, "snapshots", commit, file.path),
    };
    // One whole GET of the file's resolve/ URL (a Xet-stored file too, as huggingface_hub fetches
    // it without hf_xet), counted and checked by fetchFn.
    await storeBlob(place, async () => (await fetchFn(resolveUrl(this.hubUrl, this.model, commit, file.path))).body!, signal);
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
 * Node.js's Hub platform: the environment's defaults (HF_HUB_ETAG_TIMEOUT and HF_HUB_DOWNLOAD_TIMEOUT too), the global fetch, the huggingface_hub cache.
 *
 * @example
 * ```ts
 * import { openHubSource } from "vq-diffusion";
 * const source = await openHubSource("org/vq-diffusion-tiny", { localFilesOnly: true }, nodeHubPlatform());
 * ```
 */
export function nodeHubPlatform(env: Environment = process.env): HubPlatform {
  return {
    defaults: hubEnvironmentDefaults(env),
    fetch: globalThis.fetch,
    metadataTimeoutMs: hubMetadataTimeoutMs(env),
    downloadTimeoutMs: hubDownloadTimeoutMs(env),
    store: (model, cacheDir, hubUrl) => new NodeHubStore(model, hubCacheDir(cacheDir, env), hubUrl),
  };
}
