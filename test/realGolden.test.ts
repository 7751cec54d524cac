/**
 * Parity on real-architecture checkpoints exported by tools/export (issue 18, item 4): diffusers'
 * own `VQDiffusionPipeline.__call__` against `vq-diffusion/node` on the exported folder.
 *
 * - `real-golden/D`: the shared tiny checkpoint (CLIPTokenizer on a small BPE vocabulary, CLIPTextModel,
 *   Transformer2DModel, VQModel, non-learnable null embeddings; pickled `.bin`, CLIP's slow tokenizer
 *   files) and its recorded cases (test/fixtures/real-golden/README.md).
 * - `tiny-learnable`: test/fixtures/checkpoints/tiny-learnable, a random checkpoint (preset tiny-learnable)
 *   with other sizes, learnable null embeddings, "!" as the pad token (as ITHQ's conversion sets it),
 *   safetensors and tokenizer.json, with the cases diffusers gave on it (both by tools/fixtures/record.py).
 *
 * The exports live in test/exports/ (git-ignored), made before the tests by scripts/export-fixtures.mjs
 * (part of `npm test`). fp32: ids exactly, tokens after every step token for token, pixels within 1
 * level. fp16 (weights stored as float16): the ids exactly; the token agreement is reported, not
 * asserted, since rounded weights are another model.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { VQDiffusionPipeline } from "../src/node.js";
import { casePrompts as prompts, promptIds as ids, runCase as run, type DiffusersCase } from "./helpers/diffusersCases.js";

const EXPORTS = new URL("./exports/", import.meta.url).pathname;
const D_CASES_FILE = new URL("./fixtures/real-golden/D/cases.json", import.meta.url).pathname;

/** A D or tiny-learnable case: every step's tokens, the timesteps and RGB pixels are recorded. */
type Case = DiffusersCase & { timesteps: number[]; tokens_after_each_step: number[][][]; images_uint8: number[][][][] };
interface Probe {
  prompt: string;
  input_ids: number[];
}
interface CaseFile {
  sizes: { L: number; pad_id: number };
  cases: Case[];
  tokenizer_probes?: Probe[];
}

const readCases = (path: string) => JSON.parse(readFileSync(path, "utf8")) as CaseFile;
const D = readCases(D_CASES_FILE);
const TINY = readCases(new URL("./fixtures/checkpoints/tiny-learnable/cases.json", import.meta.url).pathname);

/** The largest |pipeline − diffusers| over the RGB values of every image; alpha must be 255. */
function maxPixelDiff(images: { data: Uint8ClampedArray; width: number; height: number }[], reference: number[][][][]): number {
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

/** fp32 parity: ids, every step's tokens, final tokens, pixels within 1 level. */
function parityCases(folder: string, file: CaseFile, config: object) {
  describe(`${folder} (fp32)`, async () => {
    const pipe = await VQDiffusionPipeline.fromPretrained(EXPORTS + folder);

    it("reads the exported folder's sizes", () => {
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

parityCases("D-fp32", D, {
  numVecClasses: 25, height: 4, width: 4, numLatentPixels: 16, numTrainTimesteps: 30, crossAttentionDim: 24, sequenceLength: 12, learnable: false,
});
parityCases("tiny-learnable/fp32", TINY, {
  numVecClasses: 33, height: 5, width: 5, numLatentPixels: 25, numTrainTimesteps: 24, crossAttentionDim: 20, sequenceLength: 16, learnable: true,
});

describe("D-fp32: the text encoder and the tokenizer alone", async () => {
  const pipe = await VQDiffusionPipeline.fromPretrained(EXPORTS + "D-fp32");
  const { textEncoder } = pipe.components;

  it("d01's raw last_hidden_state equals transformers' within 1e-5", async () => {
    const c = D.cases.find((x) => x.text_encoder_output)!;
    const ref = c.text_encoder_output!;
    const input = BigInt64Array.from(c.input_ids.flat().map(BigInt));
    const out = await textEncoder!.run({ input_ids: textEncoder!.tensor("int64", input, [1, D.sizes.L]) }, ref.dims);
    let worst = 0;
    out.data.forEach((v, i) => (worst = Math.max(worst, Math.abs(v - ref.data[i]))));
    expect(worst).toBeLessThan(1e-5);
  });

  it("the 20 tokenizer probes are there", () => expect(D.tokenizer_probes!.length).toBe(20));
  for (const probe of D.tokenizer_probes!) {
    it(`probe ${JSON.stringify(probe.prompt)}: diffusers' ids`, () => {
      expect(ids(pipe, [probe.prompt])).toEqual([probe.input_ids]);
    });
  }
});

/** Per case: steps whose tokens all equal diffusers', and the share of equal final tokens. */
describe("fp16 exports: token agreement with diffusers' float32 run (reported)", () => {
  const report: Record<string, { case: string; stepsEqual: string; finalTokensEqual: string; maxPixelDiff: number }[]> = {};
  for (const [folder, file] of [["D-fp16", D], ["tiny-learnable/fp16", TINY]] as const) {
    it(`${folder}: ids exactly; every case runs; agreement written to test/exports/fp16-agreement.json`, async () => {
      const pipe = await VQDiffusionPipeline.fromPretrained(EXPORTS + folder);
      report[folder] = [];
      for (const c of file.cases) {
        expect(ids(pipe, prompts(c))).toEqual(c.input_ids);
        const { out, after } = await run(pipe, c);
        expect(after.length).toBe(c.tokens_after_each_step.length);
        const stepsEqual = after.filter((s, i) => JSON.stringify(s) === JSON.stringify(c.tokens_after_each_step[i])).length;
        const final = c.tokens.flat();
        const equal = final.filter((t, i) => out.tokens.data[i] === t).length;
        report[folder].push({
          case: c.name,
          stepsEqual: `${stepsEqual}/${after.length}`,
          finalTokensEqual: `${equal}/${final.length}`,
          maxPixelDiff: maxPixelDiff(out.images, c.images_uint8),
        });
      }
      console.table(report[folder]);
      writeFileSync(EXPORTS + "fp16-agreement.json", JSON.stringify(report, null, 1) + "\n");
    });
  }
});
