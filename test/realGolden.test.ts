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
import { writeFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { VQDiffusionPipeline } from "../src/node.js";
import { casePrompts as prompts, promptIds as ids, runCase as run } from "./helpers/diffusersCases.js";
import { maxPixelDiff, parityCases, readCaseFile } from "./helpers/realGoldenParity.js";

const EXPORTS = new URL("./exports/", import.meta.url).pathname;
const D_CASES_FILE = new URL("./fixtures/real-golden/D/cases.json", import.meta.url).pathname;

const D = readCaseFile(D_CASES_FILE);
const TINY = readCaseFile(new URL("./fixtures/checkpoints/tiny-learnable/cases.json", import.meta.url).pathname);

/** fp32 parity of an exported folder. */
const exportedParity = (folder: string, file: typeof D, config: object) =>
  parityCases(`${folder} (fp32)`, () => VQDiffusionPipeline.fromPretrained(EXPORTS + folder), file, config);

exportedParity("D-fp32", D, {
  numVecClasses: 25, height: 4, width: 4, numLatentPixels: 16, numTrainTimesteps: 30, crossAttentionDim: 24, sequenceLength: 12, learnable: false,
});
exportedParity("tiny-learnable/fp32", TINY, {
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
