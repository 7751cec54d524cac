/**
 * The guidance pass (`guideTruncateClamp`: guidance, renormalisation, truncation, the clamp) split
 * over a `StepThreadPool`'s threads by ranges of pixels: the same float32 bits as on one thread, for
 * every thread count.
 *
 * How. The calling thread first runs the part that reads the denoiser's (2B, C, N) output, which no
 * helper can read (it is not shared memory): `prepareGuidance` writes the guided combination
 * u + s·(c − u) (or, unguided, a copy) into a (B, C, N) array in a SharedArrayBuffer, and throws
 * every error of the pass, so nothing is posted for a bad input. The rest (renormalisation,
 * truncation, clamp) reads and writes each pixel's own column only (`truncateClampPixels`), so the
 * pixels are cut into ranges (`splitPixels`) and each thread, the calling one included, takes one
 * range of every image, in place. The result is that shared array, which `stepAsync` then reads in
 * place (no copy). Where guidance needs its special cases (−inf in the output, scale 0),
 * `prepareGuidance` returns `guide`'s own array and the pass stays on the calling thread.
 */
import { splitPixels } from "../kernels/threads/pixelRanges.js";
import type { StepThreadPool } from "../kernels/threads/stepThreadPool.js";
import { prepareGuidance, truncateClampPixels } from "./fusedGuidance.js";

/**
 * The fewest values of the pass's output (B·C·N) at which the sampler splits it: 4 images of the
 * Fashion-MNIST model (C = 256, N = 49). One image takes about 1 ms on one thread, and a message to
 * a helper and back 0.3–1.5 ms, so below this the split does not pay.
 */
export const SPLIT_GUIDANCE_MIN_VALUES = 4 * 256 * 49;

/**
 * Whether the sampler splits the pass of a (B, C, N) output over `pool`: the pool has helpers now
 * (open, on a platform that shares memory, threads > 1), there are at least two pixel ranges to
 * share, and B·C·N ≥ {@link SPLIT_GUIDANCE_MIN_VALUES}.
 *
 * @example
 * ```ts
 * declare const pool: StepThreadPool;
 * splitGuidancePays(pool, 16, 256, 49); // true with a helper: 200 704 values
 * ```
 */
export function splitGuidancePays(pool: StepThreadPool, B: number, C: number, N: number): boolean {
  return pool.helperCount > 0 && splitPixels(N, 2).length > 1 && B * C * N >= SPLIT_GUIDANCE_MIN_VALUES;
}

/**
 * `guideTruncateClamp` split over the threads of `pool` (see the file comment).
 *
 * @param src - the denoiser's output, already checked: (2B, C, N) [unconditional; conditional] when
 *   `guided`, else (B, C, N). Not modified.
 * @param into - (B, C, N) float32, a view of a SharedArrayBuffer, overwritten with the result
 *   (reused by the caller from step to step; no helper holds it once the promise settles).
 * @returns `into` (or, where guidance took its special cases, a new array from this thread alone):
 *   guided and renormalised, truncated, clamped at −70, the bits of `guideTruncateClamp`.
 * @throws (rejects) with `guideTruncateClamp`'s errors, before anything is posted; with
 *   "step thread pool: helper k failed: …" or "step thread pool: a helper failed: …" when a helper does.
 *
 * @example
 * ```ts
 * declare const pool: StepThreadPool;
 * declare const output: Float32Array; // (32, 256, 49) from the denoiser, guided
 * const into = new Float32Array(new SharedArrayBuffer(4 * 16 * 256 * 49));
 * const kept = await threadedGuideTruncateClamp(output, 16, 256, 49, true, 5, 1, undefined, "guidanceScale", pool, into);
 * ```
 */
export async function threadedGuideTruncateClamp(
  src: Float32Array,
  B: number,
  C: number,
  N: number,
  guided: boolean,
  scale: number,
  rate: number,
  topK: number | undefined,
  scaleName: string,
  pool: StepThreadPool,
  into: Float32Array,
): Promise<Float32Array> {
  const { out, renormalise } = prepareGuidance(src, B, C, N, guided, scale, scaleName, into);
  const ranges = out === into ? splitPixels(N, 1 + pool.helperCount) : [{ n0: 0, n1: N }];
  const replies = ranges.slice(1).map((range, k) => pool.run(k, { mode: "guidance", B, C, N, range, data: out, renormalise, rate, topK: topK ?? null }));
  try {
    truncateClampPixels(out, B, C, N, ranges[0].n0, ranges[0].n1, renormalise, rate, topK);
  } finally {
    // Helpers write `out` until they answer: every reply settles before it is returned or reused.
    await Promise.allSettled(replies);
  }
  const failed = (await Promise.all(replies)).find((r) => r.error !== undefined);
  if (failed) throw new Error(`step thread pool: a helper failed: ${failed.error}`);
  return out;
}
