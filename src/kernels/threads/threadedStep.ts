/**
 * A step split over threads: the same tokens, and the generator left at the same draw, as the step
 * on one thread, for every thread count (the split changes where each number is computed, never
 * the number).
 *
 * The split. The image's pixels are cut into ranges (`pixelRanges.ts`); the calling thread takes the
 * first, each helper of the pool one of the others, for every batch item. A pixel's work in both
 * modes reads its own column of the model output and its own draws only, and the per-pixel kernels
 * are run on ranges whose starts fall on the SIMD lanes' boundaries, so each pixel is computed with
 * exactly the operations of the one-thread step. The model output is the caller's array, which a
 * helper cannot read: the calling thread copies the helpers' columns into a SharedArrayBuffer chunk
 * of rows by chunk of rows, raising a shared counter (Atomics.store + notify) that the helpers wait
 * on (Atomics.wait), so they start on the first rows while the rest is copied; then it runs its own
 * range (a little narrower than theirs, for the copy) on the caller's array. A model output that
 * already lies in a SharedArrayBuffer is read in place. Helpers write their pixels' tokens into a
 * shared (B, N) array.
 *
 * The random stream, partitioned exactly:
 * - Reference mode draws one float32 uniform per (item, class, pixel), in that order: item b's class
 *   c for pixel n is draw (b·K + c)·N + n of the step (K − 1 rows at t = 0). Every thread starts from
 *   the step's generator state and walks the whole stream (MT19937's twist is sequential: each block
 *   of 624 words comes from the previous one), but tempers and uses only its own columns of each row
 *   (`mtFillColumns`). Each pixel thus sees the very uniforms it sees on one thread, and every
 *   thread ends at the step's end state, which the calling thread gives the generator. Near ties
 *   are replayed per range from the start state, as on one thread.
 * - Fast mode draws one 53-bit uniform (2 draws) per pixel in pixel order, plus 2 draws per rare
 *   rejection (~2e-5 per pixel), so where a pixel's draws begin depends on the rejections before
 *   it. Each thread places the generator of its unit (item b, its range) at 2·(b·N + n0) draws after
 *   the start, which is exact when no earlier pixel was rejected, and reports the draws each unit
 *   took. The calling thread then walks the units in stream order, adding up the extra draws of
 *   rejections; every unit that comes after an extra draw is drawn again, on the calling thread, from
 *   its true position (its sums are recomputed; at ITHQ's size on two threads about one step in a
 *   hundred has a rejection in the first range). The generator ends 2·B·N draws plus
 *   the extra draws after the start: exactly where one thread leaves it.
 */
import { TorchGenerator } from "../../random/torchGenerator.js";
import { fastCategoricalUnit } from "../fastStep.js";
import type { FusedStepStats } from "../fusedStep.js";
import type { PixelRange, StepProblem } from "../stepProblem.js";
import { stepWorkspace } from "../sweep.js";
import { splitPixels } from "./pixelRanges.js";
import { runStepTask, stateAfter, type StepReply } from "./stepTask.js";
import type { StepThreadPool } from "./stepThreadPool.js";

/** Counters of split steps, for tests and benchmarks. */
export interface ThreadedStepStats extends FusedStepStats {
  /** Fast mode: units drawn again because an earlier pixel was rejected (see the file comment). */
  redrawnUnits: number;
}

/** Rows of the model output copied between two raises of the shared counter. */
const COPY_ROWS = 64;

/**
 * The calling thread's share of the pixels relative to a helper's, when it copies the model output
 * for them: copying a value costs about a seventh of processing it (the step bench's profile), so
 * the calling thread takes a little less than the others for the threads to finish together.
 */
const COPYING_SHARE = 0.85;

/**
 * @param backend - the calling thread's kernels (`kernelBackend()`), which the helpers also use.
 * @param stats - when given, receives the reference kernel's counters summed over the threads, and
 *   fast mode's redrawn units.
 * @returns x_{t−1}, shape (B, N), with `p.generator` advanced as on one thread; or null when the
 *   model output fails the value check (the generator then untouched).
 */
export async function threadedStep(
  p: StepProblem,
  mode: "reference" | "fast",
  pool: StepThreadPool,
  backend: "wasm" | "js",
  stats?: ThreadedStepStats,
): Promise<Int32Array | null> {
  const { logp, tokens, B, K, N, posterior, generator } = p;
  // A model output already in shared memory is read where it is; any other is copied in.
  const inShared = typeof SharedArrayBuffer === "function" && logp.buffer instanceof SharedArrayBuffer;
  const ranges = splitPixels(N, 1 + pool.helperCount, inShared ? 1 : COPYING_SHARE);
  const start = generator.getState();
  const shared = pool.lease(inShared ? 0 : logp.length, tokens.length);
  let mine: ReturnType<typeof runStepTask>;
  let theirs: StepReply[];
  let out: Int32Array;
  try {
    shared.tokens.set(tokens);
    Atomics.store(shared.progress, 0, 0);
    const helperShare = {
      mode, B, K, N, posterior, start, logp: inShared ? logp : shared.logp, tokens: shared.tokens, out: shared.out, progress: inShared ? null : shared.progress,
    };
    const replies = ranges.slice(1).map((range, k) => pool.run(k, { ...helperShare, backend, range }));
    try {
      if (!inShared) copyHelperColumns(logp, shared.logp, shared.progress, B * (K - 1), N, ranges.length > 1 ? ranges[1].n0 : N);
      mine = runStepTask({ ...helperShare, logp, progress: null, range: ranges[0] }, p.prims);
    } finally {
      // Helpers read the shared arrays until they answer: every reply settles before they are reused.
      await Promise.allSettled(replies);
    }
    theirs = await Promise.all(replies);
    out = shared.out.slice();
  } finally {
    pool.release(shared);
  }
  const failed = theirs.find((r) => r.error !== undefined);
  if (failed) throw new Error(`step thread pool: a helper failed: ${failed.error}`);
  if (stats) {
    stats.survivors += mine.stats.survivors + theirs.reduce((s, r) => s + r.survivors, 0);
    stats.nearTies += mine.stats.nearTies + theirs.reduce((s, r) => s + r.nearTies, 0);
  }
  if (!mine.ok || theirs.some((r) => !r.ok)) return null;
  if (mode === "reference") {
    generator.setState(mine.end);
    return out;
  }
  const draws = [mine.draws, ...theirs.map((r) => r.draws)];
  const extra = redrawAfterRejections(p, ranges, draws, start, out, stats);
  if (extra < 0) return null;
  generator.setState(stateAfter(start, 2 * B * N + extra));
  return out;
}

/**
 * Copies the columns [from, N) of every row of the model output into the shared array, COPY_ROWS
 * rows at a time, raising `progress[0]` to the rows done and waking the helpers after each.
 */
function copyHelperColumns(src: Float32Array, dst: Float32Array, progress: Int32Array, rows: number, N: number, from: number): void {
  if (from >= N) return;
  const W = N - from;
  for (let r0 = 0; r0 < rows; r0 += COPY_ROWS) {
    const r1 = Math.min(rows, r0 + COPY_ROWS);
    if (W === N) dst.set(src.subarray(r0 * N, r1 * N), r0 * N);
    else for (let r = r0, at = r0 * N + from; r < r1; r++, at += N) dst.set(src.subarray(at, at + W), at);
    Atomics.store(progress, 0, r1);
    Atomics.notify(progress, 0);
  }
}

/**
 * Fast mode's check of the placed generators (see the file comment): walks the units (item, range)
 * in stream order and draws again every unit that follows a rejection, on this thread, from its true
 * position. `draws[k][b]` are the draws unit (b, range k) took.
 *
 * @returns the extra draws of all rejections, or −1 when a redrawn unit fails the value check.
 */
function redrawAfterRejections(p: StepProblem, ranges: PixelRange[], draws: number[][], start: Int32Array, out: Int32Array, stats?: ThreadedStepStats): number {
  const { B, N } = p;
  let extra = 0;
  const generator = new TorchGenerator();
  for (let b = 0; b < B; b++) {
    for (let k = 0; k < ranges.length; k++) {
      const { n0, n1 } = ranges[k];
      let taken = draws[k][b];
      if (extra > 0) {
        generator.setState(stateAfter(start, 2 * (b * N + n0) + extra));
        taken = fastCategoricalUnit(p, stepWorkspace(p, true, ranges[k]), b, generator, out);
        if (taken < 0) return -1;
        if (stats) stats.redrawnUnits++;
      }
      extra += taken - 2 * (n1 - n0);
    }
  }
  return extra;
}
