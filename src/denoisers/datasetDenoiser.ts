/**
 * The Bayes-optimal denoiser for data drawn from a finite set of token images: an exact
 * p(x_0 | x_t), no network. It is the demo's model and a test instrument (a sampler fed with it must
 * reproduce the data distribution where the per-pixel factorisation is exact).
 *
 * Derivation. Images m = 1…M, prior weights w_m, each N tokens in [0, K − 2]. Under the forward
 * process pixels are noised independently, so
 *   p(image m | x_t) ∝ w_m · Π_n q(x_t[n] | x_0[n] = image_m[n]),
 * with q the cumulative (0 → t) transition: ᾱ_t + β̄_t to stay, β̄_t to move to another class,
 * γ̄_t to be masked (the scheduler's log tables, so both sides use the same numbers). Then
 *   p(x_0[n] = c | x_t) = Σ_{m : image_m[n] = c} p(image m | x_t).
 * Computed in log space (float64) per batch item: O(M·N) for the image weights, then O(M·N) sums.
 */
import { argumentError, argumentErrorText } from "../errors.js";
import { logSumExpParts } from "../math/logSpace.js";
import { computeLogSchedule } from "../schedule/logSchedule.js";
import type { Denoiser } from "../sampling/sampler.js";
import type { VQDiffusionScheduler } from "../scheduler/vqDiffusionScheduler.js";
import type { Tensor, TokenArray } from "../tensor/types.js";
import { checkTokens } from "../tensor/validate.js";
import { cumulativeLogs, rowValues } from "../transitions/transitionRows.js";

/** Options of {@link createDatasetDenoiser}. */
export interface DatasetDenoiserOptions {
  /** The scheduler whose forward process noised the data (K and the schedule). */
  scheduler: VQDiffusionScheduler;
  /** M images of N tokens each, in [0, K − 2]: an array of M arrays, or one (M, N) tensor. */
  images: readonly ArrayLike<number>[] | Tensor<TokenArray>;
  /** Prior weights of the images (positive; normalised here). Default: uniform. */
  weights?: readonly number[];
}

/**
 * @returns a denoiser: tokens x_t (B, N) and t ↦ log p(x_0 | x_t), shape (B, K − 1, N); classes no
 *   image has at a pixel get −inf.
 *
 * @example
 * ```ts
 * const denoiser = createDatasetDenoiser({ scheduler, images: [[0, 1, 2, 3], [3, 2, 1, 0]], weights: [1, 3] });
 * const { tokens } = await new VQDiffusionSampler({ scheduler, denoiser }).sample({ numLatentPixels: 4 });
 * ```
 */
export function createDatasetDenoiser(options: DatasetDenoiserOptions): Denoiser {
  if (typeof options !== "object" || options === null) throw argumentError("options", "{ scheduler, images, weights? }", options);
  const { scheduler } = options;
  if (typeof scheduler !== "object" || scheduler === null || !Number.isInteger(scheduler.numEmbed) || typeof scheduler.config !== "object") {
    throw argumentError("scheduler", "a VQDiffusionScheduler", scheduler);
  }
  const K = scheduler.numEmbed;
  const { flat, M, N } = readImages(options.images, K);
  const logPrior = readWeights(options.weights, M);
  const schedule = computeLogSchedule(scheduler.config);
  const T = scheduler.config.numTrainTimesteps;
  const logWeights = new Float64Array(M);
  const parts = { max: 0, sum: 0 };
  const mass = new Float64Array((K - 1) * N);

  return (sample, timestep) => {
    if (!Number.isInteger(timestep) || timestep < 0 || timestep > T - 1) {
      throw argumentError("timestep", `an integer timestep in [0, ${T - 1}]`, timestep);
    }
    const { tokens, dims } = checkTokens("sample", sample, [null, N], `[B, N] with N = ${N} (the images' size)`, K);
    const B = dims[0];
    const row = rowValues(cumulativeLogs(schedule, timestep));
    const out = new Float32Array(B * (K - 1) * N);
    for (let b = 0; b < B; b++) {
      // log p(image m | x_t) up to a constant.
      for (let m = 0; m < M; m++) {
        let lw = logPrior[m];
        for (let n = 0; n < N; n++) {
          const x = tokens[b * N + n];
          lw += x === K - 1 ? row.masked : x === flat[m * N + n] ? row.same : row.other;
        }
        logWeights[m] = lw;
      }
      logSumExpParts(logWeights, 0, 1, M, parts);
      // p(x_0[n] = c | x_t) = Σ over images with class c at n.
      mass.fill(0);
      for (let m = 0; m < M; m++) {
        const p = Math.exp(logWeights[m] - parts.max) / parts.sum;
        for (let n = 0; n < N; n++) mass[flat[m * N + n] * N + n] += p;
      }
      const base = b * (K - 1) * N;
      for (let i = 0; i < (K - 1) * N; i++) out[base + i] = Math.log(mass[i]);
    }
    return { data: out, dims: [B, K - 1, N] };
  };
}

/**
 * A denoiser for classifier-free guidance from two: for the doubled batch [x; x] it returns
 * [unconditional(x); conditional(x)], what a guided transformer returns.
 *
 * @example
 * ```ts
 * const guided = guidedDenoiser(createDatasetDenoiser({ scheduler, images: all }),
 *                               createDatasetDenoiser({ scheduler, images: hearts }));
 * ```
 */
export function guidedDenoiser(unconditional: Denoiser, conditional: Denoiser): Denoiser {
  return async (sample, timestep) => {
    const [B2, N] = sample.dims;
    if (B2 % 2 !== 0) throw argumentErrorText("sample.dims", "[2B, N] (the batch twice)", `[${sample.dims.join(", ")}]`);
    const half = (B2 / 2) * N;
    const first = { data: sample.data.slice(0, half), dims: [B2 / 2, N] } as Tensor<Int32Array>;
    const second = { data: sample.data.slice(half), dims: [B2 / 2, N] } as Tensor<Int32Array>;
    const [u, c] = await Promise.all([unconditional(first, timestep), conditional(second, timestep)]);
    const data = new Float32Array(u.data.length + c.data.length);
    data.set(u.data);
    data.set(c.data, u.data.length);
    return { data, dims: [B2, u.dims[1], u.dims[2]] };
  };
}

function readImages(images: DatasetDenoiserOptions["images"], K: number): { flat: Int32Array; M: number; N: number } {
  if (Array.isArray(images)) {
    const list = images as readonly ArrayLike<number>[];
    if (list.length === 0) throw argumentError("images", "at least one image", images);
    const N = list[0]?.length;
    if (!Number.isInteger(N) || N < 1) throw argumentError("images[0]", "an array of tokens", list[0]);
    const flat = new Int32Array(list.length * N);
    list.forEach((img, m) => {
      if (img?.length !== N) throw argumentErrorText(`images[${m}]`, `${N} tokens like images[0]`, `${img?.length} tokens`);
      for (let n = 0; n < N; n++) flat[m * N + n] = checkRealClass(`images[${m}][${n}]`, img[n], K);
    });
    return { flat, M: list.length, N };
  }
  const { tokens, dims } = checkTokens("images", images, [null, null], "[M, N]", K);
  for (let i = 0; i < tokens.length; i++) checkRealClass(`images.data[${i}]`, tokens[i], K);
  if (dims[0] < 1 || dims[1] < 1) throw argumentErrorText("images.dims", "[M, N] with M, N >= 1", `[${dims.join(", ")}]`);
  return { flat: tokens.slice(), M: dims[0], N: dims[1] };
}

function checkRealClass(name: string, v: number, K: number): number {
  if (!Number.isInteger(v) || v < 0 || v > K - 2) throw argumentError(name, `a class in [0, ${K - 2}] (not the mask, ${K - 1})`, v);
  return v;
}

function readWeights(weights: readonly number[] | undefined, M: number): Float64Array {
  const out = new Float64Array(M);
  if (weights === undefined) return out.fill(-Math.log(M));
  if (!Array.isArray(weights) || weights.length !== M) throw argumentError("weights", `${M} weights, one per image`, weights);
  let total = 0;
  weights.forEach((w, m) => {
    if (typeof w !== "number" || !(w > 0 && w < Infinity)) throw argumentError(`weights[${m}]`, "a positive finite number", w);
    total += w;
  });
  weights.forEach((w, m) => (out[m] = Math.log(w / total)));
  return out;
}
