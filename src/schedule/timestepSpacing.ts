/**
 * Which timesteps a chain of n steps visits. The reference (`setTimesteps(n)` without a spacing) runs
 * n − 1, …, 0: the last n training steps, one at a time. The spacings of diffusers' other schedulers
 * spread n steps over the whole schedule instead, and the step then jumps between them exactly
 * (`../transitions/jump.ts`):
 *   "linspace": round(linspace(0, T − 1, n)), descending   (n = 10, T = 100: 99, 88, …, 11, 0)
 *   "leading":  (0, 1, …, n − 1)·⌊T/n⌋, descending          (90, 80, …, 0)
 *   "trailing": round(T, T − T/n, …, T/n) − 1, i.e. descending from T − 1   (99, 89, …, 9)
 * Rounding is numpy's, half to even.
 */
import { argumentError } from "../errors.js";

/** A respacing of the chain; absent, the reference's n − 1, …, 0. */
export type TimestepSpacing = "linspace" | "leading" | "trailing";

/** numpy's `round`: to the nearest integer, halves to even. */
export function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * @param n - steps, in [1, T].
 * @param T - training timesteps.
 * @returns the timesteps in the order the chain visits them (descending).
 *
 * @example
 * ```ts
 * spacedTimesteps(10, 100, "linspace"); // Int32Array [99, 88, 77, 66, 55, 44, 33, 22, 11, 0]
 * ```
 */
export function spacedTimesteps(n: number, T: number, spacing: TimestepSpacing | undefined): Int32Array {
  const out = new Int32Array(n);
  if (spacing === undefined) {
    for (let i = 0; i < n; i++) out[i] = n - 1 - i;
  } else if (spacing === "linspace") {
    for (let i = 0; i < n; i++) out[n - 1 - i] = n === 1 ? 0 : roundHalfEven(i * ((T - 1) / (n - 1)));
  } else if (spacing === "leading") {
    const ratio = Math.floor(T / n);
    for (let i = 0; i < n; i++) out[n - 1 - i] = i * ratio;
  } else if (spacing === "trailing") {
    const ratio = T / n;
    for (let i = 0; i < n; i++) out[i] = roundHalfEven(T - i * ratio) - 1;
  } else {
    throw argumentError("timestepSpacing", '"linspace", "leading" or "trailing" (or none, for the reference\'s n-1 … 0)', spacing);
  }
  return out;
}
