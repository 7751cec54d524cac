/**
 * Which files of a diffusers checkpoint the converter reads, chosen from the folder's listing (a
 * folder on disk walked, or a Hub repository's listing at a commit) before anything is read or
 * fetched. For each network's weights, as diffusers' and transformers' `from_pretrained` choose:
 * safetensors before a pickled `.bin`, the chosen variant's files (`diffusion_pytorch_model.fp16.safetensors`,
 * `pytorch_model.fp16.bin`) when a variant is asked for and the plain files otherwise, and never
 * both files of one component. As diffusers' `variant_compatible_siblings`: a component without
 * the variant's file takes its plain one (with a warning), and a variant no component has is an error.
 */
import { describe } from "../errors.js";
import type { RepoFile } from "../files/hub/repoFiles.js";

/** A checkpoint's component whose weights are read: its folder and the library that saved it. */
export interface WeightsComponent {
  /** The folder in the checkpoint (`transformer`, `vqvae`, `text_encoder`, `learned_classifier_free_sampling_embeddings`). */
  readonly folder: string;
  /** diffusers saves `diffusion_pytorch_model.*`, transformers `model.safetensors` / `pytorch_model.bin`. */
  readonly library: "diffusers" | "transformers";
}

/** The weights file names of each library, safetensors first (the order of preference). */
const WEIGHTS_NAMES: Readonly<Record<WeightsComponent["library"], readonly { stem: string; ext: string }[]>> = {
  diffusers: [
    { stem: "diffusion_pytorch_model", ext: "safetensors" },
    { stem: "diffusion_pytorch_model", ext: "bin" },
  ],
  transformers: [
    { stem: "model", ext: "safetensors" },
    { stem: "pytorch_model", ext: "bin" },
  ],
};

/** A variant's form: what diffusers puts between the stem and the extension (`fp16`, `ema`, `bf16`). */
const VARIANT = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;

/**
 * Checks a `variant` option: undefined, or a name of letters, digits, `_` and `-` (at most 64).
 *
 * @throws Error naming `variant`, e.g. `variant: expected a variant name such as "fp16" …, got "../x"`.
 * @example
 * ```ts
 * checkVariant("fp16"); // "fp16"
 * ```
 */
export function checkVariant(variant: unknown): string | undefined {
  if (variant === undefined) return undefined;
  if (typeof variant !== "string" || !VARIANT.test(variant)) {
    throw new Error(`variant: expected a variant name such as "fp16" (letters, digits, "_" and "-", at most 64), got ${describe(variant)}`);
  }
  return variant;
}

/**
 * The weights file of `component` in `listing`: `<stem>[.<variant>].safetensors` if listed, else
 * `<stem>[.<variant>].bin`.
 *
 * @throws Error naming the component's folder, the names looked for and the weights files the
 *   folder holds (e.g. which variants it has), when none is listed; or when only a sharded
 *   checkpoint (`*.index.json`) is.
 * @example
 * ```ts
 * chooseWeightsFile([{ path: "vqvae/diffusion_pytorch_model.bin", size: 9 }], { folder: "vqvae", library: "diffusers" });
 * // { path: "vqvae/diffusion_pytorch_model.bin", size: 9 }
 * ```
 */
export function chooseWeightsFile(listing: readonly RepoFile[], component: WeightsComponent, variant?: string): RepoFile {
  const names = WEIGHTS_NAMES[component.library].map(({ stem, ext }) => `${component.folder}/${stem}${variant === undefined ? "" : `.${variant}`}.${ext}`);
  for (const name of names) {
    const found = listing.find((f) => f.path === name);
    if (found !== undefined) return found;
  }
  const held = listing
    .filter((f) => f.path.startsWith(`${component.folder}/`) && /\.(safetensors|bin|pt|pth|ckpt|index\.json)$/.test(f.path))
    .map((f) => f.path.slice(component.folder.length + 1))
    .sort();
  const sharded = held.some((n) => n.endsWith(".index.json"));
  throw new Error(
    `${component.folder}: expected ${names.map((n) => n.slice(component.folder.length + 1)).join(" or ")}` +
      `${variant === undefined ? "" : ` (variant "${variant}")`}, got ${held.length === 0 ? "no weights file" : `only ${held.join(", ")}`}` +
      `${sharded ? " (a sharded checkpoint, which the converter does not read yet)" : ""}`,
  );
}

/**
 * The weights file of each of `components`, as diffusers picks them for a variant: the variant's
 * file where the component has one, else its plain file ({@link chooseWeightsFile}); without a
 * variant, the plain files.
 *
 * @param onWarning - told which components have no file of the variant (their plain weights are
 *   read, as diffusers loads "a mixture of fp16 and non-fp16 filenames").
 * @returns the files, by component folder.
 * @throws Error naming the component and its weights files when it has neither; with a variant, an
 *   Error naming the variant and listing the weights files when no component has it.
 * @example
 * ```ts
 * const files = chooseCheckpointWeights(listing, [{ folder: "transformer", library: "diffusers" }], "fp16");
 * files.get("transformer")!.path; // "transformer/diffusion_pytorch_model.fp16.safetensors"
 * ```
 */
export function chooseCheckpointWeights(
  listing: readonly RepoFile[],
  components: readonly WeightsComponent[],
  variant?: string,
  onWarning?: (message: string) => void,
): Map<string, RepoFile> {
  const chosen = new Map<string, RepoFile>();
  const plain: string[] = [];
  for (const c of components) {
    if (variant !== undefined) {
      const own = WEIGHTS_NAMES[c.library].map(({ stem, ext }) => `${c.folder}/${stem}.${variant}.${ext}`);
      const found = own.map((name) => listing.find((f) => f.path === name)).find((f) => f !== undefined);
      if (found !== undefined) {
        chosen.set(c.folder, found);
        continue;
      }
      plain.push(c.folder);
    }
    chosen.set(c.folder, chooseWeightsFile(listing, c));
  }
  if (variant !== undefined && plain.length === components.length && components.length > 0) {
    const held = listing
      .filter((f) => components.some((c) => f.path.startsWith(`${c.folder}/`)) && /\.(safetensors|bin)$/.test(f.path))
      .map((f) => f.path)
      .sort();
    const example = `${components[0].folder}/${WEIGHTS_NAMES[components[0].library][0].stem}.${variant}.safetensors`;
    throw new Error(`variant: expected weights files of the variant "${variant}" (such as ${example}) in at least one component, got none: the weights files are ${held.join(", ")}`);
  }
  if (plain.length > 0) {
    onWarning?.(
      `variant "${variant}": ${plain.join(", ")} ${plain.length === 1 ? "has" : "have"} no weights file of the variant; the plain weights are converted instead (as diffusers loads a mixture of variant and plain files)`,
    );
  }
  return chosen;
}

/**
 * The small files a conversion reads when present (configs and tokenizer files), besides the weights.
 *
 * @example
 * ```ts
 * listing.filter((f) => CHECKPOINT_METADATA_FILES.includes(f.path)); // what a Hub load fetches up front
 * ```
 */
export const CHECKPOINT_METADATA_FILES: readonly string[] = [
  "model_index.json",
  "scheduler/scheduler_config.json",
  "transformer/config.json",
  "vqvae/config.json",
  "text_encoder/config.json",
  "learned_classifier_free_sampling_embeddings/config.json",
  "tokenizer/tokenizer.json",
  "tokenizer/tokenizer_config.json",
  "tokenizer/special_tokens_map.json",
  "tokenizer/vocab.json",
  "tokenizer/merges.txt",
];

/**
 * Whether a listing is a diffusers checkpoint to convert (`transformer/config.json` with weights, no
 * `transformer/model.onnx`) rather than a model folder already in ONNX.
 *
 * @example
 * ```ts
 * isCheckpointListing([{ path: "transformer/config.json", size: 1 }, { path: "transformer/diffusion_pytorch_model.bin", size: 9 }]); // true
 * ```
 */
export function isCheckpointListing(listing: readonly RepoFile[]): boolean {
  const has = (p: string) => listing.some((f) => f.path === p);
  return (
    has("transformer/config.json") &&
    !has("transformer/model.onnx") &&
    listing.some((f) => /^transformer\/diffusion_pytorch_model(\.[^/]+)?\.(safetensors|bin)$/.test(f.path))
  );
}

/**
 * The files of `listing` a conversion needs before any weights are read: the metadata files present.
 * The network weights of `variant` are chosen too (`chooseCheckpointWeights`), so that a
 * variant no network has is an error before anything is fetched; they are fetched when the
 * conversion opens them.
 *
 * @example
 * ```ts
 * checkpointMetadataFiles(listing, "fp16"); // [model_index.json, scheduler/scheduler_config.json, …]
 * ```
 */
export function checkpointMetadataFiles(listing: readonly RepoFile[], variant?: string): RepoFile[] {
  const networks: WeightsComponent[] = [{ folder: "transformer", library: "diffusers" }, { folder: "vqvae", library: "diffusers" }];
  if (listing.some((f) => f.path === "text_encoder/config.json")) networks.unshift({ folder: "text_encoder", library: "transformers" });
  chooseCheckpointWeights(listing, networks, variant);
  return listing.filter((f) => CHECKPOINT_METADATA_FILES.includes(f.path));
}
