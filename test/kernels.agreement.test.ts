/**
 * The fused reference step (WASM SIMD and plain-TypeScript primitives) against the plain
 * implementation (posteriorPlain + gumbelArgmaxPlain): the same tokens, token for token, and the
 * generator left at the same point of its stream, on random inputs.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { TorchGenerator, VQDiffusionScheduler } from "../src/index.js";
import { fusedGumbelStep, type FusedStepStats } from "../src/kernels/fusedStep.js";
import { gumbelArgmaxPlain } from "../src/oracles/gumbelArgmaxPlain.js";
import { createPlainPrimitives } from "../src/kernels/plainPrimitives.js";
import type { StepPrimitives } from "../src/kernels/primitives.js";
import { createWasmPrimitives, kernelBytes } from "../src/kernels/wasm/wasmPrimitives.js";
import { posteriorPlain } from "../src/oracles/posteriorPlain.js";
import { posteriorTransitions, type PosteriorTransitions } from "../src/posterior/pixelPosterior.js";
import { stepProblem } from "./helpers/stepProblem.js";
import { computeLogSchedule } from "../src/schedule/logSchedule.js";

const backends: [string, StepPrimitives][] = [
  ["wasm", createWasmPrimitives(new WebAssembly.Module(kernelBytes()))],
  ["js", createPlainPrimitives()],
];

/** The posterior's transitions at t (to prev = t − 1 unless given: the exact jump otherwise). */
function transitionsAt(s: VQDiffusionScheduler, t: number, prev = t - 1): PosteriorTransitions {
  return posteriorTransitions(computeLogSchedule(s.config), t, prev, s.numEmbed);
}

/** The plain reference draw, and the generator's next output after it. */
function plainStep(s: VQDiffusionScheduler, logp: Float32Array, tokens: Int32Array, B: number, N: number, t: number, seed: number) {
  const K = s.numEmbed;
  const g = new TorchGenerator().manualSeed(seed);
  const out =
    t === 0
      ? gumbelArgmaxPlain(logp, B, K - 1, N, g)
      : gumbelArgmaxPlain(posteriorPlain(logp, tokens, B, K, N, transitionsAt(s, t)), B, K, N, g);
  return { out, next: g.nextUint32() };
}

function fusedStep(prims: StepPrimitives, s: VQDiffusionScheduler, logp: Float32Array, tokens: Int32Array, B: number, N: number, t: number, seed: number, stats: FusedStepStats) {
  const g = new TorchGenerator().manualSeed(seed);
  const out = fusedGumbelStep(stepProblem(prims, logp, tokens, B, s.numEmbed, N, t === 0 ? null : transitionsAt(s, t), g), stats);
  return { out, next: g.nextUint32() };
}

const inputArb = fc.record({
  K: fc.integer({ min: 2, max: 300 }),
  N: fc.integer({ min: 1, max: 70 }),
  B: fc.integer({ min: 1, max: 2 }),
  tFrac: fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
  seed: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
  spread: fc.constantFrom(0, 0.001, 1, 8, 40),
  infFraction: fc.constantFrom(0, 0.3, 0.95),
  maskedFraction: fc.double({ min: 0, max: 1, noNaN: true }),
});

describe("fused reference step = plain step", () => {
  for (const [name, prims] of backends) {
    it(`${name}: random inputs (K up to 300, N up to 70, B up to 2, all t), token for token`, () => {
      const stats: FusedStepStats = { survivors: 0, nearTies: 0 };
      let elements = 0;
      fc.assert(
        fc.property(inputArb, (r) => {
          const s = new VQDiffusionScheduler({ numVecClasses: r.K, numTrainTimesteps: 100 });
          const t = Math.floor(r.tFrac * 100);
          const g = new TorchGenerator().manualSeed(r.seed);
          const u = g.rand([r.B, r.K - 1, r.N]).data;
          const v = g.rand([r.B, r.K - 1, r.N]).data;
          const logp = new Float32Array(u.length);
          // spread 0: every class equal (exact ties everywhere); small spreads: near ties.
          for (let i = 0; i < u.length; i++) logp[i] = v[i] < r.infFraction ? -Infinity : -u[i] * r.spread - 3;
          for (let b = 0; b < r.B; b++) for (let n = 0; n < r.N; n++) logp[(b * (r.K - 1)) * r.N + n] = -1; // a finite class per pixel
          const tokens = new Int32Array(r.B * r.N);
          const w = g.rand([r.B * r.N]).data;
          for (let i = 0; i < tokens.length; i++) tokens[i] = w[i] < r.maskedFraction ? r.K - 1 : Math.floor(w[i] * 1e6) % r.K;
          const want = plainStep(s, logp, tokens, r.B, r.N, t, r.seed + 1);
          const got = fusedStep(prims, s, logp, tokens, r.B, r.N, t, r.seed + 1, stats);
          elements += r.B * r.K * r.N;
          expect(got.out).toEqual(want.out);
          expect(got.next).toBe(want.next);
        }),
        { numRuns: 250, seed: 4242 },
      );
      // The screen skips most candidates.
      expect(stats.survivors).toBeLessThan(elements / 3);
    });

    it(`${name}: near ties (two equal classes, 400 000 pixels) are recomputed exactly`, () => {
      const K = 3;
      const N = 400_000;
      const s = new VQDiffusionScheduler({ numVecClasses: K });
      const logp = new Float32Array(2 * N).fill(Math.log(0.5));
      const tokens = new Int32Array(N).fill(K - 1);
      const stats: FusedStepStats = { survivors: 0, nearTies: 0 };
      const want = plainStep(s, logp, tokens, 1, N, 30, 5);
      const got = fusedStep(prims, s, logp, tokens, 1, N, 30, 5, stats);
      expect(got.out).toEqual(want.out);
      expect(got.next).toBe(want.next);
      // A logistic difference within 2·S_ERROR = 6e-5: about 3e-5 of the pixels.
      expect(stats.nearTies).toBeGreaterThan(0);
    });
  }

  it("bigstep-sized input: same tokens as plain at K = 4097, N = 256, masked and unmasked tokens", () => {
    const K = 4097;
    const N = 256;
    const s = new VQDiffusionScheduler({ numVecClasses: K });
    const g = new TorchGenerator().manualSeed(9);
    const u = g.rand([1, K - 1, N]).data;
    const logp = Float32Array.from(u, (x) => x * 8 - 16);
    const tokens = Int32Array.from({ length: N }, (_, i) => (i % 2 ? K - 1 : (i * 37) % (K - 1)));
    for (const t of [0, 1, 50, 99]) {
      const want = plainStep(s, logp, tokens, 1, N, t, 77);
      for (const [, prims] of backends) {
        const got = fusedStep(prims, s, logp, tokens, 1, N, t, 77, { survivors: 0, nearTies: 0 });
        expect(got.out).toEqual(want.out);
        expect(got.next).toBe(want.next);
      }
    }
  });
});

describe("qPosterior's class-major loops = the plain posterior", () => {
  it("bit for bit after the float32 rounding, on random inputs with -inf entries, masked and unmasked tokens, jumps", () => {
    fc.assert(
      fc.property(inputArb, (r) => {
        const s = new VQDiffusionScheduler({ numVecClasses: r.K });
        const t = 1 + Math.floor(r.tFrac * 99);
        const g = new TorchGenerator().manualSeed(r.seed);
        const logp = Float32Array.from(g.rand([r.B, r.K - 1, r.N]).data, (u, i) => (i % 3 === 1 && r.infFraction > 0 ? -Infinity : -u * r.spread - 1));
        for (let b = 0; b < r.B; b++) for (let n = 0; n < r.N; n++) logp[b * (r.K - 1) * r.N + n] = -1;
        const tokens = Int32Array.from(g.rand([r.B * r.N]).data, (u) => (u < r.maskedFraction ? r.K - 1 : Math.floor(u * 1e6) % r.K));
        for (const prev of [t - 1, Math.floor(t / 2) - 1]) {
          const want = Float32Array.from(posteriorPlain(logp, tokens, r.B, r.K, r.N, transitionsAt(s, t, prev)));
          const got = s.qPosterior({ data: logp, dims: [r.B, r.K - 1, r.N] }, { data: tokens, dims: [r.B, r.N] }, t, { prevTimestep: prev }).data;
          expect(got).toEqual(want);
        }
      }),
      { numRuns: 150, seed: 99 },
    );
  });
});
