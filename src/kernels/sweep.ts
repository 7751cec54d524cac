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
 */
import { LIMITS } from "../limits.js";
import { normaliserFromBulk } from "../posterior/pixelPosterior.js";
import { EXP_SUM_RELATIVE_ERROR, MAX_CHUNK_ROWS, type Workspace } from "./primitives.js";
import type { StepProblem } from "./stepProblem.js";

/** Elements per chunk: a chunk of y and one of draws stay in the L2 cache. */
const CHUNK_ELEMENTS = 32768;
const MAX_PEAK = LIMITS.maxLogProbabilityMagnitude;
/** Bound on |S − S'|: log of a sum of terms each within EXP_SUM_RELATIVE_ERROR, with room for rounding. */
export const S_ERROR = 2 * EXP_SUM_RELATIVE_ERROR;

/** Rows of a chunk for N pixels. */
export function rowsPerChunk(totalRows: number, N: number): number {
  return Math.max(1, Math.min(totalRows, MAX_CHUNK_ROWS, Math.floor(CHUNK_ELEMENTS / N)));
}

/** A step's workspace and how y's K − 1 rows are cut into chunks. */
export interface SweepLayout {
  readonly ws: Workspace;
  readonly chunkRows: number;
  readonly chunks: number;
}

/** The workspace of one batch item (with room for each chunk's sums when `blocks`, fast mode). */
export function stepWorkspace(p: StepProblem, blocks: boolean): SweepLayout {
  const chunkRows = rowsPerChunk(p.K - 1, p.N);
  const chunks = Math.ceil((p.K - 1) / chunkRows);
  const ws = p.prims.workspace({ N: p.N, rows: chunkRows, blocks: blocks ? chunks : 0 });
  return { ws, chunkRows, chunks };
}

/**
 * Sweep A for batch item b: ws.skip[n] = x_t's class when there is a posterior and x_t is not the
 * mask (else −1); ws.ref[n] = max_c y; ws.acc[n] = Σ_{c ≠ skip} exp(y − ref). When `blocks`, chunk
 * j's sum and the maximum it is relative to go to ws.blockSum / ws.blockRef at j·N.
 * Returns false when some pixel's maximum fails the value check (the caller reports which).
 */
export function sweepItem(p: StepProblem, layout: SweepLayout, b: number, blocks: boolean): boolean {
  const { prims, logp, tokens, K, N } = p;
  const { ws, chunkRows } = layout;
  const rowsY = K - 1;
  let skips = false;
  for (let n = 0; n < N; n++) {
    const x = tokens[b * N + n];
    ws.skip[n] = p.posterior !== null && x !== K - 1 ? x : -1;
    skips ||= ws.skip[n] >= 0;
  }
  ws.ref.fill(-Infinity, 0, N);
  ws.acc.fill(0, 0, N);
  for (let r0 = 0, j = 0; r0 < rowsY; r0 += chunkRows, j++) {
    const rows = Math.min(chunkRows, rowsY - r0);
    const start = (b * rowsY + r0) * N;
    ws.y.set(logp.subarray(start, start + rows * N));
    prims.chunkMax(ws.y, rows, N, ws.cmax);
    prims.raiseRef(ws.cmax, ws.ref, ws.acc, N);
    // Leave each pixel's skipped row (x_t's class) out of the sum: our copy, set to −inf.
    for (let n = 0; skips && n < N; n++) {
      const r = ws.skip[n] - r0;
      if (r >= 0 && r < rows) ws.y[r * N + n] = -Infinity;
    }
    const block = blocks ? ws.blockSum.subarray(j * N, (j + 1) * N) : null;
    prims.expSum(ws.y, rows, N, ws.ref, ws.acc, block);
    if (blocks) ws.blockRef.set(ws.ref.subarray(0, N), j * N);
  }
  for (let n = 0; n < N; n++) {
    const m = ws.ref[n];
    if (!(m >= -MAX_PEAK && m <= MAX_PEAK)) return false;
  }
  return true;
}

/** S' for every pixel of batch item b (within S_ERROR of S), from sweep A's ws.ref and ws.acc. */
export function normalisers(p: StepProblem, ws: Workspace, b: number, out: Float64Array): void {
  const { logp, tokens, K, N, posterior } = p;
  if (posterior === null) return;
  for (let n = 0; n < N; n++) {
    const x = tokens[b * N + n];
    const masked = x === K - 1;
    const yx = masked ? 0 : logp[(b * (K - 1) + x) * N + n];
    out[n] = normaliserFromBulk(masked, ws.ref[n], Math.log(ws.acc[n]), yx, posterior);
  }
}
