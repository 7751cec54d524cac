/**
 * Both directions agree on checkpoints made by tools/train's diffusers recipe (issue 19, item 2):
 * diffusers' own `VQDiffusionPipeline.__call__` on the checkpoint (recorded by
 * tools/train/record_diffusers.py) against `vq-diffusion/node` on the checkpoint converted by the
 * TypeScript converter (`fromPretrained` on the diffusers folder: the conversion cache), and on the
 * bundled model folder.
 *
 * - `fashion-mnist`: the committed checkpoint models/fashion-mnist-diffusers, and the bundled model
 *   folder made from it (models/fashion-mnist), replaying test/fixtures/fashion-mnist-diffusers.json
 *   (record_diffusers.py on that checkpoint).
 * - `fashion-mnist-tiny`: the former `tools/train/train_diffusers.py` at toy sizes (a few training steps
 *   on 1000 images; tools/train/README.md gives recipe.py's toy command): the same classes and files as the recipe — the
 *   class-name CLIP vocabulary with CLIPTokenizer, CLIPTextModel, Transformer2DModel (ada-norm, GELU),
 *   VQModel on 28×28 grey, learnable null embeddings, VQDiffusionScheduler.
 *
 * Per case: the prompt ids exactly, the tokens after every step token for token, the final tokens,
 * and the grey levels within 1.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { VQDiffusionPipeline } from "../src/node.js";
import { copyCheckpoint, temporaryAssetsCache } from "./helpers/convertFixtures.js";
import { casePrompts, promptIds, runCase, type DiffusersCase } from "./helpers/diffusersCases.js";

/** A recorded case of the recipe's checkpoint: every step's tokens and the grey levels [B][H][W]. */
type Case = DiffusersCase & { tokens_after_each_step: number[][][]; images_uint8: number[][][] };

temporaryAssetsCache();

function parity(name: string, model: () => string, casesFile: string, config: object) {
  const file = JSON.parse(readFileSync(casesFile, "utf8")) as { cases: Case[] };

  describe(`${name}: diffusers' tokens`, async () => {
    const pipe = await VQDiffusionPipeline.fromPretrained(model());

    it("loads with its checkpoint's sizes", () => expect(pipe.config).toEqual(config));

    it("has cases with guidance, without, with truncation and with words outside the vocabulary", () => {
      expect(file.cases.map((c) => c.name)).toEqual(["ankle_boot_g5", "two_prompts_unguided", "t_shirt_g3_trunc09", "unknown_words"]);
    });

    for (const c of file.cases) {
      it(`${c.name}: ids, tokens after every step, grey levels within 1`, async () => {
        expect(promptIds(pipe, casePrompts(c))).toEqual(c.input_ids);
        const { out, after } = await runCase(pipe, c);
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

const model = (path: string) => new URL(`../models/${path}`, import.meta.url).pathname;
const FASHION_MNIST = { numVecClasses: 257, height: 7, width: 7, numLatentPixels: 49, numTrainTimesteps: 100, crossAttentionDim: 64, sequenceLength: 8, learnable: true };

parity("fashion-mnist, the bundled model folder", () => model("fashion-mnist"), fixture("fashion-mnist-diffusers.json"), FASHION_MNIST);
parity("fashion-mnist, its checkpoint converted", () => copyCheckpoint(model("fashion-mnist-diffusers")), fixture("fashion-mnist-diffusers.json"), FASHION_MNIST);

parity("fashion-mnist-tiny, its checkpoint converted", () => copyCheckpoint(fixture("fashion-mnist-tiny/diffusers")), fixture("fashion-mnist-tiny/cases.json"), {
  numVecClasses: 33, height: 7, width: 7, numLatentPixels: 49, numTrainTimesteps: 100, crossAttentionDim: 16, sequenceLength: 8, learnable: true,
});
