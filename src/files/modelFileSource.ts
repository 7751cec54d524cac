/**
 * Where a model's files come from: the one interface every loader reads through ({@link ModelFileSource}:
 * URLs with `fetch` here, the file system in vq-diffusion/node, the Hub and its caches, memory in tests),
 * the checks every path passes, and bounded reads. The model files layer: below the config, the
 * formats, the converter and the pipeline, which all read through it.
 */
import { describe } from "../errors.js";
import type { RandomAccessFile } from "./randomAccessFile.js";
import { isTypedArray } from "../tensor/validate.js";

/** Options of {@link ModelFileSource.read}. */
export interface ReadOptions {
  /** The largest file accepted, in bytes: a larger file is refused before it is read (or allocated) whole. */
  readonly maxBytes: number;
}

/**
 * Where a model folder's files come from: the one abstraction every loader reads through (URLs with
 * `fetch` in the core, the file system in `vq-diffusion/node`, memory in tests). A source reads a
 * file named relative to the folder, within a byte bound, and nothing else:
 * - `path` is "/"-separated and relative to the folder, and has already passed
 *   {@link checkFolderPath} (no absolute path, `..`, `.`, empty segment, backslash, colon or NUL);
 * - a source never reaches outside its folder, whatever the path or the folder holds (a file system
 *   source resolves symbolic links and refuses a target outside the folder; a URL source encodes each
 *   segment, so `?`, `#` or `%` in a name stay part of the name);
 * - a file larger than `options.maxBytes` is an Error naming `path`, thrown before the file is read
 *   whole; any other failure is an Error naming `path` too. A file the folder lacks is null.
 *
 * @example
 * ```ts
 * const memory = new Map<string, Uint8Array>([["model_index.json", new TextEncoder().encode("{}")]]);
 * const source: ModelFileSource = {
 *   location: "memory",
 *   async read(path, { maxBytes }) {
 *     const bytes = memory.get(path) ?? null;
 *     if (bytes !== null && bytes.length > maxBytes) throw fileTooLarge(path, maxBytes, bytes.length);
 *     return bytes;
 *   },
 * };
 * ```
 */
export interface ModelFileSource {
  /** The folder's URL or path, for messages. */
  readonly location: string;
  /** The bytes of `path`, or null when the folder lacks it (see the interface's rules). */
  read(path: string, options: ReadOptions): Promise<Uint8Array | null>;
  /**
   * Optional, for sources on this machine's file system: where `path` lies, after the same checks
   * as `read` (inside the folder, a regular file, at most `maxBytes`), without reading it; null when
   * the folder lacks it. With it, an ONNX model with external data is opened by onnxruntime from its
   * path, which maps the weights instead of copying them into JavaScript and then into the session
   * (so the `ort` given must open local files: onnxruntime-node).
   */
  locate?(path: string, options: ReadOptions): Promise<LocalFile | null>;
  /**
   * Optional, for sources whose files can be read at any offset (a folder on disk, the Hub's cached
   * files): `path` opened for reading by offset, after the same checks as `read` (its size at most
   * `maxBytes`), without reading it whole; null when the folder lacks it. The converter reads a
   * checkpoint's weights through it, one tensor at a time. The caller closes what it opened.
   */
  open?(path: string, options: ReadOptions): Promise<OpenedFile | null>;
}

/**
 * A file of a model folder opened by {@link ModelFileSource.open}: read at any offset, then closed.
 *
 * @example
 * ```ts
 * const file = await source.open!("transformer/diffusion_pytorch_model.safetensors", { maxBytes: 2 ** 36 });
 * try { const head = await file!.read(0, 8); } finally { await file!.close(); }
 * ```
 */
export interface OpenedFile extends RandomAccessFile {
  /** Releases the file (its handle); reads after it fail. */
  close(): Promise<void>;
}

/** A file of a model folder on this machine (see {@link ModelFileSource.locate}). */
export interface LocalFile {
  /** The path to open, as the folder names it (links not resolved: a runtime finds a model's external data beside it). */
  readonly path: string;
  /** Its size in bytes. */
  readonly size: number;
}

/**
 * The Error of a source for a file over its byte bound.
 *
 * @example
 * ```ts
 * fileTooLarge("transformer/config.json", 1024, 5000).message;
 * // "transformer/config.json: expected a file of at most 1024 bytes, got 5000 bytes"
 * ```
 */
export function fileTooLarge(path: string, maxBytes: number, size: number): Error {
  return new Error(`${path}: expected a file of at most ${maxBytes} bytes, got ${size} bytes`);
}

/**
 * Checks that `path` names a file inside a model folder: relative, "/"-separated, each segment
 * non-empty and neither `.` nor `..`, without backslash, colon (a drive or a URL scheme) or NUL.
 * Returns `path`; throws `<name>: expected …, got <path>` otherwise.
 *
 * @param name - what the path is, for the message (e.g. `transformer/model.onnx: external data location`).
 *
 * @example
 * ```ts
 * checkFolderPath("transformer/model.onnx.data", "location"); // "transformer/model.onnx.data"
 * checkFolderPath("../secret", "location"); // throws: location: expected a path inside the model folder …, got "../secret"
 * ```
 */
export function checkFolderPath(path: unknown, name: string): string {
  const ok =
    typeof path === "string" &&
    path.length > 0 &&
    path.length <= 4096 &&
    !/[\\:\0]/.test(path) &&
    path.split("/").every((segment) => segment !== "" && segment !== "." && segment !== "..");
  if (!ok) {
    throw new Error(
      `${name}: expected a path inside the model folder (relative, "/"-separated, no "..", ".", empty segment, backslash, colon or NUL), got ${typeof path === "string" ? JSON.stringify(path) : describe(path)}`,
    );
  }
  return path;
}

/**
 * Locates `path` with `source.locate` within `maxBytes` (the path checked first), or null when the
 * folder lacks it. For sources that have `locate` only.
 */
export async function locateFolderFile(source: ModelFileSource, path: string, maxBytes: number): Promise<LocalFile | null> {
  checkFolderPath(path, "path");
  if (source.locate === undefined) throw new Error(`${path}: expected a model folder on this machine's file system, got ${source.location}`);
  const found = await source.locate(path, { maxBytes });
  if (found !== null && found.size > maxBytes) {
    throw new Error(`${path}: expected the model folder's source to refuse a file over ${maxBytes} bytes, got ${found.size} bytes located`);
  }
  return found;
}

/**
 * Reads `path` from `source` within `maxBytes`: the path checked first ({@link checkFolderPath}),
 * then the bound enforced again on what came back (for a source that does not).
 */
export async function readFolderFile(source: ModelFileSource, path: string, maxBytes: number): Promise<Uint8Array | null> {
  checkFolderPath(path, "path");
  const bytes = await source.read(path, { maxBytes });
  if (bytes === null) return null;
  if (!isTypedArray(bytes, "Uint8Array")) throw new Error(`${path}: expected the model folder's source to return a Uint8Array, got ${describe(bytes)}`);
  if (bytes.length > maxBytes) {
    throw new Error(`${path}: expected the model folder's source to refuse a file over ${maxBytes} bytes before reading it, got ${bytes.length} bytes read`);
  }
  return bytes;
}

/**
 * A source that fetches `<baseUrl>/<path>`; a 404 means the file is absent.
 *
 * @example
 * ```ts
 * const source = urlSource("/models/fashion-mnist");
 * const bytes = await source.read("model_index.json");
 * ```
 */
export function urlSource(baseUrl: string, fetchFn: typeof fetch = globalThis.fetch): ModelFileSource {
  if (typeof baseUrl !== "string" || baseUrl === "") throw new Error(`baseUrl: expected the model folder's URL, got ${describe(baseUrl)}`);
  if (typeof fetchFn !== "function") throw new Error(`fetch: expected a fetch function (none is global here), got ${describe(fetchFn)}`);
  // A relative URL resolves against the page; where there is none (Node.js, Deno), fetch would fail
  // later with the runtime's own words ("Failed to parse URL"), so say it here.
  const page = (globalThis as { location?: { href?: unknown } }).location?.href;
  if (typeof page !== "string" && !URL.canParse(baseUrl)) {
    throw new Error(
      `baseUrl: expected an absolute URL (https://…) where there is no page to resolve a relative one against ` +
        `(in Node.js, vq-diffusion/node's fromPretrained loads a folder from disk), got ${describe(baseUrl)}`,
    );
  }
  const base = baseUrl.endsWith("/") ? baseUrl : baseUrl + "/";
  return {
    location: baseUrl,
    async read(path: string, { maxBytes }: ReadOptions): Promise<Uint8Array | null> {
      // Each segment encoded: a name's "?", "#" or "%" stays in the name; checkFolderPath already refused "..".
      const url = base + checkFolderPath(path, "path").split("/").map(encodeURIComponent).join("/");
      let response: Response;
      try {
        response = await fetchFn(url);
      } catch (e) {
        throw new Error(`${path}: fetching ${url} failed: ${(e as Error)?.message ?? String(e)}`, { cause: e });
      }
      if (response.status === 404) return null;
      if (!response.ok) throw new Error(`${path}: expected ${url} to be served, got HTTP ${response.status} ${response.statusText}`);
      return readBody(response, path, maxBytes);
    },
  };
}

/** A model file's body, refused past `maxBytes` with the folder's messages (see {@link readBoundedBody}). */
function readBody(response: Response, path: string, maxBytes: number): Promise<Uint8Array> {
  return readBoundedBody(response, maxBytes, (got) =>
    got === null ? new Error(`${path}: expected a file of at most ${maxBytes} bytes, got more`) : fileTooLarge(path, maxBytes, got),
  );
}

/**
 * A response's whole body, refused past `maxBytes`: by its Content-Length before reading, else while
 * streaming (the reader is cancelled at the first byte past the bound). `tooLarge(got)` makes the
 * error: `got` is the declared or read length, or null when a stream went past the bound.
 *
 * @example
 * ```ts
 * const bytes = await readBoundedBody(new Response("{}"), 1024, () => new Error("too large")); // Uint8Array [123, 125]
 * ```
 */
export async function readBoundedBody(response: Response, maxBytes: number, tooLarge: (got: number | null) => Error): Promise<Uint8Array> {
  const declared = Number(response.headers?.get?.("content-length") ?? NaN);
  if (declared > maxBytes) {
    await response.body?.cancel().catch(() => undefined);
    throw tooLarge(declared);
  }
  const reader = response.body?.getReader();
  if (reader === undefined) {
    const bytes = new Uint8Array(await response.arrayBuffer());
    if (bytes.length > maxBytes) throw tooLarge(bytes.length);
    return bytes;
  }
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.length;
    if (size > maxBytes) {
      await reader.cancel().catch(() => undefined);
      throw tooLarge(null);
    }
    chunks.push(value);
  }
  if (chunks.length === 1) return chunks[0];
  const out = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}
