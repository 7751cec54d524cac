/**
 * The reference step, fused: the same tokens as `gumbelArgmaxPlain(posteriorPlain(...))`, every
 * uniform of the generator stream drawn in the reference's order, and no (B, K, N) array.
 *
 * Why it can skip work. Draw i is the Gumbel-max race "argmax_c logit_c + g(u_c)". For every class c
 * other than x_t's own class and the mask (the "bulk" of the K classes), the posterior logit is one
 * increasing function of y_c = log p(x_0 = c):
 *   logit_c = logaddexp(y_c + shift, floor) ≤ max(y_c + A, Bb) + ln 2,
 * with A = shift and Bb = floor per pixel, rounded up to float32 (the bulk's affine form,
 * `pixelPosterior.ts`). And g(u) ≤ gumbelBound(u), which needs no logarithm. So a candidate whose bound stays below the best noised logit found so far can
 * be skipped after reading its y and its draw; the rest ("survivors", a few per pixel) are evaluated
 * exactly, by the same formula as the plain path.
 *
 * Sweeps, per batch item, over chunks of class rows (the model output is read, never copied whole):
 *   A. (`sweep.ts`) the per-pixel maximum of y and Σ exp(y − max) over the bulk (float32 terms,
 *      float64 sums): S, the posterior's normaliser, to within S_ERROR; and the value check.
 *   B. draws for the chunk (MT19937, in stream order), the screen, exact evaluation of survivors.
 * S enters the survivors' values, so they may differ from the plain ones by S_ERROR: a pixel whose
 * best two candidates are closer than 2·S_ERROR is recomputed exactly from a replay of the stream
 * (rare: about 1e-4 of pixels), from the generator state at the step's start. At t = 0 the logits
 * are y itself and nothing is approximate.
 *
 * Pixel ranges. {@link fusedGumbelRange} does all this for the pixels [n0, n1) of every batch item,
 * reading from the stream only the draws of those pixels (the columns n0 … n1 − 1 of each row of N
 * draws; the stream still advances by whole rows). Each pixel's draws, candidates and arithmetic are
 * the same as in the whole-image step, so ranges computed apart (on other threads) and put together
 * give its tokens; {@link fusedGumbelStep} is the one range [0, N).
 */
import { bulkForm, classLogit, classRows, maskLogit, posteriorColumn, type BulkForm, type PosteriorRows } from "../posterior/pixelPosterior.js";
import { gumbelNoise } from "../random/gumbel.js";
import { uniform24 } from "../random/uniform24.js";
import { MT_SAVED_LENGTH } from "../random/mt19937.js";
import type { PixelRange, StepProblem } from "./stepProblem.js";
import { loadChunk, normalisers, stepWorkspace, sweepItem, S_ERROR, type SweepLayout } from "./sweep.js";

/** The smallest Gumbel noise a float32 uniform gives: g(0). */
export const MIN_GUMBEL = gumbelNoise(0);

/** Counters of one or more fused steps, for tests and benchmarks. */
export interface FusedStepStats {
  /** Candidates that passed the screen and were evaluated exactly. */
  survivors: number;
  /** Pixels recomputed exactly because their best two candidates were within 2·S_ERROR. */
  nearTies: number;
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
 * One reference step with the fused kernel.
 *
 * @param stats - when given, receives the number of exactly evaluated candidates and of near ties.
 * @returns x_{t−1}, shape (B, N); or null when `p.logp` fails the value check. The generator has
 *   then drawn nothing; when a step returns tokens it has advanced by B·K·N draws (B·(K − 1)·N at t = 0).
 */
export function fusedGumbelStep(p: StepProblem, stats?: FusedStepStats): Int32Array | null {
  const out = new Int32Array(p.B * p.N);
  const end = new Int32Array(MT_SAVED_LENGTH);
  if (!fusedGumbelRange(p, { n0: 0, n1: p.N }, p.generator.getState(), end, out, stats)) return null;
  p.generator.setState(end);
  return out;
}

/**
 * The reference step for the pixels `range` of every batch item (see the file comment); `p.generator`
 * is neither read nor advanced.
 *
 * @param start - the stream at the step's start (625 words, as `TorchGenerator.getState`); not modified.
 * @param end - receives the stream after the step: `start` advanced by B·K·N draws (B·(K − 1)·N at t = 0).
 * @param out - x_{t−1}, shape (B, N): the range's pixels are written, the others left as they are.
 * @returns false when the range's model output fails the value check (`out` and `end` then unspecified).
 */
export function fusedGumbelRange(p: StepProblem, range: PixelRange, start: Int32Array, end: Int32Array, out: Int32Array, stats?: FusedStepStats): boolean {
  const { prims, logp, tokens, B, K, N, posterior } = p;
  const rowsY = K - 1;
  const layout = stepWorkspace(p, false, range);
  const { ws, chunkRows, n0, W } = layout;
  ws.mtState.set(start);
  const S = new Float64Array(W);
  const best = new Float64Array(W);
  const second = new Float64Array(W);
  const nearTies: number[] = [];
  const slack = posterior === null ? 0 : f32Up(Math.LN2);
  const form: BulkForm = { shift: 0, floor: 0 };
  const r = { cum: 0, step: 0 };

  for (let b = 0; b < B; b++) {
    if (!sweepItem(p, layout, b, false)) return false;
    normalisers(p, layout, b, S);
    // The screen's constants and a first threshold, from a candidate sure to be evaluated.
    for (let j = 0; j < W; j++) {
      const n = n0 + j;
      const my = ws.ref[j];
      let lower: number;
      if (posterior === null) {
        ws.A[j] = 0;
        ws.Bb[j] = -Infinity;
        lower = my + MIN_GUMBEL;
      } else {
        const x = tokens[b * N + n];
        const masked = x === K - 1;
        bulkForm(masked, S[j], posterior, form);
        ws.A[j] = f32Up(form.shift);
        ws.Bb[j] = f32Up(form.floor);
        // Masked: the bulk class at y = max; else x_t's own class.
        classRows(posterior, x, masked ? 0 : x, K, r);
        const sure = classLogit(masked ? my : logp[(b * rowsY + x) * N + n], r.cum, r.step, S[j], posterior);
        lower = Math.max(maskLogit(masked, S[j], posterior), sure) + MIN_GUMBEL;
      }
      ws.thr[j] = Math.fround(lower - pruneMargin(lower));
      best[j] = -Infinity;
      second[j] = -Infinity;
      out[b * N + n] = 0;
    }
    for (let r0 = 0; r0 < rowsY; r0 += chunkRows) {
      const cr = Math.min(chunkRows, rowsY - r0);
      loadChunk(p, layout, b, r0, cr);
      prims.mtFillColumns(ws.mtState, ws.u, cr, N, n0, W);
      const count = prims.screen({ y: ws.y, u: ws.u, rows: cr, N: W, A: ws.A, Bb: ws.Bb, thr: ws.thr, force: ws.skip, rowBase: r0, slack, surv: ws.surv });
      if (stats) stats.survivors += count;
      for (let k = 0; k < count; k++) {
        const i = ws.surv[k];
        const rr = (i / W) | 0;
        const j = i - rr * W;
        const n = n0 + j;
        const c = r0 + rr;
        let logit = ws.y[i];
        if (posterior !== null) {
          classRows(posterior, tokens[b * N + n], c, K, r);
          logit = classLogit(logit, r.cum, r.step, S[j], posterior);
        }
        const v = logit + gumbelNoise(uniform24(ws.u[i]));
        if (v > best[j]) {
          second[j] = best[j];
          best[j] = v;
          out[b * N + n] = c;
          const t = Math.fround(v - pruneMargin(v));
          if (t > ws.thr[j]) ws.thr[j] = t;
        } else if (v > second[j]) second[j] = v;
      }
    }
    if (posterior !== null) {
      // The mask class's row: the last K·N-th of this item's draws.
      prims.mtFillColumns(ws.mtState, ws.u, 1, N, n0, W);
      for (let j = 0; j < W; j++) {
        const n = n0 + j;
        const v = maskLogit(tokens[b * N + n] === K - 1, S[j], posterior) + gumbelNoise(uniform24(ws.u[j]));
        if (v > best[j]) {
          second[j] = best[j];
          best[j] = v;
          out[b * N + n] = K - 1;
        } else if (v > second[j]) second[j] = v;
        if (best[j] - second[j] <= 2 * S_ERROR + 1e-12 * (1 + Math.abs(best[j]))) nearTies.push(b * N + n);
      }
    }
  }
  end.set(ws.mtState);
  if (stats) stats.nearTies += nearTies.length;
  if (nearTies.length > 0 && posterior !== null) {
    ws.mtState.set(start);
    resolveNearTies(p, posterior, layout, nearTies, out);
  }
  return true;
}

/**
 * Recomputes the pixels whose winner the approximate S cannot decide, exactly as the plain path
 * does, from a replay of their draws (the stream in `layout.ws.mtState`, rewound to the step's
 * start; the layout's `u` serves as scratch). `pixels` are flat indices b·N + n inside the layout's range.
 */
function resolveNearTies(p: StepProblem, posterior: PosteriorRows, layout: SweepLayout, pixels: number[], out: Int32Array): void {
  const { prims, logp, tokens, B, K, N } = p;
  const { ws, n0, W } = layout;
  const chunk = ws.u;
  const draws = new Uint32Array(pixels.length * K);
  const chunkRows = Math.floor(chunk.length / W);
  for (let b = 0; b < B; b++) {
    for (let r0 = 0; r0 < K; r0 += chunkRows) {
      const cr = Math.min(chunkRows, K - r0);
      prims.mtFillColumns(ws.mtState, chunk, cr, N, n0, W);
      pixels.forEach((px, k) => {
        if (((px / N) | 0) !== b) return;
        const j = px - b * N - n0;
        for (let r = 0; r < cr; r++) draws[k * K + r0 + r] = chunk[r * W + j];
      });
    }
  }
  const column = new Float64Array(K);
  const q = new Float64Array(K - 1);
  pixels.forEach((px, k) => {
    const b = (px / N) | 0;
    const n = px - b * N;
    posteriorColumn({ data: logp, offset: b * (K - 1) * N + n, stride: N }, tokens[px], K, posterior, { data: column, offset: 0, stride: 1 }, q);
    let bestValue = -Infinity;
    let arg = 0;
    for (let c = 0; c < K; c++) {
      const v = column[c] + gumbelNoise(uniform24(draws[k * K + c]));
      if (v > bestValue) {
        bestValue = v;
        arg = c;
      }
    }
    out[px] = arg;
  });
}
