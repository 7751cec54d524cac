/**
 * Both directions agree on checkpoints made by tools/train's diffusers recipe (issue 19, item 2):
 * diffusers' own `VQDiffusionPipeline.__call__` on the checkpoint (recorded by
 * tools/train/record_diffusers.py) against `vq-diffusion/node` on its export by tools/export.
 *
 * - `fashion-mnist-tiny`: `tools/train/train_diffusers.py` at toy sizes (a few training steps on 1000
 *   images; the command is in its README): the same classes and files as the shipped recipe — the
 *   class-name CLIP vocabulary with CLIPTokenizer, CLIPTextModel, Transformer2DModel (ada-norm, GELU),
 *   VQModel on 28×28 grey, learnable null embeddings, VQDiffusionScheduler.
 *
 * Per case: the prompt ids exactly, the tokens after every step token for token, the final tokens,
 * and the grey levels within 1.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { TorchGenerator } from "../src/index.js";
import { VQDiffusionPipeline } from "../src/node.js";

interface Case {
  name: string;
  prompt: string | string[];
  seed: number;
  num_images_per_prompt: number;
  num_inference_steps: number;
  guidance_scale: number;
  truncation_rate: number;
  input_ids: number[][];
  tokens: number[][];
  tokens_after_each_step: number[][][];
  images_uint8: number[][][];
}

function parity(name: string, model: string, casesFile: string, config: object) {
  const file = JSON.parse(readFileSync(casesFile, "utf8")) as { cases: Case[] };

  describe(`${name}: diffusers' tokens from the export`, async () => {
    const pipe = await VQDiffusionPipeline.fromPretrained(model);

    it("loads with its checkpoint's sizes", () => expect(pipe.config).toEqual(config));

    it("has cases with guidance, without, with truncation and with words outside the vocabulary", () => {
      expect(file.cases.map((c) => c.name)).toEqual(["ankle_boot_g5", "two_prompts_unguided", "t_shirt_g3_trunc09", "unknown_words"]);
    });

    for (const c of file.cases) {
      it(`${c.name}: ids, tokens after every step, grey levels within 1`, async () => {
        const prompts = typeof c.prompt === "string" ? [c.prompt] : c.prompt;
        const L = pipe.config.sequenceLength;
        const ids = Array.from(pipe.components.tokenizer!.encode(prompts), Number);
        expect(prompts.map((_, p) => ids.slice(p * L, (p + 1) * L))).toEqual(c.input_ids);
        const after: number[][][] = [];
        const out = await pipe.generate({
          prompt: c.prompt,
          numImagesPerPrompt: c.num_images_per_prompt,
          numInferenceSteps: c.num_inference_steps,
          guidanceScale: c.guidance_scale,
          truncationRate: c.truncation_rate,
          generator: new TorchGenerator().manualSeed(c.seed),
          onStep: ({ sample }) => {
            const [B, N] = sample.dims;
            after.push(Array.from({ length: B }, (_, b) => Array.from(sample.data.subarray(b * N, (b + 1) * N))));
          },
        });
        expect(after).toEqual(c.tokens_after_each_step);
        expect(Array.from(out.tokens.data)).toEqual(c.tokens.flat());
        expect(out.images.length).toBe(c.images_uint8.length);
        let worst = 0;
        out.images.forEach((img, b) => {
          const ref = c.images_uint8[b];
          expect([img.height, img.width]).toEqual([ref.length, ref[0].length]);
          for (let y = 0; y < img.height; y++) for (let x = 0; x < img.width; x++) worst = Math.max(worst, Math.abs(img.data[4 * (y * img.width + x)] - ref[y][x]));
        });
        expect(worst).toBeLessThanOrEqual(1);
      });
    }
  });
}

const fixture = (path: string) => new URL(`./fixtures/${path}`, import.meta.url).pathname;

parity("fashion-mnist-tiny", fixture("fashion-mnist-tiny/onnx"), fixture("fashion-mnist-tiny/cases.json"), {
  numVecClasses: 33, height: 7, width: 7, numLatentPixels: 49, numTrainTimesteps: 100, crossAttentionDim: 16, sequenceLength: 8, learnable: true,
});
