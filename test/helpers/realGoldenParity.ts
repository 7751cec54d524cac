/**
 * The fp32 parity check of a model folder against diffusers' recorded cases (real-golden D,
 * tiny-learnable): the prompt ids, the tokens after every step, the final tokens, and the pixels
 * within 1 level. Used for the Python exporter's folders (realGolden.test.ts) and for the
 * TypeScript converter's (convert.parity.test.ts), so both are held to the same check.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import type { VQDiffusionPipeline } from "../../src/index.js";
import { casePrompts as prompts, promptIds as ids, runCase as run, type DiffusersCase } from "./diffusersCases.js";

/** A D or tiny-learnable case: every step's tokens, the timesteps and RGB pixels are recorded. */
export type RealGoldenCase = DiffusersCase & { timesteps: number[]; tokens_after_each_step: number[][][]; images_uint8: number[][][][] };

/** A tokenizer probe: a prompt and the ids diffusers' tokenizer gave. */
export interface TokenizerProbe {
  prompt: string;
  input_ids: number[];
}

/** A cases.json of real-golden D or tiny-learnable. */
export interface RealGoldenCaseFile {
  sizes: { L: number; pad_id: number };
  cases: RealGoldenCase[];
  tokenizer_probes?: TokenizerProbe[];
}

/** Reads a cases.json. */
export const readCaseFile = (path: string): RealGoldenCaseFile => JSON.parse(readFileSync(path, "utf8")) as RealGoldenCaseFile;

/** The largest |pipeline − diffusers| over the RGB values of every image; alpha must be 255. */
export function maxPixelDiff(images: { data: Uint8ClampedArray; width: number; height: number }[], reference: number[][][][]): number {
  expect(images.length).toBe(reference.length);
  let worst = 0;
  images.forEach((img, b) => {
    const ref = reference[b];
    expect([img.height, img.width]).toEqual([ref.length, ref[0].length]);
    for (let y = 0; y < img.height; y++) {
      for (let x = 0; x < img.width; x++) {
        const o = 4 * (y * img.width + x);
        for (let ch = 0; ch < 3; ch++) worst = Math.max(worst, Math.abs(img.data[o + ch] - ref[y][x][ch]));
        expect(img.data[o + 3]).toBe(255);
      }
    }
  });
  return worst;
}

/**
 * fp32 parity of the pipeline `load` gives, as one describe block named `title`: its sizes equal
 * `config`, and every case of `file` gives diffusers' ids, tokens after every step, final tokens, and
 * pixels within 1 level.
 */
export function parityCases(title: string, load: () => Promise<VQDiffusionPipeline>, file: RealGoldenCaseFile, config: object): void {
  describe(title, async () => {
    const pipe = await load();

    it("reads the folder's sizes", () => {
      expect(pipe.config).toEqual(config);
      expect(pipe.components.tokenizer!.padId).toBe(file.sizes.pad_id);
    });

    for (const c of file.cases) {
      it(`${c.name}: ids, tokens after every step, pixels within 1 level`, async () => {
        expect(ids(pipe, prompts(c))).toEqual(c.input_ids);
        if (c.negative_input_ids) expect(ids(pipe, prompts(c).map(() => ""))).toEqual(c.negative_input_ids);
        const { out, after, timesteps } = await run(pipe, c);
        expect(timesteps).toEqual(c.timesteps);
        expect(after).toEqual(c.tokens_after_each_step);
        expect(Array.from(out.tokens.data)).toEqual(c.tokens.flat());
        expect(maxPixelDiff(out.images, c.images_uint8)).toBeLessThanOrEqual(1);
      });
    }
  });
}
