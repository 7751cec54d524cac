/**
 * Objects shared between concurrent runs: one scheduler under several samplers, one sampler running
 * several chains at once. Each run owns its chain, so its tokens equal those of the same run alone.
 */
import { describe, expect, it } from "vitest";
import { TorchGenerator, VQDiffusionSampler, type Denoiser, type SampleOptions } from "../src/index.js";
import { pixelArtDenoiser, pixelArtScheduler } from "../src/demo/pixelArtSampler.js";

/** The denoiser, made to yield between calls so that concurrent runs interleave step by step. */
function yielding(denoiser: Denoiser): Denoiser {
  return async (sample, t) => {
    await new Promise((resolve) => setTimeout(resolve, 0));
    return denoiser(sample, t);
  };
}

const runs: Omit<SampleOptions, "tokenType" | "latents">[] = [
  { numInferenceSteps: 100, batchSize: 2, numLatentPixels: 256 },
  { numInferenceSteps: 10, timestepSpacing: "linspace", batchSize: 2, numLatentPixels: 256 },
  { numInferenceSteps: 25, timestepSpacing: "trailing", strategy: "purity", batchSize: 1, numLatentPixels: 256 },
];

describe("concurrent runs on shared objects", () => {
  it("two samplers on one scheduler, awaited together, give the tokens of each run alone", async () => {
    const scheduler = pixelArtScheduler();
    const alone: number[][] = [];
    for (const [i, r] of runs.entries()) {
      const sampler = new VQDiffusionSampler({ scheduler, denoiser: yielding(pixelArtDenoiser({ scheduler })) });
      alone.push(Array.from((await sampler.sample({ ...r, generator: new TorchGenerator().manualSeed(i) })).tokens.data));
    }
    const together = await Promise.all(
      runs.map((r, i) => new VQDiffusionSampler({ scheduler, denoiser: yielding(pixelArtDenoiser({ scheduler })) }).sample({ ...r, generator: new TorchGenerator().manualSeed(i) })),
    );
    together.forEach((t, i) => expect(Array.from(t.tokens.data)).toEqual(alone[i]));
    // The scheduler's own timesteps were not touched by the runs.
    expect(scheduler.timesteps.length).toBe(100);
  });

  it("one sampler running three chains at once gives the tokens of each alone", async () => {
    const scheduler = pixelArtScheduler();
    const sampler = new VQDiffusionSampler({ scheduler, denoiser: yielding(pixelArtDenoiser({ scheduler })) });
    const alone: number[][] = [];
    for (const [i, r] of runs.entries()) alone.push(Array.from((await sampler.sample({ ...r, generator: new TorchGenerator().manualSeed(10 + i) })).tokens.data));
    const together = await Promise.all(runs.map((r, i) => sampler.sample({ ...r, generator: new TorchGenerator().manualSeed(10 + i) })));
    together.forEach((t, i) => expect(Array.from(t.tokens.data)).toEqual(alone[i]));
  });
});
