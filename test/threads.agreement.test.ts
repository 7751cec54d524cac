/**
 * The step split over threads (`stepAsync` with a `StepThreadPool`) against the step on one thread
 * (`step`, the oracle): the same tokens, and the generator at the same next draw, for 1, 2, 3 and 4
 * threads, both modes, the three kinds of tokens of a chain (all masked, two thirds masked, all
 * unmasked), B = 1 and B > 1, odd N (uneven ranges); fast mode's redraw after a rejection; two
 * generations sharing a pool; a platform without shared memory; the errors of bad pools.
 * The helpers are worker_threads running the built package (`dist/`, which `npm test` builds first).
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { createNodeStepThreadPool } from "../dist/node.js";
import { fakeWorker, testPools } from "./helpers/threadPools.js";
import { setKernelBackend, StepThreadPool, TorchGenerator, VQDiffusionSampler, VQDiffusionScheduler } from "../src/index.js";
import { stepPrimitives } from "../src/kernels/backend.js";
import { createPlainPrimitives } from "../src/kernels/plainPrimitives.js";
import { createWasmPrimitives, kernelBytes } from "../src/kernels/wasm/wasmPrimitives.js";
import { fastCategoricalStep } from "../src/kernels/fastStep.js";
import { fusedGumbelStep } from "../src/kernels/fusedStep.js";
import { posteriorRows, posteriorTransitions } from "../src/posterior/pixelPosterior.js";
import { computeLogSchedule } from "../src/schedule/logSchedule.js";
import { threadedStep, type ThreadedStepStats } from "../src/kernels/threads/threadedStep.js";
import { splitPixels } from "../src/kernels/threads/pixelRanges.js";
import { pixelArtDenoiser, pixelArtScheduler } from "../src/demo/pixelArtSampler.js";
import type { StepMode } from "../src/scheduler/vqDiffusionScheduler.js";

type Kind = "masked" | "mixed" | "unmasked";

/** Helpers of every size the tests use, started once: threads − 1 workers each. */
const pool = testPools();

/** Normalised log-probabilities (B, K − 1, N) and tokens of a kind, as the kernel backend tests build them. */
function inputs(K: number, N: number, B: number, kind: Kind, seed = 4) {
  const u = new TorchGenerator().manualSeed(seed).rand([B * (K - 1) * N]).data;
  const data = new Float32Array(B * (K - 1) * N);
  for (let b = 0; b < B; b++) {
    for (let n = 0; n < N; n++) {
      const at = (c: number) => (b * (K - 1) + c) * N + n;
      let m = -Infinity;
      for (let c = 0; c < K - 1; c++) m = Math.max(m, 8 * u[at(c)]);
      let z = 0;
      for (let c = 0; c < K - 1; c++) z += Math.exp(8 * u[at(c)] - m);
      for (let c = 0; c < K - 1; c++) data[at(c)] = 8 * u[at(c)] - m - Math.log(z);
    }
  }
  const tokens = new Int32Array(B * N).map((_, i) =>
    kind === "masked" ? K - 1 : kind === "mixed" ? (i % 3 === 0 ? (i * 7) % (K - 1) : K - 1) : (2654435761 * i) % (K - 1),
  );
  return { modelOutput: { data, dims: [B, K - 1, N] }, sample: { data: tokens, dims: [B, N] } };
}

/** A chain of steps t = 30, 1, 0 on one generator: each step's tokens and the next draw after them. */
async function chain(s: VQDiffusionScheduler, kind: Kind, B: number, N: number, mode: StepMode, threads: number | null) {
  const { modelOutput, sample } = inputs(s.numEmbed, N, B, kind);
  const generator = new TorchGenerator().manualSeed(11);
  const out: number[][] = [];
  for (const t of [30, 1, 0]) {
    const r = threads === null
      ? s.step(modelOutput, t, sample, { generator, mode })
      : await s.stepAsync(modelOutput, t, sample, { generator, mode, threads: pool(threads) });
    out.push(Array.from(r.prevSample.data));
  }
  return { out, next: generator.nextUint32() };
}

describe("splitPixels", () => {
  it("covers [0, N) with min(threads, ⌈N/4⌉) non-empty consecutive ranges starting at multiples of 4", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 5000 }), fc.integer({ min: 1, max: 64 }), fc.constantFrom(0.25, 0.85, 1, 3), (N, threads, weight) => {
        const ranges = splitPixels(N, threads, weight);
        expect(ranges.length).toBe(Math.min(threads, Math.ceil(N / 4)));
        let at = 0;
        for (const { n0, n1 } of ranges) {
          expect(n0).toBe(at);
          expect(n0 % 4).toBe(0);
          expect(n1).toBeGreaterThan(n0);
          at = n1;
        }
        expect(at).toBe(N);
      }),
      { numRuns: 500, seed: 8 },
    );
    expect(splitPixels(10, 3)).toEqual([{ n0: 0, n1: 4 }, { n0: 4, n1: 8 }, { n0: 8, n1: 10 }]);
    expect(splitPixels(1024, 2)).toEqual([{ n0: 0, n1: 512 }, { n0: 512, n1: 1024 }]);
  });
});

describe("mtFillColumns: a range's columns of the (class, pixel) stream", () => {
  const backends = [
    ["wasm", createWasmPrimitives(new WebAssembly.Module(kernelBytes()))],
    ["js", createPlainPrimitives()],
  ] as const;
  for (const [name, prims] of backends) {
    it(`${name}: equals the columns of the whole rows, and leaves the stream where the whole rows do`, () => {
      fc.assert(
        fc.property(
          fc.record({ seed: fc.integer({ min: 0, max: 1000 }), offset: fc.integer({ min: 0, max: 1300 }), rows: fc.integer({ min: 1, max: 5 }), N: fc.integer({ min: 1, max: 900 }), a: fc.nat(), b: fc.nat() }),
          ({ seed, offset, rows, N, a, b }) => {
            const n0 = a % N;
            const W = 1 + (b % (N - n0));
            const ws = prims.workspace({ N: Math.max(N, W), rows, blocks: 0 });
            const g = new TorchGenerator().manualSeed(seed);
            g.fillUint32(new Uint32Array(offset + 1));
            const whole = new Uint32Array(rows * N);
            const state = g.getState();
            g.fillUint32(whole);
            ws.mtState.set(state);
            prims.mtFillColumns(ws.mtState, ws.u, rows, N, n0, W);
            for (let r = 0; r < rows; r++) expect(Array.from(ws.u.subarray(r * W, (r + 1) * W))).toEqual(Array.from(whole.subarray(r * N + n0, r * N + n0 + W)));
            expect(Array.from(ws.mtState)).toEqual(Array.from(g.getState()));
          },
        ),
        { numRuns: 200, seed: 5 },
      );
    });
  }
});

describe("the step split over threads = the step on one thread", () => {
  const K = 257;
  it("with the plain-TypeScript kernels (on every thread): the same tokens and next draw", async () => {
    setKernelBackend("js");
    try {
      const s = new VQDiffusionScheduler({ numVecClasses: 65 });
      for (const mode of ["reference", "fast"] as const) {
        const want = await chain(s, "mixed", 2, 45, mode, null);
        for (const threads of [2, 3]) expect(await chain(s, "mixed", 2, 45, mode, threads)).toEqual(want);
      }
    } finally {
      setKernelBackend("auto");
    }
  });

  for (const mode of ["reference", "fast"] as const) {
    for (const kind of ["masked", "mixed", "unmasked"] as const) {
      for (const B of [1, 3]) {
        it(`${mode} mode, ${kind} tokens, B = ${B}, N = 97 (uneven ranges): 1, 2, 3 and 4 threads give the same tokens and the same next draw`, async () => {
          const s = new VQDiffusionScheduler({ numVecClasses: K });
          const want = await chain(s, kind, B, 97, mode, null);
          for (const threads of [1, 2, 3, 4]) expect(await chain(s, kind, B, 97, mode, threads)).toEqual(want);
        });
      }
    }
  }

  it("random problems (K up to 150, N up to 45, B up to 3, all t, both modes, 1 to 4 threads): token for token, next draw included", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          K: fc.integer({ min: 2, max: 150 }),
          N: fc.integer({ min: 1, max: 45 }),
          B: fc.integer({ min: 1, max: 3 }),
          t: fc.integer({ min: 0, max: 99 }),
          threads: fc.integer({ min: 1, max: 4 }),
          mode: fc.constantFrom<StepMode>("reference", "fast"),
          seed: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
          spread: fc.constantFrom(0, 0.001, 1, 8, 40),
          maskedFraction: fc.double({ min: 0, max: 1, noNaN: true }),
        }),
        async (r) => {
          const s = new VQDiffusionScheduler({ numVecClasses: r.K });
          const g = new TorchGenerator().manualSeed(r.seed);
          const data = Float32Array.from(g.rand([r.B * (r.K - 1) * r.N]).data, (u) => -u * r.spread - 1);
          const tokens = Int32Array.from(g.rand([r.B * r.N]).data, (u) => (u < r.maskedFraction ? r.K - 1 : Math.floor(u * 1e6) % r.K));
          const modelOutput = { data, dims: [r.B, r.K - 1, r.N] };
          const sample = { data: tokens, dims: [r.B, r.N] };
          const g1 = new TorchGenerator().manualSeed(r.seed + 1);
          const g2 = new TorchGenerator().manualSeed(r.seed + 1);
          const want = s.step(modelOutput, r.t, sample, { generator: g1, mode: r.mode }).prevSample.data;
          const got = (await s.stepAsync(modelOutput, r.t, sample, { generator: g2, mode: r.mode, threads: pool(r.threads) })).prevSample.data;
          expect(got).toEqual(want);
          expect(g2.nextUint32()).toBe(g1.nextUint32());
        },
      ),
      { numRuns: 150, seed: 2121 },
    );
  });

  it("fast mode: a rejection in an earlier unit makes the later units draw again from their true position, and the result stays exact", async () => {
    // K = 3, N·B = 60 000 at t = 0: each pixel is rejected with probability ~3e-5. Seed 6 rejects one
    // pixel of the first half (2 extra draws) and two of the second; seed 0 two of the first half.
    const K = 3;
    const cases = [
      { seed: 6, B: 1, redrawn: 1 },
      { seed: 0, B: 1, redrawn: 1 },
      { seed: 6, B: 2, redrawn: 3 },
    ];
    for (const { seed, B, redrawn } of cases) {
      const N = 60_000 / B;
      const logp = Float32Array.from(new TorchGenerator().manualSeed(seed).rand([B * (K - 1) * N]).data, (u) => -u * 3);
      const tokens = new Int32Array(B * N).fill(K - 1);
      const problem = (generator: TorchGenerator) => ({ prims: stepPrimitives(), logp, tokens, B, K, N, posterior: null, generator });
      const g1 = new TorchGenerator().manualSeed(seed);
      const want = fastCategoricalStep(problem(g1));
      const g2 = new TorchGenerator().manualSeed(seed);
      const stats: ThreadedStepStats = { survivors: 0, nearTies: 0, redrawnUnits: 0 };
      const got = await threadedStep(problem(g2), "fast", pool(2), "wasm", stats);
      expect(stats.redrawnUnits).toBe(redrawn);
      expect(got).toEqual(want);
      expect(g2.nextUint32()).toBe(g1.nextUint32());
    }
  });

  it("reference mode: near ties (two equal classes, 200 000 pixels) are replayed per range and stay exact", async () => {
    // Seeds 8, 9 and 10 have 2 near ties each, all in the helpers' ranges (for 2 and for 3 threads).
    const K = 3;
    const N = 200_000;
    const s = new VQDiffusionScheduler({ numVecClasses: K });
    const logp = new Float32Array(2 * N).fill(Math.log(0.5));
    const tokens = new Int32Array(N).fill(K - 1);
    const posterior = posteriorRows(posteriorTransitions(computeLogSchedule(s.config), 30, 29, K));
    const problem = (generator: TorchGenerator) => ({ prims: stepPrimitives(), logp, tokens, B: 1, K, N, posterior, generator });
    for (const seed of [8, 9, 10]) {
      const g1 = new TorchGenerator().manualSeed(seed);
      const want = fusedGumbelStep(problem(g1));
      for (const threads of [2, 3]) {
        const g2 = new TorchGenerator().manualSeed(seed);
        const stats: ThreadedStepStats = { survivors: 0, nearTies: 0, redrawnUnits: 0 };
        const got = await threadedStep(problem(g2), "reference", pool(threads), "wasm", stats);
        expect(stats.nearTies).toBe(2);
        expect(got).toEqual(want);
        expect(g2.nextUint32()).toBe(new TorchGenerator().setState(g1.getState()).nextUint32());
      }
    }
  });

  it("a model output already in a SharedArrayBuffer is read in place: the same tokens and next draw", async () => {
    const s = new VQDiffusionScheduler({ numVecClasses: K });
    for (const mode of ["reference", "fast"] as const) {
      const { modelOutput, sample } = inputs(K, 97, 2, "mixed");
      const data = new Float32Array(new SharedArrayBuffer(4 * modelOutput.data.length));
      data.set(modelOutput.data);
      const g1 = new TorchGenerator().manualSeed(21);
      const g2 = new TorchGenerator().manualSeed(21);
      const want = s.step(modelOutput, 40, sample, { generator: g1, mode }).prevSample.data;
      const got = (await s.stepAsync({ data, dims: modelOutput.dims }, 40, sample, { generator: g2, mode, threads: pool(3) })).prevSample.data;
      expect(got).toEqual(want);
      expect(got.buffer).toBeInstanceOf(ArrayBuffer);
      expect(g2.nextUint32()).toBe(g1.nextUint32());
    }
  });

  it("a value the kernel rejects in a helper's range: step's error, and nothing drawn", async () => {
    const s = new VQDiffusionScheduler({ numVecClasses: 17 });
    const { modelOutput, sample } = inputs(17, 40, 2, "mixed");
    const data = modelOutput.data.slice();
    data[(1 * 16 + 5) * 40 + 33] = NaN; // item 1, class 5, pixel 33: the last of three ranges
    for (const mode of ["reference", "fast"] as const) {
      const g1 = new TorchGenerator().manualSeed(3);
      const g2 = new TorchGenerator().manualSeed(3);
      const bad = { data, dims: modelOutput.dims };
      let message = "";
      try {
        s.step(bad, 50, sample, { generator: g1, mode });
      } catch (e) {
        message = (e as Error).message;
      }
      expect(message).toContain("modelOutput.data");
      await expect(s.stepAsync(bad, 50, sample, { generator: g2, mode, threads: pool(3) })).rejects.toThrow(message);
      expect(g2.nextUint32()).toBe(new TorchGenerator().manualSeed(3).nextUint32());
    }
  });
});

describe("a pool shared by concurrent generations", () => {
  it("two sampler runs awaited together on one pool give the tokens of each run alone on one thread", async () => {
    const scheduler = pixelArtScheduler();
    const yielding = pixelArtDenoiser({ scheduler });
    const denoiser = async (x: Parameters<typeof yielding>[0], t: number) => {
      await new Promise((resolve) => setTimeout(resolve, 0));
      return yielding(x, t);
    };
    const runs = [
      { numInferenceSteps: 20, batchSize: 2, numLatentPixels: 256, mode: "reference" as const },
      { numInferenceSteps: 15, timestepSpacing: "linspace" as const, batchSize: 1, numLatentPixels: 256, mode: "fast" as const },
    ];
    const sampler = new VQDiffusionSampler({ scheduler, denoiser });
    const alone: number[][] = [];
    for (const [i, r] of runs.entries()) alone.push(Array.from((await sampler.sample({ ...r, generator: new TorchGenerator().manualSeed(i) })).tokens.data));
    const together = await Promise.all(runs.map((r, i) => sampler.sample({ ...r, generator: new TorchGenerator().manualSeed(i), threads: pool(3) })));
    together.forEach((t, i) => expect(Array.from(t.tokens.data)).toEqual(alone[i]));
  });
});

/** A worker in this thread that never runs a task: for the pool's own checks. */

describe("pools: bad arguments, no shared memory, a failing helper", () => {
  it("bad options are refused, naming them, before any worker starts", () => {
    let started = 0;
    const createWorker = () => {
      started++;
      return fakeWorker();
    };
    expect(() => new StepThreadPool({ threads: 0, createWorker })).toThrow("threads: expected an integer in [1, 64], got 0");
    expect(() => new StepThreadPool({ threads: 1.5, createWorker })).toThrow("threads: expected an integer in [1, 64], got 1.5");
    expect(() => new StepThreadPool({ threads: 65, createWorker })).toThrow("threads: expected an integer in [1, 64], got 65");
    expect(() => new StepThreadPool({ threads: 2, createWorker: 5 as never })).toThrow("createWorker: expected a function that starts a worker, got 5");
    expect(() => new StepThreadPool(null as never)).toThrow("options: expected { threads, createWorker }, got null");
    expect(started).toBe(0);
    expect(() => new StepThreadPool({ threads: 2, createWorker: () => ({}) as never })).toThrow(
      "createWorker: expected a function returning a worker (postMessage, addEventListener, terminate), got \"an object without them\"",
    );
    expect(() => createNodeStepThreadPool({ threads: 0 })).toThrow("threads: expected an integer in [1, 64], got 0");
    expect(() => createNodeStepThreadPool(null as never)).toThrow("options: expected { threads? }, got null");
  });

  it("stepAsync and the sampler refuse what is not a pool, and a closed pool", async () => {
    const s = new VQDiffusionScheduler({ numVecClasses: 17 });
    const { modelOutput, sample } = inputs(17, 8, 1, "masked");
    const g = new TorchGenerator().manualSeed(0);
    await expect(s.stepAsync(modelOutput, 5, sample, { generator: g, threads: {} as never })).rejects.toThrow(
      "options.threads: expected a StepThreadPool (new StepThreadPool(...) or createNodeStepThreadPool()), got an object",
    );
    await expect(s.stepAsync(modelOutput, 5, sample, { generator: g, threads: 2 as never })).rejects.toThrow("options.threads: expected a StepThreadPool");
    const closed = new StepThreadPool({ threads: 2, createWorker: () => fakeWorker() });
    await closed.close();
    await expect(s.stepAsync(modelOutput, 5, sample, { generator: g, threads: closed })).rejects.toThrow("options.threads: expected an open StepThreadPool, got a closed one");
    const sampler = new VQDiffusionSampler({ scheduler: s, denoiser: () => modelOutput });
    await expect(sampler.sample({ numLatentPixels: 8, threads: "2" as never })).rejects.toThrow(
      'threads: expected a StepThreadPool (new StepThreadPool(...) or createNodeStepThreadPool()), got "2"',
    );
    expect(g.nextUint32()).toBe(new TorchGenerator().manualSeed(0).nextUint32());
  });

  it("without shared memory (a page that is not cross-origin isolated) the pool starts nothing and stepAsync is step", async () => {
    const global = globalThis as { crossOriginIsolated?: boolean };
    const before = global.crossOriginIsolated;
    global.crossOriginIsolated = false;
    let started = 0;
    let isolatedPool: StepThreadPool;
    try {
      isolatedPool = new StepThreadPool({ threads: 4, createWorker: () => (started++, fakeWorker()) });
    } finally {
      if (before === undefined) delete global.crossOriginIsolated;
      else global.crossOriginIsolated = before;
    }
    expect(started).toBe(0);
    expect(isolatedPool.threads).toBe(4);
    expect(isolatedPool.helperCount).toBe(0);
    const s = new VQDiffusionScheduler({ numVecClasses: 33 });
    const { modelOutput, sample } = inputs(33, 20, 2, "mixed");
    for (const mode of ["reference", "fast"] as const) {
      const g1 = new TorchGenerator().manualSeed(8);
      const g2 = new TorchGenerator().manualSeed(8);
      const want = s.step(modelOutput, 40, sample, { generator: g1, mode }).prevSample.data;
      expect((await s.stepAsync(modelOutput, 40, sample, { generator: g2, mode, threads: isolatedPool })).prevSample.data).toEqual(want);
      expect(g2.nextUint32()).toBe(g1.nextUint32());
    }
  });

  it("close() lets the steps in flight finish, then stops the helpers; a closed pool refuses steps", async () => {
    const own = createNodeStepThreadPool({ threads: 2 }) as unknown as StepThreadPool;
    const s = new VQDiffusionScheduler({ numVecClasses: 65 });
    const { modelOutput, sample } = inputs(65, 64, 2, "mixed");
    const want = s.step(modelOutput, 20, sample, { generator: new TorchGenerator().manualSeed(1) }).prevSample.data;
    const inFlight = s.stepAsync(modelOutput, 20, sample, { generator: new TorchGenerator().manualSeed(1), threads: own });
    await own.close();
    expect((await inFlight).prevSample.data).toEqual(want);
    expect(own.isClosed).toBe(true);
    expect(own.helperCount).toBe(0);
    await expect(s.stepAsync(modelOutput, 20, sample, { threads: own })).rejects.toThrow("options.threads: expected an open StepThreadPool, got a closed one");
  });

  it("a helper that fails rejects the step with its message, and the generator is put back", async () => {
    const failing = new StepThreadPool({ threads: 2, createWorker: () => fakeWorker((_, emit) => emit("error", { message: "out of memory" })) });
    const s = new VQDiffusionScheduler({ numVecClasses: 17 });
    const { modelOutput, sample } = inputs(17, 16, 1, "masked");
    const g = new TorchGenerator().manualSeed(2);
    await expect(s.stepAsync(modelOutput, 5, sample, { generator: g, threads: failing })).rejects.toThrow("step thread pool: helper 1 failed: out of memory");
    expect(g.nextUint32()).toBe(new TorchGenerator().manualSeed(2).nextUint32());
    await expect(s.stepAsync(modelOutput, 5, sample, { generator: g, threads: failing })).rejects.toThrow("step thread pool: helper 1 failed: out of memory");
    await failing.close();
  });
});
