/**
 * A model folder on the Hugging Face Hub as a {@link ModelFileSource}: the revision is resolved to a
 * commit, the commit's listing picks the pipeline's files, those are fetched into a store (the
 * huggingface_hub cache in Node.js, Cache Storage in browsers) with progress, and the pipeline reads
 * them from there. With `localFilesOnly`, or when the Hub fails as huggingface_hub's
 * `snapshot_download` falls back on (no answer, none in time, an HTTP error but 404
 * RevisionNotFound), the store's earlier copy is used (docs/hub-and-cache.md).
 *
 * Two loads of the same files in one process share each download: a file is fetched once.
 */
import { argumentError, describe } from "../../errors.js";
import type { OptionKeys } from "../../optionKeys.js";
import { fileTooLarge, type LocalFile, type ModelFileSource, type ReadOptions } from "../modelFileSource.js";
import { abortError, DEFAULT_DOWNLOAD_TIMEOUT_MS, DEFAULT_HUB_URL, fallsBackToCache, HubNetworkError, isAccessError, withinTime, hubFetch, hubHttpError, listRepoFiles, redact, resolveCommit, type HubContext, type ListedFile } from "./hubApi.js";
import { checkRevision, parseModelId, type ModelId } from "./modelId.js";
import { countedBody, ProgressTracker, type HubProgressEvent } from "./progress.js";
import { checkRepoFilePath, HUB_LIMITS, pipelineFiles } from "./repoFiles.js";

/** The Hub options of `fromPretrained`, in Node.js and browsers alike. */
export interface HubLoadOptions {
  /** A branch, tag or commit (default `"main"`). */
  revision?: string;
  /** The Hub or a mirror, e.g. `"https://hf-mirror.example"` (default: `HF_ENDPOINT` in Node.js, else https://huggingface.co). */
  hubUrl?: string;
  /** A token for private or gated repositories (default in Node.js: `HF_TOKEN`, else the token file of Python's login). Sent in the Authorization header only. */
  accessToken?: string;
  /** Use only files already in the cache; make no request (default in Node.js: `HF_HUB_OFFLINE`, else `TRANSFORMERS_OFFLINE`, on for 1, ON, YES, TRUE). */
  localFilesOnly?: boolean;
  /** Node.js: the cache folder, a leading `~` expanded (default `HF_HUB_CACHE`, else `$HF_HOME/hub`, else ~/.cache/huggingface/hub, with `~` and `$VAR` expanded). Browsers: the Cache Storage name (default `"vq-diffusion-hub"`). */
  cacheDir?: string;
  /** Called as bytes arrive: per file (name, loaded, total) and overall. */
  onProgress?: (event: HubProgressEvent) => void;
  /** Aborts the load; downloads stop, and no partial file is kept. */
  signal?: AbortSignal;
  /** Receives the load's warnings: the Hub failed and the cache's copy is used; the cache could not keep a file. */
  onWarning?: (message: string) => void;
}

/**
 * The keys of {@link HubLoadOptions} but `onWarning` (which every loader lists among its own), for
 * the loaders' lists of the options they take.
 *
 * @example
 * ```ts
 * const accepted = { subfolder: true, onWarning: true, ...HUB_OPTION_KEYS }; // for checkOptionKeys
 * ```
 */
export const HUB_OPTION_KEYS = {
  revision: true, hubUrl: true, accessToken: true, localFilesOnly: true, cacheDir: true, onProgress: true, signal: true,
} as const satisfies OptionKeys<Omit<HubLoadOptions, "onWarning">>;

/** What a store knows of a revision from an earlier load. */
export interface StoredRevision {
  readonly commit: string;
  /** The commit's listing, when the store kept it (browsers); null otherwise (the files are read as present or absent). */
  readonly files: readonly ListedFile[] | null;
}

/** Where downloaded files live: the huggingface_hub cache (Node.js) or Cache Storage (browsers). */
export interface HubStore {
  /** The cache's place, for messages (a folder, or a Cache Storage name). */
  readonly location: string;
  /** Equal for two stores exactly when they hold the same files (shared downloads are keyed by it). */
  readonly identity: string;
  /** The commit (and listing) the revision had at the last online load, or null. */
  stored(revision: string): Promise<StoredRevision | null>;
  /** Records the revision's commit and listing for later offline loads. */
  remember(revision: string, commit: string, files: readonly ListedFile[]): Promise<void>;
  /** Whether the file is complete in the store. */
  has(commit: string, file: ListedFile): Promise<boolean>;
  /** Downloads the file with `fetchFn` (which counts progress and checks the size) into the store; leaves nothing on failure. `signal` also stops a wait for another process's download of it. */
  download(commit: string, file: ListedFile, fetchFn: typeof fetch, signal?: AbortSignal): Promise<void>;
  /** The stored file's bytes (at most `options.maxBytes`, else an Error before reading), or null when the store lacks it. */
  read(commit: string, path: string, options: ReadOptions): Promise<Uint8Array | null>;
  /** Optional (a store on this machine's file system): where the stored file lies, for onnxruntime to open it by path. */
  locate?(commit: string, path: string, options: ReadOptions): Promise<LocalFile | null>;
}

/** What the platform supplies: defaults from its environment and its fetch. */
export interface HubPlatform {
  readonly defaults: Pick<HubLoadOptions, "hubUrl" | "accessToken" | "localFilesOnly">;
  readonly fetch: typeof fetch;
  /** The metadata requests' time limit, ms (default 10 s, huggingface_hub's; Node.js reads HF_HUB_ETAG_TIMEOUT). */
  readonly metadataTimeoutMs?: number;
  /** How long a download may wait for its answer or its next bytes, ms (default 10 s, huggingface_hub's; Node.js reads HF_HUB_DOWNLOAD_TIMEOUT). */
  readonly downloadTimeoutMs?: number;
  /** Makes the store for a checked model id and cache option; `onWarning` receives what the store could not do but the load survives (a file the cache could not keep). */
  store(model: ModelId, cacheDir: string | undefined, hubUrl: string, onWarning?: (message: string) => void): HubStore;
}

/** Downloads in flight, by store, commit and path: a second load of the same file waits for the first. */
const inFlight = new Map<string, Promise<void>>();

/** Files fetched at once while prefetching. */
const CONCURRENT_DOWNLOADS = 4;

/**
 * Checks the Hub options; throws naming the option. Nothing is requested before this passes.
 *
 * @example
 * ```ts
 * checkHubOptions({ revision: "main", localFilesOnly: true });
 * ```
 */
export function checkHubOptions(options: HubLoadOptions): void {
  const { revision, hubUrl, accessToken, localFilesOnly, cacheDir, onProgress, signal, onWarning } = options;
  if (revision !== undefined) checkRevision(revision);
  if (hubUrl !== undefined && !isHttpUrl(hubUrl)) throw argumentError("hubUrl", "an http(s) URL such as https://huggingface.co", hubUrl);
  // The token itself is never echoed: only its type.
  if (accessToken !== undefined && (typeof accessToken !== "string" || accessToken === "" || /[\s\u0000-\u001f]/.test(accessToken))) {
    throw new Error(`accessToken: expected a non-empty string without spaces or control characters, got ${typeof accessToken === "string" ? "a string that is not" : describe(accessToken)}`);
  }
  if (localFilesOnly !== undefined && typeof localFilesOnly !== "boolean") throw argumentError("localFilesOnly", "true or false", localFilesOnly);
  if (cacheDir !== undefined && (typeof cacheDir !== "string" || cacheDir === "")) throw argumentError("cacheDir", "a non-empty string", cacheDir);
  if (onProgress !== undefined && typeof onProgress !== "function") throw argumentError("onProgress", "a function", onProgress);
  if (onWarning !== undefined && typeof onWarning !== "function") throw argumentError("onWarning", "a function (message: string) => void", onWarning);
  if (signal !== undefined && (typeof signal !== "object" || signal === null || typeof signal.aborted !== "boolean")) throw argumentError("signal", "an AbortSignal", signal);
}

function isHttpUrl(value: unknown): value is string {
  if (typeof value !== "string") return false;
  try {
    const u = new URL(value);
    return (u.protocol === "http:" || u.protocol === "https:") && u.username === "" && u.password === "";
  } catch {
    return false;
  }
}

/**
 * Opens the model `id` on the Hub as a model folder: resolves the revision, fetches the pipeline's
 * files into the platform's store (reporting progress), and returns a source reading them there.
 * With `localFilesOnly`, or when the Hub fails (no answer, none within the metadata timeout, an
 * HTTP error but 404 RevisionNotFound), it reads what the store holds, with a warning to `onWarning`.
 *
 * @example
 * ```ts
 * import { browserHubPlatform } from "vq-diffusion";
 * const source = await openHubSource("org/vq-diffusion-tiny", { revision: "main" }, browserHubPlatform());
 * const index = await source.read("model_index.json", { maxBytes: 1 << 20 });
 * ```
 *
 * @param argument - the id's name in messages (e.g. `"--model"`).
 * @param filesToFetch - the files of the commit's listing to fetch up front (default: the pipeline's,
 *   {@link pipelineFiles}; the scheduler's loader asks for its config only). A listed file the loader
 *   reads later is fetched then.
 * @throws the id or an option is malformed (before any request); the Hub answers an error (HTTP
 *   401/403/404: the message names the repository, the file and what to do); a download breaks or
 *   its size differs from the listing's, or stops for the download timeout; the signal aborts;
 *   offline, or the Hub failed, and the store lacks the revision.
 */
export async function openHubSource(
  id: string,
  options: HubLoadOptions,
  platform: HubPlatform,
  argument = "model",
  filesToFetch: (listing: readonly ListedFile[]) => readonly ListedFile[] = pipelineFiles,
): Promise<ModelFileSource> {
  const model = parseModelId(id, argument);
  checkHubOptions(options);
  const revision = options.revision ?? "main";
  const hubUrl = (options.hubUrl ?? platform.defaults.hubUrl ?? DEFAULT_HUB_URL).replace(/\/+$/, "");
  if (!isHttpUrl(hubUrl)) throw argumentError("hubUrl", "an http(s) URL such as https://huggingface.co", hubUrl);
  const accessToken = options.accessToken ?? platform.defaults.accessToken;
  const offline = options.localFilesOnly ?? platform.defaults.localFilesOnly ?? false;
  const ctx: HubContext = { model, revision, hubUrl, accessToken, signal: options.signal, fetch: platform.fetch, metadataTimeoutMs: platform.metadataTimeoutMs, downloadTimeoutMs: platform.downloadTimeoutMs };
  const store = platform.store(model, options.cacheDir, hubUrl, options.onWarning);
  const tracker = new ProgressTracker(options.onProgress);

  let commit: string;
  let files: readonly ListedFile[] | null;
  let online = !offline;
  if (online) {
    try {
      commit = await resolveCommit(ctx);
      files = await listRepoFiles(ctx, commit);
      await store.remember(revision, commit, files);
    } catch (e) {
      // As huggingface_hub's snapshot_download: no answer, none in time, or an HTTP error but
      // RevisionNotFound → the cache's copy of the revision, if any; else the Hub's error.
      if (!fallsBackToCache(e)) throw e;
      // The failure without its advice (the request, or the server that did not answer).
      const failure = (e as Error).message;
      const what = e instanceof HubNetworkError ? failure : (/^.*? at revision "[^"]*"/.exec(failure)?.[0] ?? failure);
      const stored = await store.stored(revision);
      if (stored === null) {
        if (e instanceof HubNetworkError) throw new Error(`${failure}, and the cache ${store.location} has no copy of revision "${revision}": check the connection, or hubUrl / HF_ENDPOINT`, { cause: e });
        if (isAccessError(e)) throw e;
        throw new Error(`${failure}; the cache ${store.location} has no copy of revision "${revision}" to fall back on`, { cause: e });
      }
      ({ commit, files } = stored);
      online = false;
      options.onWarning?.(`${what}; loading revision "${revision}"${revision === commit ? "" : ` (${commit})`} from the cache ${store.location}`);
    }
  } else {
    const stored = await store.stored(revision);
    if (stored === null) {
      throw new Error(`${model.id}: offline (localFilesOnly, HF_HUB_OFFLINE or TRANSFORMERS_OFFLINE), and the cache ${store.location} has no copy of revision "${revision}": load it once online first`);
    }
    ({ commit, files } = stored);
  }
  const location = `${model.id} at ${revision === commit ? commit : `${revision} (${commit})`} in the cache ${store.location}`;

  /** Makes sure one listed file is in the store, downloading it (once per process) when online. */
  const ensure = async (file: ListedFile): Promise<boolean> => {
    const key = `${store.identity}\u0000${model.id}\u0000${commit}\u0000${file.path}`;
    let pending = inFlight.get(key);
    if (pending === undefined) {
      if (await store.has(commit, file)) {
        tracker.report(file.path, "cached", file.size, file.size);
        return true;
      }
      if (!online) return false;
      pending = inFlight.get(key);
      if (pending === undefined) {
        pending = download(file).finally(() => inFlight.delete(key));
        inFlight.set(key, pending);
      }
    }
    await pending;
    tracker.report(file.path, "done", file.size, file.size);
    return true;
  };

  const download = async (file: ListedFile): Promise<void> => {
    if (ctx.signal?.aborted) throw abortError(ctx.signal, model.id);
    tracker.report(file.path, "download", 0, file.size);
    const counting = countingFetch(ctx, file, (loaded) => tracker.report(file.path, "download", loaded, file.size));
    try {
      await store.download(commit, file, counting, ctx.signal);
    } catch (e) {
      if (ctx.signal?.aborted) throw abortError(ctx.signal, model.id);
      const message = redact((e as Error)?.message ?? String(e), accessToken);
      throw message.startsWith(`${model.id}:`) ? new Error(message, { cause: e }) : new Error(`${model.id}: downloading ${file.path} failed: ${message}`, { cause: e });
    }
  };

  if (files !== null) {
    const needed = filesToFetch(files);
    const total = needed.reduce((s, f) => s + f.size, 0);
    if (total > HUB_LIMITS.maxTotalBytes) throw new Error(`${model.id}: expected the pipeline's files to total at most ${HUB_LIMITS.maxTotalBytes} bytes, got ${total}`);
    for (const f of needed) tracker.plan(f.path, f.size);
    await inParallel(needed, CONCURRENT_DOWNLOADS, ensure);
  }

  /** Whether the store holds `path` once the listing's copy is fetched (a file the listing lacks, or one over the bound, is refused before any request). */
  const present = async (path: string, maxBytes: number): Promise<boolean> => {
    checkRepoFilePath(path, `${model.id}: a file the pipeline asked for`);
    if (files === null) return true; // offline without a listing: the store says what it holds
    const file = files.find((f) => f.path === path);
    if (file === undefined) return false;
    if (file.size > maxBytes) throw fileTooLarge(path, maxBytes, file.size);
    return ensure(file);
  };
  const source: ModelFileSource = {
    location,
    async read(path: string, options: ReadOptions): Promise<Uint8Array | null> {
      return (await present(path, options.maxBytes)) ? store.read(commit, path, options) : null;
    },
  };
  const locate = store.locate?.bind(store);
  if (locate !== undefined) {
    return {
      ...source,
      async locate(path: string, options: ReadOptions): Promise<LocalFile | null> {
        return (await present(path, options.maxBytes)) ? locate(commit, path, options) : null;
      },
    };
  }
  return source;
}

/**
 * The fetch a store downloads one file with: the load's token and signal, and the whole GET of the
 * file's content counted and checked against the listing's size.
 */
function countingFetch(ctx: HubContext, file: ListedFile, onBytes: (loaded: number) => void): typeof fetch {
  const limit = ctx.downloadTimeoutMs ?? DEFAULT_DOWNLOAD_TIMEOUT_MS;
  return async (input, init) => {
    const response = await withinTime(ctx, limit, "HF_HUB_DOWNLOAD_TIMEOUT", (timed) => hubFetch(timed)(input, init));
    const method = (init?.method ?? (input instanceof Request ? input.method : "GET")).toUpperCase();
    const ranged = new Headers(init?.headers).has("range") || (input instanceof Request && input.headers.has("range"));
    if (!response.ok) {
      await response.body?.cancel().catch(() => undefined);
      throw hubHttpError(ctx, response.status, response.headers.get("x-error-code"), file.path);
    }
    // The file's content is the answer to the one whole GET outside the API (its resolve/ URL, or
    // where a same-origin redirect led); the API's answers and range probes are not counted. (A
    // store must not fetch through a storage backend's own protocol: the Node.js store turns Xet off.)
    const url = typeof input === "string" ? input : input instanceof URL ? input.href : input.url;
    const content = !url.startsWith(`${ctx.hubUrl}/api/`);
    if (method !== "GET" || ranged || !content || response.body === null) return response;
    const body = countedBody(response.body, file.size, `${ctx.model.id}: downloading ${file.path}`, onBytes, ctx.signal, { ms: limit, name: "HF_HUB_DOWNLOAD_TIMEOUT" });
    return new Response(body, { status: response.status, statusText: response.statusText, headers: response.headers });
  };
}

/** Runs `work` over `items`, at most `limit` at once; rejects with the first failure (after the others settle). */
async function inParallel<T>(items: readonly T[], limit: number, work: (item: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  const errors: unknown[] = [];
  const worker = async () => {
    while (next < items.length && errors.length === 0) {
      const item = items[next++];
      try {
        await work(item);
      } catch (e) {
        errors.push(e);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (errors.length > 0) throw errors[0];
}
