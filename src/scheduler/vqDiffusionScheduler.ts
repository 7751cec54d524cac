/**
 * `VQDiffusionScheduler`: diffusers' scheduler of the same name, in TypeScript. It holds the noise
 * schedule and turns the model's prediction of the clean tokens into a sample of the tokens at the
 * previous timestep (paper arXiv 2111.14822, eq. 11).
 *
 * Shapes: K = numVecClasses (mask class K - 1), T = numTrainTimesteps, B images of N latent pixels.
 * Tensors are `{ data, dims }`, row-major; log-probabilities are `Float32Array`s with the class axis
 * in the middle, (B, K - 1, N) or (B, K, N); tokens are `Int32Array`s or `BigInt64Array`s, (B, N).
 */
import {
  configToJSON,
  optionsFromJSON,
  type FromConfigOptions,
  resolveConfig,
  type SchedulerConfigJSON,
  type VQDiffusionSchedulerConfig,
  type VQDiffusionSchedulerOptions,
} from "../config/schedulerConfig.js";
import { argumentError } from "../errors.js";
import { checkOptionKeys, type OptionKeys } from "../optionKeys.js";
import { kernelBackend, stepPrimitives } from "../kernels/backend.js";
import { fastCategoricalStep } from "../kernels/fastStep.js";
import { fusedGumbelStep } from "../kernels/fusedStep.js";
import { posteriorRows, posteriorTransitions } from "../posterior/pixelPosterior.js";
import type { StepProblem } from "../kernels/stepProblem.js";
import { threadedStep } from "../kernels/threads/threadedStep.js";
import { checkStepThreadPool, type StepThreadPool } from "../kernels/threads/stepThreadPool.js";
import { posteriorStructured } from "../posterior/posteriorStructured.js";
import { checkGenerator, randomlySeededGenerator, type TorchGenerator } from "../random/torchGenerator.js";
import { computeLogSchedule, type LogSchedule } from "../schedule/logSchedule.js";
import { badValue, checkLogProbabilities } from "../tensor/checkLogProbabilities.js";
import type { Tensor, TokenArray } from "../tensor/types.js";
import { checkFloatTensor, checkTokens, tokensLike } from "../tensor/validate.js";
import { cumulativeLogs, oneStepLogs, transitionRowsFromOnehot } from "../transitions/transitionRows.js";
import { spacedTimesteps, type TimestepSpacing } from "../schedule/timestepSpacing.js";
import { addNoiseTokens } from "../schedule/forwardProcess.js";

/**
 * How `step` draws: `"reference"` (default) reproduces the reference's tokens for a seed (one uniform
 * per class and pixel, Gumbel-max); `"fast"` draws from the same distribution with one uniform per
 * pixel (inverse CDF), a different random stream.
 */
export type StepMode = "reference" | "fast";

/** Options of {@link VQDiffusionScheduler.step}. */
export interface StepOptions {
  /** The random stream; a fresh, randomly seeded one when absent. */
  generator?: TorchGenerator;
  /** `"reference"` (default) or `"fast"`. */
  mode?: StepMode;
  /**
   * s, the timestep to move to, in [−1, t − 1] (−1: the clean sample). Default: {@link
   * VQDiffusionScheduler.prevTimestep}(t), from the scheduler's own {@link VQDiffusionScheduler.timesteps}.
   * A caller that owns its chain (the sampler does) passes it, so that no state of the scheduler is
   * read and one scheduler can serve concurrent chains.
   */
  prevTimestep?: number;
}

const STEP_OPTION_KEYS = { generator: true, mode: true, prevTimestep: true } as const satisfies OptionKeys<StepOptions>;

/** Options of {@link VQDiffusionScheduler.stepAsync}: those of `step`, and the threads to split it over. */
export interface StepAsyncOptions extends StepOptions {
  /**
   * Helper threads (`new StepThreadPool(...)`, or `createNodeStepThreadPool()` from
   * `vq-diffusion/node`). Absent, with one thread, or without shared memory: the step runs on the
   * calling thread, as {@link VQDiffusionScheduler.step}.
   */
  threads?: StepThreadPool;
}

const STEP_ASYNC_OPTION_KEYS = { ...STEP_OPTION_KEYS, threads: true } as const satisfies OptionKeys<StepAsyncOptions>;

/** What {@link VQDiffusionScheduler.step} returns. */
export interface StepOutput<T extends TokenArray> {
  /** x_{t-1}, shape (B, N), the caller's token type. */
  prevSample: Tensor<T>;
}

/** Options of {@link VQDiffusionScheduler.setTimesteps}. */
export interface SetTimestepsOptions {
  /**
   * Spread the steps over the whole schedule (`"linspace"`, `"leading"`, `"trailing"`) and jump
   * between them with the exact multi-step posterior; absent, the reference's n − 1, …, 0.
   */
  timestepSpacing?: TimestepSpacing;
}

/** Options of {@link VQDiffusionScheduler.qPosterior}. */
export interface PosteriorOptions {
  /** s, the timestep of the posterior's x_s, in [−1, t − 1] (−1: the clean sample). Default t − 1. */
  prevTimestep?: number;
}

/** Arguments of {@link VQDiffusionScheduler.logQtTransitioningToKnownClass}. */
export interface TransitionArgs {
  /** The timestep, an integer in [0, T - 1]. */
  t: number;
  /** x_t, shape (B, N). */
  xT: Tensor<TokenArray>;
  /** log one-hot of x_t, shape (B, K, N) (see `indexToLogOnehot`). */
  logOnehotXT: Tensor<Float32Array>;
  /** Rows of the 0 → t matrix (true) or the t-1 → t matrix (false). */
  cumulative: boolean;
}

/**
 * @example
 * ```ts
 * const scheduler = new VQDiffusionScheduler({ numVecClasses: 4097 });
 * scheduler.setTimesteps(100);
 * const generator = new TorchGenerator().manualSeed(0);
 * let sample = { data: new Int32Array(1024).fill(scheduler.maskClass), dims: [1, 1024] };
 * for (const t of scheduler.timesteps) {
 *   const logPX0 = model(sample, t); // (1, 4096, 1024) log-probabilities of x_0
 *   sample = scheduler.step(logPX0, t, sample, { generator }).prevSample;
 * }
 * ```
 */
export class VQDiffusionScheduler {
  /** The resolved options (read-only). */
  readonly config: VQDiffusionSchedulerConfig;
  /** K, the number of classes, the mask class included. */
  readonly numEmbed: number;
  /** The mask class, K - 1. */
  readonly maskClass: number;
  private stepsValue: number;
  /** `_diffusers_version` of the config this scheduler was read from (fromConfig), written back by toJSON. */
  private diffusersVersion: string | undefined = undefined;
  private spacingValue: TimestepSpacing | undefined = undefined;
  private readonly schedule: LogSchedule;
  private timestepsValue: Int32Array;

  /** @throws on a bad option or a schedule whose α, β or γ leaves [0, 1] (see `resolveConfig`). */
  constructor(options: VQDiffusionSchedulerOptions) {
    this.config = resolveConfig(options);
    this.numEmbed = this.config.numVecClasses;
    this.maskClass = this.numEmbed - 1;
    this.schedule = computeLogSchedule(this.config);
    this.stepsValue = this.config.numTrainTimesteps;
    this.timestepsValue = descending(this.config.numTrainTimesteps);
  }

  /** The number of inference steps last given to {@link setTimesteps} (T until then). Read-only: set it with setTimesteps. */
  get numInferenceSteps(): number {
    return this.stepsValue;
  }

  /** The spacing last given to {@link setTimesteps} (undefined: the reference's). Read-only: set it with setTimesteps. */
  get timestepSpacing(): TimestepSpacing | undefined {
    return this.spacingValue;
  }

  /**
   * Builds a scheduler from a diffusers `scheduler_config.json` object (snake_case keys). Keys the
   * scheduler does not take are ignored, as diffusers ignores them, with a message to
   * `options.onWarning` (default: nothing is printed). With `options.file`, every error and warning
   * names that file.
   *
   * @example
   * ```ts
   * VQDiffusionScheduler.fromConfig({ _class_name: "VQDiffusionScheduler", num_vec_classes: 4097 });
   * VQDiffusionScheduler.fromConfig({ num_vec_classes: 17, beta_start: 0.1 }, { onWarning: (m) => console.warn(m) });
   * ```
   */
  static fromConfig<S extends VQDiffusionScheduler>(
    this: new (options: VQDiffusionSchedulerOptions) => S,
    json: SchedulerConfigJSON | Record<string, unknown>,
    options: FromConfigOptions = {},
  ): S {
    const parsed = optionsFromJSON(json, options);
    let scheduler: S;
    try {
      scheduler = new this(parsed);
    } catch (e) {
      if (options.file === undefined) throw e;
      throw new Error(`${options.file}: ${(e as Error)?.message ?? String(e)}`, { cause: e });
    }
    const version = (json as Record<string, unknown>)._diffusers_version;
    if (typeof version === "string") scheduler.diffusersVersion = version;
    return scheduler;
  }

  /**
   * The `scheduler_config.json` object of this scheduler, with `"_class_name": "VQDiffusionScheduler"`,
   * and the `_diffusers_version` of the config it was read from, if any (so a config read and written
   * back is unchanged).
   */
  toJSON(): SchedulerConfigJSON {
    const json = configToJSON(this.config);
    return this.diffusersVersion === undefined ? json : { _class_name: json._class_name, _diffusers_version: this.diffusersVersion, ...json };
  }

  /** log α_t, shape (T) (a copy). */
  get logAt(): Float32Array {
    return this.schedule.logAt.slice();
  }
  /** log β_t, shape (T) (a copy). */
  get logBt(): Float32Array {
    return this.schedule.logBt.slice();
  }
  /** log γ_t, shape (T) (a copy). */
  get logCt(): Float32Array {
    return this.schedule.logCt.slice();
  }
  /** log ᾱ_t, shape (T + 1), entry T = 0 (a copy). */
  get logCumprodAt(): Float32Array {
    return this.schedule.logCumprodAt.slice();
  }
  /** log β̄_t, shape (T + 1), entry T = -inf (a copy). */
  get logCumprodBt(): Float32Array {
    return this.schedule.logCumprodBt.slice();
  }
  /** log γ̄_t, shape (T + 1), entry T = -inf (a copy). */
  get logCumprodCt(): Float32Array {
    return this.schedule.logCumprodCt.slice();
  }

  /** The timesteps of the chain, in the order `step` is called: n-1, …, 0 (a copy). */
  get timesteps(): Int32Array {
    return this.timestepsValue.slice();
  }

  /**
   * Sets the chain to `numInferenceSteps` steps. Without a spacing: timesteps n-1, …, 0, as the
   * reference (which does not respace: each step still moves one training step, so a short chain
   * only runs the schedule's end). With `timestepSpacing`, the steps spread over the whole schedule
   * and `step` jumps exactly from each timestep to the next (see `schedule/timestepSpacing.ts`).
   *
   * @param numInferenceSteps - an integer in [1, T].
   *
   * @example
   * ```ts
   * scheduler.setTimesteps(10, { timestepSpacing: "linspace" }); // 99, 88, …, 11, 0
   * ```
   */
  setTimesteps(numInferenceSteps: number, options: SetTimestepsOptions = {}): void {
    const T = this.config.numTrainTimesteps;
    if (!Number.isInteger(numInferenceSteps) || numInferenceSteps < 1 || numInferenceSteps > T) {
      throw argumentError("numInferenceSteps", `an integer in [1, ${T}] (numTrainTimesteps = ${T})`, numInferenceSteps);
    }
    checkOptions(options, "{ timestepSpacing? }", { timestepSpacing: true });
    this.timestepsValue = spacedTimesteps(numInferenceSteps, T, options.timestepSpacing);
    this.stepsValue = numInferenceSteps;
    this.spacingValue = options.timestepSpacing;
  }

  /**
   * γ̄_t, the probability that a token is masked at timestep t under the forward process (0 for
   * t = −1, the clean sample). Purity sampling reveals tokens to follow it.
   */
  maskProbability(t: number): number {
    if (t === -1) return 0;
    return this.schedule.cumulativeGamma[this.checkTimestep("t", t)];
  }

  /**
   * The timestep `step(…, t, …)` moves to: the one after t in {@link timesteps}, −1 (the clean
   * sample) after the last, and t − 1 for a t not in the chain (the reference's step).
   *
   * @param t - an integer timestep in [0, T − 1].
   */
  prevTimestep(t: number): number {
    this.checkTimestep("t", t);
    const i = this.timestepsValue.indexOf(t);
    if (i < 0) return t - 1;
    return i + 1 < this.timestepsValue.length ? this.timestepsValue[i + 1] : -1;
  }

  /**
   * One reverse step: samples x_s ~ p(x_s | x_t), s = {@link prevTimestep}(t) (t − 1 in the
   * reference's chain), by the Gumbel-max trick, drawing one uniform per logit from `generator` in the
   * reference's order, so that a seed gives Python's tokens.
   *
   * @param modelOutput - log p(x_0 | x_t), shape (B, K - 1, N), `Float32Array`: finite or −inf, each
   *   pixel with a finite value, its largest within ±2^24 (`LIMITS.maxLogProbabilityMagnitude`).
   * @param timestep - t, an integer in [0, T - 1]. At t = 0 `modelOutput` itself is sampled.
   * @param sample - x_t, shape (B, N), tokens in [0, K - 1].
   * @param options - `generator` (the random stream), `mode` (`"reference"` or `"fast"`) and
   *   `prevTimestep` (s; default {@link prevTimestep}(t)).
   * @returns `{ prevSample }`: x_{t-1}, shape (B, N), the same token type as `sample`.
   */
  step<T extends TokenArray>(
    modelOutput: Tensor<Float32Array>,
    timestep: number,
    sample: Tensor<T>,
    options: StepOptions = {},
  ): StepOutput<T> {
    const { problem, mode, source } = this.prepareStep(modelOutput, timestep, sample, options, "{ generator?, mode?, prevTimestep? }", STEP_OPTION_KEYS);
    return this.stepOnThisThread(problem, mode, source);
  }

  /** The one-thread step of a checked problem. */
  private stepOnThisThread<T extends TokenArray>(problem: StepProblem, mode: StepMode, source: TokenArray): StepOutput<T> {
    const draw = mode === "fast" ? fastCategoricalStep : fusedGumbelStep;
    // A step that fails draws nothing: the stream is put back where it was (fast mode can find a bad
    // pixel after drawing for earlier ones).
    const saved = problem.generator.getState();
    let prev: Int32Array | null;
    try {
      prev = draw(problem);
    } catch (e) {
      problem.generator.setState(saved);
      throw e;
    }
    return this.finishStep(problem, prev, saved, source);
  }

  /**
   * {@link step}, split over the helper threads of `options.threads`: the same tokens, and the
   * generator left at the same draw, for every thread count (see `kernels/threads/threadedStep.ts`
   * for how the random stream is partitioned). Without a pool, with one thread, or where the
   * platform shares no memory (a browser page that is not cross-origin isolated) it runs `step`.
   * The model output is copied once into shared memory (B·(K − 1)·N float32 values, reused by later
   * steps). Checks and errors are `step`'s, and a step that fails draws nothing. While it waits for
   * the helpers other code may run, but not with the same generator.
   *
   * @example
   * ```ts
   * declare const scheduler: VQDiffusionScheduler;
   * declare const logPX0: Tensor<Float32Array>; // (1, K - 1, N)
   * declare const sample: Tensor<Int32Array>;  // (1, N)
   * declare const threads: StepThreadPool;      // createNodeStepThreadPool({ threads: 2 }) in Node.js
   * const { prevSample } = await scheduler.stepAsync(logPX0, 50, sample, { generator: new TorchGenerator().manualSeed(0), threads });
   * ```
   */
  async stepAsync<T extends TokenArray>(
    modelOutput: Tensor<Float32Array>,
    timestep: number,
    sample: Tensor<T>,
    options: StepAsyncOptions = {},
  ): Promise<StepOutput<T>> {
    const { problem, mode, source } = this.prepareStep(modelOutput, timestep, sample, options, "{ generator?, mode?, prevTimestep?, threads? }", STEP_ASYNC_OPTION_KEYS);
    const pool = options.threads === undefined ? undefined : checkStepThreadPool("options.threads", options.threads);
    if (pool?.isClosed) throw new Error("options.threads: expected an open StepThreadPool, got a closed one");
    if (pool === undefined || pool.helperCount === 0) return this.stepOnThisThread(problem, mode, source);
    const saved = problem.generator.getState();
    let prev: Int32Array | null;
    try {
      prev = await threadedStep(problem, mode, pool, kernelBackend() === "js" ? "js" : "wasm");
    } catch (e) {
      problem.generator.setState(saved);
      throw e;
    }
    return this.finishStep(problem, prev, saved, source);
  }

  /** The checks every step makes, in `step`'s order, and the problem they leave. */
  private prepareStep(
    modelOutput: Tensor<Float32Array>,
    timestep: number,
    sample: Tensor<TokenArray>,
    options: StepOptions,
    optionsShape: string,
    optionKeys: Readonly<Record<string, true>>,
  ): { problem: StepProblem; mode: StepMode; source: TokenArray } {
    const { B, N, logPX0, tokens, source } = this.checkModelInputs("modelOutput", modelOutput, "sample", sample);
    const t = this.checkTimestep("timestep", timestep);
    checkOptions(options, optionsShape, optionKeys);
    const generator = options.generator ?? randomlySeededGenerator();
    checkGenerator("options.generator", generator);
    const mode = options.mode ?? "reference";
    if (mode !== "reference" && mode !== "fast") throw argumentError("options.mode", '"reference" or "fast"', mode);
    const s = options.prevTimestep ?? this.prevTimestep(t);
    if (!Number.isInteger(s) || s < -1 || s > t - 1) throw argumentError("options.prevTimestep", `an integer in [-1, ${t - 1}] (t - 1 at most)`, s);
    const K = this.numEmbed;
    const problem: StepProblem = {
      prims: stepPrimitives(), logp: logPX0, tokens, B, K, N, generator,
      posterior: t === 0 ? null : posteriorRows(posteriorTransitions(this.schedule, t, s, K)),
    };
    return { problem, mode, source };
  }

  /** The step's result, or its error for a model output the kernel rejected (the generator restored to `saved`). */
  private finishStep<T extends TokenArray>(problem: StepProblem, prev: Int32Array | null, saved: Int32Array, source: TokenArray): StepOutput<T> {
    const { B, K, N, logp, generator } = problem;
    if (prev === null) {
      generator.setState(saved);
      checkLogProbabilities("modelOutput", logp, B, K - 1, N);
      throw new Error("modelOutput.data: expected finite log-probabilities, got a value the kernel rejected");
    }
    return { prevSample: { data: tokensLike(source as T, prev), dims: [B, N] } };
  }

  /**
   * The posterior log p(x_{t-1} | x_t) (eq. 11 via eq. 5) for every class of x_{t-1}, computed in
   * float64 and rounded once to float32. Unnormalised exactly as the reference's `q_posterior`.
   *
   * @param logPX0 - log p(x_0 | x_t), shape (B, K - 1, N).
   * @param xT - x_t, shape (B, N).
   * @param t - an integer in [0, T - 1]; at t = 0, "t - 1" is the clean sample (identity transition).
   * @param options - `prevTimestep` s in [−1, t − 1] for the exact multi-step posterior p(x_s | x_t)
   *   (default t − 1: the reference's).
   * @returns shape (B, K, N).
   */
  qPosterior(logPX0: Tensor<Float32Array>, xT: Tensor<TokenArray>, t: number, options: PosteriorOptions = {}): Tensor<Float32Array> {
    const { B, N, logPX0: data, tokens } = this.checkModelInputs("logPX0", logPX0, "xT", xT);
    const step = this.checkTimestep("t", t);
    checkOptions(options, "{ prevTimestep? }", { prevTimestep: true });
    const s = options.prevTimestep ?? step - 1;
    if (!Number.isInteger(s) || s < -1 || s > step - 1) throw argumentError("prevTimestep", `an integer in [-1, ${step - 1}] (t - 1 at most)`, s);
    checkLogProbabilities("logPX0", data, B, this.numEmbed - 1, N);
    const out = posteriorStructured(data, tokens, B, this.numEmbed, N, posteriorTransitions(this.schedule, step, s, this.numEmbed));
    return { data: out, dims: [B, this.numEmbed, N] };
  }

  /**
   * Rows of the transition matrix for each pixel's observed token (the reference's
   * `log_Q_t_transitioning_to_known_class`): entry (b, c, n) = log q(x_t = xT[b, n] | source class c).
   *
   * @returns shape (B, K - 1, N) when cumulative (0 → t), else (B, K, N) (t-1 → t, the last row
   *   being the masked source).
   */
  logQtTransitioningToKnownClass(args: TransitionArgs): Tensor<Float32Array> {
    if (typeof args !== "object" || args === null) throw argumentError("args", "{ t, xT, logOnehotXT, cumulative }", args);
    const K = this.numEmbed;
    const { tokens, dims } = checkTokens("xT", args.xT, [null, null], "[B, N]", K);
    const [B, N] = dims;
    const onehot = checkFloatTensor("logOnehotXT", args.logOnehotXT, [B, K, N], "[B, K, N]");
    // Log-probabilities: NaN and +inf refused (−inf, log 0, is what a one-hot holds off its class).
    for (let i = 0; i < onehot.data.length; i++) if (!(onehot.data[i] < Infinity)) throw badValue("logOnehotXT", onehot.data[i], i, [B, K, N]);
    const t = this.checkTimestep("t", args.t);
    if (typeof args.cumulative !== "boolean") throw argumentError("cumulative", "a boolean", args.cumulative);
    const logs = args.cumulative ? cumulativeLogs(this.schedule, t) : oneStepLogs(this.schedule, t);
    const rows = transitionRowsFromOnehot(onehot.data, tokens, B, K, N, logs, args.cumulative);
    return { data: Float32Array.from(rows), dims: [B, args.cumulative ? K - 1 : K, N] };
  }

  /**
   * Samples x_t ~ q(x_t | x_0) for every pixel (the forward process, paper eq. 8): masked with
   * probability γ̄_t, kept with ᾱ_t + β̄_t, moved to each other class with β̄_t. One 53-bit uniform
   * (two draws) per pixel from `generator`.
   *
   * @param tokens - x_0, shape (B, N), tokens in [0, K − 1] (the mask stays the mask).
   * @param timestep - t in [0, T − 1].
   * @returns x_t, shape (B, N), the caller's token type.
   */
  addNoise<T extends TokenArray>(tokens: Tensor<T>, timestep: number, options: Pick<StepOptions, "generator"> = {}): Tensor<T> {
    const { tokens: x, dims, source } = checkTokens("tokens", tokens, [null, null], "[B, N]", this.numEmbed);
    const t = this.checkTimestep("timestep", timestep);
    checkOptions(options, "{ generator? }", { generator: true });
    const generator = options.generator ?? randomlySeededGenerator();
    checkGenerator("options.generator", generator);
    const noised = addNoiseTokens(x, this.numEmbed, this.schedule.cumulativeAlpha[t], this.schedule.cumulativeGamma[t], generator);
    return { data: tokensLike(source as T, noised), dims: [...dims] };
  }


  private checkTimestep(name: string, t: unknown): number {
    const T = this.config.numTrainTimesteps;
    if (typeof t !== "number" || !Number.isInteger(t) || t < 0 || t > T - 1) {
      throw argumentError(name, `an integer timestep in [0, ${T - 1}]`, t);
    }
    return t;
  }

  private checkModelInputs(
    floatName: string,
    floats: unknown,
    tokenName: string,
    tokenTensor: unknown,
  ): { B: number; N: number; logPX0: Float32Array; tokens: Int32Array; source: TokenArray } {
    const K = this.numEmbed;
    const f = checkFloatTensor(floatName, floats, [null, K - 1, null], `[B, K-1, N] with K-1 = ${K - 1}`);
    const [B, , N] = f.dims;
    const { tokens, source } = checkTokens(tokenName, tokenTensor, [B, N], `[B, N] matching ${floatName}`, K);
    return { B, N, logPX0: f.data, tokens, source };
  }
}

/**
 * Options are an object (or left out) of the documented keys: `null`, a number or a string is an
 * error, not a TypeError, and so is a key the method does not take (see `checkOptionKeys`).
 */
function checkOptions(options: unknown, what: string, keys: Readonly<Record<string, true>>): void {
  if (typeof options !== "object" || options === null || Array.isArray(options)) throw argumentError("options", what, options);
  checkOptionKeys(options, "options", keys);
}

function descending(n: number): Int32Array {
  return spacedTimesteps(n, n, undefined);
}
