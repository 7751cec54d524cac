/**
 * The "fast" step: each pixel's x_{t−1} drawn from the same categorical distribution as the reference
 * step (the posterior, or the model output at t = 0), by inverse CDF with one 53-bit uniform per
 * pixel instead of one float32 uniform per class. It gives up the reference's random stream, never
 * the distribution.
 *
 * Structure. Sweep A of `fusedStep.ts` leaves, per pixel and per chunk of class rows ("block"), the
 * sum of exp(y − max) over the block's bulk classes (float32 terms: within EXP_SUM_RELATIVE_ERROR).
 * A bulk class's posterior weight is affine in exp(y) (`posteriorPlain.ts`, steps 3-4):
 *   w_c = exp(logit_c − S) = coefP·exp(y_c − max) + coefB,
 * so a block's weight is coefP·blockSum + coefB·(bulk classes in it). x_t's own class and the mask
 * are categories of their own, with exact weights.
 *
 * Exactness. The block weights W'_j come from float32 exps (within EXP_SUM_RELATIVE_ERROR); the pick of a
 * block is accepted with probability W_j / (W'_j·M), where W_j is the block's weight recomputed with
 * Math.exp (only for the chosen block) and M ≥ max W_j/W'_j; a rejection draws again (rare: ~2e-5).
 * This makes the draw exact for the weights W_j. Those weights use the normaliser S' of sweep A, which
 * is within S_ERROR (2.4e-5) of the exact S; S enters the balance between a class's own term and the
 * uniform-replacement and mask terms (w_c = ᾱ_s·e^{q_c}·e^{step_c} + e^S·β̄_s·e^{step_c}), so each
 * class probability is within a relative 5e-5 of the exact posterior's, the order of the float32
 * rounding in the reference's own posterior. The uniform's position inside the chosen interval is
 * itself uniform and independent, and serves for the acceptance test and then for the class inside
 * the block, so one uniform per pixel suffices except after a rejection.
 */
import { argumentError } from "../errors.js";
import { posteriorLogit, posteriorMaskLogit, type PixelRows } from "../posterior/posteriorPlain.js";
import type { TorchGenerator } from "../random/torchGenerator.js";
import { uniform53 } from "../random/uniform53.js";
import { normalisers, sweepModelOutput } from "./fusedStep.js";
import { EXP_SUM_RELATIVE_ERROR, type StepPrimitives } from "./primitives.js";

/** Bound on W_j / W'_j for a block weight built from an expSum within EXP_SUM_RELATIVE_ERROR. */
const ACCEPT_BOUND = 1 + 2 * EXP_SUM_RELATIVE_ERROR + 1e-12;

/**
 * @param logp - log p(x_0 | x_t), shape (B, K − 1, N).
 * @param tokens - x_t, shape (B, N).
 * @param rows - the posterior's row values, or null at t = 0 (the categorical is softmax(logp)).
 * @returns x_{t−1}, shape (B, N); or null when `logp` fails the value check (nothing drawn).
 */
export function fastCategoricalStep(
  prims: StepPrimitives,
  logp: Float32Array,
  tokens: Int32Array,
  B: number,
  K: number,
  N: number,
  rows: PixelRows | null,
  generator: TorchGenerator,
): Int32Array | null {
  const rowsY = K - 1;
  const swept = sweepModelOutput(prims, logp, tokens, B, K, N, rows, true);
  if (swept === null) return null;
  const { ws, chunkRows, chunks } = swept;

  const out = new Int32Array(B * N);
  const S = new Float64Array(N);
  const weights = new Float64Array(chunks + 2);
  const inBlock = new Float64Array(chunkRows);
  for (let b = 0; b < B; b++) {
    if (rows !== null) normalisers(ws, logp, tokens, b, K, N, rows, S);
    for (let n = 0; n < N; n++) {
      const p = b * N + n;
      const x = tokens[p];
      const my = ws.ref[p];
      // Category weights, relative to exp(S): [x_t's class, blocks…, mask].
      let coefP = 1;
      let coefB = 0;
      let special = -1;
      weights[0] = 0;
      weights[chunks + 1] = 0;
      if (rows !== null) {
        const masked = x === K - 1;
        const cumRow = masked ? rows.cumulative.masked : rows.cumulative.other;
        const step = masked ? rows.oneStep.masked : rows.oneStep.other;
        coefP = Math.exp(my - cumRow - S[n] + rows.cumulativeAtS.a + step);
        coefB = Math.exp(rows.cumulativeAtS.b + step);
        weights[chunks + 1] = Math.exp(posteriorMaskLogit(masked, S[n], rows) - S[n]);
        if (!masked) {
          special = x;
          const yx = logp[(b * rowsY + x) * N + n];
          weights[0] = Math.exp(posteriorLogit(yx, rows.cumulative.same, rows.oneStep.same, S[n], rows) - S[n]);
        }
      }
      // Block sums are relative to the running maximum when they were taken; it only rises, so a
      // few distinct values per pixel: one exp each rescales its blocks to the final maximum.
      let lastRef = NaN;
      let factor = 0;
      for (let j = 0; j < chunks; j++) {
        const at = (b * chunks + j) * N + n;
        const r0 = j * chunkRows;
        const count = Math.min(chunkRows, rowsY - r0) - (special >= r0 && special < r0 + chunkRows ? 1 : 0);
        if (ws.blockRef[at] !== lastRef) {
          lastRef = ws.blockRef[at];
          factor = Math.exp(lastRef - my);
        }
        const sum = ws.blockSum[at] === 0 ? 0 : ws.blockSum[at] * factor;
        weights[j + 1] = coefP * sum + coefB * count;
      }
      out[p] = drawCategory(weights, chunks, chunkRows, rowsY, K, special, coefP, coefB, my, logp, (b * rowsY) * N + n, N, generator, inBlock);
    }
  }
  return out;
}

/**
 * Inverse CDF over the categories, with the exactness correction of the file comment; `inBlock`
 * (chunkRows entries) holds the chosen block's exact class weights.
 */
function drawCategory(
  weights: Float64Array,
  chunks: number,
  chunkRows: number,
  rowsY: number,
  K: number,
  special: number,
  coefP: number,
  coefB: number,
  my: number,
  logp: Float32Array,
  base: number,
  N: number,
  generator: TorchGenerator,
  inBlock: Float64Array,
): number {
  let total = 0;
  for (let i = 0; i < chunks + 2; i++) total += weights[i];
  if (!(total > 0 && total < Infinity)) throw argumentError("modelOutput", "weights with a finite positive sum", total);
  for (let attempt = 0; attempt < 1000; attempt++) {
    let target = uniform53(generator) * total;
    let i = 0;
    for (; i < chunks + 1 && !(target < weights[i]); i++) target -= weights[i];
    if (weights[i] === 0) i = lastPositive(weights);
    const within = Math.min(target / weights[i], 1 - 2 ** -53);
    if (i === 0) return special;
    if (i === chunks + 1) return K - 1;
    // A block: its exact weight, the acceptance test, then the class inside it.
    const r0 = (i - 1) * chunkRows;
    const r1 = Math.min(r0 + chunkRows, rowsY);
    let exact = 0;
    for (let c = r0; c < r1; c++) exact += inBlock[c - r0] = c === special ? 0 : coefP * Math.exp(logp[base + c * N] - my) + coefB;
    const accept = exact / (weights[i] * ACCEPT_BOUND);
    if (!(within < accept)) continue;
    let rest = (within / accept) * exact;
    let last = r0;
    for (let c = r0; c < r1; c++) {
      const w = inBlock[c - r0];
      if (w > 0) last = c;
      if (rest < w) return c;
      rest -= w;
    }
    return last;
  }
  throw new Error("fast step: 1000 rejections in a row, which the acceptance bound makes impossible");
}

function lastPositive(weights: Float64Array): number {
  for (let i = weights.length - 1; i >= 0; i--) if (weights[i] > 0) return i;
  return 0;
}
