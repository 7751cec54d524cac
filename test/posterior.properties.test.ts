/**
 * Properties of the posterior over random small configs (fast-check): normalised whenever log p(x_0)
 * is, and never NaN, -inf entries of log p(x_0) included.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { TorchGenerator, VQDiffusionScheduler } from "../src/index.js";

/** Whether the options make a schedule the constructor accepts (α, β, γ in [0, 1] at every step). */
function validSchedule(options: ConstructorParameters<typeof VQDiffusionScheduler>[0]): boolean {
  try {
    new VQDiffusionScheduler(options);
    return true;
  } catch {
    return false;
  }
}

/** A random valid scheduler, a timestep, a batch of inputs; `normalised` makes each pixel's p(x_0) sum to 1. */
const caseArb = (normalised: boolean) =>
  fc
    .record({
      K: fc.integer({ min: 2, max: 12 }),
      T: fc.integer({ min: 2, max: 30 }),
      a0: fc.double({ min: 0.5, max: 0.99999, noNaN: true }),
      a1: fc.double({ min: 1e-6, max: 0.49, noNaN: true }),
      g0: fc.double({ min: 1e-6, max: 0.1, noNaN: true }),
      B: fc.integer({ min: 1, max: 2 }),
      N: fc.integer({ min: 1, max: 4 }),
      seed: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
      tFrac: fc.double({ min: 0, max: 1, noNaN: true, maxExcluded: true }),
      lambda: fc.double({ min: 0.2, max: 1, noNaN: true }),
    })
    .map((r) => ({ ...r, options: { numVecClasses: r.K, numTrainTimesteps: r.T, alphaCumStart: r.a0, alphaCumEnd: r.a1, gammaCumStart: r.g0, gammaCumEnd: r.g0 + r.lambda * (r.a0 - r.a1) } }))
    .filter((r) => validSchedule(r.options))
    .map((r) => {
      const scheduler = new VQDiffusionScheduler(r.options);
      const t = Math.floor(r.tFrac * r.T);
      let state = r.seed;
      const rnd = () => ((state = (Math.imul(state, 1103515245) + 12345) >>> 0) / 2 ** 32);
      const { B, N, K } = r;
      const data = new Float32Array(B * (K - 1) * N);
      for (let b = 0; b < B; b++) {
        for (let n = 0; n < N; n++) {
          const keep = Math.floor(rnd() * (K - 1)); // at least one finite class per pixel
          let z = 0;
          const raw: number[] = [];
          for (let c = 0; c < K - 1; c++) {
            const v = c === keep || rnd() < 0.7 ? (rnd() - 0.5) * 30 : -Infinity;
            raw.push(v);
            if (v > -Infinity) z += Math.exp(v);
          }
          for (let c = 0; c < K - 1; c++) data[(b * (K - 1) + c) * N + n] = normalised ? raw[c] - Math.log(z) : raw[c];
        }
      }
      const tokens = Int32Array.from({ length: B * N }, () => Math.floor(rnd() * K));
      return { scheduler, t, B, N, K, logPX0: { data, dims: [B, K - 1, N] }, xT: { data: tokens, dims: [B, N] } };
    });

describe("qPosterior properties", () => {
  it("is a normalised distribution over x_{t-1} when log p(x_0) is normalised (logsumexp = 0 within 1e-5)", () => {
    fc.assert(
      fc.property(caseArb(true), ({ scheduler, t, B, N, K, logPX0, xT }) => {
        const out = scheduler.qPosterior(logPX0, xT, t).data;
        for (let b = 0; b < B; b++) {
          for (let n = 0; n < N; n++) {
            let m = -Infinity;
            for (let c = 0; c < K; c++) m = Math.max(m, out[(b * K + c) * N + n]);
            let s = 0;
            for (let c = 0; c < K; c++) s += Math.exp(out[(b * K + c) * N + n] - m);
            expect(Math.abs(m + Math.log(s))).toBeLessThan(1e-5);
          }
        }
      }),
      { numRuns: 300, seed: 20261126 },
    );
  });

  it("never produces NaN, for unnormalised inputs with -inf entries too, and step draws tokens in range", () => {
    fc.assert(
      fc.property(caseArb(false), fc.integer({ min: 0, max: 2 ** 31 - 1 }), ({ scheduler, t, K, logPX0, xT }, seed) => {
        const out = scheduler.qPosterior(logPX0, xT, t).data;
        for (const v of out) expect(Number.isNaN(v)).toBe(false);
        // A seeded generator, so that a failure replays.
        const generator = new TorchGenerator().manualSeed(seed);
        for (const v of scheduler.step(logPX0, t, xT, { generator }).prevSample.data) expect(v >= 0 && v < K).toBe(true);
      }),
      { numRuns: 300, seed: 11262026 },
    );
  });
});
