/**
 * The fused guidance + renormalisation + truncation + clamp pass (guideTruncateClamp) against the plain
 * composition it replaces (guide, truncated, clampInPlace): the same float32 bits, or the same error,
 * for guided and unguided outputs, every rate and top-k, normalised model-like pixels (where rate 1
 * cuts, or not, within rounding of the total), coarse pixels with ties, and the −inf cases guidance
 * treats specially.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { float32Exp, guideTruncateClamp, guideTruncateClampPlain } from "../src/sampling/fusedGuidance.js";

/** A small deterministic stream of numbers in [0, 1) (a linear congruential generator) for building inputs. */
function lcg(seed: number): () => number {
  let x = seed;
  return () => (x = (x * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
}

type Args = [src: Float32Array, B: number, C: number, N: number, guided: boolean, scale: number, rate: number, topK: number | undefined];

/** Runs both paths; expects the same bits, or the same error message. */
function expectAgreement(...args: Args): void {
  const run = (f: typeof guideTruncateClamp) => {
    const src = args[0].slice();
    try {
      const out = f(src, ...(args.slice(1) as [number, number, number, boolean, number, number, number | undefined]), "guidanceScale");
      expect(Array.from(src)).toEqual(Array.from(args[0])); // input not modified
      return { bits: Array.from(new Uint32Array(out.buffer, out.byteOffset, out.length)) };
    } catch (e) {
      return { error: (e as Error).message };
    }
  };
  expect(run(guideTruncateClamp)).toEqual(run(guideTruncateClampPlain));
}

/** (rows, C, N) log-softmax columns in float32 of random sharpness, as a model gives. */
function normalised(next: () => number, rows: number, C: number, N: number): Float32Array {
  const out = new Float32Array(rows * C * N);
  for (let b = 0; b < rows; b++) {
    for (let n = 0; n < N; n++) {
      const scale = 0.1 + 30 * next();
      const col = Array.from({ length: C }, () => scale * next() ** 3);
      const m = Math.max(...col);
      const lse = m + Math.log(col.reduce((a, v) => a + Math.exp(v - m), 0));
      col.forEach((v, c) => (out[(b * C + c) * N + n] = Math.fround(v - lse)));
    }
  }
  return out;
}

describe("fused guidance and truncation", () => {
  it("the plain composition's bits on normalised outputs, guided and not, every rate and top-k", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 3 }),
        fc.integer({ min: 1, max: 300 }),
        fc.integer({ min: 1, max: 7 }),
        fc.boolean(),
        fc.constantFrom(1.5, 5, 20),
        fc.constantFrom(1, Math.fround(1 - 2 ** -24), 0.99999, 0.9, 0.5),
        fc.constantFrom(undefined, 1, 3, 9, 500),
        fc.integer({ min: 0, max: 2 ** 31 - 1 }),
        (B, C, N, guided, scale, rate, topK, seed) => {
          const src = normalised(lcg(seed), guided ? 2 * B : B, C, N);
          expectAgreement(src, B, C, N, guided, scale, rate, topK);
        },
      ),
      { seed: 21, numRuns: 400 },
    );
  });

  it("the plain composition's bits on coarse values with ties and −inf, and its errors", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 40 }),
        fc.integer({ min: 1, max: 4 }),
        fc.boolean(),
        fc.constantFrom(0, 0.5, 1, 5, 1e38),
        fc.constantFrom(1, 0.9),
        fc.constantFrom(undefined, 2),
        fc.integer({ min: 0, max: 2 ** 31 - 1 }),
        (C, N, guided, scale, rate, topK, seed) => {
          const next = lcg(seed);
          const rows = guided ? 2 : 1;
          const src = Float32Array.from({ length: rows * C * N }, () => (next() < 0.15 ? -Infinity : -Math.round(next() * 40) / 4));
          // A finite class at every pixel of every row, as the sampler's check ensures.
          for (let b = 0; b < rows; b++) for (let n = 0; n < N; n++) src[b * C * N + n] = -next();
          expectAgreement(src, 1, C, N, guided, scale, rate, topK);
        },
      ),
      { seed: 22, numRuns: 600 },
    );
  });

  it("at rate 1, where the float32 running sum reaches 1 (or not) within rounding: every way a pixel is decided", () => {
    // Many normalised pixels at rate 1: kept whole, a light tail cut from two sums, and the tails
    // left to the per-pixel selection all occur (tailDecision's three answers).
    for (const seed of [1, 2, 3, 4]) {
      const C = [256, 17, 4096, 9][seed - 1];
      const N = Math.floor(4096 / C) + 3;
      const next = lcg(seed);
      expectAgreement(normalised(next, 2, C, N), 1, C, N, true, 5, 1, undefined);
      expectAgreement(normalised(next, 2, C, N), 2, C, N, false, 1, 1, undefined);
    }
  });

  it("float32Exp: Math.exp decides where an estimate's float32 rounding is in doubt", () => {
    // Exponents whose float64 value lies within 1e-13 of a float32 rounding boundary: an estimate a
    // relative 1e-13 off then rounds the other way, and must not be taken.
    let found = 0;
    for (let i = 1; found < 20 && i < 2e7; i++) {
      const x = -i * 2 ** -20; // exact in float32
      const e = Math.exp(x);
      for (const estimate of [e * (1 + 1e-13), e * (1 - 1e-13)]) {
        if (Math.fround(estimate) === Math.fround(e)) continue;
        found++;
        expect(float32Exp(estimate, x)).toBe(Math.fround(e));
      }
    }
    expect(found).toBe(20);
    expect(float32Exp(Math.exp(-1), -1)).toBe(Math.fround(Math.exp(-1)));
  });

  it("the special cases: −inf in the conditional half, in the unconditional half (an error at scale > 1)", () => {
    const C = 3;
    const u = [-1, -2, -Infinity];
    const c = [-Infinity, -0.5, -3];
    for (const scale of [0, 0.5, 1, 5]) expectAgreement(Float32Array.from([...u, ...c]), 1, C, 1, true, scale, 1, undefined);
  });
});
