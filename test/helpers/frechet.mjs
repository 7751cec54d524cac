// The Fréchet distance between two sets of feature vectors (as FID computes it on Inception features;
// here on the evaluation classifier's penultimate features):
//   d² = ‖μ₁ − μ₂‖² + Tr(Σ₁ + Σ₂ − 2 (Σ₁ Σ₂)^½)
// with Tr (Σ₁ Σ₂)^½ = Σᵢ √λᵢ, λᵢ the eigenvalues of the symmetric PSD matrix Σ₁^½ Σ₂ Σ₁^½ (which has
// those of Σ₁ Σ₂). Eigenvalues by cyclic Jacobi rotations, in float64.

/** Mean [d] and covariance [d·d] (divided by n − 1, as numpy.cov) of n vectors of d features, row-major. */
export function meanAndCovariance(features, n, d) {
  const mean = new Float64Array(d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) mean[j] += features[i * d + j];
  for (let j = 0; j < d; j++) mean[j] /= n;
  const cov = new Float64Array(d * d);
  const row = new Float64Array(d);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < d; j++) row[j] = features[i * d + j] - mean[j];
    for (let a = 0; a < d; a++) {
      const ra = row[a];
      if (ra === 0) continue;
      for (let b = a; b < d; b++) cov[a * d + b] += ra * row[b];
    }
  }
  for (let a = 0; a < d; a++) {
    for (let b = a; b < d; b++) {
      const v = cov[a * d + b] / (n - 1);
      cov[a * d + b] = v;
      cov[b * d + a] = v;
    }
  }
  return { mean, cov };
}

/** Eigen-decomposition of a symmetric d×d matrix (not modified): { values [d], vectors [d·d], column k = vector k }. */
export function symmetricEigen(matrix, d) {
  const a = Float64Array.from(matrix);
  const v = new Float64Array(d * d);
  for (let i = 0; i < d; i++) v[i * d + i] = 1;
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    for (let p = 0; p < d; p++) for (let q = p + 1; q < d; q++) off += a[p * d + q] * a[p * d + q];
    if (off < 1e-22 * (1 + frobenius2(a))) break;
    for (let p = 0; p < d; p++) {
      for (let q = p + 1; q < d; q++) {
        const apq = a[p * d + q];
        if (Math.abs(apq) < 1e-300) continue;
        const theta = (a[q * d + q] - a[p * d + p]) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let k = 0; k < d; k++) {
          const akp = a[k * d + p];
          const akq = a[k * d + q];
          a[k * d + p] = c * akp - s * akq;
          a[k * d + q] = s * akp + c * akq;
        }
        for (let k = 0; k < d; k++) {
          const apk = a[p * d + k];
          const aqk = a[q * d + k];
          a[p * d + k] = c * apk - s * aqk;
          a[q * d + k] = s * apk + c * aqk;
        }
        for (let k = 0; k < d; k++) {
          const vkp = v[k * d + p];
          const vkq = v[k * d + q];
          v[k * d + p] = c * vkp - s * vkq;
          v[k * d + q] = s * vkp + c * vkq;
        }
      }
    }
  }
  const values = new Float64Array(d);
  for (let i = 0; i < d; i++) values[i] = a[i * d + i];
  return { values, vectors: v };
}

function frobenius2(a) {
  let s = 0;
  for (const x of a) s += x * x;
  return s;
}

/** The Fréchet distance d² between Gaussians (μ₁, Σ₁) and (μ₂, Σ₂) of dimension d. */
export function frechetDistance(mean1, cov1, mean2, cov2, d) {
  let diff = 0;
  for (let j = 0; j < d; j++) diff += (mean1[j] - mean2[j]) ** 2;
  const { values, vectors } = symmetricEigen(cov1, d);
  // S = Σ₁^½ = V diag(√λ) Vᵀ (negative rounding residues clipped to 0).
  const s = new Float64Array(d * d);
  for (let i = 0; i < d; i++) {
    for (let j = 0; j < d; j++) {
      let acc = 0;
      for (let k = 0; k < d; k++) acc += vectors[i * d + k] * Math.sqrt(Math.max(values[k], 0)) * vectors[j * d + k];
      s[i * d + j] = acc;
    }
  }
  const m = multiply(multiply(s, cov2, d), s, d);
  for (let i = 0; i < d; i++) for (let j = i + 1; j < d; j++) m[i * d + j] = m[j * d + i] = (m[i * d + j] + m[j * d + i]) / 2;
  let trace = 0;
  for (const lambda of symmetricEigen(m, d).values) trace += Math.sqrt(Math.max(lambda, 0));
  let tr1 = 0;
  let tr2 = 0;
  for (let i = 0; i < d; i++) {
    tr1 += cov1[i * d + i];
    tr2 += cov2[i * d + i];
  }
  return diff + tr1 + tr2 - 2 * trace;
}

function multiply(x, y, d) {
  const out = new Float64Array(d * d);
  for (let i = 0; i < d; i++) {
    for (let k = 0; k < d; k++) {
      const xik = x[i * d + k];
      if (xik === 0) continue;
      for (let j = 0; j < d; j++) out[i * d + j] += xik * y[k * d + j];
    }
  }
  return out;
}

/** The Fréchet distance between two feature sets (rows of d features). */
export function frechetBetween(features1, n1, features2, n2, d) {
  const a = meanAndCovariance(features1, n1, d);
  const b = meanAndCovariance(features2, n2, d);
  return frechetDistance(a.mean, a.cov, b.mean, b.cov, d);
}
