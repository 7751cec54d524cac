/**
 * One thread's share of the guidance pass split over threads (`sampling/threadedGuidance.ts`), as a
 * message: the pixel range [n0, n1) of every image of a (B, C, N) float32 array in a
 * SharedArrayBuffer, which the calling thread has filled with the guided combination (or a copy of
 * the unguided output) and every thread then renormalises, truncates and clamps in place, each its
 * own columns. The reply is a `StepReply` (no draws).
 */
import { truncateClampPixels } from "../../sampling/fusedGuidance.js";
import type { PixelRange } from "../stepProblem.js";

/** A helper's share of the guidance pass. */
export interface GuidanceTask {
  /** Matches the reply to the task. */
  readonly id: number;
  /** Tells this task from a step's (`StepTask`, modes "reference" and "fast"). */
  readonly mode: "guidance";
  readonly B: number;
  /** Classes, K − 1. */
  readonly C: number;
  readonly N: number;
  /** The pixels this thread takes, in every image. */
  readonly range: PixelRange;
  /** (B, C, N) float32, a view of a SharedArrayBuffer: read and written in place, the range's columns only. */
  readonly data: Float32Array;
  /** Whether `data` holds the guided combination still to be renormalised. */
  readonly renormalise: boolean;
  /** Truncation rate in (0, 1]. */
  readonly rate: number;
  /** Top-k truncation (≥ 1), or null for none. */
  readonly topK: number | null;
}

/**
 * Runs one share of the guidance pass (`truncateClampPixels` on the task's range).
 *
 * @example
 * ```ts
 * declare const task: GuidanceTask;
 * runGuidanceTask(task); // task.data's columns [task.range.n0, task.range.n1) are now final
 * ```
 */
export function runGuidanceTask(task: Omit<GuidanceTask, "id">): void {
  const { B, C, N, range, data, renormalise, rate, topK } = task;
  truncateClampPixels(data, B, C, N, range.n0, range.n1, renormalise, rate, topK ?? undefined);
}
