/** Messages between the page and its sampling worker. */
import type { PixelArtOptions } from "vq-diffusion/demo";

export type SampleRequest = { type: "sample"; options: Omit<PixelArtOptions, "onStep" | "signal"> };

export type WorkerMessage =
  | { type: "step"; step: number; total: number; tokens: Int32Array; msPerStep: number }
  | { type: "done"; tokens: Int32Array; matches: (string | null)[]; msPerStep: number; backend: string }
  | { type: "error"; message: string };
