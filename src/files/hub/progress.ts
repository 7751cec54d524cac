/**
 * Download progress and the byte count every downloaded body must match: a body longer than its
 * declared size, or one that ends (or breaks) before it, is an error, so that a store never keeps a
 * partial file as if it were whole.
 */
import { readBoundedBody } from "../modelFileSource.js";

/** What `onProgress` receives: one file's bytes, and the whole load's. */
export interface HubProgressEvent {
  /** The file's path in the repository, e.g. `"transformer/model.onnx"`. */
  readonly file: string;
  /**
   * `"cached"`: found in the cache (loaded = total); `"download"`: bytes arriving; `"done"`: the file
   * is complete. `"convert"`: a diffusers checkpoint being converted (vq-diffusion/node, the CLI's
   * `convert`): `file` is the converted file being written (`transformer/model.onnx.data`), `loaded`
   * and `total` its weights' bytes, and `overall` the conversion's, all files together.
   */
  readonly status: "cached" | "download" | "done" | "convert";
  /** Bytes of this file so far. */
  readonly loaded: number;
  /** The file's size, bytes. */
  readonly total: number;
  /** Bytes of all the load's files so far (cached ones count as loaded) and their sum. */
  readonly overall: { readonly loaded: number; readonly total: number };
}

/**
 * Adds up per-file progress into the overall figures and calls the caller's `onProgress`.
 *
 * @example
 * ```ts
 * const tracker = new ProgressTracker((e) => console.log(e.file, e.overall.loaded, e.overall.total));
 * tracker.plan("a.onnx", 10);
 * tracker.report("a.onnx", "download", 4, 10); // a.onnx 4 10
 * ```
 */
export class ProgressTracker {
  private readonly loadedByFile = new Map<string, number>();
  private total = 0;

  constructor(private readonly onProgress: ((event: HubProgressEvent) => void) | undefined) {}

  /** Counts `size` bytes of `file` into the overall total (once per file). */
  plan(file: string, size: number): void {
    if (this.loadedByFile.has(file)) return;
    this.loadedByFile.set(file, 0);
    this.total += size;
  }

  /** Reports `loaded` of `total` bytes of `file`. */
  report(file: string, status: HubProgressEvent["status"], loaded: number, total: number): void {
    this.plan(file, total);
    this.loadedByFile.set(file, loaded);
    if (this.onProgress === undefined) return;
    let sum = 0;
    for (const v of this.loadedByFile.values()) sum += v;
    this.onProgress({ file, status, loaded, total, overall: { loaded: sum, total: this.total } });
  }
}

/**
 * Passes `body` through, counting bytes: calls `onBytes(loaded)` after every chunk, and errors the
 * stream when more than `expected` bytes come, or when it ends or breaks before `expected`, or at
 * once when `signal` aborts, or when no bytes come for `idle.ms` (huggingface_hub's read timeout,
 * HF_HUB_DOWNLOAD_TIMEOUT: `idle.name` names the setting in the message).
 *
 * @param describeFailure - the start of the error message (names the repository and file).
 *
 * @example
 * ```ts
 * declare const response: Response;
 * const checked = countedBody(response.body!, 1024, "org/m: downloading a.onnx", (n) => console.log(n));
 * ```
 */
export function countedBody(
  body: ReadableStream<Uint8Array>,
  expected: number,
  describeFailure: string,
  onBytes: (loaded: number) => void,
  signal?: AbortSignal,
  idle?: { readonly ms: number; readonly name: string },
): ReadableStream<Uint8Array> {
  const reader = body.getReader();
  let loaded = 0;
  let onAbort: (() => void) | undefined;
  const stop = () => {
    if (onAbort !== undefined) signal?.removeEventListener("abort", onAbort);
  };
  return new ReadableStream<Uint8Array>({
    start(controller) {
      if (signal === undefined) return;
      // The abort errors the stream at once, whether or not the connection's read ever settles.
      onAbort = () => {
        controller.error(signal.reason instanceof Error ? signal.reason : Object.assign(new Error(`${describeFailure}: aborted`), { name: "AbortError" }));
        void reader.cancel().catch(() => undefined);
      };
      signal.addEventListener("abort", onAbort, { once: true });
    },
    async pull(controller) {
      let chunk: ReadableStreamReadResult<Uint8Array>;
      let stalled: ReturnType<typeof setTimeout> | undefined;
      try {
        const read = reader.read();
        chunk = idle === undefined ? await read : await Promise.race([
          read,
          new Promise<never>((_, fail) => {
            stalled = setTimeout(() => fail(Object.assign(new Error(`${describeFailure}: no bytes for ${idle.ms / 1000} s after ${loaded} of ${expected} (${idle.name})`), { stalled: true })), idle.ms);
          }),
        ]);
      } catch (e) {
        if ((e as { stalled?: boolean }).stalled === true) {
          stop();
          await reader.cancel().catch(() => undefined);
          throw e;
        }
        stop();
        const cause = e as Error;
        if (cause?.name === "AbortError" || signal?.aborted) throw e;
        throw new Error(`${describeFailure}: the connection broke after ${loaded} of ${expected} bytes (${cause?.message ?? String(e)})`, { cause: e });
      } finally {
        clearTimeout(stalled);
      }
      if (signal?.aborted) return; // already errored by onAbort
      if (chunk.done) {
        stop();
        if (loaded !== expected) throw new Error(`${describeFailure}: expected ${expected} bytes, got ${loaded} (the body ended early)`);
        controller.close();
        return;
      }
      loaded += chunk.value.byteLength;
      if (loaded > expected) {
        stop();
        await reader.cancel().catch(() => undefined);
        throw new Error(`${describeFailure}: expected ${expected} bytes, got more (${loaded} so far)`);
      }
      onBytes(loaded);
      if (signal?.aborted) return;
      controller.enqueue(chunk.value);
    },
    async cancel(reason) {
      stop();
      await reader.cancel(reason);
    },
  });
}

/**
 * Reads a whole body of at most `max` bytes (for JSON answers of the API); errors past it.
 *
 * @example
 * ```ts
 * const bytes = await readBounded(new Response("{}"), 1024, "org/m: the listing"); // Uint8Array [123, 125]
 * ```
 */
export function readBounded(response: Response, max: number, describeFailure: string): Promise<Uint8Array> {
  return readBoundedBody(response, max, (got) =>
    new Error(`${describeFailure}: expected at most ${max} bytes, got ${got === null ? "more" : `a Content-Length of ${got}`}`),
  );
}
