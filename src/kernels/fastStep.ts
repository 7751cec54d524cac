/**
 * The "fast" step: each pixel's x_{t−1} drawn from the same categorical distribution as the reference
 * step (the posterior, or the model output at t = 0), by inverse CDF with one 53-bit uniform per
 * pixel instead of one float32 uniform per class. It gives up the reference's random stream, never
 * the distribution.
 *
 * Structure. Sweep A (`sweep.ts`) leaves, per pixel and per chunk of class rows ("block"), the
 * sum of exp(y − max) over the block's bulk classes (float32 terms: within EXP_SUM_RELATIVE_ERROR).
 * A bulk class's posterior weight is affine in exp(y) (`pixelPosterior.ts`, the bulk's affine form):
 *   w_c = exp(logit_c − S) = coefP·exp(y_c − max) + coefB,  coefP = e^{shift + max − S}, coefB = e^{floor − S},
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
 *
 * Units. {@link fastCategoricalUnit} draws the pixels of one batch item's range [n0, n1) from a
 * generator placed at the range's first draw, and returns how many draws it took: 2 per pixel, 2 more
 * per rejection. {@link fastCategoricalStep} runs the units of the whole image one after the other on
 * the step's generator; a step split over threads (`threads/threadedStep.ts`) places each unit's
 * generator as if no earlier pixel had been rejected, and redraws the units that follow a rejection.
 */
import { bulkForm, classLogit, classRows, maskLogit, type BulkForm } from "../posterior/pixelPosterior.js";
import { inverseCdf } from "../random/inverseCdf.js";
import { uniform53 } from "../random/uniform53.js";
import { EXP_SUM_RELATIVE_ERROR } from "./primitives.js";
import type { TorchGenerator } from "../random/torchGenerator.js";
import type { StepProblem } from "./stepProblem.js";
import { normalisers, stepWorkspace, sweepItem, type SweepLayout } from "./sweep.js";

/** Bound on W_j / W'_j for a block weight built from an expSum within EXP_SUM_RELATIVE_ERROR. */
const ACCEPT_BOUND = 1 + 2 * EXP_SUM_RELATIVE_ERROR + 1e-12;

/**
 * One pixel's categories, for {@link drawCategory}: weights relative to e^S of [x_t's own class,
 * block 0 … block chunks − 1, the mask], and what recomputes a block's classes exactly.
 */
interface PixelCategories {
  /** chunks + 2 weights. */
  readonly weights: Float64Array;
  readonly chunks: number;
  readonly chunkRows: number;
  /** x_t's class (its own category), or −1 when x_t is the mask or at t = 0. */
  special: number;
  /** The bulk's weight e^{logit_c − S} = coefP·e^{y_c − max} + coefB. */
  coefP: number;
  coefB: number;
  /** The pixel's largest y. */
  max: number;
  /** Where its y column starts in logp (stride N). */
  base: number;
  /** Scratch: the chosen block's exact class weights, chunkRows entries. */
  readonly inBlock: Float64Array;
  /** Draws taken from the generator so far (2 per uniform). */
  draws: number;
}

/**
 * @returns x_{t−1}, shape (B, N); or null when `p.logp` fails the value check (the caller restores
 *   the generator, which may have drawn for earlier batch items).
 */
export function fastCategoricalStep(p: StepProblem): Int32Array | null {
  const out = new Int32Array(p.B * p.N);
  const layout = stepWorkspace(p, true);
  for (let b = 0; b < p.B; b++) if (fastCategoricalUnit(p, layout, b, p.generator, out) < 0) return null;
  return out;
}

/**
 * Fast mode for the layout's pixels of batch item b (a layout from `stepWorkspace(p, true, range)`),
 * drawing from `generator` (not `p.generator`) in pixel order.
 *
 * @param out - x_{t−1}, shape (B, N): the unit's pixels are written.
 * @returns the number of draws taken (2 per pixel and 2 per rejection), or −1 when the item's model
 *   output fails the value check (nothing drawn then).
 */
export function fastCategoricalUnit(p: StepProblem, layout: SweepLayout, b: number, generator: TorchGenerator, out: Int32Array): number {
  const { logp, tokens, K, N, posterior } = p;
  const rowsY = K - 1;
  const { ws, chunkRows, chunks, n0, W } = layout;
  const S = new Float64Array(W);
  const cat: PixelCategories = {
    weights: new Float64Array(chunks + 2), chunks, chunkRows, special: -1, coefP: 1, coefB: 0, max: 0, base: 0,
    inBlock: new Float64Array(chunkRows), draws: 0,
  };
  const { weights } = cat;
  const { blockRef, blockSum } = ws;
  const form: BulkForm = { shift: 0, floor: 0 };
  const r = { cum: 0, step: 0 };
  if (!sweepItem(p, layout, b, true)) return -1;
  normalisers(p, layout, b, S);
  for (let j = 0; j < W; j++) {
    const n = n0 + j;
    const x = tokens[b * N + n];
    const my = ws.ref[j];
    cat.max = my;
    cat.base = b * rowsY * N + n;
    cat.coefP = 1;
    cat.coefB = 0;
    cat.special = -1;
    weights[0] = 0;
    weights[chunks + 1] = 0;
    if (posterior !== null) {
      const masked = x === K - 1;
      bulkForm(masked, S[j], posterior, form);
      cat.coefP = Math.exp(form.shift + my - S[j]);
      cat.coefB = Math.exp(form.floor - S[j]);
      weights[chunks + 1] = Math.exp(maskLogit(masked, S[j], posterior) - S[j]);
      if (!masked) {
        cat.special = x;
        classRows(posterior, x, x, K, r);
        weights[0] = Math.exp(classLogit(logp[(b * rowsY + x) * N + n], r.cum, r.step, S[j], posterior) - S[j]);
      }
    }
    // Block sums are relative to the running maximum when they were taken; it only rises, so a
    // few distinct values per pixel: one exp each rescales its blocks to the final maximum.
    let lastRef = NaN;
    let factor = 0;
    const { coefP, coefB, special } = cat;
    for (let i = 0, at = j; i < chunks; i++, at += W) {
      const r0 = i * chunkRows;
      const count = Math.min(chunkRows, rowsY - r0) - (special >= r0 && special < r0 + chunkRows ? 1 : 0);
      const ref = blockRef[at];
      if (ref !== lastRef) {
        lastRef = ref;
        factor = Math.exp(ref - my);
      }
      const sum = blockSum[at];
      weights[i + 1] = coefP * (sum === 0 ? 0 : sum * factor) + coefB * count;
    }
    out[b * N + n] = drawCategory(p, cat, generator);
  }
  return cat.draws;
}

/** Inverse CDF over a pixel's categories, with the exactness correction of the file comment. */
function drawCategory(p: StepProblem, cat: PixelCategories, generator: TorchGenerator): number {
  const { logp, K, N } = p;
  const { weights, chunks, chunkRows, special, coefP, coefB, max, base, inBlock } = cat;
  const rowsY = K - 1;
  let total = 0;
  for (let i = 0; i < chunks + 2; i++) total += weights[i];
  // Sweep A's value check leaves every pixel a positive, finite total: this guards the kernel itself.
  if (!(total > 0 && total < Infinity)) throw new Error(`fast step: expected category weights with a finite positive sum, got ${total} (a kernel fault: please report it)`);
  const rest = { value: 0 };
  for (let attempt = 0; attempt < 1000; attempt++) {
    const i = inverseCdf(weights, 0, chunks + 2, uniform53(generator) * total, rest);
    cat.draws += 2;
    const within = Math.min(rest.value / weights[i], 1 - 2 ** -53);
    if (i === 0) return special;
    if (i === chunks + 1) return K - 1;
    // A block: its exact weight, the acceptance test, then the class inside it.
    const r0 = (i - 1) * chunkRows;
    const r1 = Math.min(r0 + chunkRows, rowsY);
    let exact = 0;
    for (let c = r0; c < r1; c++) exact += inBlock[c - r0] = c === special ? 0 : coefP * Math.exp(logp[base + c * N] - max) + coefB;
    const accept = exact / (weights[i] * ACCEPT_BOUND);
    if (!(within < accept)) continue;
    return r0 + inverseCdf(inBlock, 0, r1 - r0, (within / accept) * exact);
  }
  throw new Error("fast step: 1000 rejections in a row, which the acceptance bound makes impossible");
}
