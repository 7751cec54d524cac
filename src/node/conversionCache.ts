/**
 * The conversion cache of vq-diffusion/node: a diffusers checkpoint (PyTorch or safetensors
 * weights, no `transformer/model.onnx`) named to `fromPretrained` or the CLI is converted once into
 * the model folder layout, kept here, and loaded from here afterwards.
 *
 * Where: huggingface_hub's folder for the assets of libraries built on the Hub,
 * `cached_assets_path(library_name="vq-diffusion", namespace, subfolder)`:
 *
 *   $HF_ASSETS_CACHE/vq-diffusion/              HF_ASSETS_CACHE, else $HF_HOME/assets, else ~/.cache/huggingface/assets
 *     models--{org}--{name}/{commit}/{options}/              a Hub repository at a commit (as the Hub cache names it)
 *     folders--{folder name}--{path hash}/{fingerprint}/{options}/  a folder on disk
 *
 * `{options}` is `dtype=fp32,variant=default,converter=1`: the written weights' type, the diffusers
 * variant read, and the converter's version; with `quantize: "int8"`, `dtype=fp32,quantize=int8,variant=default,converter=1`
 * (an unquantized conversion keeps the name it had before the option existed). A folder's `{path hash}` is 16 hex digits of the SHA-256
 * of its real path; its `{fingerprint}` 16 of the SHA-256 of every file's path, size and modification
 * time, so that a changed checkpoint converts again. Each entry is written atomically
 * (src/node/convertFolder.ts): an entry that exists is whole. While a process converts an entry it
 * holds `{options}.lock` beside it; another process converting the same entry waits for it and
 * uses its result.
 */
import { createHash } from "node:crypto";
import { access, mkdir } from "node:fs/promises";
import lockfile from "proper-lockfile";
import { basename, dirname, join } from "node:path";
import { realpath } from "node:fs/promises";
import { checkpointMetadataFiles, isCheckpointListing } from "../convert/checkpointFiles.js";
import { checkConvertOptions, CONVERTER_VERSION, type ConversionChoice } from "../convert/convertPipeline.js";
import type { ListedFile } from "../files/hub/hubApi.js";
import type { HubLoadOptions } from "../files/hub/hubSource.js";
import { COMMIT_HASH } from "../files/hub/modelId.js";
import { pipelineFiles, type RepoFile } from "../files/hub/repoFiles.js";
import type { ModelFileSource } from "../files/modelFileSource.js";
import { convertIntoFolder, listCheckpointFolder, withOpen } from "./convertFolder.js";
import type { ModelLocation } from "./modelLocation.js";
import { openModelSource } from "./modelSource.js";
import { hfAssetsCache } from "./hubEnvironment.js";
import { directorySource } from "./directorySource.js";

/**
 * The conversion options of `fromPretrained` (beside the Hub's), for a diffusers checkpoint:
 * `variant`, diffusers' variant of its weights files (`"fp16"` reads `*.fp16.safetensors` /
 * `*.fp16.bin`), `dtype`, the converted weights' type (`"fp32"`, the default), and `quantize`
 * (`"int8"`: the text encoder's and the transformer's nn.Linear weights as int8).
 */
export type ConversionLoadOptions = ConversionChoice;

/**
 * The conversion cache's root folder: `$HF_ASSETS_CACHE/vq-diffusion`, else
 * `$HF_HOME/assets/vq-diffusion`, else `$XDG_CACHE_HOME/huggingface/assets/vq-diffusion`, else
 * `~/.cache/huggingface/assets/vq-diffusion` (huggingface_hub's `cached_assets_path` rule; `~` and
 * `$VAR` expanded as huggingface_hub expands them).
 *
 * @example
 * ```ts
 * conversionCacheDir({ HF_HOME: "/data/hf" }); // "/data/hf/assets/vq-diffusion"
 * ```
 */
export function conversionCacheDir(env: Record<string, string | undefined> = process.env): string {
  return join(hfAssetsCache(env), "vq-diffusion");
}

/** A model argument opened as a folder to load, and where it came from. */
export interface OpenedModel {
  readonly location: ModelLocation;
  /** The folder to load: the argument's own, or its conversion in the cache. */
  readonly source: ModelFileSource;
  /** The converted folder in the cache, when the argument was a diffusers checkpoint. */
  readonly converted: string | null;
}

/**
 * A diffusers checkpoint opened for conversion: its files' source and listing, and its cache key.
 */
export interface OpenedCheckpoint {
  readonly location: ModelLocation;
  /** Its files, `open` included (the weights are read by offset; a Hub file is downloaded when opened). */
  readonly source: ModelFileSource;
  readonly listing: readonly RepoFile[];
  /** `{namespace}/{revision}` of the cache (see the module's comment). */
  readonly cacheKey: string;
}

/**
 * Opens `model` by the rule of `modelLocation`. A Hub repository's listing picks what is fetched
 * up front: an ONNX model folder's files as today, or a diffusers checkpoint's configs and tokenizer
 * files (weights are fetched when converted, of the variant, safetensors before `.bin`). Returns the
 * checkpoint (for a folder or a Hub id that is one), or the plain source.
 *
 * @throws Error naming `variant`, `dtype` or `quantize` before any request; the Hub's and the folder's errors; a
 *   missing variant (naming the component and the weights files it has) before any weights are fetched.
 * @example
 * ```ts
 * const { checkpoint } = await openModelOrCheckpoint("microsoft/vq-diffusion-ithq", { variant: "fp16" }, "--model");
 * if (checkpoint) await convertIntoFolder(checkpoint.source, checkpoint.listing, "./ithq-onnx", "replace-empty", { variant: "fp16" });
 * ```
 */
export async function openModelOrCheckpoint(
  model: string,
  options: HubLoadOptions & ConversionLoadOptions,
  name: string,
): Promise<{ location: ModelLocation; source: ModelFileSource; checkpoint: OpenedCheckpoint | null }> {
  const { variant } = checkConvertOptions({ variant: options.variant, dtype: options.dtype, quantize: options.quantize });
  let listed: readonly RepoFile[] | null = null;
  const filesToFetch = (listing: readonly ListedFile[]): readonly ListedFile[] => {
    if (!isCheckpointListing(listing)) return pipelineFiles(listing);
    listed = listing;
    return checkpointMetadataFiles(listing, variant);
  };
  const { location, source } = await openModelSource(model, options, name, filesToFetch);
  if (location.kind === "folder") {
    const listing = await listCheckpointFolder(source.location);
    if (!isCheckpointListing(listing)) return { location, source, checkpoint: null };
    const real = await realpath(source.location);
    const fingerprint = createHash("sha256");
    for (const f of listing) fingerprint.update(`${f.path}\0${f.size}\0${f.mtimeMs}\n`);
    const namespace = `folders--${safeName(basename(real))}--${sha16(real)}`;
    return { location, source, checkpoint: { location, source, listing, cacheKey: `${namespace}/${fingerprint.digest("hex").slice(0, 16)}` } };
  }
  if (location.kind !== "hub" || source.locate === undefined) return { location, source, checkpoint: null };
  // The snapshot folder huggingface_hub's cache names by the commit: …/models--org--name/snapshots/{commit}/.
  const index = await source.locate("model_index.json", { maxBytes: Number.MAX_SAFE_INTEGER });
  if (index === null) return { location, source, checkpoint: null };
  const snapshot = dirname(index.path);
  const commit = basename(snapshot);
  let listing: readonly RepoFile[] | null = listed;
  // Offline, the Hub's listing is not known: the cached snapshot's files stand for it.
  listing ??= await listCheckpointFolder(snapshot);
  if (!isCheckpointListing(listing)) return { location, source, checkpoint: null };
  if (!COMMIT_HASH.test(commit) || basename(dirname(snapshot)) !== "snapshots") {
    throw new Error(`${name}: expected the Hub cache's snapshot folder …/snapshots/{commit}, got ${snapshot}`);
  }
  const namespace = basename(dirname(dirname(snapshot))); // models--org--name
  return { location, source, checkpoint: { location, source: withOpen(source), listing, cacheKey: `${namespace}/${commit}` } };
}

/**
 * The cache folder of `checkpoint` converted with `options` (see the module's comment).
 *
 * @example
 * ```ts
 * convertedFolderPath(checkpoint, {}); // "~/.cache/huggingface/assets/vq-diffusion/models--microsoft--vq-diffusion-ithq/<commit>/dtype=fp32,variant=default,converter=1"
 * ```
 */
export function convertedFolderPath(checkpoint: OpenedCheckpoint, options: ConversionLoadOptions, env: Record<string, string | undefined> = process.env): string {
  const { variant, dtype, quantize } = checkConvertOptions({ variant: options.variant, dtype: options.dtype, quantize: options.quantize });
  const quantized = quantize === undefined ? "" : `quantize=${quantize},`;
  return join(conversionCacheDir(env), ...checkpoint.cacheKey.split("/"), `dtype=${dtype},${quantized}variant=${variant ?? "default"},converter=${CONVERTER_VERSION}`);
}

/**
 * Opens `model` for loading: a diffusers checkpoint (a folder or a Hub id) is converted into the
 * conversion cache on first use and read from there (later loads convert nothing); anything else is
 * returned as `openModelSource` opens it. Progress events cover the download and the conversion.
 *
 * @throws the Hub's and the folder's errors, the conversion's (nothing is left in the cache).
 * @example
 * ```ts
 * const { source, converted } = await openConvertedModel("microsoft/vq-diffusion-ithq", { variant: "fp16" }, "model");
 * ```
 */
export async function openConvertedModel(
  model: string,
  options: HubLoadOptions & ConversionLoadOptions & { onWarning?: (message: string) => void },
  name: string,
): Promise<OpenedModel> {
  const { location, source, checkpoint } = await openModelOrCheckpoint(model, options, name);
  if (checkpoint === null) return { location, source, converted: null };
  const dest = convertedFolderPath(checkpoint, options);
  const cached = () => access(join(dest, "model_index.json")).then(() => true, () => false);
  if (!(await cached())) {
    await whileLocked(dest, options.signal, cached, async () => {
      if (await cached()) return; // converted by another process while this one waited
      await convertIntoFolder(checkpoint.source, checkpoint.listing, dest, "keep", {
        variant: options.variant,
        dtype: options.dtype,
        quantize: options.quantize,
        signal: options.signal,
        onProgress: options.onProgress,
        onWarning: options.onWarning,
      });
    });
  }
  return { location, source: directorySource(dest), converted: dest };
}

/** How often a process waiting for another's conversion looks again, ms. */
const LOCK_POLL_MS = 200;

/**
 * Runs `work` holding the lock `<dest>.lock` (proper-lockfile: a folder created atomically, its
 * mtime refreshed while held, taken over when stale), so that of several processes converting the
 * same entry one converts and the others wait for its entry (`done()`) instead of converting it
 * again. Correctness does not rest on the lock: each conversion is renamed into place atomically,
 * so a lock the file system cannot take just lets both convert.
 */
async function whileLocked(dest: string, signal: AbortSignal | undefined, done: () => Promise<boolean>, work: () => Promise<void>): Promise<void> {
  await mkdir(dirname(dest), { recursive: true });
  for (;;) {
    signal?.throwIfAborted();
    let release: (() => Promise<void>) | null = null;
    try {
      // A compromised lock (not refreshed in time while the conversion kept the event loop busy) is
      // harmless here: the rename keeps the entry whole. The default would throw from a timer.
      release = await lockfile.lock(dest, { realpath: false, lockfilePath: `${dest}.lock`, stale: 60_000, update: 10_000, retries: 0, onCompromised: () => undefined });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "ELOCKED") return work(); // no lock here: convert unlocked
      if (await done()) return;
      await new Promise((resolve) => setTimeout(resolve, LOCK_POLL_MS));
      continue;
    }
    try {
      return await work();
    } finally {
      await release().catch(() => undefined);
    }
  }
}

/** A folder's name made safe for a cache path (letters, digits, `.`, `_`, `-`; at most 64). */
function safeName(name: string): string {
  return (name.replace(/[^A-Za-z0-9._-]/g, "_").replace(/^\.+/, "_").slice(0, 64)) || "_";
}

function sha16(text: string): string {
  return createHash("sha256").update(text).digest("hex").slice(0, 16);
}
