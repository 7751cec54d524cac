/**
 * The guidance pass split over threads (threadedGuideTruncateClamp, the sampler with a pool) against
 * the pass on one thread (guideTruncateClamp, the oracle): the same float32 bits for 1 to 4 threads,
 * guided and not, rates 1 and below, top-k, B = 1, 3 and 16, odd N; random inputs with −inf entries;
 * the same errors, with nothing posted; the sampler's tokens with and without a pool; a helper that
 * fails. The helpers are worker_threads running the built package (`dist/`, which `npm test` builds
 * first).
 */
import fc from "fast-check";
import { describe, expect, it, vi } from "vitest";
import { fakeWorker, testPools } from "./helpers/threadPools.js";
import { StepThreadPool, TorchGenerator, VQDiffusionSampler, VQDiffusionScheduler } from "../src/index.js";
import { guideTruncateClamp } from "../src/sampling/fusedGuidance.js";
import { SPLIT_GUIDANCE_MIN_VALUES, splitGuidancePays, threadedGuideTruncateClamp } from "../src/sampling/threadedGuidance.js";
import type { Tensor } from "../src/tensor/types.js";

/** Helpers of every size the tests use, started once: threads − 1 workers each. */
const pool = testPools();

/** A small deterministic stream of numbers in [0, 1) (a linear congruential generator) for building inputs. */
function lcg(seed: number): () => number {
  let x = seed;
  return () => (x = (x * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
}

/** (rows, C, N) log-softmax columns in float32 of random sharpness, as a model gives. */
function normalised(next: () => number, rows: number, C: number, N: number): Float32Array {
  const out = new Float32Array(rows * C * N);
  const col = new Float64Array(C);
  for (let b = 0; b < rows; b++) {
    for (let n = 0; n < N; n++) {
      const scale = 0.1 + 30 * next();
      let m = -Infinity;
      for (let c = 0; c < C; c++) m = Math.max(m, (col[c] = scale * next() ** 3));
      let z = 0;
      for (let c = 0; c < C; c++) z += Math.exp(col[c] - m);
      for (let c = 0; c < C; c++) out[(b * C + c) * N + n] = Math.fround(col[c] - m - Math.log(z));
    }
  }
  return out;
}

type Outcome = { bits: Uint32Array; posted: number } | { error: string; posted: number };

/** The outcome with its bits replaced by where they first differ from `want`'s (−1: nowhere), for a fast comparison. */
function against(got: { bits: Uint32Array } | { error: string }, want: { bits: Uint32Array } | { error: string }): unknown {
  if (!("bits" in got) || !("bits" in want)) return got;
  const { bits, ...rest } = got;
  let at = bits.length === want.bits.length ? -1 : Math.min(bits.length, want.bits.length);
  for (let i = 0; at < 0 && i < bits.length; i++) if (bits[i] !== want.bits[i]) at = i;
  return { ...rest, firstDifference: at };
}

/** The pass split over `p` into a fresh shared array: its bits (or error) and the shares it posted. */
async function split(p: StepThreadPool, src: Float32Array, B: number, C: number, N: number, guided: boolean, scale: number, rate: number, topK: number | undefined): Promise<Outcome> {
  const input = src.slice();
  const run = vi.spyOn(p, "run");
  try {
    const into = new Float32Array(new SharedArrayBuffer(4 * B * C * N));
    const out = await threadedGuideTruncateClamp(input, B, C, N, guided, scale, rate, topK, "guidanceScale", p, into);
    expect(Buffer.compare(Buffer.from(input.buffer), Buffer.from(src.buffer))).toBe(0); // input not modified
    return { bits: new Uint32Array(out.buffer, out.byteOffset, out.length).slice(), posted: run.mock.calls.length };
  } catch (e) {
    return { error: (e as Error).message, posted: run.mock.calls.length };
  } finally {
    run.mockRestore();
  }
}

/** The pass on one thread: its bits, or its error. */
function alone(src: Float32Array, B: number, C: number, N: number, guided: boolean, scale: number, rate: number, topK: number | undefined): { bits: Uint32Array } | { error: string } {
  try {
    const out = guideTruncateClamp(src, B, C, N, guided, scale, rate, topK, "guidanceScale");
    return { bits: new Uint32Array(out.buffer, out.byteOffset, out.length) };
  } catch (e) {
    return { error: (e as Error).message };
  }
}

describe("the guidance pass split over threads = the pass on one thread", () => {
  const C = 256;
  for (const B of [1, 3, 16]) {
    for (const N of [49, 13]) {
      it(`B = ${B}, C = ${C}, N = ${N} (odd): 1 to 4 threads, guided and not, rates 1 and 0.9, top-k: the same bits, each helper posted one share`, async () => {
        for (const guided of [true, false]) {
          const src = normalised(lcg(B * 100 + N), guided ? 2 * B : B, C, N);
          for (const [rate, topK] of [[1, undefined], [0.9, undefined], [1, 5], [Math.fround(1 - 2 ** -24), 200]] as const) {
            const want = alone(src, B, C, N, guided, 5, rate, topK);
            expect("bits" in want).toBe(true);
            for (const threads of [1, 2, 3, 4]) {
              const got = await split(pool(threads), src, B, C, N, guided, 5, rate, topK);
              // Helpers take ranges of 4 pixels at least (splitPixels): N = 13 has 4 of them.
              expect(against(got, want)).toEqual({ firstDifference: -1, posted: Math.min(threads, Math.ceil(N / 4)) - 1 });
            }
          }
        }
      });
    }
  }

  it("random inputs (B ≤ 4, C ≤ 40, N ≤ 60, −inf entries, scales 0 to 20, every rate and top-k, 1 to 4 threads): the same bits or the same error", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          B: fc.integer({ min: 1, max: 4 }),
          C: fc.integer({ min: 1, max: 40 }),
          N: fc.integer({ min: 1, max: 60 }),
          guided: fc.boolean(),
          scale: fc.constantFrom(0, 0.5, 1, 1.5, 5, 20),
          rate: fc.constantFrom(1, Math.fround(1 - 2 ** -24), 0.9, 0.5),
          topK: fc.constantFrom(undefined, 1, 3, 50),
          minusInf: fc.constantFrom(0, 0, 0.02, 0.2),
          threads: fc.integer({ min: 1, max: 4 }),
          seed: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
        }),
        async ({ B, C, N, guided, scale, rate, topK, minusInf, threads, seed }) => {
          const next = lcg(seed);
          const rows = guided ? 2 * B : B;
          const src = normalised(next, rows, C, N);
          for (let i = 0; i < src.length; i++) if (next() < minusInf) src[i] = -Infinity;
          // A finite class at every pixel of every row, as the sampler's check ensures.
          for (let b = 0; b < rows; b++) for (let n = 0; n < N; n++) if (src[b * C * N + n] === -Infinity) src[b * C * N + n] = -next();
          const want = alone(src, B, C, N, guided, scale, rate, topK);
          const { posted, ...got } = await split(pool(threads), src, B, C, N, guided, scale, rate, topK);
          expect(against(got, want)).toEqual("bits" in want ? { firstDifference: -1 } : want);
          if ("error" in want) expect(posted).toBe(0);
        },
      ),
      { numRuns: 300, seed: 2126 },
    );
  });

  it("bad inputs: one thread's error, thrown before anything is posted", async () => {
    const B = 2;
    const C = 8;
    const N = 9;
    const src = normalised(lcg(7), 2 * B, C, N);
    const noUnconditional = src.slice();
    noUnconditional[(1 * C + 3) * N + 6] = -Infinity; // item 1, class 3, pixel 6 of the unconditional half
    const cases: [Float32Array, number, string][] = [
      [noUnconditional, 5, "output: expected an unconditional half that is finite wherever the conditional half is (guidance divides by it), got -inf at batch 1, class 3, pixel 6"],
      [src, 1e38, "guidanceScale: expected a scale at which u + scale·(c − u) stays finite in float32, got 1e+38, which gives"],
    ];
    for (const [input, scale, message] of cases) {
      expect(alone(input, B, C, N, true, scale, 1, undefined)).toEqual({ error: expect.stringContaining(message) });
      const want = alone(input, B, C, N, true, scale, 1, undefined);
      for (const threads of [2, 4]) expect(await split(pool(threads), input, B, C, N, true, scale, 1, undefined)).toEqual({ ...want, posted: 0 });
    }
  });
});

/** A worker in this thread that answers each post with `answer(task)` (a message), or emits an error. */

describe("a helper that fails", () => {
  const B = 2;
  const C = 8;
  const N = 16;
  const src = normalised(lcg(3), 2 * B, C, N);
  it("a helper's error event rejects the pass with it", async () => {
    const failing = new StepThreadPool({ threads: 2, createWorker: () => fakeWorker((_, emit) => emit("error", { message: "out of memory" })) });
    expect(await split(failing, src, B, C, N, true, 5, 1, undefined)).toEqual({ error: "step thread pool: helper 1 failed: out of memory", posted: 1 });
    await failing.close();
  });
  it("a helper's share that throws rejects the pass with its message", async () => {
    const throwing = new StepThreadPool({
      threads: 3,
      createWorker: () => fakeWorker((task, emit) => emit("message", { data: { id: task.id, ok: false, draws: [], survivors: 0, nearTies: 0, error: "boom" } })),
    });
    expect(await split(throwing, src, B, C, N, false, 1, 1, undefined)).toEqual({ error: "step thread pool: a helper failed: boom", posted: 2 });
    await throwing.close();
  });
});

/**
 * A guided model-like denoiser (K = 257, any N): log-softmax columns that depend on the tokens, the
 * timestep and the half ([unconditional; conditional]), all finite.
 */
function syntheticDenoiser(C: number) {
  return (sample: Tensor<Int32Array> | Tensor<BigInt64Array>, t: number): Tensor<Float32Array> => {
    const [B2, N] = sample.dims;
    const x = sample.data;
    const out = new Float32Array(B2 * C * N);
    const col = new Float64Array(C);
    for (let b = 0; b < B2; b++) {
      for (let n = 0; n < N; n++) {
        const token = Number(x[b * N + n]);
        let m = -Infinity;
        for (let c = 0; c < C; c++) m = Math.max(m, (col[c] = 6 * Math.sin(0.7 * c + 1.3 * n + 0.11 * t + 0.37 * token + 2.1 * b) * Math.cos(0.05 * c * (1 + (b % 3)))));
        let z = 0;
        for (let c = 0; c < C; c++) z += Math.exp(col[c] - m);
        for (let c = 0; c < C; c++) out[(b * C + c) * N + n] = Math.fround(col[c] - m - Math.log(z));
      }
    }
    return { data: out, dims: [B2, C, N] };
  };
}

describe("the sampler with a pool", () => {
  const K = 257;
  const N = 49;
  const scheduler = new VQDiffusionScheduler({ numVecClasses: K });
  const sampler = new VQDiffusionSampler({ scheduler, denoiser: syntheticDenoiser(K - 1) });

  it("splitGuidancePays: only with helpers, from SPLIT_GUIDANCE_MIN_VALUES values, with two pixel ranges", () => {
    expect(SPLIT_GUIDANCE_MIN_VALUES).toBe(4 * 256 * 49);
    expect(splitGuidancePays(pool(2), 4, 256, 49)).toBe(true);
    expect(splitGuidancePays(pool(2), 3, 256, 49)).toBe(false);
    expect(splitGuidancePays(pool(1), 16, 256, 49)).toBe(false);
    expect(splitGuidancePays(pool(2), 20_000, 1, 4)).toBe(false); // one range of pixels
    expect(splitGuidancePays(pool(2), 11_000, 1, 5)).toBe(true);
  });

  for (const [B, guidanceScale, truncationRate, mode] of [
    [5, 5, 1, "reference"],
    [4, 3, 0.9, "fast"],
    [6, 1, 0.95, "reference"],
    [1, 5, 1, "reference"],
  ] as const) {
    it(`B = ${B}, guidance ${guidanceScale}, rate ${truncationRate}, ${mode} mode: the same tokens with 2 and 3 threads as without a pool`, async () => {
      const options = { batchSize: B, numLatentPixels: N, numInferenceSteps: 6, guidanceScale, truncationRate, mode, timestepSpacing: "linspace" as const };
      const want = (await sampler.sample({ ...options, generator: new TorchGenerator().manualSeed(B) })).tokens.data;
      for (const threads of [2, 3]) {
        const p = pool(threads);
        const run = vi.spyOn(p, "run");
        try {
          const got = (await sampler.sample({ ...options, generator: new TorchGenerator().manualSeed(B), threads: p })).tokens.data;
          expect(got).toEqual(want);
          const guidanceShares = run.mock.calls.filter(([, task]) => task.mode === "guidance").length;
          // Split from 4 images of (256, 49) up: every step posts one share to each helper.
          expect(guidanceShares).toBe(B >= 4 ? 6 * (threads - 1) : 0);
        } finally {
          run.mockRestore();
        }
      }
    });
  }

  it("a helper's error event rejects the run with it", async () => {
    const failing = new StepThreadPool({ threads: 2, createWorker: () => fakeWorker((_, emit) => emit("error", { message: "out of memory" })) });
    await expect(sampler.sample({ batchSize: 4, numLatentPixels: N, numInferenceSteps: 2, guidanceScale: 5, threads: failing })).rejects.toThrow("step thread pool: helper 1 failed: out of memory");
    await failing.close();
  });
});
