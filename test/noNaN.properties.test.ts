/**
 * Property: no exported function returns NaN (or +inf) for inputs it accepts, and what it refuses it refuses
 * with an Error of this package (not a TypeError or RangeError from the engine). Inputs: random small
 * sizes, log-probabilities that mix ordinary values, −inf, huge and tiny magnitudes, and tokens with
 * and without the mask; every case is replayable from fast-check's seed.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  clampLogProbabilities,
  classifierFreeGuidance,
  indexToLogOnehot,
  TorchGenerator,
  truncateLogProbabilities,
  VQDiffusionScheduler,
} from "../src/index.js";

const value = fc.oneof(
  { weight: 6, arbitrary: fc.float({ min: -30, max: 0, noNaN: true, noDefaultInfinity: true }) },
  { weight: 1, arbitrary: fc.constant(-Infinity) },
  { weight: 1, arbitrary: fc.constantFrom(-3e38, -1e30, -1e6, 0, 1e-30) },
);

const problem = fc
  .record({ K: fc.integer({ min: 2, max: 6 }), N: fc.integer({ min: 1, max: 4 }), B: fc.integer({ min: 1, max: 2 }), seed: fc.integer({ min: 0, max: 1000 }) })
  .chain(({ K, N, B, seed }) =>
    fc.record({
      K: fc.constant(K), N: fc.constant(N), B: fc.constant(B), seed: fc.constant(seed),
      logp: fc.array(value, { minLength: 2 * B * (K - 1) * N, maxLength: 2 * B * (K - 1) * N }),
      tokens: fc.array(fc.integer({ min: 0, max: K - 1 }), { minLength: B * N, maxLength: B * N }),
      t: fc.integer({ min: 0, max: 99 }),
      scale: fc.constantFrom(0, 0.5, 1, 3, 5),
      rate: fc.constantFrom(0.3, 0.9, 1),
    }),
  );

/** Runs f; a thrown value must be a plain Error of ours; a result must hold no NaN and no +inf. */
function noNaN(f: () => { data: ArrayLike<number> }): void {
  let out: { data: ArrayLike<number> };
  try {
    out = f();
  } catch (e) {
    expect(e).toBeInstanceOf(Error);
    expect((e as Error).constructor).toBe(Error);
    expect((e as Error).message).toMatch(/: expected /);
    return;
  }
  for (let i = 0; i < out.data.length; i++) {
    expect(Number.isNaN(out.data[i])).toBe(false);
    expect(out.data[i]).not.toBe(Infinity);
  }
}

describe("no NaN out of accepted inputs", () => {
  it("step (both modes), qPosterior, guidance, truncation, clamp, transition rows, one-hot, addNoise", () => {
    fc.assert(
      fc.property(problem, ({ K, N, B, seed, logp, tokens, t, scale, rate }) => {
        const s = new VQDiffusionScheduler({ numVecClasses: K });
        const half = { data: Float32Array.from(logp.slice(0, B * (K - 1) * N)), dims: [B, K - 1, N] };
        const both = { data: Float32Array.from(logp), dims: [2 * B, K - 1, N] };
        const x = { data: Int32Array.from(tokens), dims: [B, N] };
        for (const mode of ["reference", "fast"] as const) noNaN(() => s.step(half, t, x, { generator: new TorchGenerator().manualSeed(seed), mode }).prevSample);
        noNaN(() => s.qPosterior(half, x, t));
        noNaN(() => classifierFreeGuidance(both, scale));
        noNaN(() => truncateLogProbabilities(half, rate));
        noNaN(() => clampLogProbabilities(half));
        noNaN(() => s.logQtTransitioningToKnownClass({ t, xT: x, logOnehotXT: indexToLogOnehot(x, K), cumulative: t % 2 === 0 }));
        noNaN(() => s.addNoise(x, t, { generator: new TorchGenerator().manualSeed(seed) }));
      }),
      { seed: 12, numRuns: 300 },
    );
  });
});
