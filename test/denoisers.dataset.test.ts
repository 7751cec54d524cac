/**
 * The sampler with the exact-posterior dataset denoiser reproduces the data: exactly for a product
 * distribution (chi-square on the joint), and for a few distinct images mostly the images themselves,
 * in proportion to their weights (chi-square). Fixed seeds.
 */
import { describe, expect, it } from "vitest";
import { createDatasetDenoiser, TorchGenerator, VQDiffusionSampler, VQDiffusionScheduler } from "../src/index.js";
import { chiSquareTest } from "./helpers/chiSquare.mjs";

describe("dataset denoiser + sampler: product distribution", () => {
  // N = 3 independent pixels over 3 classes: every combination is an image, weighted by the product.
  const marginals = [
    [0.6, 0.3, 0.1],
    [0.2, 0.2, 0.6],
    [0.45, 0.1, 0.45],
  ];
  const images: number[][] = [];
  const weights: number[] = [];
  for (let a = 0; a < 3; a++)
    for (let b = 0; b < 3; b++)
      for (let c = 0; c < 3; c++) {
        images.push([a, b, c]);
        weights.push(marginals[0][a] * marginals[1][b] * marginals[2][c]);
      }
  for (const mode of ["reference", "fast"] as const) {
    it(`${mode} mode: the joint of 4000 samples fits the data distribution`, async () => {
      const scheduler = new VQDiffusionScheduler({ numVecClasses: 4 });
      const sampler = new VQDiffusionSampler({ scheduler, denoiser: createDatasetDenoiser({ scheduler, images, weights }) });
      const { tokens } = await sampler.sample({ batchSize: 4000, numLatentPixels: 3, generator: new TorchGenerator().manualSeed(2026), mode });
      const counts = new Float64Array(27);
      for (let i = 0; i < 4000; i++) {
        const [a, b, c] = [0, 1, 2].map((n) => Number(tokens.data[i * 3 + n]));
        expect(Math.max(a, b, c)).toBeLessThan(3); // no mask left
        counts[a * 9 + b * 3 + c]++;
      }
      const fit = chiSquareTest(counts, weights);
      expect(fit.df).toBe(26);
      expect(fit.p).toBeGreaterThan(1e-3);
    });
  }
});

describe("dataset denoiser + sampler: distinct images", () => {
  it("most samples are data-set images, in proportion to their weights", async () => {
    const K = 9;
    const N = 16;
    const g = new TorchGenerator().manualSeed(11);
    const images = Array.from({ length: 4 }, () => Array.from(g.rand([N]).data, (u) => Math.floor(u * (K - 1))));
    const weights = [0.1, 0.2, 0.3, 0.4];
    const scheduler = new VQDiffusionScheduler({ numVecClasses: K });
    const sampler = new VQDiffusionSampler({ scheduler, denoiser: createDatasetDenoiser({ scheduler, images, weights }) });
    const B = 2000;
    const { tokens } = await sampler.sample({ batchSize: B, numLatentPixels: N, generator: new TorchGenerator().manualSeed(7) });
    const counts = new Float64Array(4);
    let matched = 0;
    for (let i = 0; i < B; i++) {
      const row = Array.from(tokens.data.subarray(i * N, (i + 1) * N), Number);
      const m = images.findIndex((img) => img.every((v, n) => v === row[n]));
      if (m >= 0) {
        counts[m]++;
        matched++;
      }
    }
    expect(matched / B).toBeGreaterThan(0.9);
    expect(chiSquareTest(counts, weights).p).toBeGreaterThan(1e-3);
  });

  it("checks its inputs", () => {
    const scheduler = new VQDiffusionScheduler({ numVecClasses: 5 });
    expect(() => createDatasetDenoiser({ scheduler, images: [] })).toThrow(new Error("images: expected at least one image, got []"));
    expect(() => createDatasetDenoiser({ scheduler, images: [[0, 4]] })).toThrow(
      new Error("images[0][1]: expected a class in [0, 3] (not the mask, 4), got 4"),
    );
    expect(() => createDatasetDenoiser({ scheduler, images: [[0, 1], [2]] })).toThrow(new Error("images[1]: expected 2 tokens like images[0], got 1 tokens"));
    expect(() => createDatasetDenoiser({ scheduler, images: [[0, 1]], weights: [0] })).toThrow(new Error("weights[0]: expected a positive finite number, got 0"));
    const d = createDatasetDenoiser({ scheduler, images: [[0, 1]] });
    expect(() => d({ data: new Int32Array(3), dims: [1, 3] }, 5)).toThrow(
      new Error("sample.dims: expected [B, N] with N = 2 (the images' size) = [*, 2], got [1, 3]"),
    );
    expect(() => d({ data: new Int32Array(2), dims: [1, 2] }, 100)).toThrow(new Error("timestep: expected an integer timestep in [0, 99], got 100"));
  });
});

describe("guidedDenoiser", () => {
  it("returns [unconditional; conditional], each half from its own denoiser on its own half of the batch", async () => {
    const { guidedDenoiser: guided } = await import("../src/index.js");
    const mark = (v: number) => (sample: { data: ArrayLike<number | bigint>; dims: readonly number[] }) => ({
      data: Float32Array.from({ length: sample.dims[0] * 2 * sample.dims[1] }, (_, i) => v + (i % sample.dims[1]) + 10 * Number(sample.data[0])),
      dims: [sample.dims[0], 2, sample.dims[1]],
    });
    const d = guided(mark(-100), mark(-200));
    const out = await d({ data: Int32Array.of(1, 1, 2, 2), dims: [2, 2] }, 5);
    expect(out.dims).toEqual([2, 2, 2]);
    // First half from the unconditional denoiser on sample row 0 (token 1), second from the conditional on row 1 (token 2).
    expect(Array.from(out.data)).toEqual([-90, -89, -90, -89, -180, -179, -180, -179]);
  });
});
