/**
 * Respaced timesteps and the exact multi-step posterior: spacings, the closed-form jump against a
 * brute-force product of one-step matrices, kernel = plain on respaced chains, fast-mode fit.
 */
import { describe, expect, it } from "vitest";
import { TorchGenerator, VQDiffusionScheduler } from "../src/index.js";
import { fastCategoricalStep } from "../src/kernels/fastStep.js";
import { fusedGumbelStep } from "../src/kernels/fusedStep.js";
import { gumbelArgmaxPlain } from "../src/oracles/gumbelArgmaxPlain.js";
import { createPlainPrimitives } from "../src/kernels/plainPrimitives.js";
import { createWasmPrimitives, kernelBytes } from "../src/kernels/wasm/wasmPrimitives.js";
import { posteriorPlain } from "../src/oracles/posteriorPlain.js";
import { posteriorTransitions, type PosteriorTransitions } from "../src/posterior/pixelPosterior.js";
import { computeLogSchedule } from "../src/schedule/logSchedule.js";
import { stepProblem } from "./helpers/stepProblem.js";
import { chiSquareTest } from "./helpers/chiSquare.mjs";

type Options = ConstructorParameters<typeof VQDiffusionScheduler>[0];
const transitionsOf = (s: VQDiffusionScheduler, t: number, prev: number): PosteriorTransitions =>
  posteriorTransitions(computeLogSchedule(s.config), t, prev, s.numEmbed);

describe("setTimesteps spacings", () => {
  const s = new VQDiffusionScheduler({ numVecClasses: 5 });
  it.each([
    [10, "linspace", [99, 88, 77, 66, 55, 44, 33, 22, 11, 0]],
    [10, "leading", [90, 80, 70, 60, 50, 40, 30, 20, 10, 0]],
    [10, "trailing", [99, 89, 79, 69, 59, 49, 39, 29, 19, 9]],
    [4, undefined, [3, 2, 1, 0]],
    [7, "linspace", [99, 82, 66, 50, 33, 16, 0]],
    [1, "linspace", [0]],
  ] as const)("%i steps, %s", (n, spacing, expected) => {
    s.setTimesteps(n, { timestepSpacing: spacing });
    expect([...s.timesteps]).toEqual(expected);
    expect(s.timestepSpacing).toBe(spacing);
    expect(s.prevTimestep(expected[0])).toBe(expected.length > 1 ? expected[1] : -1);
    expect(s.prevTimestep(expected[expected.length - 1])).toBe(-1);
  });
  it("rejects an unknown spacing and a prevTimestep outside [-1, t-1]", () => {
    expect(() => s.setTimesteps(10, { timestepSpacing: "cosine" as never })).toThrow(
      new Error('timestepSpacing: expected "linspace", "leading" or "trailing" (or none, for the reference\'s n-1 … 0), got "cosine"'),
    );
    const logp = { data: new Float32Array(4).fill(Math.log(0.25)), dims: [1, 4, 1] };
    const x = { data: Int32Array.of(4), dims: [1, 1] };
    expect(() => s.qPosterior(logp, x, 10, { prevTimestep: 10 })).toThrow(new Error("prevTimestep: expected an integer in [-1, 9] (t - 1 at most), got 10"));
    expect(() => s.qPosterior(logp, x, 10, { prevTimestep: -2 })).toThrow(new Error("prevTimestep: expected an integer in [-1, 9] (t - 1 at most), got -2"));
  });
});

/** One-step matrices Q_i[from][to] of the schedule, in float64, derived here from the options. */
function oneStepMatrices(o: Required<Options>): number[][][] {
  const { numVecClasses: K, numTrainTimesteps: T } = o;
  const att = (i: number) => (i < 0 ? 1 : (i / (T - 1)) * (o.alphaCumEnd - o.alphaCumStart) + o.alphaCumStart);
  const ctt = (i: number) => (i < 0 ? 0 : (i / (T - 1)) * (o.gammaCumEnd - o.gammaCumStart) + o.gammaCumStart);
  return Array.from({ length: T }, (_, i) => {
    const a = att(i) / att(i - 1);
    const g = 1 - (1 - ctt(i)) / (1 - ctt(i - 1));
    const b = (1 - a - g) / (K - 1);
    return Array.from({ length: K }, (_, from) =>
      Array.from({ length: K }, (_, to) => (from === K - 1 ? (to === K - 1 ? 1 : 0) : to === K - 1 ? g : to === from ? a + b : b)),
    );
  });
}

function multiply(a: number[][], b: number[][]): number[][] {
  return a.map((row) => b[0].map((_, j) => row.reduce((acc, v, k) => acc + v * b[k][j], 0)));
}

/** Q_{from+1} ⋯ Q_to (identity when from = to). */
function product(Q: number[][][], from: number, to: number): number[][] {
  let m: number[][] = Q[0].map((row, i) => row.map((_, j) => (i === j ? 1 : 0)));
  for (let i = from + 1; i <= to; i++) m = multiply(m, Q[i]);
  return m;
}

describe("exact jump posterior = brute-force product of one-step matrices", () => {
  const options = { numVecClasses: 6, numTrainTimesteps: 20, alphaCumStart: 0.95, alphaCumEnd: 0.05, gammaCumStart: 0.02, gammaCumEnd: 0.7 };
  const s = new VQDiffusionScheduler(options);
  const Q = oneStepMatrices(s.config as Required<Options>);
  const K = 6;
  const g = new TorchGenerator().manualSeed(5);
  const raw = g.rand([K - 1]).data;
  const z = raw.reduce((a, v) => a + Math.exp(3 * v), 0);
  const logPX0 = Float32Array.from(raw, (v) => 3 * v - Math.log(z));
  it.each([
    [10, 9],
    [10, 5],
    [10, 0],
    [10, -1],
    [19, 3],
    [3, -1],
    [1, 0],
  ])("t = %i, s = %i, every x_t", (t, prev) => {
    const Ct = product(Q, -1, t);
    const Cs = product(Q, -1, prev);
    const M = product(Q, prev, t);
    for (let xt = 0; xt < K; xt++) {
      const got = s.qPosterior({ data: logPX0, dims: [1, K - 1, 1] }, { data: Int32Array.of(xt), dims: [1, 1] }, t, { prevTimestep: prev }).data;
      const want = Array.from({ length: K }, (_, c2) => {
        let sum = 0;
        for (let c = 0; c < K - 1; c++) sum += (Cs[c][c2] * Math.exp(logPX0[c])) / Ct[c][xt];
        return Math.log(M[c2][xt] * sum);
      });
      const top = Math.max(...want);
      for (let c2 = 0; c2 < K; c2++) {
        if (want[c2] === -Infinity || want[c2] < top - 40) expect(got[c2]).toBeLessThan(top - 40); // probability 0 (the reference's 1e-30 floor)
        else expect(Math.abs(got[c2] - want[c2])).toBeLessThanOrEqual(1e-5 + 1e-5 * Math.abs(want[c2]));
      }
    }
  });
});

describe("respaced chains: kernels = plain, and fast mode fits", () => {
  const backends = [
    ["wasm", createWasmPrimitives(new WebAssembly.Module(kernelBytes()))],
    ["js", createPlainPrimitives()],
  ] as const;
  it.each(["linspace", "leading", "trailing"] as const)("%s: every step of a 10-step chain, token for token", (spacing) => {
    const K = 40;
    const N = 37;
    const s = new VQDiffusionScheduler({ numVecClasses: K });
    s.setTimesteps(10, { timestepSpacing: spacing });
    const g = new TorchGenerator().manualSeed(1);
    for (const t of s.timesteps) {
      const logp = Float32Array.from(g.rand([K - 1, N]).data, (u) => u * 10 - 12);
      const tokens = Int32Array.from(g.rand([N]).data, (u) => (u < 0.5 ? K - 1 : Math.floor(u * 1000) % K));
      const prev = s.prevTimestep(t);
      const plainOut =
        t === 0
          ? gumbelArgmaxPlain(logp, 1, K - 1, N, new TorchGenerator().manualSeed(t))
          : gumbelArgmaxPlain(posteriorPlain(logp, tokens, 1, K, N, transitionsOf(s, t, prev)), 1, K, N, new TorchGenerator().manualSeed(t));
      for (const [, prims] of backends) {
        const transitions = t === 0 ? null : transitionsOf(s, t, prev);
        expect(fusedGumbelStep(stepProblem(prims, logp, tokens, 1, K, N, transitions, new TorchGenerator().manualSeed(t)))).toEqual(plainOut);
      }
      const viaStep = s.step({ data: logp, dims: [1, K - 1, N] }, t, { data: tokens, dims: [1, N] }, { generator: new TorchGenerator().manualSeed(t) });
      expect(viaStep.prevSample.data).toEqual(plainOut);
    }
  });

  it("fast mode draws the exact jump posterior (t = 60 → s = 20, chi-square)", () => {
    const K = 9;
    const N = 20000;
    const s = new VQDiffusionScheduler({ numVecClasses: K, alphaCumStart: 0.9, alphaCumEnd: 0.1, gammaCumStart: 0.01, gammaCumEnd: 0.3 });
    const column = Float32Array.from(new TorchGenerator().manualSeed(8).rand([K - 1]).data, (u) => u * 5 - 6);
    for (const x of [K - 1, 2]) {
      const logp = new Float32Array((K - 1) * N);
      for (let c = 0; c < K - 1; c++) logp.fill(column[c], c * N, (c + 1) * N);
      const out = fastCategoricalStep(stepProblem(createPlainPrimitives(), logp, new Int32Array(N).fill(x), 1, K, N, transitionsOf(s, 60, 20), new TorchGenerator().manualSeed(x)))!;
      const exact = s.qPosterior({ data: column, dims: [1, K - 1, 1] }, { data: Int32Array.of(x), dims: [1, 1] }, 60, { prevTimestep: 20 }).data;
      const m = Math.max(...exact);
      const p = Array.from(exact, (v) => Math.exp(v - m));
      const total = p.reduce((a, b) => a + b, 0);
      const counts = new Array(K).fill(0);
      for (const v of out) counts[v]++;
      expect(chiSquareTest(counts, p.map((v) => v / total)).p).toBeGreaterThan(1e-3);
    }
  });
});
