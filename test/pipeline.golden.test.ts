/**
 * Parity with diffusers' own `VQDiffusionPipeline.__call__` on a tiny random-weight model exported
 * to ONNX (test/fixtures/pipeline-golden, made with diffusers' own classes; its README says how): tokens equal after every step, token
 * for token; uint8 pixels within 1 level (ONNX Runtime and PyTorch differ in the last float bits).
 */
import { readFileSync } from "node:fs";
import * as ort from "onnxruntime-node";
import { describe, expect, it } from "vitest";
import { TorchGenerator, VQDiffusionPipeline as CorePipeline } from "../src/index.js";
import { directorySource, VQDiffusionPipeline } from "../src/node.js";
import type { OrtModule } from "../src/pipeline/onnxComponent.js";

const DIR = new URL("./fixtures/pipeline-golden/tiny-a/", import.meta.url).pathname;

interface Case {
  name: string;
  seed: number;
  prompt_embeds: { dims: number[]; data: number[] };
  num_images_per_prompt: number;
  num_inference_steps: number;
  guidance_scale: number;
  truncation_rate: number;
  latents?: number[][];
  timesteps: number[];
  tokens: number[][];
  tokens_after_each_step: number[][][];
  images_uint8: number[][][][];
}

const { cases } = JSON.parse(readFileSync(DIR + "cases.json", "utf8")) as { cases: Case[] };

async function run(pipe: CorePipeline, c: Case) {
  const after: number[][][] = [];
  const timesteps: number[] = [];
  const B = c.tokens.length;
  const N = c.tokens[0].length;
  const out = await pipe.generate({
    promptEmbeds: { data: Float32Array.from(c.prompt_embeds.data), dims: c.prompt_embeds.dims },
    numImagesPerPrompt: c.num_images_per_prompt,
    numInferenceSteps: c.num_inference_steps,
    guidanceScale: c.guidance_scale,
    truncationRate: c.truncation_rate,
    generator: new TorchGenerator().manualSeed(c.seed),
    latents: c.latents ? { data: Int32Array.from(c.latents.flat()), dims: [B, N] } : undefined,
    onStep: ({ timestep, sample }) => {
      timesteps.push(timestep);
      after.push(Array.from({ length: B }, (_, b) => Array.from(sample.data.subarray(b * N, (b + 1) * N))));
    },
  });
  return { out, after, timesteps };
}

describe("VQDiffusionPipeline against diffusers (pipeline-golden/tiny-a)", async () => {
  const pipe = await VQDiffusionPipeline.fromPretrained(DIR);

  it("reads the folder's sizes", () => {
    expect(pipe.config).toEqual({
      numVecClasses: 17, height: 4, width: 4, numLatentPixels: 16, numTrainTimesteps: 100,
      crossAttentionDim: 32, sequenceLength: 8, learnable: true,
    });
  });

  for (const c of cases) {
    it(`${c.name}: tokens after every step, final tokens, pixels within 1 level`, async () => {
      const { out, after, timesteps } = await run(pipe, c);
      expect(timesteps).toEqual(c.timesteps);
      expect(after).toEqual(c.tokens_after_each_step);
      const B = c.tokens.length;
      const N = c.tokens[0].length;
      expect(out.tokens.dims).toEqual([B, N]);
      expect(Array.from(out.tokens.data)).toEqual(c.tokens.flat());
      let maxDiff = 0;
      for (let b = 0; b < B; b++) {
        const img = out.images[b];
        const ref = c.images_uint8[b];
        expect([img.height, img.width]).toEqual([ref.length, ref[0].length]);
        for (let y = 0; y < img.height; y++) {
          for (let x = 0; x < img.width; x++) {
            for (let ch = 0; ch < 3; ch++) maxDiff = Math.max(maxDiff, Math.abs(img.data[4 * (y * img.width + x) + ch] - ref[y][x][ch]));
            expect(img.data[4 * (y * img.width + x) + 3]).toBe(255);
          }
        }
      }
      expect(maxDiff).toBeLessThanOrEqual(1);
    });
  }

  it("the core entry with onnxruntime-node passed as ort gives the same tokens as the Node entry", async () => {
    const core = await CorePipeline.fromSource(directorySource(DIR), ort as unknown as OrtModule);
    for (const c of [cases[2], cases[4]]) {
      const a = await run(core, c);
      const b = await run(pipe, c);
      expect(Array.from(a.out.tokens.data)).toEqual(Array.from(b.out.tokens.data));
      expect(Array.from(a.out.tokens.data)).toEqual(c.tokens.flat());
    }
  });

  it("concurrent generations on one pipeline give the tokens of runs alone", async () => {
    const results = await Promise.all(cases.map((c) => run(pipe, c)));
    results.forEach((r, i) => expect(Array.from(r.out.tokens.data)).toEqual(cases[i].tokens.flat()));
  });
});
