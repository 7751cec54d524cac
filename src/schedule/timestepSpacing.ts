/**
 * Which timesteps a chain of n steps visits. The reference (`setTimesteps(n)` without a spacing) runs
 * n − 1, …, 0: the last n training steps, one at a time. The spacings of diffusers' other schedulers
 * spread n steps over the whole schedule instead, and the step then jumps between them exactly
 * (`../transitions/jump.ts`):
 *   "linspace": round(linspace(0, T − 1, n)), descending   (n = 10, T = 100: 99, 88, …, 11, 0)
 *   "leading":  (0, 1, …, n − 1)·⌊T/n⌋, descending          (90, 80, …, 0)
 *   "trailing": round(T, T − T/n, …, T/n) − 1, i.e. descending from T − 1   (99, 89, …, 9)
 * Rounding is numpy's, half to even. Each is computed as diffusers' numpy formula computes it
 * (`DDPMScheduler.set_timesteps`), float for float, so that ties at .5 fall the same way:
 *   linspace: `np.linspace(0, T − 1, n).round()[::-1]`: i · ((T − 1)/(n − 1)), the last exactly T − 1
 *   leading:  `(np.arange(0, n) * (T // n)).round()[::-1]`
 *   trailing: `np.round(np.arange(T, 0, -T/n)) − 1`: numpy's float `arange` fills
 *             T + i · δ with δ = (T − T/n) − T, not T − i · T/n (T = 100, n = 24: …, 91, 86, not …, 91, 87).
 *             Where its length ⌈T / (T/n)⌉ rounds up to n + 1, diffusers' chain has a last timestep
 *             −1 (an index from the end of its tables); here the chain stops at the first n, which
 *             are diffusers' first n.
 * test/timestepSpacing.golden.test.ts checks every spacing against diffusers' values over a grid of (T, n).
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
    const step = (T - 1) / (n - 1);
    for (let i = 0; i < n; i++) out[n - 1 - i] = n === 1 ? 0 : i === n - 1 ? T - 1 : roundHalfEven(i * step);
  } else if (spacing === "leading") {
    const ratio = Math.floor(T / n);
    for (let i = 0; i < n; i++) out[n - 1 - i] = i * ratio;
  } else if (spacing === "trailing") {
    const first = T + -(T / n); // numpy's arange stores start + step, then fills start + i · (that − start)
    const delta = first - T;
    for (let i = 0; i < n; i++) out[i] = roundHalfEven(i === 0 ? T : i === 1 ? first : T + i * delta) - 1;
  } else {
    throw argumentError("timestepSpacing", '"linspace", "leading" or "trailing" (or none, for the reference\'s n-1 … 0)', spacing);
  }
  return out;
}
