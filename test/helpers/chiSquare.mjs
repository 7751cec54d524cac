// Goodness of fit: Pearson's chi-square test against expected probabilities. Plain JavaScript so that
// the tests (TypeScript) and bench/quality.mjs (run by Node on dist/) share one implementation.

/** log Γ(x), Lanczos approximation (g = 7, 9 terms), accurate to ~1e-15 for x > 0. */
function logGamma(x) {
  const c = [
    0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
    12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
  ];
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - logGamma(1 - x);
  x -= 1;
  let a = c[0];
  const t = x + 7.5;
  for (let i = 1; i < 9; i++) a += c[i] / (x + i);
  return 0.5 * Math.log(2 * Math.PI) + (x + 0.5) * Math.log(t) - t + Math.log(a);
}

/** Upper regularized incomplete gamma Q(a, x) (series below a + 1, continued fraction above). */
export function gammaQ(a, x) {
  if (x <= 0) return 1;
  const lg = logGamma(a);
  if (x < a + 1) {
    let sum = 1 / a;
    let term = sum;
    for (let n = 1; n < 10000; n++) {
      term *= x / (a + n);
      sum += term;
      if (Math.abs(term) < Math.abs(sum) * 1e-15) break;
    }
    return 1 - sum * Math.exp(-x + a * Math.log(x) - lg);
  }
  let b = x + 1 - a;
  let c = 1 / 1e-300;
  let d = 1 / b;
  let h = d;
  for (let i = 1; i < 10000; i++) {
    const an = -i * (i - a);
    b += 2;
    d = an * d + b;
    if (Math.abs(d) < 1e-300) d = 1e-300;
    c = b + an / c;
    if (Math.abs(c) < 1e-300) c = 1e-300;
    d = 1 / d;
    const del = d * c;
    h *= del;
    if (Math.abs(del - 1) < 1e-15) break;
  }
  return Math.exp(-x + a * Math.log(x) - lg) * h;
}

/**
 * Pearson's chi-square test of `counts` against `probabilities` (which sum to 1). Categories with an
 * expected count below 5 are pooled into one. Returns the statistic, the degrees of freedom and the
 * p-value; a category with probability 0 and a positive count gives p = 0.
 */
export function chiSquareTest(counts, probabilities) {
  let total = 0;
  for (let i = 0; i < counts.length; i++) total += counts[i];
  let stat = 0;
  let bins = 0;
  let pooledObserved = 0;
  let pooledExpected = 0;
  for (let i = 0; i < counts.length; i++) {
    const e = probabilities[i] * total;
    if (e === 0) {
      if (counts[i] > 0) return { statistic: Infinity, df: 0, p: 0 };
      continue;
    }
    if (e < 5) {
      pooledObserved += counts[i];
      pooledExpected += e;
      continue;
    }
    stat += (counts[i] - e) ** 2 / e;
    bins++;
  }
  if (pooledExpected > 0) {
    stat += (pooledObserved - pooledExpected) ** 2 / pooledExpected;
    bins++;
  }
  const df = bins - 1;
  return { statistic: stat, df, p: df > 0 ? gammaQ(df / 2, stat / 2) : 1 };
}
