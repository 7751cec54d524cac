/**
 * Parity of the TypeScript converter with diffusers (issue 27, item 5): the real-golden D checkpoint,
 * converted by src/convert and run by vq-diffusion/node, gives every recorded case's ids, tokens after
 * every step and pixels within 1 level, through both routes:
 * - convert then load: `convertIntoFolder` (what `vq-diffusion convert` does) into a folder, loaded from there;
 * - load the diffusers folder directly: `fromPretrained(checkpoint)` converts into the conversion cache.
 * With dtype "fp16" (weights rounded to float16, another model), the ids are exact and the token
 * agreement is reported, not asserted, as for the Python exporter's fp16 folders.
 * Python is not involved: the cases were recorded once by diffusers (test/fixtures/real-golden/README.md).
 */
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { VQDiffusionPipeline } from "../src/node.js";
import { convertIntoFolder, listCheckpointFolder } from "../src/node/convertFolder.js";
import { directorySource } from "../src/node/nodePipeline.js";
import { copyCheckpoint, D_BIN, D_SAFETENSORS, removeTemporaryFolders, temporaryFolder } from "./helpers/convertFixtures.js";
import { casePrompts, promptIds, runCase } from "./helpers/diffusersCases.js";
import { maxPixelDiff, parityCases, readCaseFile } from "./helpers/realGoldenParity.js";

const D = readCaseFile(new URL("./fixtures/real-golden/D/cases.json", import.meta.url).pathname);
const D_CONFIG = { numVecClasses: 25, height: 4, width: 4, numLatentPixels: 16, numTrainTimesteps: 30, crossAttentionDim: 24, sequenceLength: 12, learnable: false };

const savedAssets = process.env.HF_ASSETS_CACHE;
process.env.HF_ASSETS_CACHE = temporaryFolder("vqd-assets-");
afterAll(() => {
  if (savedAssets === undefined) delete process.env.HF_ASSETS_CACHE;
  else process.env.HF_ASSETS_CACHE = savedAssets;
  removeTemporaryFolders();
});

for (const [name, checkpoint] of [["D (pickled .bin, CLIP's slow tokenizer files)", D_BIN], ["D (safetensors, tokenizer.json)", D_SAFETENSORS]]) {
  parityCases(`${name}: convert, then load the converted folder`, async () => {
    const out = join(temporaryFolder(), "out");
    await convertIntoFolder(directorySource(checkpoint), await listCheckpointFolder(checkpoint), out, "replace-empty");
    return VQDiffusionPipeline.fromPretrained(out);
  }, D, D_CONFIG);

  parityCases(`${name}: fromPretrained on the diffusers folder (the conversion cache)`, () =>
    VQDiffusionPipeline.fromPretrained(copyCheckpoint(checkpoint)), D, D_CONFIG);
}

describe('D converted with dtype "fp16": token agreement with diffusers\' float32 run (reported)', () => {
  it("ids exactly; every case runs", async () => {
    const pipe = await VQDiffusionPipeline.fromPretrained(copyCheckpoint(D_BIN), { dtype: "fp16" });
    const report = [];
    for (const c of D.cases) {
      expect(promptIds(pipe, casePrompts(c))).toEqual(c.input_ids);
      const { out, after } = await runCase(pipe, c);
      expect(after.length).toBe(c.tokens_after_each_step.length);
      const final = c.tokens.flat();
      report.push({
        case: c.name,
        stepsEqual: `${after.filter((s, i) => JSON.stringify(s) === JSON.stringify(c.tokens_after_each_step[i])).length}/${after.length}`,
        finalTokensEqual: `${final.filter((t, i) => out.tokens.data[i] === t).length}/${final.length}`,
        maxPixelDiff: maxPixelDiff(out.images, c.images_uint8),
      });
    }
    console.table(report);
    await pipe.release();
  });
});
