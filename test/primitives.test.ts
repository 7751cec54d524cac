/**
 * Each WASM SIMD primitive against its plain-TypeScript specification (src/kernels/plainPrimitives.ts),
 * including lengths that are not multiples of 4; and the embedded WASM against its source.
 */
import { execFileSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { TorchGenerator } from "../src/index.js";
import { createPlainPrimitives } from "../src/kernels/plainPrimitives.js";
import { EXP4_RELATIVE_ERROR, EXP_SUM_RELATIVE_ERROR, gumbelBound, MAX_CHUNK_ROWS } from "../src/kernels/primitives.js";
import { createWasmPrimitives, kernelBytes } from "../src/kernels/wasm/wasmPrimitives.js";
import { gumbelNoise } from "../src/random/gumbel.js";
import { MersenneTwister19937 } from "../src/random/mt19937.js";

const wasm = createWasmPrimitives(new WebAssembly.Module(kernelBytes()));
const plain = createPlainPrimitives();

function randomChunk(rows: number, N: number, seed: number): Float32Array {
  const u = new TorchGenerator().manualSeed(seed).rand([rows * N]).data;
  return Float32Array.from(u, (v, i) => (i % 7 === 3 ? -Infinity : v * 60 - 70));
}

describe("WASM primitives = plain primitives", () => {
  for (const N of [1, 4, 13, 64]) {
    const rows = 9;
    it(`mtFill continues the same stream (N = ${N})`, () => {
      const w = wasm.workspace({ N, rows, blocks: 0 });
      const mt = new MersenneTwister19937(N);
      mt.nextUint32();
      mt.saveTo(w.mtState);
      const reference = new MersenneTwister19937(N);
      reference.nextUint32();
      for (const count of [rows * N, 700, 3]) {
        wasm.mtFill(w.mtState, w.u, Math.min(count, w.u.length));
        for (let i = 0; i < Math.min(count, w.u.length); i++) expect(w.u[i]).toBe(reference.nextUint32());
      }
    });

    it(`chunkMax, raiseRef and expSum (N = ${N})`, () => {
      const w = wasm.workspace({ N, rows, blocks: 1 });
      const p = plain.workspace({ N, rows, blocks: 1 });
      const y = randomChunk(rows, N, N);
      w.y.set(y);
      p.y.set(y);
      wasm.chunkMax(w.y, rows, N, w.cmax);
      plain.chunkMax(p.y, rows, N, p.cmax);
      expect(w.cmax.subarray(0, N)).toEqual(p.cmax.subarray(0, N));
      for (const ws of [w, p]) {
        ws.ref.fill(-Infinity);
        ws.ref[0] = -80;
        ws.acc.fill(0);
        ws.acc[0] = 2;
      }
      wasm.raiseRef(w.cmax, w.ref, w.acc, N);
      plain.raiseRef(p.cmax, p.ref, p.acc, N);
      expect(w.ref.subarray(0, N)).toEqual(p.ref.subarray(0, N));
      expect(w.acc[0]).toBeCloseTo(p.acc[0], 15);
      wasm.expSum(w.y, rows, N, w.ref, w.acc, w.blockSum);
      plain.expSum(p.y, rows, N, p.ref, p.acc, p.blockSum);
      for (let n = 0; n < N; n++) {
        expect(Math.abs(w.blockSum[n] - p.blockSum[n])).toBeLessThanOrEqual(EXP_SUM_RELATIVE_ERROR * p.blockSum[n]);
        expect(Math.abs(w.acc[n] - p.acc[n])).toBeLessThanOrEqual(EXP_SUM_RELATIVE_ERROR * p.acc[n] + 1e-12);
      }
    });

    it(`chunkMax reports NaN (N = ${N})`, () => {
      const w = wasm.workspace({ N, rows, blocks: 0 });
      w.y.set(randomChunk(rows, N, 1));
      w.y[(rows - 1) * N + N - 1] = NaN;
      wasm.chunkMax(w.y, rows, N, w.cmax);
      expect(w.cmax[N - 1]).toBeNaN();
    });

    it(`screen passes every candidate whose bound reaches the threshold, and forced rows (N = ${N})`, () => {
      const w = wasm.workspace({ N, rows, blocks: 0 });
      const p = plain.workspace({ N, rows, blocks: 0 });
      const y = randomChunk(rows, N, 3);
      const g = new TorchGenerator().manualSeed(4);
      const draws = new Uint32Array(rows * N);
      g.fillUint32(draws);
      for (const ws of [w, p]) {
        ws.y.set(y);
        ws.u.set(draws);
        for (let n = 0; n < N; n++) {
          ws.A[n] = n % 3;
          ws.Bb[n] = -30 + n;
          ws.thr[n] = -25 + (n % 5) * 3;
          ws.skip[n] = n % 4 === 0 ? 2 : -1;
        }
      }
      const cw = wasm.screen({ y: w.y, u: w.u, rows, N, A: w.A, Bb: w.Bb, thr: w.thr, force: w.skip, rowBase: 0, slack: Math.LN2, surv: w.surv });
      const cp = plain.screen({ y: p.y, u: p.u, rows, N, A: p.A, Bb: p.Bb, thr: p.thr, force: p.skip, rowBase: 0, slack: Math.LN2, surv: p.surv });
      const got = new Set(w.surv.subarray(0, cw));
      for (let j = 0; j < cp; j++) {
        const i = p.surv[j];
        const n = i % N;
        const ub = Math.max(y[i] + p.A[n], p.Bb[n]) + Math.LN2 + gumbelBound(draws[i]);
        if (ub >= p.thr[n] + 1e-4 * (1 + Math.abs(ub)) || Math.floor(i / N) === p.skip[n]) expect(got.has(i)).toBe(true);
      }
      expect([...w.surv.subarray(0, cw)]).toEqual([...w.surv.subarray(0, cw)].sort((a, b) => a - b));
    });
  }

  it("gumbelBound bounds the Gumbel noise of every 24-bit uniform (sampled)", () => {
    for (let m = 0; m < 0x1000000; m += 997) expect(gumbelBound(m)).toBeGreaterThanOrEqual(gumbelNoise(m / 2 ** 24));
    expect(gumbelBound(0xffffff)).toBeGreaterThanOrEqual(gumbelNoise(0xffffff / 2 ** 24));
    expect(MAX_CHUNK_ROWS).toBe(64);
  });

  it("the kernels' float32 exp stays within EXP4_RELATIVE_ERROR (every 101st float32 in [-87.3, 0]; scripts/verify-exp.mjs checks all)", async () => {
    // @ts-expect-error: a plain .mjs script without types
    const { compileVerifier } = await import("../scripts/verify-exp.mjs");
    const maxRelativeError = compileVerifier() as (from: number, to: number, stride: number) => number;
    const worst = maxRelativeError(0x80000000, 0xc2ae999b, 101);
    expect(worst).toBeGreaterThan(1e-7);
    expect(worst).toBeLessThanOrEqual(EXP4_RELATIVE_ERROR);
  });

  it("the embedded WASM is the build of assembly/kernels.ts", () => {
    const out = execFileSync(process.execPath, ["scripts/build-wasm.mjs", "--check"], { encoding: "utf8" });
    expect(out).toContain("matches");
  });
});

describe("the step's WebAssembly memory is sized by K and N, never by the batch", () => {
  it("a 50 MB batch (K = 3, N = 65536, B = 100) needs no more memory than one item, within the documented bound, in both modes", async () => {
    const { fusedGumbelStep } = await import("../src/kernels/fusedStep.js");
    const { fastCategoricalStep } = await import("../src/kernels/fastStep.js");
    const { stepProblem } = await import("./helpers/stepProblem.js");
    const { cumulativeLogs, oneStepLogs } = await import("../src/transitions/transitionRows.js");
    const { computeLogSchedule } = await import("../src/schedule/logSchedule.js");
    const { VQDiffusionScheduler } = await import("../src/index.js");
    const K = 3, N = 65536;
    const schedule = computeLogSchedule(new VQDiffusionScheduler({ numVecClasses: K }).config);
    const transitions = { cumulativeAtT: cumulativeLogs(schedule, 50), cumulativeAtS: cumulativeLogs(schedule, 49), stepSToT: oneStepLogs(schedule, 50) };
    const prims = createWasmPrimitives(new WebAssembly.Module(kernelBytes()));
    const memory = () => prims.workspace({ N: 1, rows: 1, blocks: 0 }).y.buffer.byteLength;
    const before = memory();
    const sizes: number[] = [];
    for (const B of [1, 100]) {
      const logp = new Float32Array(B * (K - 1) * N).map((_, i) => -(i % 7) / 3);
      const tokens = new Int32Array(B * N).map((_, i) => i % K);
      expect(fusedGumbelStep(stepProblem(prims, logp, tokens, B, K, N, transitions, new TorchGenerator().manualSeed(0)))).not.toBeNull();
      expect(fastCategoricalStep(stepProblem(prims, logp, tokens, B, K, N, transitions, new TorchGenerator().manualSeed(0)))).not.toBeNull();
      sizes.push(memory() - before);
    }
    expect(sizes[1]).toBe(sizes[0]);
    // sweep.ts: 12·chunks·N + 36·N + 12·max(32768, N) bytes, plus 16-byte alignment and 64 KiB pages.
    const chunks = K - 1;
    expect(sizes[0]).toBeLessThanOrEqual(12 * chunks * N + 36 * N + 12 * Math.max(32768, N) + 2 ** 16 + 16 * 16);
  });
});
