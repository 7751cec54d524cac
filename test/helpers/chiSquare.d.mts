/** Types of chiSquare.mjs. */

/** Upper regularized incomplete gamma Q(a, x). */
export function gammaQ(a: number, x: number): number;

/**
 * Pearson's chi-square test of `counts` against `probabilities` (which sum to 1); categories with an
 * expected count below 5 are pooled into one.
 */
export function chiSquareTest(counts: ArrayLike<number>, probabilities: ArrayLike<number>): { statistic: number; df: number; p: number };
