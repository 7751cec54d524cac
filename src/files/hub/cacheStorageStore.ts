/**
 * The Hub store of browsers (and workers, Deno): the Cache Storage API, as transformers.js keeps its
 * models, keyed by the file's `resolve/` URL at its commit. A download is read whole (through the
 * size check: a body that breaks or comes short is an error, and nothing is stored), then put in
 * the cache. The revision's commit and listing are kept too, so that a later load works offline.
 *
 * When the cache cannot keep a file (`put` rejects: QuotaExceededError when the origin's storage
 * is full, or any other refusal), the load goes on with the bytes it downloaded, kept in memory
 * for this load, and says so through `onWarning`, as transformers.js warns "Unable to add response
 * to browser cache" and goes on.
 *
 * Where there is no Cache Storage (Node.js through the core entry, an opaque origin), files are
 * kept in memory for the one load only.
 */
import { fileTooLarge, type ReadOptions } from "../modelFileSource.js";
import { resolveUrl, type ListedFile } from "./hubApi.js";
import type { HubPlatform, HubStore, StoredRevision } from "./hubSource.js";
import type { ModelId } from "./modelId.js";

/**
 * The Cache Storage name used when `cacheDir` is not given.
 *
 * @example
 * ```ts
 * await caches.delete(DEFAULT_CACHE_NAME); // forget every model a page fetched from the Hub
 * ```
 */
export const DEFAULT_CACHE_NAME = "vq-diffusion-hub";

/** The error's name and message, for a warning. */
function reason(e: unknown): string {
  return e instanceof Error ? `${e.name}: ${e.message}` : String(e);
}

class CacheStorageStore implements HubStore {
  readonly location: string;
  readonly identity: string;
  /** Downloads the cache refused to keep, by `{commit}/{path}`: this load reads them from here. */
  private readonly held = new Map<string, Uint8Array>();

  constructor(
    private readonly cache: Promise<Cache>,
    name: string,
    private readonly model: ModelId,
    private readonly hubUrl: string,
    private readonly onWarning: ((message: string) => void) | undefined,
  ) {
    this.location = `Cache Storage "${name}"`;
    // Held files belong to this store alone: it shares no download with another.
    this.identity = `caches:${name}:${++stores}`;
  }

  private recordKey(revision: string): string {
    return `${this.hubUrl}/api/models/${this.model.id}/revision/${encodeURIComponent(revision)}?vq-diffusion-listing`;
  }

  async stored(revision: string): Promise<StoredRevision | null> {
    const hit = await (await this.cache).match(this.recordKey(revision));
    if (hit === undefined) return null;
    const record = (await hit.json()) as StoredRevision;
    return typeof record?.commit === "string" && Array.isArray(record.files) ? record : null;
  }

  async remember(revision: string, commit: string, files: readonly ListedFile[]): Promise<void> {
    const cache = await this.cache;
    const body = JSON.stringify({ commit, files });
    try {
      for (const key of new Set([revision, commit])) await cache.put(this.recordKey(key), new Response(body, { headers: { "content-type": "application/json" } }));
    } catch (e) {
      this.onWarning?.(`${this.model.id}: ${this.location} could not keep the commit and listing of revision "${revision}" (${reason(e)}): a load without the Hub will not find them`);
    }
  }

  async has(commit: string, file: ListedFile): Promise<boolean> {
    if (this.held.has(`${commit}/${file.path}`)) return true;
    const hit = await (await this.cache).match(resolveUrl(this.hubUrl, this.model, commit, file.path));
    return hit !== undefined && hit.headers.get("content-length") === String(file.size);
  }

  async download(commit: string, file: ListedFile, fetchFn: typeof fetch): Promise<void> {
    const url = resolveUrl(this.hubUrl, this.model, commit, file.path);
    const response = await fetchFn(url);
    // The whole body first (counted and checked by fetchFn): what the cache refuses is still here.
    const bytes = new Uint8Array(await response.arrayBuffer());
    const headers = { "content-length": String(file.size), "content-type": response.headers.get("content-type") ?? "application/octet-stream" };
    try {
      await (await this.cache).put(url, new Response(bytes, { headers }));
    } catch (e) {
      this.held.set(`${commit}/${file.path}`, bytes);
      this.onWarning?.(`${this.model.id}: ${this.location} could not keep ${file.path} (${reason(e)}): it is used from memory for this load, and will be downloaded again by the next one`);
    }
  }

  async read(commit: string, path: string, { maxBytes }: ReadOptions): Promise<Uint8Array | null> {
    const held = this.held.get(`${commit}/${path}`);
    if (held !== undefined) {
      if (held.length > maxBytes) throw fileTooLarge(path, maxBytes, held.length);
      return held;
    }
    const hit = await (await this.cache).match(resolveUrl(this.hubUrl, this.model, commit, path));
    if (hit === undefined) return null;
    const size = Number(hit.headers.get("content-length"));
    if (!(size <= maxBytes)) {
      await hit.body?.cancel();
      throw fileTooLarge(path, maxBytes, size);
    }
    return new Uint8Array(await hit.arrayBuffer());
  }
}

let stores = 0;

/** Keeps downloaded files in memory for one load (no Cache Storage here). */
class MemoryStore implements HubStore {
  readonly location = "memory (no Cache Storage here)";
  readonly identity = `memory:${++stores}`;
  private readonly files = new Map<string, Uint8Array>();

  constructor(
    private readonly model: ModelId,
    private readonly hubUrl: string,
  ) {}

  async stored(): Promise<StoredRevision | null> {
    return null;
  }

  async remember(): Promise<void> {}

  async has(commit: string, file: ListedFile): Promise<boolean> {
    return this.files.has(`${commit}/${file.path}`);
  }

  async download(commit: string, file: ListedFile, fetchFn: typeof fetch): Promise<void> {
    const response = await fetchFn(resolveUrl(this.hubUrl, this.model, commit, file.path));
    this.files.set(`${commit}/${file.path}`, new Uint8Array(await response.arrayBuffer()));
  }

  async read(commit: string, path: string, { maxBytes }: ReadOptions): Promise<Uint8Array | null> {
    const bytes = this.files.get(`${commit}/${path}`) ?? null;
    if (bytes !== null && bytes.length > maxBytes) throw fileTooLarge(path, maxBytes, bytes.length);
    return bytes;
  }
}

/**
 * The Hub platform of browsers: the global fetch, Cache Storage named by `cacheDir` (default
 * {@link DEFAULT_CACHE_NAME}), no environment defaults.
 *
 * @param fetchFn - the fetch to use (default: the global one).
 *
 * @example
 * ```ts
 * const platform = browserHubPlatform(); // for openHubSource; fromPretrained makes it itself
 * ```
 */
export function browserHubPlatform(fetchFn: typeof fetch = globalThis.fetch): HubPlatform {
  const storage = (globalThis as { caches?: CacheStorage }).caches;
  return {
    defaults: {},
    fetch: fetchFn,
    store: (model, cacheDir, hubUrl, onWarning) => {
      if (storage === undefined) return new MemoryStore(model, hubUrl);
      const name = cacheDir ?? DEFAULT_CACHE_NAME;
      return new CacheStorageStore(storage.open(name), name, model, hubUrl, onWarning);
    },
  };
}
