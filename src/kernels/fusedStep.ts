/**
 * The reference step, fused: the same tokens as `gumbelArgmaxPlain(posteriorPlain(...))`, every
 * uniform of the generator stream drawn in the reference's order, and no (B, K, N) array.
 *
 * Why it can skip work. Draw i is the Gumbel-max race "argmax_c logit_c + g(u_c)". For every class c
 * other than x_t's own class and the mask (the "bulk" of the K classes), the posterior logit is one
 * increasing function of y_c = log p(x_0 = c):
 *   logit_c = logaddexp(y_c + A', Bb') + const ≤ max(y_c + A, Bb) + ln 2,
 * with per-pixel constants (see `posteriorPlain.ts`, steps 3-4). And g(u) ≤ gumbelBound(u), which
 * needs no logarithm. So a candidate whose bound stays below the best noised logit found so far can
 * be skipped after reading its y and its draw; the rest ("survivors", a few per pixel) are evaluated
 * exactly, by the same formula as the plain path.
 *
 * Sweeps, per batch item, over chunks of class rows (the model output is read, never copied whole):
 *   A. the per-pixel maximum of y and Σ exp(y − max) over the bulk (float32 terms, float64 sums):
 *      S, the posterior's normaliser, to within S_ERROR. Also the input check (NaN, +inf, a pixel
 *      with no finite entry), before any draw is taken.
 *   B. draws for the chunk (MT19937, in stream order), the screen, exact evaluation of survivors.
 * S enters the survivors' values, so they may differ from the plain ones by S_ERROR: a pixel whose
 * best two candidates are closer than 2·S_ERROR is recomputed exactly from a replay of the stream
 * (rare: about 1e-4 of pixels), from ws.mtState rewound to the step's start. At t = 0 the logits are y itself and nothing is approximate.
 */
import { LIMITS } from "../limits.js";
import { logAddExp } from "../math/logSpace.js";
import {
  posteriorColumn,
  posteriorLogit,
  posteriorMaskLogit,
  type PixelRows,
} from "../posterior/posteriorPlain.js";
import { gumbelNoise } from "../random/gumbel.js";
import { MT_SAVED_LENGTH } from "../random/mt19937.js";
import type { TorchGenerator } from "../random/torchGenerator.js";
import { EXP_SUM_RELATIVE_ERROR, MAX_CHUNK_ROWS, type StepPrimitives, type Workspace } from "./primitives.js";

/** Elements per chunk: a chunk of y and one of draws stay in the L2 cache. */
const CHUNK_ELEMENTS = 32768;
/** The smallest Gumbel noise a float32 uniform gives: g(0). */
export const MIN_GUMBEL = gumbelNoise(0);
/** Bound on |S − S'|: log of a sum of terms each within EXP_SUM_RELATIVE_ERROR, with room for rounding. */
export const S_ERROR = 2 * EXP_SUM_RELATIVE_ERROR;
const INV_2_24 = 1 / 16777216;
const MAX_PEAK = LIMITS.maxLogProbabilityMagnitude;

/** Counters of one or more fused steps, for tests and benchmarks. */
export interface FusedStepStats {
  /** Candidates that passed the screen and were evaluated exactly. */
  survivors: number;
  /** Pixels recomputed exactly because their best two candidates were within 2·S_ERROR. */
  nearTies: number;
}

/** Rows of a chunk for N pixels. */
export function rowsPerChunk(totalRows: number, N: number): number {
  return Math.max(1, Math.min(totalRows, MAX_CHUNK_ROWS, Math.floor(CHUNK_ELEMENTS / N)));
}

/** How far below the best a bound must stay for its candidate to be skipped. */
function pruneMargin(best: number): number {
  return 2 * S_ERROR + 1e-6 * (Math.abs(best) + 20);
}

/** Rounds up to float32 (never below x); infinities stay as they are. */
function f32Up(x: number): number {
  return Number.isFinite(x) ? Math.fround(x + 1e-6 * (1 + Math.abs(x))) : x;
}

/**
 * Sweep A for every batch item: ws.ref[b·N + n] = max_c y, ws.acc[b·N + n] = Σ_{c ≠ skip} exp(y − max)
 * (with ws.skip set by the caller). When `blocks` is true, chunk j's sum and the maximum it is
 * relative to go to ws.blockSum / ws.blockRef at ((b·chunks) + j)·N (one block per chunk).
 * Returns false when some pixel's maximum is NaN, ±inf or beyond ±LIMITS.maxLogProbabilityMagnitude
 * (the caller reports which).
 */
export function sumSweep(
  prims: StepPrimitives,
  ws: Workspace,
  logp: Float32Array,
  B: number,
  rowsY: number,
  N: number,
  chunkRows: number,
  blocks: boolean,
): boolean {
  const chunks = Math.ceil(rowsY / chunkRows);
  for (let b = 0; b < B; b++) {
    const ref = ws.ref.subarray(b * N, (b + 1) * N);
    const acc = ws.acc.subarray(b * N, (b + 1) * N);
    const skip = ws.skip.subarray(b * N, (b + 1) * N);
    ref.fill(-Infinity);
    acc.fill(0);
    let skips = false;
    for (let n = 0; n < N && !skips; n++) skips = skip[n] >= 0;
    for (let r0 = 0, j = 0; r0 < rowsY; r0 += chunkRows, j++) {
      const rows = Math.min(chunkRows, rowsY - r0);
      const start = (b * rowsY + r0) * N;
      ws.y.set(logp.subarray(start, start + rows * N));
      prims.chunkMax(ws.y, rows, N, ws.cmax);
      prims.raiseRef(ws.cmax, ref, acc, N);
      // Leave each pixel's skipped row (x_t's class) out of the sum: our copy, set to −inf.
      for (let n = 0; skips && n < N; n++) {
        const r = skip[n] - r0;
        if (r >= 0 && r < rows) ws.y[r * N + n] = -Infinity;
      }
      const at = (b * chunks + j) * N;
      const block = blocks ? ws.blockSum.subarray(at, at + N) : null;
      prims.expSum(ws.y, rows, N, ref, acc, block);
      if (blocks) ws.blockRef.set(ref, at);
    }
    for (let n = 0; n < N; n++) {
      const m = ref[n];
      if (!(m >= -MAX_PEAK && m <= MAX_PEAK)) return false;
    }
  }
  return true;
}

/**
 * The start both step modes share: a workspace for chunks of rowsPerChunk(K − 1, N) rows (and, with
 * `blocks`, room for every chunk's per-pixel sums), x_t's class as each pixel's skipped row when
 * there is a posterior (rows ≠ null) and x_t is not the mask, and sweep A. Null when the model
 * output fails the value check.
 */
export function sweepModelOutput(
  prims: StepPrimitives,
  logp: Float32Array,
  tokens: Int32Array,
  B: number,
  K: number,
  N: number,
  rows: PixelRows | null,
  blocks: boolean,
): { ws: Workspace; chunkRows: number; chunks: number } | null {
  const chunkRows = rowsPerChunk(K - 1, N);
  const chunks = Math.ceil((K - 1) / chunkRows);
  const ws = prims.workspace({ N, B, rows: chunkRows, blocks: blocks ? B * chunks : 0 });
  for (let i = 0; i < B * N; i++) ws.skip[i] = rows !== null && tokens[i] !== K - 1 ? tokens[i] : -1;
  return sumSweep(prims, ws, logp, B, K - 1, N, chunkRows, blocks) ? { ws, chunkRows, chunks } : null;
}

/**
 * S' for every pixel of batch item b (S of `posteriorPlain.ts` step 2, within S_ERROR), from sweep A.
 * Bulk classes share one cumulative row value, x_t's class has its own:
 *   S = log(e^{max − other}·Σ_{c ≠ x} e^{y_c − max} + e^{y_x − same})   (x_t not the mask)
 *   S = max − masked + log Σ_c e^{y_c − max}                             (x_t the mask)
 */
export function normalisers(
  ws: Workspace,
  logp: Float32Array,
  tokens: Int32Array,
  b: number,
  K: number,
  N: number,
  rows: PixelRows,
  out: Float64Array,
): void {
  const { cumulative } = rows;
  for (let n = 0; n < N; n++) {
    const x = tokens[b * N + n];
    const my = ws.ref[b * N + n];
    const logZ = Math.log(ws.acc[b * N + n]);
    if (x === K - 1) out[n] = my - cumulative.masked + logZ;
    else out[n] = logAddExp(my - cumulative.other + logZ, logp[(b * (K - 1) + x) * N + n] - cumulative.same);
  }
}

/**
 * One reference step with the fused kernel.
 *
 * @param logp - log p(x_0 | x_t), shape (B, K − 1, N).
 * @param tokens - x_t, shape (B, N).
 * @param rows - the posterior's row values, or null at t = 0 (the logits are `logp` itself).
 * @param stats - when given, receives the number of exactly evaluated candidates and of near ties.
 * @returns x_{t−1}, shape (B, N); or null when `logp` fails the value check (nothing drawn).
 */
export function fusedGumbelStep(
  prims: StepPrimitives,
  logp: Float32Array,
  tokens: Int32Array,
  B: number,
  K: number,
  N: number,
  rows: PixelRows | null,
  generator: TorchGenerator,
  stats?: FusedStepStats,
): Int32Array | null {
  const rowsY = K - 1;
  const swept = sweepModelOutput(prims, logp, tokens, B, K, N, rows, false);
  if (swept === null) return null;
  const { ws, chunkRows } = swept;

  const snapshot = new Int32Array(MT_SAVED_LENGTH);
  generator.engine.saveTo(snapshot);
  ws.mtState.set(snapshot);
  const out = new Int32Array(B * N);
  const S = new Float64Array(N);
  const best = new Float64Array(N);
  const second = new Float64Array(N);
  const nearTies: number[] = [];
  const slack = rows === null ? 0 : f32Up(Math.LN2);

  for (let b = 0; b < B; b++) {
    const force = ws.skip.subarray(b * N, (b + 1) * N);
    if (rows !== null) normalisers(ws, logp, tokens, b, K, N, rows, S);
    // The screen's constants and a first threshold, from a candidate sure to be evaluated.
    for (let n = 0; n < N; n++) {
      const my = ws.ref[b * N + n];
      let lower: number;
      if (rows === null) {
        ws.A[n] = 0;
        ws.Bb[n] = -Infinity;
        lower = my + MIN_GUMBEL;
      } else {
        const x = tokens[b * N + n];
        const masked = x === K - 1;
        const cumRow = masked ? rows.cumulative.masked : rows.cumulative.other;
        const step = masked ? rows.oneStep.masked : rows.oneStep.other;
        ws.A[n] = f32Up(rows.cumulativeAtS.a - cumRow + step);
        ws.Bb[n] = f32Up(rows.cumulativeAtS.b + step + S[n]);
        const maskLogit = posteriorMaskLogit(masked, S[n], rows);
        const sure = masked
          ? posteriorLogit(my, cumRow, step, S[n], rows)
          : posteriorLogit(logp[(b * rowsY + x) * N + n], rows.cumulative.same, rows.oneStep.same, S[n], rows);
        lower = Math.max(maskLogit, sure) + MIN_GUMBEL;
      }
      ws.thr[n] = Math.fround(lower - pruneMargin(lower));
      best[n] = -Infinity;
      second[n] = -Infinity;
      out[b * N + n] = 0;
    }
    for (let r0 = 0; r0 < rowsY; r0 += chunkRows) {
      const cr = Math.min(chunkRows, rowsY - r0);
      const start = (b * rowsY + r0) * N;
      ws.y.set(logp.subarray(start, start + cr * N));
      prims.mtFill(ws.mtState, ws.u, cr * N);
      const count = prims.screen(ws.y, ws.u, cr, N, ws.A, ws.Bb, ws.thr, force, r0, slack, ws.surv);
      if (stats) stats.survivors += count;
      for (let j = 0; j < count; j++) {
        const i = ws.surv[j];
        const r = (i / N) | 0;
        const n = i - r * N;
        const c = r0 + r;
        const y = ws.y[i];
        let logit = y;
        if (rows !== null) {
          const x = tokens[b * N + n];
          const masked = x === K - 1;
          const cumRow = masked ? rows.cumulative.masked : c === x ? rows.cumulative.same : rows.cumulative.other;
          const step = masked ? rows.oneStep.masked : c === x ? rows.oneStep.same : rows.oneStep.other;
          logit = posteriorLogit(y, cumRow, step, S[n], rows);
        }
        const v = logit + gumbelNoise((ws.u[i] & 0xffffff) * INV_2_24);
        if (v > best[n]) {
          second[n] = best[n];
          best[n] = v;
          out[b * N + n] = c;
          const t = Math.fround(v - pruneMargin(v));
          if (t > ws.thr[n]) ws.thr[n] = t;
        } else if (v > second[n]) second[n] = v;
      }
    }
    if (rows !== null) {
      // The mask class's row: the last K·N-th of this item's draws.
      prims.mtFill(ws.mtState, ws.u, N);
      for (let n = 0; n < N; n++) {
        const masked = tokens[b * N + n] === K - 1;
        const v = posteriorMaskLogit(masked, S[n], rows) + gumbelNoise((ws.u[n] & 0xffffff) * INV_2_24);
        if (v > best[n]) {
          second[n] = best[n];
          best[n] = v;
          out[b * N + n] = K - 1;
        } else if (v > second[n]) second[n] = v;
        if (best[n] - second[n] <= 2 * S_ERROR + 1e-12 * (1 + Math.abs(best[n]))) nearTies.push(b * N + n);
      }
    }
  }
  generator.engine.loadFrom(ws.mtState);
  if (stats) stats.nearTies += nearTies.length;
  if (nearTies.length > 0 && rows !== null) {
    ws.mtState.set(snapshot);
    resolveNearTies(prims, ws, logp, tokens, B, K, N, rows, nearTies, out);
  }
  return out;
}

/**
 * Recomputes the pixels whose winner the approximate S cannot decide, exactly as the plain path
 * does, from a replay of their draws.
 */
function resolveNearTies(
  prims: StepPrimitives,
  ws: Workspace,
  logp: Float32Array,
  tokens: Int32Array,
  B: number,
  K: number,
  N: number,
  rows: PixelRows,
  pixels: number[],
  out: Int32Array,
): void {
  const draws = new Uint32Array(pixels.length * K);
  const chunk = ws.u;
  const chunkRows = Math.floor(chunk.length / N);
  for (let b = 0; b < B; b++) {
    for (let r0 = 0; r0 < K; r0 += chunkRows) {
      const cr = Math.min(chunkRows, K - r0);
      prims.mtFill(ws.mtState, chunk, cr * N);
      pixels.forEach((p, k) => {
        if (((p / N) | 0) !== b) return;
        const n = p - b * N;
        for (let r = 0; r < cr; r++) draws[k * K + r0 + r] = chunk[r * N + n];
      });
    }
  }
  const column = new Float64Array(K);
  const q = new Float64Array(K - 1);
  pixels.forEach((p, k) => {
    const b = (p / N) | 0;
    const n = p - b * N;
    posteriorColumn(logp, b * (K - 1) * N + n, N, tokens[p], K, rows, column, 0, 1, q);
    let bestValue = -Infinity;
    let arg = 0;
    for (let c = 0; c < K; c++) {
      const v = column[c] + gumbelNoise((draws[k * K + c] & 0xffffff) * INV_2_24);
      if (v > bestValue) {
        bestValue = v;
        arg = c;
      }
    }
    out[p] = arg;
  });
}
