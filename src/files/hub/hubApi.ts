/**
 * The two Hub API requests a load makes before any file (the same endpoints `@huggingface/hub`'s
 * `modelInfo` and `listFiles` call):
 *   GET {hub}/api/models/{id}/revision/{revision}           → { sha, … }: the revision's commit
 *   GET {hub}/api/models/{id}/tree/{commit}?recursive=true   → [{ type, path, size, oid, lfs? }], paged by Link: rel="next"
 * and the errors of every request, which name the repository, the file and what to do. A token
 * goes in the Authorization header only, and never into a message.
 */
import { describe } from "../../errors.js";
import { COMMIT_HASH, type ModelId } from "./modelId.js";
import { readBounded } from "./progress.js";
import { checkFileSize, checkRepoFilePath, HUB_LIMITS, type RepoFile } from "./repoFiles.js";

/**
 * The public Hub, the default of `hubUrl`.
 *
 * @example
 * ```ts
 * const page = `${DEFAULT_HUB_URL}/microsoft/vq-diffusion-ithq`;
 * ```
 */
export const DEFAULT_HUB_URL = "https://huggingface.co";

/**
 * How long a metadata request (the revision, the listing) may take before the Hub counts as not
 * answering: huggingface_hub's `DEFAULT_ETAG_TIMEOUT`, 10 s (Node.js reads `HF_HUB_ETAG_TIMEOUT`).
 *
 * @example
 * ```ts
 * const ctx = { metadataTimeoutMs: DEFAULT_METADATA_TIMEOUT_MS }; // part of a HubContext
 * ```
 */
export const DEFAULT_METADATA_TIMEOUT_MS = 10_000;

/**
 * How long a download may wait for its answer, or for its next bytes: huggingface_hub's
 * `DEFAULT_DOWNLOAD_TIMEOUT`, 10 s (Node.js reads `HF_HUB_DOWNLOAD_TIMEOUT`).
 *
 * @example
 * ```ts
 * const ctx = { downloadTimeoutMs: DEFAULT_DOWNLOAD_TIMEOUT_MS }; // part of a HubContext
 * ```
 */
export const DEFAULT_DOWNLOAD_TIMEOUT_MS = 10_000;

/**
 * A request that got no HTTP answer (connection refused, DNS, reset before the headers) or none
 * in time: the load then falls back to the cache.
 *
 * @example
 * ```ts
 * const offline = (e: unknown) => e instanceof HubNetworkError;
 * ```
 */
export class HubNetworkError extends Error {
  override readonly name = "HubNetworkError";
}

/** What every request of one load shares. */
export interface HubContext {
  readonly model: ModelId;
  readonly revision: string;
  /** Without a trailing slash. */
  readonly hubUrl: string;
  readonly accessToken: string | undefined;
  readonly signal: AbortSignal | undefined;
  readonly fetch: typeof fetch;
  /** The metadata requests' time limit, ms (default {@link DEFAULT_METADATA_TIMEOUT_MS}). */
  readonly metadataTimeoutMs?: number;
  /** A download's limit for its answer and for each wait for bytes, ms (default {@link DEFAULT_DOWNLOAD_TIMEOUT_MS}). */
  readonly downloadTimeoutMs?: number;
}

/** A repository's file at a commit, with the id its blob is stored under (for cleaning up after a failed download). */
export interface ListedFile extends RepoFile {
  /** The LFS sha256 or git blob sha1 the Hub names the content by, when the listing gives a well-formed one. */
  readonly blobId?: string;
}

/**
 * The URL of a repository file's content at a commit: `{hub}/{id}/resolve/{commit}/{path}`, each
 * path segment encoded (huggingface_hub's `hf_hub_url`).
 *
 * @example
 * ```ts
 * resolveUrl(DEFAULT_HUB_URL, { id: "org/m", org: "org", name: "m" }, "0123456789abcdef0123456789abcdef01234567", "a b/c.json");
 * // "https://huggingface.co/org/m/resolve/0123456789abcdef0123456789abcdef01234567/a%20b/c.json"
 * ```
 */
export function resolveUrl(hubUrl: string, model: ModelId, commit: string, path: string): string {
  return `${hubUrl}/${model.id}/resolve/${commit}/${path.split("/").map(encodeURIComponent).join("/")}`;
}

/**
 * Replaces the token, wherever it appears, by `***`.
 *
 * @example
 * ```ts
 * redact("Bearer hf_abc failed", "hf_abc"); // "Bearer *** failed"
 * ```
 */
export function redact(text: string, token: string | undefined): string {
  return token ? text.split(token).join("***") : text;
}

/**
 * The abort reason as an error (an `AbortError` naming `what` when the signal carries none).
 *
 * @example
 * ```ts
 * const c = new AbortController(); c.abort();
 * abortError(c.signal, "org/name").name; // "AbortError"
 * ```
 */
export function abortError(signal: AbortSignal, what: string): Error {
  const reason: unknown = signal.reason;
  if (reason instanceof Error) return reason;
  const e = new Error(`${what}: aborted`);
  e.name = "AbortError";
  return e;
}

/**
 * `fetch` with the load's signal (and the token for the Hub's own origin), turning a failure to get
 * any answer into a {@link HubNetworkError} whose message names the repository and the server.
 *
 * @example
 * ```ts
 * const ctx: HubContext = { model: { id: "org/m", org: "org", name: "m" }, revision: "main", hubUrl: DEFAULT_HUB_URL, accessToken: undefined, signal: undefined, fetch };
 * const get = hubFetch(ctx); // get(url) rejects with HubNetworkError when nothing answers
 * ```
 */
export function hubFetch(ctx: HubContext): typeof fetch {
  const hubOrigin = new URL(ctx.hubUrl).origin;
  // Called unbound: a browser's fetch refuses to run as a method of another object.
  const fetchFn = ctx.fetch;
  return async (input, init) => {
    if (ctx.signal?.aborted) throw abortError(ctx.signal, ctx.model.id);
    const url = typeof input === "string" ? input : input instanceof URL ? input.href : input.url;
    const headers = new Headers(init?.headers);
    if (ctx.accessToken && new URL(url).origin === hubOrigin && !headers.has("authorization")) headers.set("authorization", `Bearer ${ctx.accessToken}`);
    try {
      return await fetchFn(input, { ...init, headers, signal: ctx.signal });
    } catch (e) {
      if (ctx.signal?.aborted) throw abortError(ctx.signal, ctx.model.id);
      const cause = redact((e as Error)?.message ?? String(e), ctx.accessToken);
      const detail = (e as { cause?: { code?: string } })?.cause?.code;
      throw new HubNetworkError(`${ctx.model.id}: could not reach ${ctx.hubUrl} (${cause}${detail ? `, ${detail}` : ""})`, { cause: e });
    }
  };
}

/**
 * The error for an HTTP answer that is not a success, naming the repository, the file (or the API
 * request) and what to do.
 *
 * @param file - the file's path, or null for the API requests.
 *
 * @example
 * ```ts
 * const ctx = { model: { id: "org/m", org: "org", name: "m" }, revision: "main", hubUrl: DEFAULT_HUB_URL };
 * hubHttpError(ctx, 404, "RepoNotFound", null).message; // "org/m: the Hub answered HTTP 404 (RepoNotFound) for …"
 * ```
 */
export function hubHttpError(ctx: Pick<HubContext, "model" | "revision" | "hubUrl">, status: number, errorCode: string | null, file: string | null): Error {
  const { id } = ctx.model;
  const what = file === null ? `the model's information at revision "${ctx.revision}"` : `${file} at revision "${ctx.revision}"`;
  const page = `${ctx.hubUrl}/${id}`;
  let advice: string;
  if (status === 401) {
    advice = `the repository is private or gated, or the token is not valid: pass accessToken (or set HF_TOKEN) with a token that may read ${id}`;
  } else if (status === 403) {
    advice = `access is refused (a gated repository whose conditions are not accepted, or a token without read access): accept the conditions at ${page} with the token's account, then pass accessToken (or set HF_TOKEN)`;
  } else if (status === 404 && errorCode === "RevisionNotFound") {
    advice = `no revision "${ctx.revision}": give an existing branch, tag or commit as revision`;
  } else if (status === 404 && file !== null && errorCode !== "RepoNotFound") {
    advice = `the repository has no ${file} at this revision: it is not a VQ-Diffusion model folder exported to ONNX, or the revision is another`;
  } else if (status === 404) {
    advice = `no such model on ${ctx.hubUrl}, or it is private: check the id, or pass accessToken (or set HF_TOKEN) for a private repository`;
  } else if (status === 429) {
    advice = `too many requests: try again later`;
  } else {
    advice = `the server failed, try again later`;
  }
  return Object.assign(new Error(`${id}: the Hub answered HTTP ${status}${errorCode ? ` (${errorCode})` : ""} for ${what}: ${advice}`), { status, errorCode });
}

/**
 * Whether a failed metadata request lets the load use the cache's copy, as huggingface_hub's
 * `snapshot_download` decides: no answer or none in time ({@link HubNetworkError}), or any HTTP
 * error answer (from {@link hubHttpError}) but 404 RevisionNotFound (the revision is gone).
 *
 * @example
 * ```ts
 * declare const ctx: HubContext;
 * fallsBackToCache(hubHttpError(ctx, 503, null, null));              // true
 * fallsBackToCache(hubHttpError(ctx, 404, "RevisionNotFound", null)); // false
 * ```
 */
export function fallsBackToCache(e: unknown): boolean {
  if (e instanceof HubNetworkError) return true;
  const { status, errorCode } = (e ?? {}) as { status?: unknown; errorCode?: unknown };
  return typeof status === "number" && status >= 400 && !(status === 404 && errorCode === "RevisionNotFound");
}

/**
 * Whether an error is the Hub refusing access or knowing no such repository (HTTP 401, 403, 404):
 * without a cached copy, huggingface_hub raises it as it is.
 *
 * @example
 * ```ts
 * declare const ctx: HubContext;
 * isAccessError(hubHttpError(ctx, 401, null, null)); // true
 * ```
 */
export function isAccessError(e: unknown): boolean {
  const status = (e as { status?: unknown } | null)?.status;
  return status === 401 || status === 403 || status === 404;
}

/**
 * Runs `work` with the context's signal joined to a time limit (the caller's abort reason carried
 * over): past `limitMs`, a {@link HubNetworkError} saying the Hub did not answer in time, naming
 * the setting `setting` that sets the limit.
 *
 * @example
 * ```ts
 * declare const ctx: HubContext;
 * const response = await withinTime(ctx, 10_000, "HF_HUB_ETAG_TIMEOUT", (timed) => hubFetch(timed)("https://huggingface.co/api/models/org/m"));
 * ```
 */
export async function withinTime<T>(ctx: HubContext, limitMs: number, setting: string, work: (timed: HubContext) => Promise<T>): Promise<T> {
  const timer = new AbortController();
  const timeout = setTimeout(() => timer.abort(), limitMs);
  const forward = () => timer.abort(ctx.signal?.reason);
  if (ctx.signal?.aborted) forward();
  ctx.signal?.addEventListener("abort", forward, { once: true });
  try {
    return await work({ ...ctx, signal: timer.signal });
  } catch (e) {
    if (timer.signal.aborted && !ctx.signal?.aborted) {
      throw new HubNetworkError(`${ctx.model.id}: ${ctx.hubUrl} did not answer within ${limitMs / 1000} s (${setting})`, { cause: e });
    }
    throw e;
  } finally {
    clearTimeout(timeout);
    ctx.signal?.removeEventListener("abort", forward);
  }
}

/**
 * A metadata answer's JSON. The request and its body are bounded in time (`metadataTimeoutMs`, as
 * huggingface_hub bounds its metadata requests by HF_HUB_ETAG_TIMEOUT): past it, a {@link HubNetworkError}.
 */
async function getJson(ctx: HubContext, url: string, file: string | null): Promise<{ json: unknown; response: Response }> {
  const { response, bytes } = await withinTime(ctx, ctx.metadataTimeoutMs ?? DEFAULT_METADATA_TIMEOUT_MS, "HF_HUB_ETAG_TIMEOUT", async (timed) => {
    const response = await hubFetch(timed)(url, { headers: { accept: "application/json" } });
    if (!response.ok) {
      await response.body?.cancel().catch(() => undefined);
      throw hubHttpError(ctx, response.status, response.headers.get("x-error-code"), file);
    }
    return { response, bytes: await readBounded(response, HUB_LIMITS.maxApiResponseBytes, `${ctx.model.id}: ${url}`) };
  });
  try {
    return { json: JSON.parse(new TextDecoder().decode(bytes)), response };
  } catch (e) {
    throw new Error(`${ctx.model.id}: expected JSON from ${url}, got a parse error: ${(e as Error).message}`);
  }
}

/**
 * The commit a revision names (GET …/revision/{revision}); throws on an HTTP error or a malformed sha.
 *
 * @example
 * ```ts
 * declare const ctx: HubContext;
 * const commit = await resolveCommit(ctx); // 40 hex digits
 * ```
 */
export async function resolveCommit(ctx: HubContext): Promise<string> {
  const url = `${ctx.hubUrl}/api/models/${ctx.model.id}/revision/${encodeURIComponent(ctx.revision)}?expand=sha`;
  const { json } = await getJson(ctx, url, null);
  const sha = (json as { sha?: unknown } | null)?.sha;
  if (typeof sha !== "string" || !COMMIT_HASH.test(sha)) throw new Error(`${ctx.model.id}: expected ${url} to give the revision's commit as sha (40 hex digits), got ${describe(sha)}`);
  return sha;
}

/**
 * The files of the repository at `commit` (GET …/tree/{commit}?recursive=true, every page on the
 * Hub's origin), each path and size checked.
 *
 * @example
 * ```ts
 * declare const ctx: HubContext;
 * const files = await listRepoFiles(ctx, "0123456789abcdef0123456789abcdef01234567"); // [{ path, size, blobId? }]
 * ```
 */
export async function listRepoFiles(ctx: HubContext, commit: string): Promise<ListedFile[]> {
  const files: ListedFile[] = [];
  let url: string | null = `${ctx.hubUrl}/api/models/${ctx.model.id}/tree/${commit}?recursive=true&expand=false`;
  const hubOrigin = new URL(ctx.hubUrl).origin;
  let entries = 0;
  while (url !== null) {
    const where = `${ctx.model.id}: the listing ${url}`;
    const { json, response } = await getJson(ctx, url, null);
    if (!Array.isArray(json)) throw new Error(`${where}: expected an array of entries, got ${describe(json)}`);
    entries += json.length;
    if (entries > HUB_LIMITS.maxListingEntries) throw new Error(`${where}: expected at most ${HUB_LIMITS.maxListingEntries} entries, got more`);
    for (const entry of json as { type?: unknown; path?: unknown; size?: unknown; oid?: unknown; lfs?: { oid?: unknown } }[]) {
      if (entry?.type !== "file") continue;
      const path = checkRepoFilePath(entry.path, where);
      const size = checkFileSize(entry.size, path, where);
      const id = typeof entry.lfs?.oid === "string" ? entry.lfs.oid : entry.oid;
      files.push(typeof id === "string" && /^[0-9a-f]{40,64}$/.test(id) ? { path, size, blobId: id } : { path, size });
    }
    const next = /<([^>]+)>;\s*rel="next"/.exec(response.headers.get("link") ?? "")?.[1];
    url = next === undefined ? null : new URL(next, url).href;
    if (url !== null && new URL(url).origin !== hubOrigin) throw new Error(`${where}: expected the next page on ${hubOrigin}, got ${url}`);
  }
  return files;
}
