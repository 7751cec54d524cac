/**
 * Writing one file into huggingface_hub's cache safely when several processes share the cache (two
 * terminals, a server's workers, Python beside Node.js), as huggingface_hub 1.x does it
 * (`file_download.py`, `_download_to_tmp_and_move`):
 *
 * - a lock per blob, `{cache}/.locks/models--{org}--{name}/{etag}.vq-diffusion.lock` (a folder,
 *   `proper-lockfile`; huggingface_hub's own `{etag}.lock` is an flock file beside it), so that a
 *   second process waits for the first one's download instead of fetching the file again;
 * - the body written to a temporary file of this download's own (`blobs/{etag}.{random}.vqd.incomplete`),
 *   renamed onto `blobs/{etag}` when whole: a reader never sees a partial blob, and two writers
 *   never write into one file, even where the lock does not hold (a network file system);
 * - then the snapshot's link `snapshots/{commit}/{path}` → `../../blobs/{etag}`, replaced atomically.
 *
 * Partial files left by an interrupted download (Ctrl-C, a crash) are removed under the blob's
 * lock: ours at once (their writer no longer holds the lock), those of other programs
 * (huggingface_hub's `{etag}.{8 hex}.incomplete`, `{etag}.incomplete` of older versions and of
 * `@huggingface/hub`) once nobody has written them for {@link FOREIGN_PARTIAL_STALE_MS}.
 */
import { randomBytes } from "node:crypto";
import { createWriteStream } from "node:fs";
import { copyFile, mkdir, readdir, rename, rm, stat, symlink } from "node:fs/promises";
import { dirname, join, relative } from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { ReadableStream as NodeReadableStream } from "node:stream/web";
import { lock } from "proper-lockfile";

/** A lock not refreshed for this long belongs to a process that died without releasing it (proper-lockfile's `stale`; refreshed every half of it). */
const LOCK_STALE_MS = 20_000;

/** How often a process waiting for a blob's lock tries again. */
const LOCK_POLL_MS = 100;

/**
 * Another program's partial file not written for this long is taken as abandoned: 10 minutes, far
 * past huggingface_hub's read timeout (HF_HUB_DOWNLOAD_TIMEOUT, 10 s), after which its download
 * would have failed.
 *
 * @example
 * ```ts
 * const abandoned = (mtimeMs: number) => Date.now() - mtimeMs > FOREIGN_PARTIAL_STALE_MS;
 * ```
 */
export const FOREIGN_PARTIAL_STALE_MS = 10 * 60_000;

/** The suffix of this package's temporary files, told apart from other programs' `.incomplete` files. */
const OUR_PARTIAL = ".vqd.incomplete";

/** Where a blob and its snapshot link go. */
export interface BlobPlace {
  /** `{cache}/models--{org}--{name}`. */
  readonly repoFolder: string;
  /** `{cache}/.locks/models--{org}--{name}`. */
  readonly locksFolder: string;
  /** The blob's id (the LFS sha256 or git sha1): its file name under `blobs/`. */
  readonly etag: string;
  /** The blob's size in bytes, from the listing. */
  readonly size: number;
  /** `snapshots/{commit}/{path}` under `repoFolder`. */
  readonly pointer: string;
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((done, fail) => {
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      done();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      fail(signal!.reason);
    };
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/** Takes the blob's lock, waiting while another process holds it; resolves with its release. */
async function lockBlob(place: BlobPlace, signal: AbortSignal | undefined): Promise<() => Promise<void>> {
  await mkdir(place.locksFolder, { recursive: true });
  const lockfilePath = join(place.locksFolder, `${place.etag}.vq-diffusion.lock`);
  for (;;) {
    if (signal?.aborted) throw signal.reason;
    try {
      // A lock taken over while held (this process stalled past LOCK_STALE_MS) costs at worst a
      // second download: the temporary file and the rename keep the cache whole, so it is ignored.
      return await lock(join(place.locksFolder, place.etag), { lockfilePath, realpath: false, stale: LOCK_STALE_MS, retries: 0, onCompromised: () => undefined });
    } catch (e) {
      if ((e as { code?: string }).code !== "ELOCKED") throw e;
      await sleep(LOCK_POLL_MS, signal);
    }
  }
}

/** Removes the blob's partial files whose writer is gone (under the blob's lock). */
async function removeAbandoned(blobs: string, etag: string): Promise<void> {
  const names = await readdir(blobs).catch(() => [] as string[]);
  for (const name of names) {
    if (!name.startsWith(`${etag}.`) || !name.endsWith(".incomplete")) continue;
    const path = join(blobs, name);
    if (!name.endsWith(OUR_PARTIAL)) {
      const info = await stat(path).catch(() => null);
      if (info === null || Date.now() - info.mtimeMs <= FOREIGN_PARTIAL_STALE_MS) continue;
    }
    await rm(path, { force: true });
  }
}

/** Whether `path` is a whole blob: a file of `size` bytes. */
async function isWhole(path: string, size: number): Promise<boolean> {
  const info = await stat(path).catch(() => null);
  return info !== null && info.isFile() && info.size === size;
}

/** Points `pointer` at `blob`: a relative link (a copy where links are not allowed), put in place by a rename. */
async function linkPointer(blob: string, pointer: string): Promise<void> {
  await mkdir(dirname(pointer), { recursive: true });
  const temporary = `${pointer}.${randomBytes(6).toString("hex")}.tmp`;
  try {
    try {
      await symlink(relative(dirname(pointer), blob), temporary);
    } catch {
      await copyFile(blob, temporary);
    }
    await rename(temporary, pointer);
  } finally {
    await rm(temporary, { force: true });
  }
}

/**
 * Puts one file into the cache: under the blob's lock, removes abandoned partial files, fetches the
 * body (`fetchBody`, unless another process stored the blob meanwhile) into a temporary file of its
 * own, renames it onto `blobs/{etag}`, and links the snapshot's path to it. On failure or abort, the
 * temporary file is removed and the lock released.
 *
 * @param fetchBody - the file's body (already counted and checked against `place.size`).
 * @throws the fetch's or the body's error; the signal's reason; a file-system error.
 *
 * @example
 * ```ts
 * declare const place: BlobPlace;
 * await storeBlob(place, async () => (await fetch("https://huggingface.co/org/m/resolve/main/model_index.json")).body!);
 * ```
 */
export async function storeBlob(place: BlobPlace, fetchBody: () => Promise<ReadableStream<Uint8Array>>, signal?: AbortSignal): Promise<void> {
  const blobs = join(place.repoFolder, "blobs");
  const blob = join(blobs, place.etag);
  await mkdir(blobs, { recursive: true });
  const release = await lockBlob(place, signal);
  try {
    await removeAbandoned(blobs, place.etag);
    if (!(await isWhole(blob, place.size))) {
      const temporary = join(blobs, `${place.etag}.${randomBytes(8).toString("hex")}${OUR_PARTIAL}`);
      try {
        const body = await fetchBody();
        await pipeline(Readable.fromWeb(body as NodeReadableStream<Uint8Array>), createWriteStream(temporary, { flags: "wx" }));
        await rename(temporary, blob);
      } finally {
        await rm(temporary, { force: true });
      }
    }
    await linkPointer(blob, place.pointer);
  } finally {
    await release().catch(() => undefined);
  }
}
