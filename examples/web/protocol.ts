/** Messages between the page and its workers (pixel art; text to image). */
import type { PixelArtOptions } from "vq-diffusion/demo";

export type SampleRequest = { type: "sample"; options: Omit<PixelArtOptions, "onStep" | "signal"> };

export type WorkerMessage =
  | { type: "step"; step: number; total: number; tokens: Int32Array; msPerStep: number }
  | { type: "done"; tokens: Int32Array; matches: (string | null)[]; msPerStep: number; backend: string }
  | { type: "error"; message: string };

/** A text-to-image request: the model folder's URL, the onnxruntime backend, and generate's options. */
export type GenerateRequest = {
  type: "generate";
  modelUrl: string;
  backend: "wasm" | "webgpu";
  /** Decode and post the partially unmasked images after every step. */
  preview: boolean;
  options: {
    prompt: string;
    numImagesPerPrompt: number;
    numInferenceSteps: number;
    guidanceScale: number;
    truncationRate: number;
    seed: number;
    timestepSpacing?: "linspace" | "leading" | "trailing";
    strategy: "posterior" | "purity";
    mode: "reference" | "fast";
  };
};

/** Per-step milliseconds, averaged over the steps so far. */
export type StepTimes = { transformerMs: number; schedulerMs: number; guidanceMs: number };

export type GenerateMessage =
  | { type: "loaded"; ms: number; backend: string; webgpu: "none" | "no-adapter" | "adapter" }
  /** A warning of the pipeline (`onWarning`): a prompt naming nothing the model knows, a prompt cut to L tokens. */
  | { type: "warning"; message: string }
  | { type: "step"; step: number; total: number; images: ImageLike[] | null; times: StepTimes }
  | { type: "done"; images: ImageLike[]; tokens: Int32Array; times: StepTimes; totalMs: number; decodeMs: number; textEncoderMs: number }
  | { type: "error"; message: string };

/** An RGBA image (what ImageData holds). */
export type ImageLike = { data: Uint8ClampedArray<ArrayBuffer>; width: number; height: number };
