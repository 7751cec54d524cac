/**
 * The settings of one generation as text, in the layout Stable Diffusion tools write under a PNG's
 * `parameters` keyword and read back (AUTOMATIC1111's web UI "PNG Info"): the prompt, then one line of
 * `Key: value` pairs. Keys follow that layout where it has one (`Steps`, `CFG scale`, `Seed`, `Size`,
 * `Model`); the others are this pipeline's (`Sampler` = strategy and mode, `Truncation rate`,
 * `Timestep spacing`).
 */

/** The settings of one generation, as {@link formatGenerationParameters} writes them. */
export interface GenerationParameters {
  /** The prompts (one line each), or a description of the prompt embeddings. */
  prompts: readonly string[];
  /** What was loaded: a bundled model's name, a folder, a URL or a Hub id. */
  model: string;
  /** The seed given to `TorchGenerator.manualSeed`. */
  seed: number | bigint;
  steps: number;
  guidanceScale: number;
  truncationRate: number;
  /** `timestepSpacing`; undefined: diffusers' own chain (its last n timesteps). */
  timestepSpacing?: string;
  strategy?: string;
  mode?: string;
  /** The image size in pixels. */
  width: number;
  height: number;
}

/**
 * The `parameters` text of a generation (see the module comment); several prompts take one line each.
 *
 * @example
 * ```ts
 * formatGenerationParameters({ prompts: ["ankle boot"], model: "fashion-mnist", seed: 0n, steps: 100, guidanceScale: 5, truncationRate: 1, width: 28, height: 28 });
 * // "ankle boot\nSteps: 100, Sampler: VQ-Diffusion posterior (reference), CFG scale: 5, Truncation rate: 1, Timestep spacing: diffusers, Seed: 0, Size: 28x28, Model: fashion-mnist"
 * ```
 */
export function formatGenerationParameters(p: GenerationParameters): string {
  const pairs = [
    `Steps: ${p.steps}`,
    `Sampler: VQ-Diffusion ${p.strategy ?? "posterior"} (${p.mode ?? "reference"})`,
    `CFG scale: ${p.guidanceScale}`,
    `Truncation rate: ${p.truncationRate}`,
    `Timestep spacing: ${p.timestepSpacing ?? "diffusers"}`,
    `Seed: ${p.seed}`,
    `Size: ${p.width}x${p.height}`,
    `Model: ${p.model}`,
  ];
  return `${p.prompts.join("\n")}\n${pairs.join(", ")}`;
}
