/** The sampler's contract beyond the golden loops: defaults, errors, abort, token types. */
import { describe, expect, it } from "vitest";
import { TorchGenerator, VQDiffusionSampler, VQDiffusionScheduler, truncateLogProbabilities, classifierFreeGuidance, clampLogProbabilities } from "../src/index.js";

const K = 5;
const scheduler = new VQDiffusionScheduler({ numVecClasses: K, numTrainTimesteps: 10 });
const uniform = (sample: { dims: readonly number[] }) => ({
  data: new Float32Array(sample.dims[0] * (K - 1) * sample.dims[1]).fill(Math.log(1 / (K - 1))),
  dims: [sample.dims[0], K - 1, sample.dims[1]],
});

describe("VQDiffusionSampler", () => {
  it("starts from all-mask tokens and calls the denoiser once per timestep, n-1 … 0", async () => {
    const seen: number[] = [];
    const sampler = new VQDiffusionSampler({
      scheduler,
      denoiser: (s, t) => {
        if (seen.length === 0) expect(Array.from(s.data, Number)).toEqual([4, 4, 4, 4, 4, 4]);
        seen.push(t);
        return uniform(s);
      },
    });
    const { tokens } = await sampler.sample({ batchSize: 2, numLatentPixels: 3, numInferenceSteps: 4, generator: new TorchGenerator().manualSeed(1) });
    expect(seen).toEqual([3, 2, 1, 0]);
    expect(tokens.dims).toEqual([2, 3]);
    expect(tokens.data).toBeInstanceOf(Int32Array);
  });

  it("hands int64 tokens to the denoiser and returns them when asked (or when latents are int64)", async () => {
    const types: string[] = [];
    const sampler = new VQDiffusionSampler({ scheduler, denoiser: (s) => (types.push(s.data.constructor.name), uniform(s)) });
    const a = await sampler.sample({ numLatentPixels: 2, numInferenceSteps: 2, tokenType: "int64", generator: new TorchGenerator() });
    expect(a.tokens.data).toBeInstanceOf(BigInt64Array);
    const b = await sampler.sample({ latents: { data: new BigInt64Array([4n, 4n]), dims: [1, 2] }, numInferenceSteps: 2, generator: new TorchGenerator() });
    expect(b.tokens.data).toBeInstanceOf(BigInt64Array);
    expect(types).toEqual(["BigInt64Array", "BigInt64Array", "BigInt64Array", "BigInt64Array"]);
  });

  it("doubles the batch for guidance", async () => {
    const dims: number[][] = [];
    const sampler = new VQDiffusionSampler({ scheduler, denoiser: (s) => (dims.push([...s.dims]), uniform(s)) });
    await sampler.sample({ batchSize: 3, numLatentPixels: 2, numInferenceSteps: 1, guidanceScale: 2, generator: new TorchGenerator() });
    expect(dims).toEqual([[6, 2]]);
  });

  it("rejects bad latents, options and denoisers", async () => {
    const sampler = new VQDiffusionSampler({ scheduler, denoiser: uniform });
    await expect(sampler.sample({ latents: { data: new Int32Array([0, 5]), dims: [1, 2] } })).rejects.toThrow(
      new Error("latents.data: expected tokens in [0, 4] (K = 5 classes), got 5 at index [0, 1]"),
    );
    await expect(sampler.sample({ latents: { data: new Int32Array(4), dims: [2, 2] }, batchSize: 1 })).rejects.toThrow(
      new Error("latents.dims: expected [batchSize, numLatentPixels] = [1, *], got [2, 2]"),
    );
    await expect(sampler.sample({})).rejects.toThrow(new Error("numLatentPixels: expected an integer in [1, 65536] (or latents), got undefined"));
    await expect(sampler.sample({ numLatentPixels: 2, truncationRate: 0 })).rejects.toThrow(new Error("truncationRate: expected a number in (0, 1], got 0"));
    await expect(sampler.sample({ numLatentPixels: 2, numInferenceSteps: 11 })).rejects.toThrow(
      new Error("numInferenceSteps: expected an integer in [1, 10] (numTrainTimesteps = 10), got 11"),
    );
    let calls = 0;
    const counting = new VQDiffusionSampler({ scheduler, denoiser: (x) => (calls++, uniform(x)) });
    await expect(counting.sample({ numLatentPixels: 2, truncationTopK: 0 })).rejects.toThrow(new Error("truncationTopK: expected an integer >= 1, got 0"));
    await expect(counting.sample({ numLatentPixels: 2, mode: "exact" as never })).rejects.toThrow(new Error('mode: expected "reference" or "fast", got "exact"'));
    expect(calls).toBe(0);
    expect(() => new VQDiffusionSampler({ scheduler, denoiser: 3 as never })).toThrow(
      new Error("denoiser: expected a function (sample, timestep) => log p(x_0 | x_t), got 3"),
    );
    const failing = new VQDiffusionSampler({ scheduler, denoiser: () => { throw new Error("model exploded"); } });
    await expect(failing.sample({ numLatentPixels: 2, numInferenceSteps: 3 })).rejects.toThrow(new Error("denoiser: failed at step 0 (timestep 2): model exploded"));
    const wrong = new VQDiffusionSampler({ scheduler, denoiser: () => ({ data: new Float32Array(8), dims: [1, 4, 2] }) });
    await expect(wrong.sample({ numLatentPixels: 3, numInferenceSteps: 3 })).rejects.toThrow(
      new Error("denoiser output at step 0 (timestep 2): expected dims [1, 4, 3] with 12 values, got dims [1, 4, 2] with 8 values"),
    );
  });

  it("stops between steps with an AbortError and reports every step to onStep", async () => {
    const controller = new AbortController();
    const steps: number[] = [];
    const sampler = new VQDiffusionSampler({ scheduler, denoiser: uniform });
    const run = sampler.sample({
      numLatentPixels: 2,
      numInferenceSteps: 5,
      signal: controller.signal,
      onStep: ({ step }) => {
        steps.push(step);
        if (step === 1) controller.abort();
      },
    });
    await expect(run).rejects.toMatchObject({ name: "AbortError" });
    expect(steps).toEqual([0, 1]);
  });
});

describe("guidance and truncation helpers", () => {
  it("truncation keeps the top classes while the mass before them is below the rate", () => {
    const logp = { data: Float32Array.from([0.5, 0.3, 0.15, 0.05].map(Math.log)), dims: [1, 4, 1] };
    expect(Array.from(truncateLogProbabilities(logp, 0.7).data)).toEqual([Math.fround(Math.log(0.5)), Math.fround(Math.log(0.3)), -Infinity, -Infinity]);
    expect(Array.from(truncateLogProbabilities(logp, 0.1).data).filter((v) => v > -Infinity).length).toBe(1);
    expect(() => truncateLogProbabilities(logp, 1.5)).toThrow(new Error("truncationRate: expected a number in (0, 1], got 1.5"));
  });
  it("guidance mixes the halves and renormalises each pixel", () => {
    const out = classifierFreeGuidance({ data: Float32Array.from([Math.log(0.5), Math.log(0.5), Math.log(0.9), Math.log(0.1)]), dims: [2, 2, 1] }, 3);
    expect(Math.exp(out.data[0]) + Math.exp(out.data[1])).toBeCloseTo(1, 6);
    expect(out.data[0]).toBeGreaterThan(Math.log(0.9));
  });
});

describe("guidance with log-zeros", () => {
  it("keeps classes the conditional half rules out at -inf, and rejects an unconditional -inf under a finite conditional", () => {
    const L = -Infinity;
    const out = classifierFreeGuidance({ data: Float32Array.from([L, 0, L, 0]), dims: [2, 2, 1] }, 4);
    expect(Array.from(out.data)).toEqual([L, 0]);
    expect(() => classifierFreeGuidance({ data: Float32Array.from([L, 0, Math.log(0.5), Math.log(0.5)]), dims: [2, 2, 1] }, 4)).toThrow(
      /^output: expected an unconditional half that is finite wherever the conditional half is \(guidance divides by it\), got -inf at batch 0, class 0, pixel 0/,
    );
  });
});

describe("guidance, truncation and clamp: the error contract", () => {
  const L = -Infinity;
  const t = (values: number[], dims: number[]) => ({ data: Float32Array.from(values), dims });

  it("scale 0 gives the unconditional half (no NaN from 0·(−inf)); scale in (0, 1) keeps p_u = 0 at 0; scale 1 gives the conditional half", () => {
    expect(Array.from(classifierFreeGuidance(t([Math.log(0.25), Math.log(0.75), L, 0], [2, 2, 1]), 0).data)).toEqual([Math.fround(Math.log(0.25)), Math.fround(Math.log(0.75))]);
    expect(Array.from(classifierFreeGuidance(t([L, 0, 0, 0], [2, 2, 1]), 0.5).data)).toEqual([L, 0]);
    expect(() => classifierFreeGuidance(t([L, 0, 0, L], [2, 2, 1]), 0.5)).toThrow(
      "output: expected halves whose guided combination keeps a class of non-zero probability at every pixel, got probability 0 for every class at batch 0, pixel 0",
    );
    expect(Array.from(classifierFreeGuidance(t([L, 0, Math.log(0.5), Math.log(0.5)], [2, 2, 1]), 1).data)).toEqual([Math.fround(Math.log(0.5)), Math.fround(Math.log(0.5))]);
  });

  it("rejects NaN, +inf, a data length that disagrees with dims, 2-D dims, negative or overflowing scales", () => {
    expect(() => classifierFreeGuidance(t([NaN, 0, 0, 0], [2, 2, 1]), 3)).toThrow("output.data: expected log-probabilities (finite or -inf, never NaN or +inf), got NaN at index [0, 0, 0]");
    expect(() => classifierFreeGuidance(t([0, 0, 0], [2, 2, 1]), 3)).toThrow("output.data: expected length 4 for dims [2, 2, 1], got length 3");
    expect(() => classifierFreeGuidance(t([0, 0, 0, 0], [2, 2]), 3)).toThrow("output.dims: expected [B, C, N] = [*, *, *], got [2, 2]");
    expect(() => classifierFreeGuidance(t([0, 0, 0, 0], [2, 2, 1]), -1)).toThrow("scale: expected a finite number >= 0, got -1");
    expect(() => classifierFreeGuidance(t([-3e38, 0, 0, -3e38], [2, 2, 1]), 1e30)).toThrow(/^scale: expected a scale at which u \+ scale·\(c − u\) stays finite in float32, got 1e\+30, which gives Infinity/);
    expect(() => truncateLogProbabilities(t([NaN, 0], [1, 2, 1]), 0.5)).toThrow("logp.data: expected log-probabilities (finite or -inf, never NaN or +inf), got NaN at index [0, 0, 0]");
    expect(() => truncateLogProbabilities(t([0, 0], [2, 1]), 0.5)).toThrow("logp.dims: expected [B, C, N] = [*, *, *], got [2, 1]");
    expect(() => clampLogProbabilities(t([Infinity, 0], [1, 2, 1]))).toThrow("logp.data: expected log-probabilities (finite or -inf, never NaN or +inf), got Infinity at index [0, 0, 0]");
    expect(() => clampLogProbabilities(t([0, 0], [1, 2, 1]), NaN)).toThrow("min: expected a finite number, got NaN");
  });

  it("a denoiser's NaN or foreign array is reported with the step and timestep", async () => {
    const scheduler = new VQDiffusionScheduler({ numVecClasses: 3 });
    const nan = new VQDiffusionSampler({ scheduler, denoiser: () => ({ data: Float32Array.of(NaN, 0), dims: [1, 2, 1] }) });
    await expect(nan.sample({ numLatentPixels: 1, numInferenceSteps: 5, generator: new TorchGenerator().manualSeed(0) })).rejects.toThrow(
      "denoiser output at step 0 (timestep 4).data: expected log-probabilities (finite or -inf, never NaN or +inf), got NaN at index [0, 0, 0]",
    );
    const f64 = new VQDiffusionSampler({ scheduler, denoiser: () => ({ data: Float64Array.of(0, 0), dims: [1, 2, 1] }) as never });
    await expect(f64.sample({ numLatentPixels: 1, numInferenceSteps: 5 })).rejects.toThrow(
      "denoiser output at step 0 (timestep 4): expected a tensor { data: Float32Array, dims }, got a tensor whose data is a Float64Array of length 2",
    );
  });
  it("a guidance scale that overflows float32 is reported by the sampler's name for it, not as the model's output", async () => {
    const scheduler = new VQDiffusionScheduler({ numVecClasses: 3 });
    // [unconditional; conditional] with different halves, so that scale·(c − u) overflows.
    const denoiser = () => ({ data: Float32Array.of(Math.log(0.25), Math.log(0.75), Math.log(0.75), Math.log(0.25)), dims: [2, 2, 1] });
    const sampler = new VQDiffusionSampler({ scheduler, denoiser });
    await expect(sampler.sample({ numLatentPixels: 1, numInferenceSteps: 5, guidanceScale: 3.4e38, generator: new TorchGenerator().manualSeed(0) })).rejects.toThrow(
      /^guidanceScale: expected a scale at which u \+ scale·\(c − u\) stays finite in float32, got 3\.4e\+38, which gives -?Infinity/,
    );
  });
});
