/**
 * Sweep A, which both step modes start with, one batch item at a time: the per-pixel maximum m of
 * y = log p(x_0) and Σ exp(y − m) over the bulk classes (every class but x_t's own; see
 * `pixelPosterior.ts`), from which the posterior's normaliser S follows, within S_ERROR. It is also
 * the value check: a pixel whose maximum is NaN, ±inf or beyond ±LIMITS.maxLogProbabilityMagnitude
 * stops the step before that item draws (the scheduler then restores the generator: a rejected step
 * draws nothing).
 *
 * Memory. The workspace holds one batch item's sums (N entries each; fast mode also one block of
 * sums per chunk of rows, chunks·N) and one chunk of rows, never anything of size B: a step's
 * WebAssembly memory (which cannot shrink) is sized by K and N alone: 12·chunks·N (fast mode) +
 * 36·N + 12·max(32768, N) bytes (ITHQ: 1.9 MB in fast mode, 0.4 MB in reference mode).
 *
 * Pixel ranges. Every pixel's sums depend on its own column alone, so a step split over threads
 * (`threads/threadedStep.ts`) runs the same sweep on a range of pixels (N above becomes the range's
 * width W); the chunks of rows stay those of the whole image, so each pixel's arithmetic is unchanged.
 */
import { LIMITS } from "../limits.js";
import { normaliserFromBulk } from "../posterior/pixelPosterior.js";
import { EXP_SUM_RELATIVE_ERROR, MAX_CHUNK_ROWS, type Workspace } from "./primitives.js";
import type { PixelRange, StepProblem } from "./stepProblem.js";

/** Elements per chunk: a chunk of y and one of draws stay in the L2 cache. */
const CHUNK_ELEMENTS = 32768;
const MAX_PEAK = LIMITS.maxLogProbabilityMagnitude;
/** Bound on |S − S'|: log of a sum of terms each within EXP_SUM_RELATIVE_ERROR, with room for rounding. */
export const S_ERROR = 2 * EXP_SUM_RELATIVE_ERROR;

/** Rows of a chunk for N pixels. */
export function rowsPerChunk(totalRows: number, N: number): number {
  return Math.max(1, Math.min(totalRows, MAX_CHUNK_ROWS, Math.floor(CHUNK_ELEMENTS / N)));
}

/** A step's workspace for a range of pixels, and how y's K − 1 rows are cut into chunks. */
export interface SweepLayout {
  readonly ws: Workspace;
  /** Rows per chunk: set by K and the whole image's N, never by the range (fast mode's blocks are chunks). */
  readonly chunkRows: number;
  readonly chunks: number;
  /** The range's first pixel and its width: the workspace's per-pixel arrays hold pixels n0 … n0 + W − 1. */
  readonly n0: number;
  readonly W: number;
}

/**
 * The workspace of one batch item's pixels `range` (default all N), with room for each chunk's sums
 * when `blocks` (fast mode).
 */
export function stepWorkspace(p: StepProblem, blocks: boolean, range: PixelRange = { n0: 0, n1: p.N }): SweepLayout {
  const chunkRows = rowsPerChunk(p.K - 1, p.N);
  const chunks = Math.ceil((p.K - 1) / chunkRows);
  const W = range.n1 - range.n0;
  const ws = p.prims.workspace({ N: W, rows: chunkRows, blocks: blocks ? chunks : 0 });
  return { ws, chunkRows, chunks, n0: range.n0, W };
}

/** Copies rows [r0, r0 + rows) of batch item b, the layout's pixels, into ws.y (rows·W, row-major). */
export function loadChunk(p: StepProblem, layout: SweepLayout, b: number, r0: number, rows: number): void {
  const { logp, K, N } = p;
  const { ws, n0, W } = layout;
  p.awaitRows?.(b, r0 + rows);
  const start = (b * (K - 1) + r0) * N;
  if (W === N) {
    ws.y.set(logp.subarray(start, start + rows * N));
    return;
  }
  for (let r = 0, at = start + n0; r < rows; r++, at += N) ws.y.set(logp.subarray(at, at + W), r * W);
}

/**
 * Sweep A for batch item b over the layout's pixels (local index j = n − n0): ws.skip[j] = x_t's
 * class when there is a posterior and x_t is not the mask (else −1); ws.ref[j] = max_c y;
 * ws.acc[j] = Σ_{c ≠ skip} exp(y − ref). When `blocks`, chunk i's sum and the maximum it is relative
 * to go to ws.blockSum / ws.blockRef at i·W.
 * Returns false when some pixel's maximum fails the value check (the caller reports which).
 */
export function sweepItem(p: StepProblem, layout: SweepLayout, b: number, blocks: boolean): boolean {
  const { prims, tokens, K, N } = p;
  const { ws, chunkRows, n0, W } = layout;
  const rowsY = K - 1;
  let skips = false;
  for (let j = 0; j < W; j++) {
    const x = tokens[b * N + n0 + j];
    ws.skip[j] = p.posterior !== null && x !== K - 1 ? x : -1;
    skips ||= ws.skip[j] >= 0;
  }
  ws.ref.fill(-Infinity, 0, W);
  ws.acc.fill(0, 0, W);
  for (let r0 = 0, i = 0; r0 < rowsY; r0 += chunkRows, i++) {
    const rows = Math.min(chunkRows, rowsY - r0);
    loadChunk(p, layout, b, r0, rows);
    prims.chunkMax(ws.y, rows, W, ws.cmax);
    prims.raiseRef(ws.cmax, ws.ref, ws.acc, W);
    // Leave each pixel's skipped row (x_t's class) out of the sum: our copy, set to −inf.
    for (let j = 0; skips && j < W; j++) {
      const r = ws.skip[j] - r0;
      if (r >= 0 && r < rows) ws.y[r * W + j] = -Infinity;
    }
    const block = blocks ? ws.blockSum.subarray(i * W, (i + 1) * W) : null;
    prims.expSum(ws.y, rows, W, ws.ref, ws.acc, block);
    if (blocks) ws.blockRef.set(ws.ref.subarray(0, W), i * W);
  }
  for (let j = 0; j < W; j++) {
    const m = ws.ref[j];
    if (!(m >= -MAX_PEAK && m <= MAX_PEAK)) return false;
  }
  return true;
}

/** S' for the layout's pixels of batch item b (within S_ERROR of S), from sweep A's ws.ref and ws.acc; out[j] for pixel n0 + j. */
export function normalisers(p: StepProblem, layout: SweepLayout, b: number, out: Float64Array): void {
  const { logp, tokens, K, N, posterior } = p;
  const { ws, n0, W } = layout;
  if (posterior === null) return;
  for (let j = 0; j < W; j++) {
    const n = n0 + j;
    const x = tokens[b * N + n];
    const masked = x === K - 1;
    const yx = masked ? 0 : logp[(b * (K - 1) + x) * N + n];
    out[j] = normaliserFromBulk(masked, ws.ref[j], Math.log(ws.acc[j]), yx, posterior);
  }
}
