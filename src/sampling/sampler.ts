/**
 * `VQDiffusionSampler`: the reference pipeline's loop (diffusers' `VQDiffusionPipeline.__call__`)
 * around a scheduler and a denoiser, token for token:
 *   x ← latents, or every pixel the mask class
 *   chain ← the timesteps of scheduler.setTimesteps(numInferenceSteps), computed by the run itself
 *           (the shared scheduler's state is never set, so concurrent runs cannot disturb each other)
 *   for t in chain:
 *     out ← denoiser([x; x] with guidance, else x, t)          (B or 2B, K − 1, N)
 *     out ← uncond + s·(cond − uncond), renormalised           (guidance > 1 only)
 *     out ← truncate(out, truncationRate); out ← max(out, −70)
 *     x ← scheduler.step(out, t, x, { generator })
 * Beyond the reference: respaced timesteps with the exact jump (`timestepSpacing`), top-k
 * truncation, purity sampling (`strategy: "purity"`), and variations / inpainting (`initTokens`,
 * `strength`, `keepMask`).
 */
import { argumentError, argumentErrorText, describe, throwIfAborted } from "../errors.js";
import { LIMITS } from "../limits.js";
import { checkOptionKeys, type OptionKeys } from "../optionKeys.js";
import { checkGenerator, randomlySeededGenerator, type TorchGenerator } from "../random/torchGenerator.js";
import type { StepMode, VQDiffusionScheduler } from "../scheduler/vqDiffusionScheduler.js";
import { spacedTimesteps, type TimestepSpacing } from "../schedule/timestepSpacing.js";
import { puritySample } from "./purity.js";
import type { Tensor, TokenArray } from "../tensor/types.js";
import { checkLogProbabilities } from "../tensor/checkLogProbabilities.js";
import { checkTokens, formatDims, isTypedArray } from "../tensor/validate.js";
import { guideTruncateClamp } from "./fusedGuidance.js";
import { splitGuidancePays, threadedGuideTruncateClamp } from "./threadedGuidance.js";
import { checkStepThreadPool, type StepThreadPool } from "../kernels/threads/stepThreadPool.js";

/**
 * A model of log p(x_0 | x_t): given tokens x_t, shape (B', N), and the timestep t, returns
 * log-probabilities over the K − 1 real classes, shape (B', K − 1, N). With guidance the sampler
 * passes B' = 2B (the batch twice) and expects [unconditional; conditional].
 */
export type Denoiser = (
  sample: Tensor<Int32Array> | Tensor<BigInt64Array>,
  timestep: number,
) => Tensor<Float32Array> | Promise<Tensor<Float32Array>>;

/** What `onStep` receives after every step. */
export interface StepInfo {
  /** 0-based index of the step. */
  step: number;
  /** The timestep just taken. */
  timestep: number;
  /** x after the step, shape (B, N) (a copy the callback may keep). */
  sample: Tensor<Int32Array>;
}

/**
 * Milliseconds spent in each stage of a run, added to as the run goes (pass an object with zeros as
 * `SampleOptions.timings` and read it during `onStep` or after the run).
 */
export interface SamplerTimings {
  /** In the denoiser (the model). */
  denoiserMs: number;
  /** In guidance, truncation and the clamp. */
  guidanceMs: number;
  /** In the scheduler's step (or purity sampling). */
  stepMs: number;
}

/** Options of {@link VQDiffusionSampler.sample}. */
export interface SampleOptions {
  /** B, the number of images (default: latents' batch, else 1). */
  batchSize?: number;
  /** N, latent pixels per image (required without latents). */
  numLatentPixels?: number;
  /** Steps of the chain, default 100 (in [1, numTrainTimesteps]). */
  numInferenceSteps?: number;
  /**
   * Classifier-free guidance scale, default 1 (off). The reference pipeline's default is 5.0, which
   * presumes a denoiser that returns [unconditional; conditional] for a doubled batch; set it
   * explicitly for such a model.
   */
  guidanceScale?: number;
  /** Truncation rate in (0, 1], default 1 (none). */
  truncationRate?: number;
  /** The random stream, used by every step; a fresh, randomly seeded one when absent. */
  generator?: TorchGenerator;
  /** The starting tokens, shape (B, N); default every pixel masked. */
  latents?: Tensor<TokenArray>;
  /** Token type handed to the denoiser and returned: `"int32"` (default) or `"int64"` (ONNX). */
  tokenType?: "int32" | "int64";
  /** Called after every step (awaited when it returns a promise). */
  onStep?: (info: StepInfo) => void | Promise<void>;
  /**
   * Stops the run: checked before anything is drawn, between steps and after the last one; the run
   * rejects with `signal.reason` (an `AbortError` for `controller.abort()`, a `TimeoutError` for
   * `AbortSignal.timeout()`).
   */
  signal?: AbortSignal;
  /** The scheduler's step mode (default `"reference"`, token-exact with Python). */
  mode?: StepMode;
  /** Spread the steps over the schedule and jump exactly between them (default: the reference's n − 1 … 0). */
  timestepSpacing?: TimestepSpacing;
  /** Also keep at most the k most probable classes per pixel (top-k truncation). */
  truncationTopK?: number;
  /**
   * `"posterior"` (default): every pixel drawn from p(x_s | x_t) by the scheduler; `"purity"`:
   * reveal masked pixels by confidence, as many as the schedule expects unmasked (see `purity.ts`).
   */
  strategy?: "posterior" | "purity";
  /** Tokens to start from (variations, inpainting), shape (B, N): noised to the timestep at `strength`. */
  initTokens?: Tensor<TokenArray>;
  /** In (0, 1], with `initTokens`: the fraction of the chain to run (1: from pure noise). Default 1. */
  strength?: number;
  /** With `initTokens`: positions (N, or B·N, truthy = keep) held at their given tokens every step. */
  keepMask?: ArrayLike<number | boolean>;
  /** An object the run adds its per-stage milliseconds to (see {@link SamplerTimings}). */
  timings?: SamplerTimings;
  /**
   * Helper threads for the scheduler's step (`scheduler.stepAsync`) and, from 4 Fashion-MNIST-sized
   * images up (B·(K − 1)·N ≥ 50 176 values), the guidance and truncation pass: the same tokens as
   * without, sooner. A `StepThreadPool` (`createNodeStepThreadPool()` from `vq-diffusion/node`, or
   * `new StepThreadPool(...)` with Web Workers); the pool may serve concurrent runs.
   */
  threads?: StepThreadPool;
}

/** The keys {@link SampleOptions} takes; any other is refused. */
const SAMPLE_OPTION_KEYS = {
  batchSize: true, numLatentPixels: true, numInferenceSteps: true, guidanceScale: true, truncationRate: true, generator: true, latents: true,
  tokenType: true, onStep: true, signal: true, mode: true, timestepSpacing: true, truncationTopK: true, strategy: true, initTokens: true,
  strength: true, keepMask: true, timings: true, threads: true,
} as const satisfies OptionKeys<SampleOptions>;

/**
 * @example
 * ```ts
 * const sampler = new VQDiffusionSampler({ scheduler, denoiser });
 * const { tokens } = await sampler.sample({ numLatentPixels: 1024, generator: new TorchGenerator().manualSeed(0) });
 * ```
 */
export class VQDiffusionSampler {
  readonly scheduler: VQDiffusionScheduler;
  readonly denoiser: Denoiser;

  constructor(options: { scheduler: VQDiffusionScheduler; denoiser: Denoiser }) {
    if (typeof options !== "object" || options === null) throw argumentError("options", "{ scheduler, denoiser }", options);
    checkOptionKeys(options, "options", { scheduler: true, denoiser: true });
    checkScheduler(options.scheduler);
    if (typeof options.denoiser !== "function") throw argumentError("denoiser", "a function (sample, timestep) => log p(x_0 | x_t)", options.denoiser);
    this.scheduler = options.scheduler;
    this.denoiser = options.denoiser;
  }

  /**
   * Runs the chain.
   *
   * @returns `{ tokens }`: the sample, shape (B, N), Int32Array (or BigInt64Array for `tokenType: "int64"`
   *   or BigInt64Array latents); the overloads give the array type from the options, so callers need
   *   no cast.
   */
  sample(options: SampleOptions & { tokenType: "int64" }): Promise<{ tokens: Tensor<BigInt64Array> }>;
  sample(options: SampleOptions & { tokenType?: undefined; latents: Tensor<BigInt64Array> }): Promise<{ tokens: Tensor<BigInt64Array> }>;
  sample(options?: SampleOptions & { tokenType?: "int32"; latents?: Tensor<Int32Array> }): Promise<{ tokens: Tensor<Int32Array> }>;
  sample(options?: SampleOptions): Promise<{ tokens: Tensor<TokenArray> }>;
  async sample(options: SampleOptions = {}): Promise<{ tokens: Tensor<TokenArray> }> {
    if (typeof options !== "object" || options === null) throw argumentError("options", "an object", options);
    checkOptionKeys(options, "options", SAMPLE_OPTION_KEYS);
    const s = this.scheduler;
    const K = s.numEmbed;
    const steps = options.numInferenceSteps ?? 100;
    const guidance = options.guidanceScale ?? 1;
    const rate = options.truncationRate ?? 1;
    if (typeof guidance !== "number" || !Number.isFinite(guidance)) throw argumentError("guidanceScale", "a finite number", guidance);
    if (typeof rate !== "number" || !(rate > 0 && rate <= 1)) throw argumentError("truncationRate", "a number in (0, 1]", rate);
    if (options.generator !== undefined) checkGenerator("generator", options.generator);
    if (options.truncationTopK !== undefined && (!Number.isInteger(options.truncationTopK) || options.truncationTopK < 1)) {
      throw argumentError("truncationTopK", "an integer >= 1", options.truncationTopK);
    }
    if (options.mode !== undefined && options.mode !== "reference" && options.mode !== "fast") {
      throw argumentError("mode", '"reference" or "fast"', options.mode);
    }
    const tokenType = options.tokenType ?? (isTypedArray(options.latents?.data, "BigInt64Array") ? "int64" : "int32");
    if (tokenType !== "int32" && tokenType !== "int64") throw argumentError("tokenType", '"int32" or "int64"', tokenType);
    const strategy = options.strategy ?? "posterior";
    if (strategy !== "posterior" && strategy !== "purity") throw argumentError("strategy", '"posterior" or "purity"', strategy);
    const signal = options.signal;
    if (signal !== undefined && (typeof signal !== "object" || signal === null || typeof (signal as AbortSignal).aborted !== "boolean")) {
      throw argumentError("signal", "an AbortSignal", signal);
    }
    if (options.onStep !== undefined && typeof options.onStep !== "function") throw argumentError("onStep", "a function", options.onStep);
    const threads = options.threads === undefined ? undefined : checkStepThreadPool("threads", options.threads);
    const start = this.readStart(options);
    const { B, N } = start;
    const T = s.config.numTrainTimesteps;
    if (!Number.isInteger(steps) || steps < 1 || steps > T) {
      throw argumentError("numInferenceSteps", `an integer in [1, ${T}] (numTrainTimesteps = ${T})`, steps);
    }
    // The run owns its chain: the scheduler's own timesteps are neither read nor set, so that
    // concurrent runs on one scheduler do not change each other's jumps.
    const chain = spacedTimesteps(steps, T, options.timestepSpacing);
    throwIfAborted(signal, "sampling"); // before anything is drawn
    const generator = options.generator ?? randomlySeededGenerator();
    const guided = guidance > 1;
    // A variation runs the chain's last ⌊n·strength⌋ timesteps, from the given tokens noised to the
    // first of them (kept positions not noised).
    let timesteps = chain;
    let x = start.x;
    if (start.init !== null) {
      const n = timesteps.length;
      timesteps = timesteps.subarray(n - Math.min(n, Math.floor(n * start.strength)));
      if (timesteps.length > 0) x = s.addNoise({ data: start.init, dims: [B, N] }, timesteps[0], { generator }).data;
      if (start.keep) for (let j = 0; j < B * N; j++) if (start.keep[j]) x[j] = start.init[j];
    }
    let sample: Tensor<Int32Array> = { data: x, dims: [B, N] };
    const timings = options.timings;
    // With a pool, the guidance pass of a large enough batch is split over its threads, into this
    // run's own shared array (made at the first such step, overwritten by each: no step reads the
    // previous one's output).
    let shared: Float32Array | null = null;
    for (let i = 0; i < timesteps.length; i++) {
      throwIfAborted(signal, "sampling");
      const t = timesteps[i];
      const prevTimestep = i + 1 < timesteps.length ? timesteps[i + 1] : -1;
      const input = guided ? { data: doubled(sample.data), dims: [2 * B, N] } : { data: sample.data.slice(), dims: [B, N] };
      let clock = timings ? performance.now() : 0;
      const raw = await this.callDenoiser(tokenType === "int64" ? toInt64(input) : input, t, i, guided ? 2 * B : B, K, N);
      if (timings) clock = lap(timings, "denoiserMs", clock);
      // callDenoiser checked the output's values once; the steps below take checked data.
      const kept = threads !== undefined && splitGuidancePays(threads, B, K - 1, N)
        ? await threadedGuideTruncateClamp(raw.data, B, K - 1, N, guided, guidance, rate, options.truncationTopK, "guidanceScale", threads, (shared ??= new Float32Array(new SharedArrayBuffer(4 * B * (K - 1) * N))))
        : guideTruncateClamp(raw.data, B, K - 1, N, guided, guidance, rate, options.truncationTopK, "guidanceScale");
      const output = { data: kept, dims: [B, K - 1, N] };
      if (timings) clock = lap(timings, "guidanceMs", clock);
      let next: Int32Array;
      if (strategy === "purity") {
        const target = Math.round(N * (1 - s.maskProbability(prevTimestep)));
        next = puritySample(output.data, sample.data, B, K, N, target, generator);
      } else {
        // Without a pool stepAsync is `step` on this thread.
        next = (await s.stepAsync(output, t, sample, { generator, mode: options.mode, prevTimestep, threads })).prevSample.data;
      }
      if (start.keep && start.init) for (let j = 0; j < next.length; j++) if (start.keep[j]) next[j] = start.init[j];
      if (timings) lap(timings, "stepMs", clock);
      sample = { data: next, dims: [B, N] };
      if (options.onStep) await options.onStep({ step: i, timestep: t, sample: { data: sample.data.slice(), dims: [B, N] } });
    }
    // An abort during the last step (its denoiser run or onStep) counts: no tokens come back.
    throwIfAborted(signal, "sampling");
    const tokens: Tensor<TokenArray> = tokenType === "int64" ? toInt64(sample) : sample;
    return { tokens };
  }

  /**
   * The starting tokens and batch shape, from `latents`, `initTokens` (with `strength` and
   * `keepMask`), or `batchSize` and `numLatentPixels` (all masked); every option checked before
   * anything is computed.
   */
  private readStart(options: SampleOptions): {
    x: Int32Array;
    B: number;
    N: number;
    init: Int32Array | null;
    strength: number;
    keep: Uint8Array | null;
  } {
    const K = this.scheduler.numEmbed;
    const shape = [options.batchSize ?? null, options.numLatentPixels ?? null];
    if (options.initTokens !== undefined) {
      if (options.latents !== undefined) throw argumentError("latents", "not to come with initTokens (a variation starts from initTokens)", options.latents);
      const strength = options.strength ?? 1;
      if (typeof strength !== "number" || !(strength > 0 && strength <= 1)) throw argumentError("strength", "a number in (0, 1]", strength);
      const { tokens, dims } = checkTokens("initTokens", options.initTokens, shape, "[batchSize, numLatentPixels]", K);
      const [B, N] = dims;
      let keep: Uint8Array | null = null;
      if (options.keepMask !== undefined) {
        const m = options.keepMask;
        if (typeof m !== "object" || m === null || (m.length !== N && m.length !== B * N)) {
          throw argumentError("keepMask", `an array of ${N} (N) or ${B * N} (B·N) entries, each 0/1 or false/true`, m);
        }
        for (let j = 0; j < m.length; j++) {
          const v = m[j];
          if (v !== 0 && v !== 1 && v !== true && v !== false) throw argumentErrorText("keepMask", "entries 0/1 or false/true", `${describe(v)} at index ${j}`);
        }
        keep = new Uint8Array(B * N);
        for (let j = 0; j < B * N; j++) keep[j] = m[m.length === N ? j % N : j] ? 1 : 0;
      }
      const init = tokens.slice();
      return { x: init.slice(), B, N, init, strength, keep };
    }
    if (options.strength !== undefined) throw argumentError("strength", "to come with initTokens", options.strength);
    if (options.keepMask !== undefined) throw argumentError("keepMask", "to come with initTokens", "a keepMask alone");
    if (options.latents !== undefined) {
      const { tokens, dims } = checkTokens("latents", options.latents, shape, "[batchSize, numLatentPixels]", K);
      return { x: tokens.slice(), B: dims[0], N: dims[1], init: null, strength: 1, keep: null };
    }
    const B = options.batchSize ?? 1;
    const N = options.numLatentPixels;
    if (!Number.isInteger(B) || B < 1 || B > LIMITS.maxBatch) throw argumentError("batchSize", `an integer in [1, ${LIMITS.maxBatch}]`, B);
    if (N === undefined || !Number.isInteger(N) || N < 1 || N > LIMITS.maxLatentPixels) {
      throw argumentError("numLatentPixels", `an integer in [1, ${LIMITS.maxLatentPixels}] (or latents)`, N);
    }
    if (B * N > LIMITS.maxTokens) throw argumentErrorText("batchSize", `batchSize · numLatentPixels <= ${LIMITS.maxTokens} tokens`, `${B} · ${N} = ${B * N}`);
    return { x: new Int32Array(B * N).fill(K - 1), B, N, init: null, strength: 1, keep: null };
  }

  private async callDenoiser(
    input: Tensor<Int32Array> | Tensor<BigInt64Array>,
    t: number,
    step: number,
    B: number,
    K: number,
    N: number,
  ): Promise<Tensor<Float32Array>> {
    let output: unknown;
    try {
      output = await this.denoiser(input, t);
    } catch (e) {
      throw new Error(`denoiser: failed at step ${step} (timestep ${t}): ${(e as Error)?.message ?? String(e)}`, { cause: e });
    }
    const o = output as Partial<Tensor<unknown>> | null;
    const where = `denoiser output at step ${step} (timestep ${t})`;
    if (typeof o !== "object" || o === null || !isTypedArray(o.data, "Float32Array") || !Array.isArray(o.dims)) {
      const got = typeof o === "object" && o !== null && ArrayBuffer.isView(o.data) ? `a tensor whose data is ${describe(o.data)}` : describe(output);
      throw argumentErrorText(where, "a tensor { data: Float32Array, dims }", got);
    }
    if (o.dims.length !== 3 || o.dims[0] !== B || o.dims[1] !== K - 1 || o.dims[2] !== N || o.data.length !== B * (K - 1) * N) {
      throw argumentErrorText(where, `dims [${B}, ${K - 1}, ${N}] with ${B * (K - 1) * N} values`, `dims ${formatDims(o.dims)} with ${o.data.length} values`);
    }
    checkLogProbabilities(where, o.data, B, K - 1, N);
    return o as Tensor<Float32Array>;
  }
}

/**
 * Checks that `scheduler` has what the sampler calls (a VQDiffusionScheduler, or one from another copy
 * of the package): step, addNoise, maskProbability, numEmbed and config.numTrainTimesteps.
 */
function checkScheduler(scheduler: unknown): asserts scheduler is VQDiffusionScheduler {
  const expected = "a VQDiffusionScheduler (step, addNoise, maskProbability, numEmbed, config)";
  if (typeof scheduler !== "object" || scheduler === null) throw argumentError("scheduler", expected, scheduler);
  const s = scheduler as Record<string, unknown> & { config?: { numTrainTimesteps?: unknown } };
  for (const m of ["step", "addNoise", "maskProbability"]) if (typeof s[m] !== "function") throw argumentErrorText("scheduler", expected, `${describe(scheduler)} without ${m}()`);
  if (!Number.isInteger(s.numEmbed)) throw argumentErrorText("scheduler", expected, `${describe(scheduler)} without an integer numEmbed`);
  if (!Number.isInteger(s.config?.numTrainTimesteps)) throw argumentErrorText("scheduler", expected, `${describe(scheduler)} without config.numTrainTimesteps`);
}

/** Adds the time since `since` to `timings[stage]`; returns now. */
function lap(timings: SamplerTimings, stage: keyof SamplerTimings, since: number): number {
  const now = performance.now();
  timings[stage] += now - since;
  return now;
}

function doubled(x: Int32Array): Int32Array {
  const out = new Int32Array(2 * x.length);
  out.set(x);
  out.set(x, x.length);
  return out;
}

function toInt64(t: Tensor<Int32Array>): Tensor<BigInt64Array> {
  const out = new BigInt64Array(t.data.length);
  for (let i = 0; i < out.length; i++) out[i] = BigInt(t.data[i]);
  return { data: out, dims: [...t.dims] };
}

