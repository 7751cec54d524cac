/** A `StepProblem` for the kernel tests, from the pieces the tests build. */
import type { StepPrimitives } from "../../src/kernels/primitives.js";
import type { StepProblem } from "../../src/kernels/stepProblem.js";
import { posteriorRows, type PosteriorTransitions } from "../../src/posterior/pixelPosterior.js";
import type { TorchGenerator } from "../../src/random/torchGenerator.js";

export function stepProblem(
  prims: StepPrimitives,
  logp: Float32Array,
  tokens: Int32Array,
  B: number,
  K: number,
  N: number,
  transitions: PosteriorTransitions | null,
  generator: TorchGenerator,
): StepProblem {
  return { prims, logp, tokens, B, K, N, posterior: transitions === null ? null : posteriorRows(transitions), generator };
}
