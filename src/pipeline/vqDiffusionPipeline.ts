/**
 * `VQDiffusionPipeline`: text to images with a VQ-Diffusion model exported to ONNX (docs/model-folder.md),
 * giving diffusers' `VQDiffusionPipeline.__call__` tokens for the same model and seed:
 *   1. E ← normalise(text_encoder(tokenize(prompt, pad to L)))   or the caller's promptEmbeds   [P, L, D]
 *      repeated I times per prompt → [B, L, D], B = P · I
 *   2. guided (w > 1): context = [negative; E] (negative: learned [L, D], or the encoded "")    [2B, L, D]
 *   3. x = latents or all masked; the chain of scheduler.setTimesteps(n)
 *   4. every step: transformer once on [x; x] (guided) or x → guidance, truncation, clamp, step
 *      (the existing `VQDiffusionSampler`, so every sampler option works here too)
 *   5. images = vqvae_decoder(x) → uint8 RGBA
 * One pipeline can serve concurrent `generate` calls: a run's state (its chain, its tensors) is its own.
 */
import { argumentError, argumentErrorText, describe, throwIfAborted } from "../errors.js";
import { checkOptionKeys, type OptionKeys } from "../optionKeys.js";
import { checkGenerator, type TorchGenerator } from "../random/torchGenerator.js";
import { VQDiffusionSampler, type SampleOptions, type StepInfo } from "../sampling/sampler.js";
import { VQDiffusionScheduler } from "../scheduler/vqDiffusionScheduler.js";
import type { Tensor, TokenArray } from "../tensor/types.js";
import { checkFloatTensor, checkTokens, formatDims } from "../tensor/validate.js";
import { HUB_OPTION_KEYS, type HubLoadOptions } from "../files/hub/hubSource.js";
import { openUrlOrHubSource } from "../files/hub/urlOrHubSource.js";
import { toRGBAImages, type RGBAImage } from "./images.js";
import { locateFolderFile, type ModelFileSource } from "../files/modelFileSource.js";
import { PIPELINE_LIMITS } from "../limits.js";
import { readJson, readPipelineConfig, readRequired, type PipelineConfig } from "./modelFolder.js";
import { locateExternalData, readExternalData } from "./onnxExternalData.js";
import { OnnxComponent, type OrtModule, type OrtSessionOptions } from "./onnxComponent.js";
import { readModelVocabulary, type ModelVocabulary } from "./modelVocabulary.js";
import { contextBatch, normalizeEmbeddings } from "./promptEmbeddings.js";
import { PromptTokenizer, type PromptEncodeOptions, type WarningHandler } from "./promptTokenizer.js";
import { readSafetensors } from "../formats/safetensors.js";

/** Milliseconds per stage of a generation (totals over the run). */
export interface GenerationTimings {
  /** Tokenizer and text encoder (prompt and, for guidance without learned embeddings, ""). */
  textEncoderMs: number;
  /** The transformer, every step. */
  transformerMs: number;
  /** Guidance, truncation and the clamp, every step. */
  guidanceMs: number;
  /** The scheduler's step (or purity sampling), every step. */
  schedulerMs: number;
  /** The VQ-VAE decoder. */
  decodeMs: number;
  /** Steps taken so far. */
  steps: number;
}

/** What `GenerateOptions.onStep` receives: the sampler's step info and the timings so far. */
export interface GenerateStepInfo extends StepInfo {
  /** A snapshot of the run's timings after this step. */
  timings: GenerationTimings;
}

/** Options of {@link VQDiffusionPipeline.generate} (docs/generation.md, "Inputs"). */
export interface GenerateOptions
  extends Pick<SampleOptions, "timestepSpacing" | "strategy" | "truncationTopK" | "mode" | "signal" | "initTokens" | "strength" | "keepMask" | "threads"> {
  /** Called after every step with the tokens (a copy) and the timings so far (awaited when it returns a promise). */
  onStep?: (info: GenerateStepInfo) => void | Promise<void>;
  /**
   * The prompt, or P prompts. Exactly one of `prompt` and `promptEmbeds`. Tokenized as diffusers'
   * `_encode_prompt` does: padded to L; a prompt over L tokens keeps its first L ids (its end token
   * dropped), with a warning naming the cut text. A list that mixes a prompt over L tokens with
   * shorter ones, which diffusers refuses (`ValueError`: its rows come out ragged), is encoded here
   * prompt by prompt, each cut as it would be alone.
   */
  prompt?: string | readonly string[];
  /** The text encoder's raw output for P prompts, [P, L, D] (normalised here, as diffusers does). */
  promptEmbeds?: Tensor<Float32Array>;
  /** I, images per prompt (default 1); B = P · I, prompt-major. */
  numImagesPerPrompt?: number;
  /** Steps, in [1, T] (default 100). */
  numInferenceSteps?: number;
  /** Classifier-free guidance scale w, on when > 1 (default 5, diffusers' default). */
  guidanceScale?: number;
  /** Truncation rate r in (0, 1] (default 1: none). */
  truncationRate?: number;
  /** The random stream (`new TorchGenerator().manualSeed(seed)` = `torch.Generator().manual_seed(seed)`). */
  generator?: TorchGenerator;
  /** Starting tokens, [B, N], in [0, K − 1] (K − 1 = masked); default all masked. */
  latents?: Tensor<TokenArray>;
  /**
   * Receives this run's warnings (default: the pipeline's {@link VQDiffusionPipeline.onWarning}):
   * words of a prompt the tokenizer does not know, named, prompts over L tokens, with the text
   * that was cut, and, for a folder with `prompts.json`, each prompt that names none of the model's
   * phrases, with what it knows. They come before the text encoder runs; the run goes on.
   */
  onWarning?: WarningHandler;
}

/** The keys {@link GenerateOptions} takes; any other is refused (a misspelt option must not fall back to its default). */
const GENERATE_OPTION_KEYS = {
  prompt: true, promptEmbeds: true, numImagesPerPrompt: true, numInferenceSteps: true, guidanceScale: true, truncationRate: true,
  generator: true, latents: true, timestepSpacing: true, strategy: true, truncationTopK: true, mode: true, onStep: true, signal: true,
  initTokens: true, strength: true, keepMask: true, onWarning: true, threads: true,
} as const satisfies OptionKeys<GenerateOptions>;

/** What {@link VQDiffusionPipeline.generate} returns. */
export interface GenerateOutput {
  /** B images, RGBA (`ImageData`-shaped), prompt-major. */
  images: RGBAImage[];
  /** The final tokens, [B, N]. */
  tokens: Tensor<Int32Array>;
  /** Where the time went. */
  timings: GenerationTimings;
}

/**
 * Options of {@link VQDiffusionPipeline.fromPretrained} in the core entry. The Hub options
 * (`revision`, `cacheDir` = the Cache Storage name, `hubUrl`, `accessToken`, `localFilesOnly`,
 * `onProgress`, `signal`) apply to a Hub model id (`org/name`).
 */
export interface PipelineLoadOptions extends HubLoadOptions {
  /** The onnxruntime module: `import * as ort from "onnxruntime-web"` (or `"onnxruntime-node"`). */
  ort: OrtModule;
  /**
   * Passed to every `InferenceSession.create` (execution providers, threads, graph optimisation).
   * Its `externalData` is replaced by the model's own external data files, read from the folder.
   */
  sessionOptions?: OrtSessionOptions;
  /** The fetch to use (default: the global one). */
  fetch?: typeof fetch;
  /**
   * Receives warnings, as one sentence each (the pipeline never writes to the console): those of
   * loading, and the default for every `generate` call's (unknown words, prompts cut to L tokens).
   */
  onWarning?: WarningHandler;
}

const PIPELINE_LOAD_OPTION_KEYS = {
  ort: true, sessionOptions: true, onWarning: true, fetch: true, ...HUB_OPTION_KEYS,
} as const satisfies OptionKeys<PipelineLoadOptions>;

/** The parts of a pipeline; see {@link VQDiffusionPipeline.fromSource}. */
export interface PipelineComponents {
  readonly config: PipelineConfig;
  readonly scheduler: VQDiffusionScheduler;
  readonly transformer: OnnxComponent;
  readonly decoder: OnnxComponent;
  readonly textEncoder: OnnxComponent | null;
  readonly tokenizer: PromptTokenizer | null;
  /** The learned negative embedding [L, D] (learnable folders only). */
  readonly nullEmbeddings: Float32Array | null;
  /** What the model was trained on: the folder's `prompts.json` (absent or null: the folder has none). */
  readonly vocabulary?: ModelVocabulary | null;
}

/**
 * @example
 * ```ts
 * import * as ort from "onnxruntime-web";
 * import { VQDiffusionPipeline, TorchGenerator } from "vq-diffusion";
 * const pipe = await VQDiffusionPipeline.fromPretrained("/models/fashion-mnist", { ort });
 * const { images } = await pipe.generate({ prompt: "sneaker", generator: new TorchGenerator().manualSeed(0) });
 * ```
 */
export class VQDiffusionPipeline {
  /** Sizes from the folder's configs: K, N (height × width), T, D, L. */
  readonly config: PipelineConfig;
  /** The scheduler (shared by runs; a run never changes its state). */
  readonly scheduler: VQDiffusionScheduler;
  /** The loaded parts: sessions, tokenizer, null embeddings (e.g. to run one component alone). */
  readonly components: PipelineComponents;
  /** Where `generate` sends warnings when its options name no `onWarning` (none: they are dropped). */
  readonly onWarning: WarningHandler | undefined;

  /**
   * @param parts - the loaded components.
   * @param onWarning - the default warning handler of `generate`.
   */
  constructor(parts: PipelineComponents, onWarning?: WarningHandler) {
    this.components = parts;
    this.config = parts.config;
    this.scheduler = parts.scheduler;
    this.onWarning = checkWarningHandler("onWarning", onWarning);
  }

  /**
   * Loads a model folder from a base URL (fetching its files), or a Hugging Face Hub model id
   * `org/name` (fetched into Cache Storage, as transformers.js does, and read from there when
   * offline), and creates the sessions with the onnxruntime module you pass. Works in browsers,
   * Web Workers, Deno, Node.js (with `fetch`).
   *
   * @param baseUrlOrModelId - the folder's URL: absolute (`https://…`, `/…`) or relative starting
   *   with `./` or `../` (resolved against the page); or a Hub id `org/name` (one slash, no prefix).
   */
  static async fromPretrained(baseUrlOrModelId: string, options: PipelineLoadOptions): Promise<VQDiffusionPipeline> {
    if (typeof options !== "object" || options === null) {
      throw argumentError("options", "{ ort, sessionOptions?, onWarning?, fetch?, revision?, cacheDir?, hubUrl?, accessToken?, localFilesOnly?, onProgress?, signal? }", options);
    }
    checkOptionKeys(options, "options", PIPELINE_LOAD_OPTION_KEYS);
    const { ort, sessionOptions, onWarning } = options;
    const source = await openUrlOrHubSource(baseUrlOrModelId, options, "baseUrlOrModelId");
    return VQDiffusionPipeline.fromSource(source, ort, sessionOptions, onWarning);
  }

  /**
   * Loads a model folder from any {@link ModelFileSource} (URLs, a file system, memory). Every file,
   * external data included, is read through `source`, within a byte bound; nothing else is read.
   * When the source can `locate` files on this machine (`directorySource`), a model with external
   * data is checked in place and opened by onnxruntime from its path, which maps the weights
   * rather than copying them (`ort` must then open local files: onnxruntime-node).
   * Loads share nothing mutable: two folders (or one folder twice) loaded at once give independent
   * pipelines.
   *
   * @param sessionOptions - passed to every `InferenceSession.create`; its `externalData` is replaced
   *   by the model's own external data files.
   * @param onWarning - receives warnings, and becomes the pipeline's {@link VQDiffusionPipeline.onWarning}.
   */
  static async fromSource<P extends VQDiffusionPipeline>(
    this: new (parts: PipelineComponents, onWarning?: WarningHandler) => P,
    source: ModelFileSource,
    ort: OrtModule,
    sessionOptions?: OrtSessionOptions,
    onWarning?: WarningHandler,
  ): Promise<P> {
    checkWarningHandler("onWarning", onWarning);
    if (typeof ort !== "object" || ort === null || typeof ort.InferenceSession?.create !== "function" || typeof ort.Tensor !== "function") {
      throw argumentError("ort", "an onnxruntime module (import * as ort from \"onnxruntime-web\" or \"onnxruntime-node\")", ort);
    }
    const { config, schedulerJson, hasTextEncoder } = await readPipelineConfig(source);
    const scheduler = VQDiffusionScheduler.fromConfig(schedulerJson, { onWarning, file: "scheduler/scheduler_config.json" });
    const { numVecClasses: K, numLatentPixels: N, crossAttentionDim: D, sequenceLength: L } = config;

    let nullEmbeddings: Float32Array | null = null;
    if (config.learnable) {
      const path = "learned_classifier_free_sampling_embeddings/diffusion_pytorch_model.safetensors";
      const tensors = readSafetensors(await readRequired(source, path, "the learned null embeddings", PIPELINE_LIMITS.maxSafetensorsBytes), path);
      const e = tensors.get("embeddings");
      if (e === undefined) throw new Error(`${path}: expected a tensor "embeddings", got [${[...tensors.keys()].join(", ")}]`);
      if (e.dims.length !== 2 || e.dims[0] !== L || e.dims[1] !== D) {
        throw new Error(`${path}: expected "embeddings" of shape [L, D] = [${L}, ${D}], got ${formatDims(e.dims)}`);
      }
      nullEmbeddings = e.data;
    }

    let tokenizer: PromptTokenizer | null = null;
    if (hasTextEncoder) {
      const tokenizerJson = await readJson(source, "tokenizer/tokenizer.json", "the tokenizer (Hugging Face tokenizers format)");
      const tokenizerConfig = await readJson(source, "tokenizer/tokenizer_config.json", "the tokenizer's config");
      tokenizer = new PromptTokenizer(tokenizerJson, tokenizerConfig, L);
    }
    const vocabulary = await readModelVocabulary(source);

    const onnx = async (path: string, spec: Parameters<typeof OnnxComponent.create>[3]) => {
      const model = await readRequired(source, path, "an ONNX model", PIPELINE_LIMITS.maxOnnxBytes);
      if (source.locate !== undefined && (await locateExternalData(source, path, model)).length > 0) {
        // Checked in place; onnxruntime opens the model by its path and maps the data files beside it.
        const local = await locateFolderFile(source, path, PIPELINE_LIMITS.maxOnnxBytes);
        if (local === null) throw new Error(`${path}: expected an ONNX model in the model folder ${source.location}, got no such file`);
        const { externalData: _, ...rest } = sessionOptions ?? {};
        return OnnxComponent.create(ort, local.path, path, spec, rest);
      }
      // Always the folder's own list (empty without external data): onnxruntime must not look in the working directory.
      const externalData = await readExternalData(source, path, model);
      return OnnxComponent.create(ort, model, path, spec, { ...sessionOptions, externalData });
    };
    const transformer = await onnx("transformer/model.onnx", {
      inputs: [
        { name: "hidden_states", type: "int64", dims: [null, N], what: "[B, N]" },
        { name: "encoder_hidden_states", type: "float32", dims: [null, L, D], what: "[B, L, D]" },
        { name: "timestep", type: "int64", dims: [], what: "[] (a scalar)" },
      ],
      outputs: [{ name: "sample", type: "float32", dims: [null, K - 1, N], what: "[B, K-1, N]" }],
    });
    // diffusers' guided step runs the transformer on [x; x], 2·B rows: a static batch must be even.
    if (transformer.staticBatch !== null && transformer.staticBatch % 2 !== 0) {
      throw new Error(
        `${transformer.file}: expected a dynamic batch axis (or an even static one), got a static batch of ${transformer.staticBatch}: ` +
          `classifier-free guidance runs the transformer on 2·B rows ([unconditional; conditional]); export it with a dynamic batch axis`,
      );
    }
    const decoder = await onnx("vqvae_decoder/model.onnx", {
      inputs: [{ name: "indices", type: "int64", dims: [null, N], what: "[B, N]" }],
      outputs: [{ name: "sample", type: "float32", dims: [null, null, null, null], what: "[B, C, H, W]" }],
    });
    const textEncoder = hasTextEncoder
      ? await onnx("text_encoder/model.onnx", {
          inputs: [{ name: "input_ids", type: "int64", dims: [null, L], what: "[B, L]" }],
          outputs: [{ name: "last_hidden_state", type: "float32", dims: [null, L, D], what: "[B, L, D]" }],
        })
      : null;
    return new this({ config, scheduler, transformer, decoder, textEncoder, tokenizer, nullEmbeddings, vocabulary }, onWarning);
  }

  /** The prompt tokenizer (null for a folder without one). */
  get tokenizer(): PromptTokenizer | null {
    return this.components.tokenizer;
  }

  /**
   * What the model was trained on, from the folder's `prompts.json` (docs/model-folder.md), or null
   * when the folder has none: e.g. `pipe.vocabulary?.summary()` to show a user the prompts it knows.
   */
  get vocabulary(): ModelVocabulary | null {
    return this.components.vocabulary ?? null;
  }

  /**
   * Text to images (docs/generation.md). Every option is checked before anything runs; a key
   * `GenerateOptions` does not have (a typo, or diffusers' `guidance_scale` for `guidanceScale`) is an
   * Error naming it, not a silent default.
   *
   * @example
   * ```ts
   * const { images, tokens } = await pipe.generate({
   *   prompt: "ankle boot", numImagesPerPrompt: 4, numInferenceSteps: 50, guidanceScale: 5,
   *   generator: new TorchGenerator().manualSeed(0),
   * });
   * ```
   */
  async generate(options: GenerateOptions): Promise<GenerateOutput> {
    if (typeof options !== "object" || options === null) throw argumentError("options", "an object", options);
    checkOptionKeys(options, "options", GENERATE_OPTION_KEYS);
    const { numVecClasses: K, numLatentPixels: N, crossAttentionDim: D, sequenceLength: L } = this.config;
    const prompts = this.readPrompts(options);
    const P = prompts.kind === "text" ? prompts.prompts.length : prompts.embeds.dims[0];
    const I = options.numImagesPerPrompt ?? 1;
    if (!Number.isInteger(I) || I < 1) throw argumentError("numImagesPerPrompt", "an integer >= 1", I);
    const B = P * I;
    if (B > PIPELINE_LIMITS.maxBatch) {
      throw argumentErrorText("numImagesPerPrompt", `prompts × images per prompt <= ${PIPELINE_LIMITS.maxBatch}`, `${P} × ${I} = ${B}`);
    }
    const guidance = options.guidanceScale ?? 5;
    if (typeof guidance !== "number" || !Number.isFinite(guidance)) throw argumentError("guidanceScale", "a finite number", guidance);
    const guided = guidance > 1;
    if (guided && this.components.nullEmbeddings === null && this.components.textEncoder === null) {
      throw argumentError("guidanceScale", "<= 1 for a folder with neither learned null embeddings nor a text encoder (no negative prompt)", guidance);
    }
    if (options.latents !== undefined) checkTokens("latents", options.latents, [B, N], "[B, N] with B = prompts × numImagesPerPrompt", K);
    if (options.generator !== undefined) checkGenerator("generator", options.generator);
    this.checkBatches(P, I, guided, prompts.kind === "text");
    const onWarning = checkWarningHandler("onWarning", options.onWarning) ?? this.onWarning;

    if (prompts.kind === "text" && onWarning !== undefined && this.vocabulary !== null) {
      for (const prompt of new Set(prompts.prompts)) {
        const warning = this.vocabulary.unknownPromptWarning(prompt);
        if (warning !== null) onWarning(warning);
      }
    }

    const timings: GenerationTimings = { textEncoderMs: 0, transformerMs: 0, guidanceMs: 0, schedulerMs: 0, decodeMs: 0, steps: 0 };
    let clock = performance.now();
    const positive =
      prompts.kind === "text"
        ? normalizeEmbeddings(await this.encodeText(prompts.prompts, { onWarning }), D, "text_encoder/model.onnx output")
        : normalizeEmbeddings(prompts.embeds.data, D, "promptEmbeds");
    const negative = !guided ? null : this.components.nullEmbeddings ?? normalizeEmbeddings(await this.encodeText([""], { truncation: true }), D, "text_encoder/model.onnx output");
    const context = contextBatch(positive, P, I, L * D, negative);
    timings.textEncoderMs = performance.now() - clock;
    const stages = { denoiserMs: 0, guidanceMs: 0, stepMs: 0 };
    const snapshot = (): GenerationTimings => ({ ...timings, transformerMs: stages.denoiserMs, guidanceMs: stages.guidanceMs, schedulerMs: stages.stepMs });
    const onStep = options.onStep;
    const rows = guided ? 2 * B : B;
    const transformer = this.components.transformer;
    const contextTensor = transformer.tensor("float32", context, [rows, L, D]);
    const denoiser = async (sample: Tensor<Int32Array> | Tensor<BigInt64Array>, t: number) =>
      transformer.run(
        {
          hidden_states: transformer.tensor("int64", sample.data as BigInt64Array, sample.dims),
          encoder_hidden_states: contextTensor,
          timestep: transformer.tensor("int64", BigInt64Array.of(BigInt(t)), []),
        },
        [rows, K - 1, N],
      );
    const sampler = new VQDiffusionSampler({ scheduler: this.scheduler, denoiser });
    const { tokens } = await sampler.sample({
      batchSize: B,
      numLatentPixels: N,
      numInferenceSteps: options.numInferenceSteps ?? 100,
      guidanceScale: guidance,
      truncationRate: options.truncationRate ?? 1,
      generator: options.generator,
      latents: options.latents,
      tokenType: "int64",
      timestepSpacing: options.timestepSpacing,
      strategy: options.strategy,
      truncationTopK: options.truncationTopK,
      mode: options.mode,
      onStep: (info) => {
        timings.steps = info.step + 1;
        return onStep?.({ ...info, timings: snapshot() });
      },
      timings: stages,
      signal: options.signal,
      threads: options.threads,
      initTokens: options.initTokens,
      strength: options.strength,
      keepMask: options.keepMask,
    });
    const final = tokens;
    clock = performance.now();
    const images = await this.decode(final);
    timings.decodeMs = performance.now() - clock;
    throwIfAborted(options.signal, "generation"); // an abort while decoding counts too
    const data = new Int32Array(final.data.length);
    for (let i = 0; i < data.length; i++) data[i] = Number(final.data[i]);
    return { images, tokens: { data, dims: [B, N] }, timings: snapshot() };
  }

  /**
   * Decodes tokens to images with the VQ-VAE decoder.
   *
   * @param tokens - [B, N], every token a code in [0, K − 2] (no mask).
   */
  async decode(tokens: Tensor<TokenArray>): Promise<RGBAImage[]> {
    const { numVecClasses: K, numLatentPixels: N } = this.config;
    const { tokens: ids, dims } = checkTokens("tokens", tokens, [null, N], "[B, N] codes (no mask)", K - 1);
    const B = dims[0];
    const indices = new BigInt64Array(ids.length);
    for (let i = 0; i < ids.length; i++) indices[i] = BigInt(ids[i]);
    const decoder = this.components.decoder;
    const out = await decoder.run({ indices: decoder.tensor("int64", indices, [B, N]) }, [B, null, null, null]);
    const [, C, H, W] = out.dims;
    if (C !== 1 && C !== 3) throw new Error(`${decoder.file}: expected output sample with C = 1 (grey) or 3 (RGB) channels, got dims ${formatDims(out.dims)}`);
    for (let i = 0; i < out.data.length; i++) {
      if (!Number.isFinite(out.data[i])) throw new Error(`${decoder.file}: expected finite pixels, got ${describe(out.data[i])} at flat index ${i}`);
    }
    return toRGBAImages(out.data, B, C, H, W);
  }

  /**
   * Decodes tokens that may still hold the mask (K − 1), for previews while a chain runs: masked
   * positions are decoded as code 0, then their area of the image (pixel (y, x) belongs to latent
   * (⌊y·h/H⌋, ⌊x·w/W⌋)) is painted as a grey checker.
   *
   * @param tokens - [B, N], tokens in [0, K − 1].
   */
  async decodePreview(tokens: Tensor<TokenArray>): Promise<RGBAImage[]> {
    const { numVecClasses: K, numLatentPixels: N, height: h, width: w } = this.config;
    const { tokens: ids, dims } = checkTokens("tokens", tokens, [null, N], "[B, N]", K);
    const codes = ids.map((v) => (v === K - 1 ? 0 : v));
    const images = await this.decode({ data: codes, dims });
    images.forEach((im, b) => {
      for (let y = 0; y < im.height; y++) {
        for (let x = 0; x < im.width; x++) {
          const latent = Math.floor((y * h) / im.height) * w + Math.floor((x * w) / im.width);
          if (ids[b * N + latent] !== K - 1) continue;
          const grey = ((x >> 1) + (y >> 1)) % 2 === 0 ? 96 : 128;
          im.data.fill(grey, 4 * (y * im.width + x), 4 * (y * im.width + x) + 3);
        }
      }
    });
    return images;
  }

  /**
   * Every component exported with a static batch must hold this run's batch (checked before anything
   * runs): the transformer B or 2·B rows (guided), the decoder B, the text encoder P (and 1 for the
   * unconditional "" of guidance without learned null embeddings).
   */
  private checkBatches(P: number, I: number, guided: boolean, textPrompts: boolean): void {
    const B = P * I;
    const { transformer, decoder, textEncoder, nullEmbeddings } = this.components;
    const need = (component: OnnxComponent | null, rows: number, why: string) => {
      if (component === null || component.staticBatch === null || component.staticBatch === rows) return;
      throw argumentErrorText(
        "numImagesPerPrompt",
        `a run whose batch fits ${component.file}, exported with a static batch of ${component.staticBatch}`,
        `${rows} rows (${why})`,
      );
    };
    need(transformer, guided ? 2 * B : B, guided ? `2·B with B = ${P} prompts × ${I} images, doubled for guidance` : `B = ${P} prompts × ${I} images`);
    need(decoder, B, `B = ${P} prompts × ${I} images`);
    if (textPrompts) need(textEncoder, P, `${P} prompts`);
    if (guided && nullEmbeddings === null) need(textEncoder, 1, `the unconditional "" of guidance`);
  }

  /** Frees the ONNX sessions. */
  async release(): Promise<void> {
    const { transformer, decoder, textEncoder } = this.components;
    await Promise.all([transformer.release(), decoder.release(), textEncoder?.release()]);
  }

  /**
   * The text encoder's raw output for prompts: [P, L, D] flat. diffusers' `_encode_prompt`: the prompt
   * without truncation (cut to L afterwards, with a warning), the unconditional "" with `truncation: true`.
   */
  private async encodeText(prompts: readonly string[], options: PromptEncodeOptions): Promise<Float32Array> {
    const { textEncoder, tokenizer } = this.components;
    if (textEncoder === null || tokenizer === null) throw new Error("prompt: this model folder has no text_encoder/tokenizer; pass promptEmbeds instead");
    const { sequenceLength: L, crossAttentionDim: D } = this.config;
    const ids = tokenizer.encode(prompts, options);
    const out = await textEncoder.run({ input_ids: textEncoder.tensor("int64", ids, [prompts.length, L]) }, [prompts.length, L, D]);
    return out.data;
  }

  private readPrompts(options: GenerateOptions): { kind: "text"; prompts: readonly string[] } | { kind: "embeds"; embeds: Tensor<Float32Array> } {
    const { prompt, promptEmbeds } = options;
    if ((prompt === undefined) === (promptEmbeds === undefined)) {
      throw new Error(`prompt: expected exactly one of prompt and promptEmbeds, got ${prompt === undefined ? "neither" : "both"}`);
    }
    if (promptEmbeds !== undefined) {
      const { crossAttentionDim: D, sequenceLength: L } = this.config;
      const e = checkFloatTensor("promptEmbeds", promptEmbeds, [null, L, D], `[P, L, D] with L = ${L}, D = ${D}`);
      if (e.dims[0] < 1) throw argumentErrorText("promptEmbeds.dims", "P >= 1 prompts", formatDims(e.dims));
      return { kind: "embeds", embeds: e };
    }
    const list = typeof prompt === "string" ? [prompt] : prompt;
    if (!Array.isArray(list) || list.length === 0 || !list.every((p) => typeof p === "string")) {
      throw argumentError("prompt", "a string or a non-empty array of strings", prompt);
    }
    if (this.components.textEncoder === null) throw argumentError("prompt", "promptEmbeds instead (this model folder has no text_encoder/tokenizer)", prompt);
    return { kind: "text", prompts: list };
  }
}

/** The handler itself, after checking that it is a function (or undefined). */
function checkWarningHandler(name: string, handler: unknown): WarningHandler | undefined {
  if (handler !== undefined && typeof handler !== "function") throw argumentError(name, "a function (message: string) => void", handler);
  return handler as WarningHandler | undefined;
}
