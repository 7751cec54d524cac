/**
 * The demo's model and run: the exact-posterior denoiser over the pixel-art data set, conditioned on a
 * label if asked (classifier-free guidance mixes the label's posterior with the whole set's), and a
 * sampling run that keeps a few intermediate frames. Shared by the CLI and the web page.
 */
import { createDatasetDenoiser, guidedDenoiser } from "../denoisers/datasetDenoiser.js";
import { argumentError } from "../errors.js";
import { TorchGenerator } from "../random/torchGenerator.js";
import { VQDiffusionSampler, type Denoiser, type StepInfo } from "../sampling/sampler.js";
import type { StepMode } from "../scheduler/vqDiffusionScheduler.js";
import type { TimestepSpacing } from "../schedule/timestepSpacing.js";
import { VQDiffusionScheduler } from "../scheduler/vqDiffusionScheduler.js";
import { PIXEL_ART, PIXEL_ART_LABELS, PIXEL_ART_NUM_CLASSES, SPRITE_SIZE } from "./pixelArt.js";

/** Options of {@link samplePixelArt}. */
export interface PixelArtOptions {
  /** The generator's seed (default 0): any integer torch.Generator().manual_seed takes, [-2^63, 2^64 - 1]. */
  seed?: number | bigint;
  /** Reverse steps (default 100). */
  numInferenceSteps?: number;
  /** Images (default 4). */
  batchSize?: number;
  /** Condition on this label's sprites (one of PIXEL_ART_LABELS). */
  label?: string;
  /** Classifier-free guidance scale (used with a label), default 1. */
  guidanceScale?: number;
  /** Keep the smallest set of classes whose probability reaches this rate (default 1: all). */
  truncationRate?: number;
  mode?: StepMode;
  /** Spread the steps over the schedule with the exact jump (default: the reference's n − 1 … 0). */
  timestepSpacing?: TimestepSpacing;
  /** `"posterior"` (default) or `"purity"`. */
  strategy?: "posterior" | "purity";
  /** Intermediate frames kept per image, the final one included (default 8). */
  frames?: number;
  /** Called after every step. */
  onStep?: (info: StepInfo) => void | Promise<void>;
  signal?: AbortSignal;
}

/** What {@link samplePixelArt} returns. */
export interface PixelArtResult {
  /** Final tokens, (batch, 256). */
  tokens: Int32Array;
  /** Per image, its frames (256 tokens each), the last being the final image. */
  frames: Int32Array[][];
  /** Per image, the label of the data-set sprite it equals, or null. */
  matches: (string | null)[];
}

/** The scheduler of the demo: K = 21 (20 colours and the mask), the reference's schedule. */
export function pixelArtScheduler(): VQDiffusionScheduler {
  return new VQDiffusionScheduler({ numVecClasses: PIXEL_ART_NUM_CLASSES });
}

/** Options of {@link pixelArtDenoiser}, named as `createDatasetDenoiser`'s and the sampler's. */
export interface PixelArtDenoiserOptions {
  /** The scheduler the posterior is computed with (K = 21). */
  scheduler: VQDiffusionScheduler;
  /** Condition on this label's sprites (one of `PIXEL_ART_LABELS`); absent: all sprites. */
  label?: string;
  /** With a label and a scale above 1, the denoiser returns [all; label] for classifier-free guidance. */
  guidanceScale?: number;
}

/**
 * The demo's denoiser: the exact posterior over all sprites, or over `label`'s sprites; with a label
 * and guidanceScale > 1, [all; label] for classifier-free guidance.
 *
 * @example
 * ```ts
 * const denoiser = pixelArtDenoiser({ scheduler: pixelArtScheduler(), label: "heart", guidanceScale: 3 });
 * ```
 */
export function pixelArtDenoiser(options: PixelArtDenoiserOptions): Denoiser {
  if (typeof options !== "object" || options === null) throw argumentError("options", "{ scheduler, label?, guidanceScale? }", options);
  const { scheduler, label, guidanceScale = 1 } = options;
  const all = createDatasetDenoiser({ scheduler, images: PIXEL_ART.map((s) => s.tokens) });
  if (label === undefined) return all;
  if (!PIXEL_ART_LABELS.includes(label)) throw argumentError("label", `one of ${PIXEL_ART_LABELS.join(", ")}`, label);
  const conditional = createDatasetDenoiser({ scheduler, images: PIXEL_ART.filter((s) => s.label === label).map((s) => s.tokens) });
  return guidanceScale > 1 ? guidedDenoiser(all, conditional) : conditional;
}

/**
 * Samples pixel-art images and keeps evenly spaced intermediate frames.
 *
 * @example
 * ```ts
 * const { tokens, matches } = await samplePixelArt({ seed: 7, batchSize: 4, label: "heart" });
 * ```
 */
export async function samplePixelArt(options: PixelArtOptions = {}): Promise<PixelArtResult> {
  const scheduler = pixelArtScheduler();
  const steps = options.numInferenceSteps ?? 100;
  const batch = options.batchSize ?? 4;
  const guidance = options.guidanceScale ?? 1;
  const frameCount = options.frames ?? 8;
  const N = SPRITE_SIZE * SPRITE_SIZE;
  const denoiser = pixelArtDenoiser({ scheduler, label: options.label, guidanceScale: guidance });
  const keep = new Set<number>();
  for (let k = 1; k <= frameCount; k++) keep.add(Math.max(0, Math.round((steps * k) / frameCount) - 1));
  const frames: Int32Array[][] = Array.from({ length: batch }, () => []);
  const { tokens } = await new VQDiffusionSampler({ scheduler, denoiser }).sample({
    batchSize: batch,
    numLatentPixels: N,
    numInferenceSteps: steps,
    guidanceScale: options.label !== undefined ? guidance : 1,
    truncationRate: options.truncationRate ?? 1,
    generator: new TorchGenerator().manualSeed(options.seed ?? 0),
    mode: options.mode,
    timestepSpacing: options.timestepSpacing,
    strategy: options.strategy,
    signal: options.signal,
    onStep: async (info) => {
      if (keep.has(info.step)) for (let b = 0; b < batch; b++) frames[b].push(info.sample.data.slice(b * N, (b + 1) * N));
      await options.onStep?.(info);
    },
  });
  const data = tokens.data as Int32Array;
  const matches = frames.map((_, b) => matchLabel(data.subarray(b * N, (b + 1) * N)));
  return { tokens: data, frames, matches };
}

/** The label of the data-set sprite equal to `tokens`, or null. */
export function matchLabel(tokens: ArrayLike<number>): string | null {
  const hit = PIXEL_ART.find((s) => s.tokens.every((v, i) => v === tokens[i]));
  return hit ? hit.label : null;
}
