/**
 * Recorded runs of diffusers' own `VQDiffusionPipeline.__call__` (the `cases` of a cases.json written
 * by tools/fixtures/record_pipeline_cases.py or tools/train/record_diffusers.py, and of
 * test/fixtures/real-golden/D/cases.json), and the one way the tests replay a case on our pipeline.
 */
import { TorchGenerator, type GenerateOutput, type VQDiffusionPipeline } from "../../src/index.js";

/** One recorded call: its arguments (diffusers' names) and what diffusers produced. */
export interface DiffusersCase {
  name: string;
  /** A string or P strings, exactly as passed. */
  prompt: string | string[];
  seed: number;
  num_images_per_prompt: number;
  num_inference_steps: number;
  guidance_scale: number;
  truncation_rate: number;
  /** [P][L]: the ids passed to the text encoder. */
  input_ids: number[][];
  /** [P][L]: the ids of the negative prompt "" (guided runs of a non-learnable model). */
  negative_input_ids?: number[][];
  /** d01 only: the raw text-encoder output for `input_ids`. */
  text_encoder_output?: { dims: number[]; data: number[] };
  timesteps?: number[];
  /** [n][B][N]: the tokens after every step. */
  tokens_after_each_step?: number[][][];
  /** [B][N]: the final tokens. */
  tokens: number[][];
  /** [B][H][W][3] (RGB) or [B][H][W] (grey). */
  images_uint8?: number[][][][] | number[][][];
}

/** The case's prompts as a list of P strings. */
export const casePrompts = (c: DiffusersCase): string[] => (typeof c.prompt === "string" ? [c.prompt] : c.prompt);

/** The ids our tokenizer gives for `texts`, as [P][L] rows (padded to L, cut to L, as diffusers). */
export function promptIds(pipe: VQDiffusionPipeline, texts: readonly string[]): number[][] {
  const L = pipe.config.sequenceLength;
  const flat = Array.from(pipe.components.tokenizer!.encode(texts), Number);
  return texts.map((_, p) => flat.slice(p * L, (p + 1) * L));
}

/** Replays `c` on `pipe` with the same seed; returns the output, the tokens after every step [n][B][N], and the timesteps. */
export async function runCase(pipe: VQDiffusionPipeline, c: DiffusersCase): Promise<{ out: GenerateOutput; after: number[][][]; timesteps: number[] }> {
  const after: number[][][] = [];
  const timesteps: number[] = [];
  const out = await pipe.generate({
    prompt: c.prompt,
    numImagesPerPrompt: c.num_images_per_prompt,
    numInferenceSteps: c.num_inference_steps,
    guidanceScale: c.guidance_scale,
    truncationRate: c.truncation_rate,
    generator: new TorchGenerator().manualSeed(c.seed),
    onStep: ({ timestep, sample }) => {
      const [B, N] = sample.dims;
      timesteps.push(timestep);
      after.push(Array.from({ length: B }, (_, b) => Array.from(sample.data.subarray(b * N, (b + 1) * N))));
    },
  });
  return { out, after, timesteps };
}
