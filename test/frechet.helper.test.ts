/** The Fréchet distance of the quality table, against closed forms. */
import { describe, expect, it } from "vitest";
import { TorchGenerator } from "../src/index.js";
import { frechetDistance, meanAndCovariance, symmetricEigen } from "./helpers/frechet.mjs";

function randomSymmetricPSD(d: number, seed: number): Float64Array {
  const u = new TorchGenerator().manualSeed(seed).rand([d * d]).data;
  const a = new Float64Array(d * d);
  for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) for (let k = 0; k < d; k++) a[i * d + j] += (u[i * d + k] - 0.5) * (u[j * d + k] - 0.5);
  return a;
}

describe("Fréchet distance", () => {
  it("eigen-decomposition reconstructs the matrix (V diag(λ) Vᵀ = A) with orthonormal V", () => {
    const d = 12;
    const a = randomSymmetricPSD(d, 1);
    const { values, vectors } = symmetricEigen(a, d);
    for (let i = 0; i < d; i++) {
      for (let j = 0; j < d; j++) {
        let rec = 0;
        let dot = 0;
        for (let k = 0; k < d; k++) {
          rec += vectors[i * d + k] * values[k] * vectors[j * d + k];
          dot += vectors[k * d + i] * vectors[k * d + j];
        }
        expect(rec).toBeCloseTo(a[i * d + j], 10);
        expect(dot).toBeCloseTo(i === j ? 1 : 0, 10);
      }
    }
  });

  it("diagonal covariances: Σ (μ₁ − μ₂)² + Σ (a + b − 2√(ab))", () => {
    const d = 5;
    const m1 = [0, 1, 2, 3, 4];
    const m2 = [1, 1, 0, 3, 5];
    const a = [1, 2, 3, 4, 5];
    const b = [4, 2, 1, 9, 0.5];
    const diag = (v: number[]) => {
      const out = new Float64Array(d * d);
      v.forEach((x, i) => (out[i * d + i] = x));
      return out;
    };
    let expected = 0;
    for (let i = 0; i < d; i++) expected += (m1[i] - m2[i]) ** 2 + a[i] + b[i] - 2 * Math.sqrt(a[i] * b[i]);
    expect(frechetDistance(m1, diag(a), m2, diag(b), d)).toBeCloseTo(expected, 10);
  });

  it("is 0 between a Gaussian and itself, and symmetric", () => {
    const d = 8;
    const s1 = randomSymmetricPSD(d, 2);
    const s2 = randomSymmetricPSD(d, 3);
    const m = new Float64Array(d).fill(0.3);
    expect(Math.abs(frechetDistance(m, s1, m, s1, d))).toBeLessThan(1e-9);
    expect(frechetDistance(m, s1, new Float64Array(d), s2, d)).toBeCloseTo(frechetDistance(new Float64Array(d), s2, m, s1, d), 9);
  });

  it("mean and covariance as numpy.cov (divided by n − 1)", () => {
    const { mean, cov } = meanAndCovariance([1, 2, 3, 6, 5, 10], 3, 2);
    expect(Array.from(mean)).toEqual([3, 6]);
    expect(Array.from(cov)).toEqual([4, 8, 8, 16]);
  });
});
