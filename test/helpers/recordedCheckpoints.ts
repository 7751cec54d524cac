/**
 * The committed diffusers checkpoints and what diffusers' and transformers' own code output on them,
 * recorded by tools/fixtures/record.py (tools/fixtures/README.md describes every file). A converter
 * test reads a checkpoint's diffusers folder, converts it, and compares with these recordings; no
 * Python runs.
 *
 * test/fixtures/checkpoints/
 *   manifest.json              the checkpoints: folder, variant, sizes, options, library versions
 *   <name>/diffusers/          the checkpoint (D's lives at test/fixtures/real-golden/D/diffusers)
 *   <name>/components.json     per component: seeded inputs at B = 1 and 2, PyTorch's output, tolerance
 *   <name>/cases.json          diffusers' VQDiffusionPipeline runs (D's: test/fixtures/real-golden/D/cases.json)
 * test/fixtures/ithq-2step.json  diffusers' tokens on an ITHQ-size random checkpoint (not committed), recordedIthq()
 *
 * @example
 * ```ts
 * for (const ckpt of listCheckpoints()) {
 *   const { transformer } = recordedComponents(ckpt.name);
 *   for (const run of transformer.runs) {
 *     const got = await myTransformer(ckpt.diffusersFolder, ckpt.variant, run.inputs);   // Float32Array
 *     expect(compareWithTolerance(got, run.output.data, transformer.tolerance).pastTolerance).toBe(0);
 *   }
 *   for (const c of recordedCases(ckpt.name).cases) { ... c.tokens_after_each_step ... }
 * }
 * ```
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { DiffusersCase } from "./diffusersCases.js";

/** The folder of the recordings (test/fixtures/checkpoints), absolute. */
export const CHECKPOINTS_ROOT = new URL("../fixtures/checkpoints/", import.meta.url).pathname;

/** diffusers' variants a checkpoint may be recorded from (diffusion_pytorch_model.<variant>.safetensors). */
export type Variant = "fp16" | "bf16";

/** The sizes diffusers' pipeline uses, read from the checkpoint's configs when it was recorded. */
export interface CheckpointSizes {
  /** num_vector_embeds: the K − 1 codebook classes and the mask class K − 1. */
  K: number;
  /** The latent grid: transformer.height × transformer.width = N (diffusers: both are sample_size). */
  height: number;
  width: number;
  N: number;
  /** num_embeds_ada_norm = the scheduler's num_train_timesteps. */
  T: number;
  /** The tokenizer's model_max_length (the text encoder's sequence). */
  L: number;
  /** The text encoder's hidden_size (= cross_attention_dim). */
  D: number;
  vocab_size: number;
  pad_token: string;
  pad_id: number;
  /** The transformer's feed-forward: "gelu", "gelu-approximate", "geglu", "geglu-approximate". */
  activation_fn: string;
  /** Whether the null (unconditional) prompt embeddings are learned. */
  learnable: boolean;
  /** The decoded image's [height, width] in pixels. */
  image_hw: [number, number];
}

/** One committed checkpoint (an entry of manifest.json, with absolute paths). */
export interface RecordedCheckpoint {
  name: string;
  /** What the checkpoint covers, in words. */
  about: string;
  /** The diffusers folder (model_index.json + one folder per component), absolute. */
  diffusersFolder: string;
  /** The variant every recording loaded (widened to float32), or null for the float32 files. */
  variant: Variant | null;
  /** How it was built (tools/fixtures/vqd_fixtures/presets.py), absent for D. */
  preset?: string;
  seed?: number;
  /** The float32 weight files: pickled `.bin` or safetensors. */
  format?: "bin" | "safetensors";
  /** Whether tokenizer/tokenizer.json is there (else CLIP's slow vocab.json + merges.txt only). */
  tokenizer_json?: boolean;
  sizes: CheckpointSizes;
  /** components.json and cases.json, absolute. */
  componentsFile: string;
  casesFile: string;
}

/** A recorded float32 tensor: row-major values and their shape. */
export interface RecordedFloat32 {
  dtype: "float32";
  shape: number[];
  data: Float32Array;
}

/** A recorded int64 tensor: row-major values and their shape. */
export interface RecordedInt64 {
  dtype: "int64";
  shape: number[];
  data: BigInt64Array;
}

export type RecordedTensor = RecordedFloat32 | RecordedInt64;

/** |got − want| ≤ atol + rtol · |want|, elementwise (tools/fixtures/vqd_fixtures/component.py). */
export interface Tolerance {
  atol: number;
  rtol: number;
}

/** The ONNX components of the model folder (docs/model-folder.md). */
export type ComponentName = "text_encoder" | "transformer" | "vqvae_decoder";

/** One recorded call of a component at batch size `batch`. */
export interface ComponentRun {
  batch: number;
  /**
   * text_encoder: input_ids int64 [B, L]. transformer: hidden_states int64 [B, N] (about a third masked, K − 1),
   * encoder_hidden_states float32 [B, L, D] (unit rows), timestep int64 []. vqvae_decoder: indices int64 [B, N].
   */
  inputs: Record<string, RecordedTensor>;
  /**
   * text_encoder: last_hidden_state [B, L, D]. transformer: sample [B, K − 1, N], log p(x_0 | x_t) as diffusers
   * computes it (float64 log_softmax, cast to float32). vqvae_decoder: sample [B, 3, H, W], about [−1, 1].
   */
  output: RecordedFloat32;
}

/** A component's recordings and the tolerance a conversion must meet (tools/fixtures/vqd_fixtures/component.py). */
export interface RecordedComponent {
  inputNames: string[];
  outputName: string;
  tolerance: Tolerance;
  runs: ComponentRun[];
}

/** A case of cases.json: every field the recorder writes (DiffusersCase's optional ones are all there). */
export type RecordedCase = DiffusersCase & {
  timesteps: number[];
  tokens_after_each_step: number[][][];
  images_uint8: number[][][][];
};

/** A cases.json: the cases and the sizes they were recorded at. */
export interface RecordedCases {
  sizes: { K: number; N: number; T: number; L: number; pad_token: string; pad_id: number };
  cases: RecordedCase[];
}

interface ManifestEntry extends Omit<RecordedCheckpoint, "diffusersFolder" | "componentsFile" | "casesFile"> {
  diffusers: string;
  components: string;
  cases: string;
}

interface Manifest {
  recorder: string;
  torch_threads: number;
  versions: Record<string, string>;
  checkpoints: ManifestEntry[];
}

interface EncodedTensor {
  dtype: "float32" | "int64";
  shape: number[];
  data: string;
}

let manifestCache: Manifest | undefined;

/** manifest.json as committed. */
export function recordedManifest(): Manifest {
  manifestCache ??= JSON.parse(readFileSync(join(CHECKPOINTS_ROOT, "manifest.json"), "utf8")) as Manifest;
  return manifestCache;
}

/** Every committed checkpoint, in the manifest's order (D first). */
export function listCheckpoints(): RecordedCheckpoint[] {
  return recordedManifest().checkpoints.map(({ diffusers, components, cases, ...rest }) => ({
    ...rest,
    diffusersFolder: join(CHECKPOINTS_ROOT, diffusers),
    componentsFile: join(CHECKPOINTS_ROOT, components),
    casesFile: join(CHECKPOINTS_ROOT, cases),
  }));
}

/**
 * The checkpoint named `name`.
 * @throws Error naming the known checkpoints when there is no such one.
 */
export function recordedCheckpoint(name: string): RecordedCheckpoint {
  const all = listCheckpoints();
  const found = all.find((c) => c.name === name);
  if (!found) throw new Error(`recordedCheckpoint: expected one of ${all.map((c) => c.name).join(", ")}, got ${JSON.stringify(name)}`);
  return found;
}

/** A recorded tensor's values, read little-endian whatever the platform. */
export function decodeTensor(e: EncodedTensor): RecordedTensor {
  const bytes = Buffer.from(e.data, "base64");
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const count = e.shape.reduce((a, b) => a * b, 1);
  const size = e.dtype === "float32" ? 4 : 8;
  if (bytes.byteLength !== count * size) {
    throw new Error(`decodeTensor: expected ${count * size} bytes for ${e.dtype} ${JSON.stringify(e.shape)}, got ${bytes.byteLength}`);
  }
  if (e.dtype === "float32") {
    const data = new Float32Array(count);
    for (let i = 0; i < count; i++) data[i] = view.getFloat32(4 * i, true);
    return { dtype: "float32", shape: e.shape, data };
  }
  const data = new BigInt64Array(count);
  for (let i = 0; i < count; i++) data[i] = view.getBigInt64(8 * i, true);
  return { dtype: "int64", shape: e.shape, data };
}

/** The components' recordings of checkpoint `name`: text_encoder, transformer, vqvae_decoder. */
export function recordedComponents(name: string): Record<ComponentName, RecordedComponent> {
  type Raw = {
    components: Record<ComponentName, { inputs: string[]; output: string; tolerance: Tolerance; runs: { batch: number; inputs: Record<string, EncodedTensor>; output: EncodedTensor }[] }>;
  };
  const raw = JSON.parse(readFileSync(recordedCheckpoint(name).componentsFile, "utf8")) as Raw;
  const out = {} as Record<ComponentName, RecordedComponent>;
  for (const [component, c] of Object.entries(raw.components) as [ComponentName, Raw["components"][ComponentName]][]) {
    out[component] = {
      inputNames: c.inputs,
      outputName: c.output,
      tolerance: c.tolerance,
      runs: c.runs.map((r) => {
        const output = decodeTensor(r.output);
        if (output.dtype !== "float32") throw new Error(`${name}/components.json: expected ${component}'s output as float32, got ${output.dtype}`);
        return { batch: r.batch, inputs: Object.fromEntries(Object.entries(r.inputs).map(([k, v]) => [k, decodeTensor(v)])), output };
      }),
    };
  }
  return out;
}

/**
 * The tolerance a conversion of `component` must meet, |got − PyTorch| ≤ atol + rtol·|PyTorch|: written
 * once, in tools/fixtures/vqd_fixtures/component.py, and recorded in every components.json (this reads
 * D's; test/recordedCheckpoints.test.ts checks that every checkpoint records the same).
 *
 * @example
 * ```ts
 * const { atol, rtol } = componentTolerance("text_encoder"); // 1e-4, 1e-4
 * ```
 */
export function componentTolerance(component: ComponentName): Tolerance {
  const raw = JSON.parse(readFileSync(recordedCheckpoint("D").componentsFile, "utf8")) as { components: Record<ComponentName, { tolerance: Tolerance }> };
  return raw.components[component].tolerance;
}

/** The diffusers pipeline runs recorded on checkpoint `name`. */
export function recordedCases(name: string): RecordedCases {
  return JSON.parse(readFileSync(recordedCheckpoint(name).casesFile, "utf8")) as RecordedCases;
}

/** How many of `got`'s values lie past `tol` from `want` (same length required), and the largest |got − want|. */
export function compareWithTolerance(got: ArrayLike<number>, want: ArrayLike<number>, tol: Tolerance): { pastTolerance: number; maxAbsDiff: number } {
  if (got.length !== want.length) throw new Error(`compareWithTolerance: expected ${want.length} values, got ${got.length}`);
  let pastTolerance = 0;
  let maxAbsDiff = 0;
  for (let i = 0; i < want.length; i++) {
    const d = Math.abs(got[i] - want[i]);
    if (!(d <= tol.atol + tol.rtol * Math.abs(want[i]))) pastTolerance++;
    if (!(d <= maxAbsDiff)) maxAbsDiff = d;
  }
  return { pastTolerance, maxAbsDiff };
}

/** One run of test/fixtures/ithq-2step.json: diffusers' pipeline on the ITHQ-size random checkpoint (B = 1, N = 1024). */
export type IthqRun = Omit<DiffusersCase, "negative_input_ids" | "text_encoder_output" | "images_uint8"> & {
  timesteps: number[];
  /** [steps][1][1024]. */
  tokens_after_each_step: number[][][];
  /** The recording's wall time in Python (informative). */
  seconds: number;
};

/**
 * test/fixtures/ithq-2step.json (tools/fixtures/record.py --ithq): the checkpoint is not committed; `remake`
 * says how to build it (tools/fixtures/random_checkpoint.py --preset ithq --format bin --variant fp16).
 * `runs.fp32` loaded the float32 `.bin` files, `runs.fp16` the fp16 variant's safetensors.
 *
 * @example
 * ```ts
 * const { runs } = recordedIthq();
 * expect(myTokens).toEqual(runs.fp32.tokens);
 * ```
 */
export function recordedIthq(): {
  checkpoint: { preset: string; seed: number; format: string; variant_files: string };
  remake: string;
  sizes: { K: number; N: number; T: number; L: number; pad_token: string; pad_id: number };
  runs: { fp32: IthqRun; fp16: IthqRun };
} {
  return JSON.parse(readFileSync(new URL("../fixtures/ithq-2step.json", import.meta.url), "utf8")) as ReturnType<typeof recordedIthq>;
}
