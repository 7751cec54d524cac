/**
 * One step's problem, as both step modes (`fusedStep.ts`, `fastStep.ts`) and the sweep they share
 * (`sweep.ts`) receive it: what the scheduler checked, named once instead of passed position by
 * position.
 */
import type { PosteriorRows } from "../posterior/pixelPosterior.js";
import type { TorchGenerator } from "../random/torchGenerator.js";
import type { StepPrimitives } from "./primitives.js";

export interface StepProblem {
  /** The inner loops (WASM or plain TypeScript). */
  readonly prims: StepPrimitives;
  /** y = log p(x_0 | x_t), shape (B, K − 1, N), checked: finite or −inf. */
  readonly logp: Float32Array;
  /** x_t, shape (B, N), values in [0, K − 1] (K − 1: the mask). */
  readonly tokens: Int32Array;
  /** Batch size. */
  readonly B: number;
  /** Classes, the mask included. */
  readonly K: number;
  /** Pixels per image. */
  readonly N: number;
  /** The posterior's row values, or null at t = 0 (the categorical is softmax(y) itself). */
  readonly posterior: PosteriorRows | null;
  /** The random stream the step draws from (and advances). */
  readonly generator: TorchGenerator;
}
