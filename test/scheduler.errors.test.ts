/** Every bad input of the core throws an Error naming the argument, the expectation and what came. */
import { describe, expect, it } from "vitest";
import { indexToLogOnehot, LIMITS, TorchGenerator, VQDiffusionSampler, VQDiffusionScheduler } from "../src/index.js";

const K = 5;
const s = new VQDiffusionScheduler({ numVecClasses: K, numTrainTimesteps: 10 });
const logits = (B: number, N: number, fill = -Math.log(K - 1)) => ({ data: new Float32Array(B * (K - 1) * N).fill(fill), dims: [B, K - 1, N] });
const tokens = (B: number, N: number, v = K - 1) => ({ data: new Int32Array(B * N).fill(v), dims: [B, N] });
const gen = () => new TorchGenerator().manualSeed(0);

describe("constructor options", () => {
  it.each([
    [{}, "numVecClasses: expected an integer in [2, 65537] (the classes, the mask class included), got undefined"],
    [{ numVecClasses: 2.5 }, "numVecClasses: expected an integer in [2, 65537] (the classes, the mask class included), got 2.5"],
    [{ numVecClasses: 1 }, "numVecClasses: expected an integer in [2, 65537] (the classes, the mask class included), got 1"],
    [{ numVecClasses: "5" }, 'numVecClasses: expected an integer in [2, 65537] (the classes, the mask class included), got "5"'],
    [{ numVecClasses: 5, numTrainTimesteps: 1 }, "numTrainTimesteps: expected an integer in [2, 10000], got 1"],
    [{ numVecClasses: 5, numTrainTimesteps: 10.5 }, "numTrainTimesteps: expected an integer in [2, 10000], got 10.5"],
    [{ numVecClasses: 5, numTrainTimesteps: 1e9 }, "numTrainTimesteps: expected an integer in [2, 10000], got 1000000000"],
    [{ numVecClasses: 2 ** 31 + 5 }, "numVecClasses: expected an integer in [2, 65537] (the classes, the mask class included), got 2147483653"],
    [{ numVecClasses: 65538 }, "numVecClasses: expected an integer in [2, 65537] (the classes, the mask class included), got 65538"],
    [{ numVecClasses: 5, alphaCumEnd: NaN }, "alphaCumEnd: expected a finite number in [0, 1], got NaN"],
  ])("%j", (options, message) => {
    expect(() => new VQDiffusionScheduler(options as never)).toThrow(new Error(message));
  });

  it("rejects ᾱ + γ̄ > 1 (β̄ < 0), naming the quantity and the step", () => {
    expect(() => new VQDiffusionScheduler({ numVecClasses: 5, alphaCumStart: 0.9, gammaCumStart: 0.2 })).toThrow(
      /^alphaCumStart, alphaCumEnd, gammaCumStart, gammaCumEnd: expected a schedule whose α, β and γ stay in \[0, 1\] at every step, got one-step β = -0\.02\d* at step 0 \(α \+ γ > 1 there\)/,
    );
  });

  it("rejects a rising ᾱ (one-step α > 1)", () => {
    expect(() => new VQDiffusionScheduler({ numVecClasses: 5, alphaCumStart: 0.5, alphaCumEnd: 0.9, gammaCumStart: 0.01, gammaCumEnd: 0.05 })).toThrow(
      /got one-step α = 1\.0\d* at step 1 \(ᾱ rises there\)/,
    );
  });

  it("rejects a falling γ̄ (one-step γ < 0)", () => {
    expect(() => new VQDiffusionScheduler({ numVecClasses: 5, gammaCumStart: 0.5, gammaCumEnd: 0.1, alphaCumStart: 0.4, alphaCumEnd: 0.01 })).toThrow(
      /got one-step γ = -0\.\d+ at step 1/,
    );
  });
});

describe("setTimesteps", () => {
  it.each([0, -1, 1.5, 11, NaN])("rejects %s", (n) => {
    const sch = new VQDiffusionScheduler({ numVecClasses: K, numTrainTimesteps: 10 });
    expect(() => sch.setTimesteps(n)).toThrow(new Error(`numInferenceSteps: expected an integer in [1, 10] (numTrainTimesteps = 10), got ${n}`));
  });
  it("sets n-1 … 0 without respacing, as the reference", () => {
    const sch = new VQDiffusionScheduler({ numVecClasses: K, numTrainTimesteps: 10 });
    sch.setTimesteps(4);
    expect([...sch.timesteps]).toEqual([3, 2, 1, 0]);
    expect(sch.numInferenceSteps).toBe(4);
  });
});

describe("step", () => {
  it("rejects modelOutput dims other than [B, K-1, N]", () => {
    expect(() => s.step({ data: new Float32Array(2 * 5 * 3), dims: [2, 5, 3] }, 1, tokens(2, 3), { generator: gen() })).toThrow(
      new Error("modelOutput.dims: expected [B, K-1, N] with K-1 = 4 = [*, 4, *], got [2, 5, 3]"),
    );
    expect(() => s.step({ data: new Float32Array(8), dims: [2, 4] }, 1, tokens(2, 1), { generator: gen() })).toThrow(
      new Error("modelOutput.dims: expected [B, K-1, N] with K-1 = 4 = [*, 4, *], got [2, 4]"),
    );
  });
  it("rejects a data length that does not match the dims", () => {
    expect(() => s.step({ data: new Float32Array(7), dims: [1, 4, 2] }, 1, tokens(1, 2), { generator: gen() })).toThrow(
      new Error("modelOutput.data: expected length 8 for dims [1, 4, 2], got length 7"),
    );
  });
  it("rejects non-float32 model outputs", () => {
    expect(() => s.step({ data: new Float64Array(8) as never, dims: [1, 4, 2] }, 1, tokens(1, 2), { generator: gen() })).toThrow(
      new Error("modelOutput.data: expected a Float32Array, got a Float64Array of length 8"),
    );
  });
  it("rejects a sample whose batch or length does not match", () => {
    expect(() => s.step(logits(2, 3), 1, tokens(1, 3), { generator: gen() })).toThrow(
      new Error("sample.dims: expected [B, N] matching modelOutput = [2, 3], got [1, 3]"),
    );
    expect(() => s.step(logits(2, 3), 1, tokens(2, 4), { generator: gen() })).toThrow(
      new Error("sample.dims: expected [B, N] matching modelOutput = [2, 3], got [2, 4]"),
    );
  });
  it.each([-1, 10, 1.5, NaN, "3"])("rejects timestep %s", (t) => {
    expect(() => s.step(logits(1, 2), t as never, tokens(1, 2), { generator: gen() })).toThrow(
      new Error(`timestep: expected an integer timestep in [0, 9], got ${typeof t === "string" ? JSON.stringify(t) : t}`),
    );
  });
  it("rejects tokens outside [0, K-1], in Int32Array and BigInt64Array", () => {
    expect(() => s.step(logits(1, 2), 1, { data: new Int32Array([0, 5]), dims: [1, 2] }, { generator: gen() })).toThrow(
      new Error("sample.data: expected tokens in [0, 4] (K = 5 classes), got 5 at index [0, 1]"),
    );
    expect(() => s.step(logits(1, 2), 1, { data: new BigInt64Array([-1n, 0n]), dims: [1, 2] }, { generator: gen() })).toThrow(
      new Error("sample.data: expected tokens in [0, 4] (K = 5 classes), got -1n at index [0, 0]"),
    );
  });
  it("rejects token arrays of other types", () => {
    expect(() => s.step(logits(1, 2), 1, { data: new Float32Array(2) as never, dims: [1, 2] }, { generator: gen() })).toThrow(
      new Error("sample.data: expected an Int32Array or a BigInt64Array, got a Float32Array of length 2"),
    );
  });
  it.each([1, 0])("rejects a NaN in modelOutput at t = %i, before drawing anything", (t) => {
    const m = logits(1, 2);
    m.data[5] = NaN;
    for (const mode of ["reference", "fast"] as const) {
      const g = gen();
      expect(() => s.step(m, t, tokens(1, 2), { generator: g, mode })).toThrow(
        new Error("modelOutput.data: expected log-probabilities (finite or -inf, never NaN or +inf), got NaN at index [0, 2, 1]"),
      );
      expect(g.rand([4]).data).toEqual(gen().rand([4]).data);
    }
  });
  it("rejects +inf and a pixel with no finite log-probability", () => {
    const m = logits(1, 2);
    m.data[0] = Infinity;
    expect(() => s.step(m, 3, tokens(1, 2), { generator: gen() })).toThrow(/got Infinity at index \[0, 0, 0\]/);
    const e = logits(1, 2);
    for (let c = 0; c < K - 1; c++) e.data[c * 2 + 1] = -Infinity;
    expect(() => s.step(e, 3, tokens(1, 2), { generator: gen() })).toThrow(
      new Error("modelOutput.data: expected at least one finite log-probability per pixel, got -inf for every class at batch 0, pixel 1"),
    );
  });
  it.each([
    ["a pixel peaking far above 0", 1e16, "10000000272564224 at batch 1, pixel 1"],
    ["a pixel whose every class is far below 0", -1e16, "-10000000272564224 at batch 1, pixel 1"],
    ["just past the bound", 2 ** 24 + 2, "16777218 at batch 1, pixel 1"],
  ])("rejects %s (beyond ±2^24 rounding, not the model, would pick the tokens), in both modes and every exported check", (_, v, got) => {
    const m = logits(2, 2);
    if (v < 0) for (let c = 0; c < K - 1; c++) m.data[(1 * (K - 1) + c) * 2 + 1] = v;
    else m.data[(1 * (K - 1) + 2) * 2 + 1] = v;
    const message = `modelOutput.data: expected each pixel's largest log-probability within ±16777216 (only differences within a pixel matter: subtract its maximum), got ${got}`;
    for (const t of [0, 3]) {
      for (const mode of ["reference", "fast"] as const) {
        const g = gen();
        expect(() => s.step(m, t, tokens(2, 2), { generator: g, mode })).toThrow(new Error(message));
        expect(g.rand([4]).data).toEqual(gen().rand([4]).data);
      }
    }
    expect(() => s.qPosterior(m, tokens(2, 2), 3)).toThrow(new Error(message.replace("modelOutput", "logPX0")));
  });
  it("gives the same tokens when a pixel's log-probabilities are shifted by a constant up to the bound (2^23 here, exact in float32)", () => {
    const B = 2, N = 40, t = 6;
    const base = { data: new Float32Array(B * (K - 1) * N), dims: [B, K - 1, N] };
    for (let i = 0; i < base.data.length; i++) base.data[i] = -((i * 7919) % 13);
    const shifted = { data: base.data.map((v, i) => ((i % N) % 3 === 0 ? v + 2 ** 23 : (i % N) % 3 === 1 ? v - 2 ** 23 : v)), dims: base.dims };
    const x = { data: Int32Array.from({ length: B * N }, (_, i) => (i * 3) % K), dims: [B, N] };
    for (const mode of ["reference", "fast"] as const) {
      const a = s.step(base, t, x, { generator: gen(), mode }).prevSample.data;
      const b = s.step(shifted, t, x, { generator: gen(), mode }).prevSample.data;
      expect(Array.from(b)).toEqual(Array.from(a));
    }
  });
  it("rejects a generator that is not a TorchGenerator", () => {
    expect(() => s.step(logits(1, 2), 1, tokens(1, 2), { generator: {} as never })).toThrow(
      new Error("options.generator: expected a TorchGenerator (methods manualSeed, rand, fillRand, getState, setState, nextUint32, fillUint32), got an object without manualSeed()"),
    );
  });
  it("does not modify its inputs", () => {
    const m = logits(2, 3);
    for (let i = 0; i < m.data.length; i++) m.data[i] = -1 - (i % 7) / 3;
    const x = { data: new BigInt64Array([0n, 1n, 4n, 4n, 3n, 2n]), dims: [2, 3] };
    const mCopy = m.data.slice();
    const xCopy = x.data.slice();
    s.step(m, 5, x, { generator: gen() });
    s.qPosterior(m, x, 5);
    expect(m.data).toEqual(mCopy);
    expect(x.data).toEqual(xCopy);
    expect(m.dims).toEqual([2, 4, 3]);
  });
});

describe("qPosterior and logQtTransitioningToKnownClass", () => {
  it("check their arguments as step does", () => {
    expect(() => s.qPosterior(logits(1, 2), tokens(1, 2), 10)).toThrow(new Error("t: expected an integer timestep in [0, 9], got 10"));
    expect(() => s.qPosterior(logits(1, 2), tokens(1, 3), 1)).toThrow(
      new Error("xT.dims: expected [B, N] matching logPX0 = [1, 2], got [1, 3]"),
    );
    const xT = tokens(1, 2, 0);
    expect(() => s.logQtTransitioningToKnownClass({ t: 1, xT, logOnehotXT: indexToLogOnehot(xT, 4), cumulative: true })).toThrow(
      new Error("logOnehotXT.dims: expected [B, K, N] = [1, 5, 2], got [1, 4, 2]"),
    );
    expect(() =>
      s.logQtTransitioningToKnownClass({ t: 1, xT, logOnehotXT: indexToLogOnehot(xT, K), cumulative: 1 as never }),
    ).toThrow(new Error("cumulative: expected a boolean, got 1"));
    for (const bad of [NaN, Infinity]) {
      const onehot = indexToLogOnehot(xT, K);
      onehot.data[7] = bad;
      expect(() => s.logQtTransitioningToKnownClass({ t: 1, xT, logOnehotXT: onehot, cumulative: true })).toThrow(
        new Error(`logOnehotXT.data: expected log-probabilities (finite or -inf, never NaN or +inf), got ${bad} at index [0, 3, 1]`),
      );
    }
  });
  it("prevTimestep takes a timestep of the schedule, as step does", () => {
    for (const t of [NaN, 2.5, 10, -1, "3"]) {
      expect(() => s.prevTimestep(t as number)).toThrow(new Error(`t: expected an integer timestep in [0, 9], got ${typeof t === "string" ? `"${t}"` : t}`));
    }
    expect(s.prevTimestep(0)).toBe(-1);
    expect(s.prevTimestep(9)).toBe(8);
  });
  it("indexToLogOnehot checks its token range", () => {
    expect(() => indexToLogOnehot(tokens(1, 2, 3), 3)).toThrow(new Error("x.data: expected tokens in [0, 2] (K = 3 classes), got 3 at index [0, 0]"));
  });
});

describe("size limits (src/limits.ts): checked before allocating", () => {
  it("accepts the limits themselves", () => {
    const s = new VQDiffusionScheduler({ numVecClasses: LIMITS.maxNumVecClasses, numTrainTimesteps: LIMITS.maxNumTrainTimesteps });
    expect(s.maskClass).toBe(65536);
    expect(s.logCumprodAt.length).toBe(10001);
  });
  it("refuses sizes beyond them, through fromConfig too", () => {
    expect(() => VQDiffusionScheduler.fromConfig({ num_vec_classes: 5, num_train_timesteps: 1e9 })).toThrow("numTrainTimesteps: expected an integer in [2, 10000], got 1000000000");
    expect(() => new TorchGenerator().rand([1e10])).toThrow("dims: expected at most 268435456 elements, got 10000000000 elements for [10000000000]");
    expect(() => new TorchGenerator().rand([2 ** 15, 2 ** 15])).toThrow("dims: expected at most 268435456 elements, got 1073741824 elements for [32768, 32768]");
    const x = { data: new Int32Array(4), dims: [1, 4] };
    expect(() => indexToLogOnehot(x, 2 ** 33)).toThrow("numClasses: expected an integer in [1, 65537], got 8589934592");
    expect(() => indexToLogOnehot({ data: new Int32Array(2 ** 16), dims: [16, 4096] }, 65537)).toThrow("x.dims: expected B·K·N <= 268435456 elements for the one-hot, got 16·65537·4096 = 4295032832");
  });
  it("the sampler refuses a batch or an image size beyond them before calling the denoiser", async () => {
    const scheduler = new VQDiffusionScheduler({ numVecClasses: 5 });
    let calls = 0;
    const sampler = new VQDiffusionSampler({ scheduler, denoiser: () => { calls++; return { data: new Float32Array(4), dims: [1, 4, 1] }; } });
    await expect(sampler.sample({ numLatentPixels: 2 ** 31 })).rejects.toThrow("numLatentPixels: expected an integer in [1, 65536] (or latents), got 2147483648");
    await expect(sampler.sample({ numLatentPixels: 4, batchSize: 70000 })).rejects.toThrow("batchSize: expected an integer in [1, 65536], got 70000");
    await expect(sampler.sample({ numLatentPixels: 65536, batchSize: 512 })).rejects.toThrow("batchSize: expected batchSize · numLatentPixels <= 16777216 tokens, got 512 · 65536 = 33554432");
    expect(calls).toBe(0);
  });
});

describe("schedules that would give NaN or garbage", () => {
  it("refuses γ̄ = 0 at some step (a masked token would be impossible: NaN posteriors, class 0 whatever the model says)", () => {
    expect(() => new VQDiffusionScheduler({ numVecClasses: 5, gammaCumStart: 0, gammaCumEnd: 0 })).toThrow(
      'gammaCumStart, gammaCumEnd: expected γ̄ > 0 at every step (the chain starts from masked tokens, so a masked token must have non-zero probability at every timestep), got γ̄ = 0 at step 0 from {"gammaCumStart":0,"gammaCumEnd":0}',
    );
    expect(() => new VQDiffusionScheduler({ numVecClasses: 5, alphaCumStart: 1, gammaCumStart: 0 })).toThrow(/^gammaCumStart, gammaCumEnd: expected γ̄ > 0 at every step .* got γ̄ = 0 at step 0/);
  });
  it("accepts β exactly 0 (alphaCumEnd = 0, gammaCumEnd = 1), whose float64 residue is a few ulps below 0", () => {
    const s = new VQDiffusionScheduler({ numVecClasses: 5, alphaCumEnd: 0, gammaCumEnd: 1 });
    expect(s.logCumprodBt[99]).toBe(-Infinity);
    const g = new TorchGenerator().manualSeed(0);
    const logp = { data: new Float32Array(4 * 3).fill(Math.log(0.25)), dims: [1, 4, 3] };
    const out = s.step(logp, 99, { data: Int32Array.of(4, 4, 4), dims: [1, 3] }, { generator: g });
    expect(Array.from(out.prevSample.data).every((v) => v >= 0 && v <= 4)).toBe(true);
  });
});

describe("wrong kinds of argument get Errors naming them, not TypeErrors", () => {
  const s = new VQDiffusionScheduler({ numVecClasses: 3 });
  const logp = { data: new Float32Array(2).fill(Math.log(0.5)), dims: [1, 2, 1] };
  const x = { data: Int32Array.of(2), dims: [1, 1] };
  it("null or non-object options", () => {
    expect(() => s.step(logp, 5, x, null as never)).toThrow("options: expected { generator?, mode?, prevTimestep? }, got null");
    expect(() => s.qPosterior(logp, x, 5, 3 as never)).toThrow("options: expected { prevTimestep? }, got 3");
    expect(() => s.addNoise(x, 5, "g" as never)).toThrow('options: expected { generator? }, got "g"');
  });
  it("an options key the method does not take (a typo, diffusers' snake_case) is refused before anything is drawn", async () => {
    const generator = gen();
    const first = gen().rand([1]).data[0];
    const loose = (o: Record<string, unknown>) => o as never;
    expect(() => s.step(logp, 5, x, loose({ generator, prev_timestep: 3 }))).toThrow(
      new Error('options: expected only the keys generator, mode, prevTimestep, got the unknown key "prev_timestep" (Python\'s spelling of prevTimestep)'),
    );
    expect(() => s.step(logp, 5, x, loose({ generator, return_dict: false, mdoe: "fast" }))).toThrow(
      new Error('options: expected only the keys generator, mode, prevTimestep, got the unknown keys "return_dict", "mdoe" (did you mean mode?)'),
    );
    await expect(s.stepAsync(logp, 5, x, loose({ generator, thread: 2 }))).rejects.toThrow(
      new Error('options: expected only the keys generator, mode, prevTimestep, threads, got the unknown key "thread" (did you mean threads?)'),
    );
    expect(() => s.addNoise(x, 5, loose({ generator, mode: "fast" }))).toThrow(new Error('options: expected only the keys generator, got the unknown key "mode"'));
    expect(() => s.qPosterior(logp, x, 5, loose({ prevTimstep: 2 }))).toThrow(
      new Error('options: expected only the keys prevTimestep, got the unknown key "prevTimstep" (did you mean prevTimestep?)'),
    );
    expect(() => s.setTimesteps(3, loose({ timestep_spacing: "linspace" }))).toThrow(
      new Error('options: expected only the keys timestepSpacing, got the unknown key "timestep_spacing" (Python\'s spelling of timestepSpacing)'),
    );
    expect(s.timesteps.length).toBe(100); // unchanged
    expect(() => new VQDiffusionScheduler(loose({ num_vec_classes: 4097 }))).toThrow(
      new Error(
        'options: expected only the keys numVecClasses, numTrainTimesteps, alphaCumStart, alphaCumEnd, gammaCumStart, gammaCumEnd, got the unknown key "num_vec_classes" (Python\'s spelling of numVecClasses)',
      ),
    );
    expect(() => VQDiffusionScheduler.fromConfig({ num_vec_classes: 5 }, loose({ onwarning: () => undefined }))).toThrow(
      new Error('options: expected only the keys onWarning, file, got the unknown key "onwarning" (did you mean onWarning?)'),
    );
    const sampler = new VQDiffusionSampler({ scheduler: s, denoiser: () => logp });
    await expect(sampler.sample(loose({ numLatentPixels: 1, generator, guidance_scale: 1 }))).rejects.toThrow(
      new Error(
        "options: expected only the keys batchSize, numLatentPixels, numInferenceSteps, guidanceScale, truncationRate, generator, latents, tokenType, onStep, " +
          'signal, mode, timestepSpacing, truncationTopK, strategy, initTokens, strength, keepMask, timings, threads, got the unknown key "guidance_scale" (Python\'s spelling of guidanceScale)',
      ),
    );
    await expect(sampler.sample(null as never)).rejects.toThrow(new Error("options: expected an object, got null"));
    expect(() => new VQDiffusionSampler(loose({ scheduler: s, denoiser: () => logp, model: 1 }))).toThrow(
      new Error('options: expected only the keys scheduler, denoiser, got the unknown key "model"'),
    );
    expect(generator.rand([1]).data[0]).toBe(first); // nothing drawn
  });
  it("a scheduler without what the sampler calls, a dataset denoiser without a scheduler", async () => {
    const { createDatasetDenoiser } = await import("../src/index.js");
    expect(() => new VQDiffusionSampler({ scheduler: { step() {} } as never, denoiser: () => logp })).toThrow(
      "scheduler: expected a VQDiffusionScheduler (step, addNoise, maskProbability, numEmbed, config), got an object without addNoise()",
    );
    expect(() => createDatasetDenoiser({ images: [[0]] } as never)).toThrow("scheduler: expected a VQDiffusionScheduler, got undefined");
  });
});
