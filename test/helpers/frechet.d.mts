/** Types of frechet.mjs. */
export function meanAndCovariance(features: ArrayLike<number>, n: number, d: number): { mean: Float64Array; cov: Float64Array };
export function symmetricEigen(matrix: ArrayLike<number>, d: number): { values: Float64Array; vectors: Float64Array };
export function frechetDistance(mean1: ArrayLike<number>, cov1: ArrayLike<number>, mean2: ArrayLike<number>, cov2: ArrayLike<number>, d: number): number;
export function frechetBetween(features1: ArrayLike<number>, n1: number, features2: ArrayLike<number>, n2: number, d: number): number;
