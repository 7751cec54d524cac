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
  /**
   * When the model output arrives while the step runs (a helper thread of a split step reads it
   * from shared memory as the calling thread copies it in): blocks until rows [0, rows) of batch
   * item b are readable in `logp`. Absent: all of `logp` is readable.
   */
  readonly awaitRows?: (b: number, rows: number) => void;
}

/**
 * The pixels [n0, n1) of every batch item that one thread of a split step handles. Every pixel's
 * arithmetic is the same whatever range holds it when n0 is a multiple of 4 (the WASM kernels'
 * lanes) and n1 is one too or N.
 */
export interface PixelRange {
  readonly n0: number;
  readonly n1: number;
}
