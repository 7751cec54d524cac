/** Forward process, variations and inpainting, top-k truncation, purity sampling. */
import { describe, expect, it } from "vitest";
import {
  createDatasetDenoiser,
  TorchGenerator,
  truncateLogProbabilities,
  VQDiffusionSampler,
  VQDiffusionScheduler,
} from "../src/index.js";
import { PIXEL_ART, PIXEL_ART_NUM_CLASSES } from "../src/demo/pixelArt.js";
import { matchLabel, pixelArtDenoiser, pixelArtScheduler } from "../src/demo/pixelArtSampler.js";
import { chiSquareTest } from "./helpers/chiSquare.mjs";

describe("addNoise: x_t ~ q(x_t | x_0)", () => {
  const options = { numVecClasses: 6, alphaCumStart: 0.9, alphaCumEnd: 0.1, gammaCumStart: 0.01, gammaCumEnd: 0.3 };
  const s = new VQDiffusionScheduler(options);
  it.each([0, 30, 99])("masked, kept and replaced fractions at t = %i fit the schedule (chi-square)", (t) => {
    const N = 60000;
    const x0 = new Int32Array(N).fill(3);
    const { data, dims } = s.addNoise({ data: x0, dims: [1, N] }, t, { generator: new TorchGenerator().manualSeed(t) });
    expect(dims).toEqual([1, N]);
    const counts = new Array(6).fill(0);
    for (const v of data) counts[v]++;
    const a = Math.exp(s.logCumprodAt[t]);
    const b = Math.exp(s.logCumprodBt[t]);
    const g = Math.exp(s.logCumprodCt[t]);
    const p = [b, b, b, a + b, b, g];
    expect(p.reduce((u, v) => u + v, 0)).toBeCloseTo(1, 6);
    expect(chiSquareTest(counts, p).p).toBeGreaterThan(1e-3);
    expect(x0.every((v) => v === 3)).toBe(true);
  });
  it("keeps the caller's token type, leaves masks masked and checks its arguments", () => {
    const out = s.addNoise({ data: BigInt64Array.of(5n, 0n), dims: [1, 2] }, 50, { generator: new TorchGenerator() });
    expect(out.data).toBeInstanceOf(BigInt64Array);
    expect(out.data[0]).toBe(5n);
    expect(() => s.addNoise({ data: Int32Array.of(1), dims: [1, 1] }, 100)).toThrow(new Error("timestep: expected an integer timestep in [0, 99], got 100"));
    expect(s.maskProbability(-1)).toBe(0);
    expect(s.maskProbability(99)).toBeCloseTo(0.3, 12);
  });
});

describe("variations and inpainting", () => {
  const scheduler = pixelArtScheduler();
  const denoiser = pixelArtDenoiser({ scheduler });
  const heart = PIXEL_ART[0].tokens;
  const N = 256;
  const B = 16;
  const init = { data: new Int32Array(B * N).map((_, i) => heart[i % N]), dims: [B, N] };

  it("low strength keeps the image, full strength samples afresh", async () => {
    const sampler = new VQDiffusionSampler({ scheduler, denoiser });
    const weak = await sampler.sample({ initTokens: init, strength: 0.2, generator: new TorchGenerator().manualSeed(1) });
    const same = (t: ArrayLike<number | bigint>, b: number) => heart.every((v, n) => v === Number(t[b * N + n]));
    expect(Array.from({ length: B }, (_, b) => same(weak.tokens.data, b)).filter(Boolean).length).toBe(B);
    const steps: number[] = [];
    const strong = await sampler.sample({ initTokens: init, strength: 1, generator: new TorchGenerator().manualSeed(1), onStep: ({ step }) => void steps.push(step) });
    expect(steps.length).toBe(100);
    expect(Array.from({ length: B }, (_, b) => same(strong.tokens.data, b)).filter(Boolean).length).toBeLessThan(B);
    const counted: number[] = [];
    await sampler.sample({ initTokens: init, strength: 0.25, numInferenceSteps: 40, generator: new TorchGenerator(), onStep: ({ step }) => void counted.push(step) });
    expect(counted.length).toBe(10);
  });

  it("keepMask holds its positions at the given tokens every step (inpainting)", async () => {
    const keep = new Uint8Array(N).map((_, n) => (n < 128 ? 1 : 0)); // the top half
    const sampler = new VQDiffusionSampler({ scheduler, denoiser });
    const seen: Int32Array[] = [];
    const { tokens } = await sampler.sample({ initTokens: init, strength: 1, keepMask: keep, generator: new TorchGenerator().manualSeed(2), onStep: ({ sample }) => void seen.push(sample.data) });
    for (const x of [...seen, tokens.data as Int32Array]) for (let b = 0; b < B; b++) for (let n = 0; n < 128; n++) expect(x[b * N + n]).toBe(heart[n]);
    // Given the top of a heart, the exact posterior completes a heart (red or pink variant's bottom).
    const done = Array.from({ length: B }, (_, b) => matchLabel((tokens.data as Int32Array).subarray(b * N, (b + 1) * N)));
    expect(done.filter((l) => l === "heart").length).toBeGreaterThan(B / 2);
  });

  it("checks its variation options", async () => {
    const sampler = new VQDiffusionSampler({ scheduler, denoiser });
    await expect(sampler.sample({ initTokens: init, strength: 0 })).rejects.toThrow(new Error("strength: expected a number in (0, 1], got 0"));
    await expect(sampler.sample({ numLatentPixels: N, strength: 0.5 })).rejects.toThrow(new Error("strength: expected to come with initTokens, got 0.5"));
    await expect(sampler.sample({ initTokens: init, keepMask: [1, 0] })).rejects.toThrow(new Error("keepMask: expected an array of 256 (N) or 4096 (B·N) entries, each 0/1 or false/true, got [1, 0]"));
    await expect(sampler.sample({ initTokens: init, keepMask: "0".repeat(256) as unknown as number[] })).rejects.toThrow(
      new Error(`keepMask: expected an array of 256 (N) or 4096 (B·N) entries, each 0/1 or false/true, got ${JSON.stringify("0".repeat(57) + "...")}`),
    );
    await expect(sampler.sample({ initTokens: init, keepMask: new Array(256).fill(2) })).rejects.toThrow(new Error("keepMask: expected entries 0/1 or false/true, got 2 at index 0"));
    // An aborted signal stops the run before anything is drawn, even the noise of a variation.
    const g = new TorchGenerator().manualSeed(9);
    const controller = new AbortController();
    controller.abort();
    await expect(sampler.sample({ initTokens: init, strength: 0.5, generator: g, signal: controller.signal })).rejects.toBe(controller.signal.reason);
    expect(g.rand([1]).data[0]).toBe(new TorchGenerator().manualSeed(9).rand([1]).data[0]);
    await expect(sampler.sample({ initTokens: init, signal: true as unknown as AbortSignal })).rejects.toThrow(new Error("signal: expected an AbortSignal, got true"));
    await expect(sampler.sample({ initTokens: { data: new Int32Array(2).fill(21), dims: [1, 2] } })).rejects.toThrow(
      new Error("initTokens.data: expected tokens in [0, 20] (K = 21 classes), got 21 at index [0, 0]"),
    );
    await expect(sampler.sample({ numLatentPixels: N, strategy: "greedy" as never })).rejects.toThrow(new Error('strategy: expected "posterior" or "purity", got "greedy"'));
    await expect(sampler.sample({ initTokens: init, latents: init })).rejects.toThrow(
      new Error("latents: expected not to come with initTokens (a variation starts from initTokens), got an object"),
    );
    // An option error leaves the scheduler's timesteps as they were.
    scheduler.setTimesteps(7);
    await expect(sampler.sample({ initTokens: init, strength: 2, numInferenceSteps: 20 })).rejects.toThrow(new Error("strength: expected a number in (0, 1], got 2"));
    expect(scheduler.timesteps.length).toBe(7);
  });
});

describe("top-k truncation", () => {
  it("keeps at most k classes, alone or with a rate", () => {
    const logp = { data: Float32Array.from([0.4, 0.3, 0.2, 0.1].map(Math.log)), dims: [1, 4, 1] };
    const kept = (rate: number, k?: number) => Array.from(truncateLogProbabilities(logp, rate, k).data).filter((v) => v > -Infinity).length;
    expect(kept(1, 2)).toBe(2);
    expect(kept(1, 1)).toBe(1);
    expect(kept(0.5, 3)).toBe(2);
    expect(kept(0.95, 3)).toBe(3);
    expect(() => truncateLogProbabilities(logp, 1, 0)).toThrow(new Error("truncationTopK: expected an integer >= 1, got 0"));
  });
});

describe("purity sampling", () => {
  it("reveals as many tokens as the schedule expects, never changes a revealed one, and ends unmasked", async () => {
    const scheduler = pixelArtScheduler();
    const sampler = new VQDiffusionSampler({ scheduler, denoiser: pixelArtDenoiser({ scheduler }) });
    // The sampler runs its own chain; the scheduler is set to the same one only to read its jumps here.
    scheduler.setTimesteps(25, { timestepSpacing: "linspace" });
    const B = 32;
    const N = 256;
    let previous: Int32Array = new Int32Array(B * N).fill(PIXEL_ART_NUM_CLASSES - 1);
    const { tokens } = await sampler.sample({
      batchSize: B,
      numLatentPixels: N,
      numInferenceSteps: 25,
      timestepSpacing: "linspace",
      strategy: "purity",
      generator: new TorchGenerator().manualSeed(3),
      onStep: ({ timestep, sample }) => {
        const expected = Math.round(N * (1 - scheduler.maskProbability(scheduler.prevTimestep(timestep))));
        for (let b = 0; b < B; b++) {
          let unmasked = 0;
          for (let n = 0; n < N; n++) {
            const v = sample.data[b * N + n];
            if (v !== PIXEL_ART_NUM_CLASSES - 1) unmasked++;
            if (previous[b * N + n] !== PIXEL_ART_NUM_CLASSES - 1) expect(v).toBe(previous[b * N + n]);
          }
          expect(unmasked).toBe(Math.max(expected, 0));
        }
        previous = sample.data;
      },
    });
    expect(Array.from(tokens.data as Int32Array).every((v) => v < PIXEL_ART_NUM_CLASSES - 1)).toBe(true);
    // Revealed tokens are final, so an early pixel drawn from the mixture of all sprites can stay as
    // a stray pixel: most samples are a sprite up to a few tokens.
    const distance = (b: number) => Math.min(...PIXEL_ART.map((sp) => sp.tokens.reduce((a, v, n) => a + (v !== Number(tokens.data[b * N + n]) ? 1 : 0), 0)));
    const near = Array.from({ length: B }, (_, b) => distance(b)).filter((d) => d <= 3).length;
    expect(near).toBeGreaterThan(B / 2);
  });

  it("works with the dataset denoiser of any data", async () => {
    const scheduler = new VQDiffusionScheduler({ numVecClasses: 5 });
    const denoiser = createDatasetDenoiser({ scheduler, images: [[0, 1, 2, 3], [3, 2, 1, 0]] });
    const { tokens } = await new VQDiffusionSampler({ scheduler, denoiser }).sample({ batchSize: 50, numLatentPixels: 4, numInferenceSteps: 10, timestepSpacing: "linspace", strategy: "purity", generator: new TorchGenerator().manualSeed(4) });
    expect(Array.from(tokens.data as Int32Array).every((v) => v < 4)).toBe(true);
  });
});
