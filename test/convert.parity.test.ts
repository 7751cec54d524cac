/**
 * Parity of the TypeScript converter with diffusers (issue 27, item 5): every committed checkpoint
 * (test/fixtures/checkpoints, D included) and D saved as safetensors, converted by src/convert and
 * run by vq-diffusion/node, gives every recorded case's ids, tokens after every step and pixels
 * within 1 level, through both routes:
 * - convert then load: `convertIntoFolder` (what `vq-diffusion convert` does) into a folder, loaded from there;
 * - load the diffusers folder directly: `fromPretrained(checkpoint)` converts into the conversion cache.
 * With dtype "fp16" (weights rounded to float16, another model), the ids are exact and the token
 * agreement is reported, not asserted, as for the Python exporter's fp16 folders.
 * Python is not involved: the cases were recorded once by diffusers (test/fixtures/real-golden/README.md).
 */
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { VQDiffusionPipeline } from "../src/node.js";
import { convertIntoFolder, listCheckpointFolder } from "../src/node/convertFolder.js";
import { directorySource } from "../src/node/directorySource.js";
import { copyCheckpoint, D_BIN, D_SAFETENSORS, temporaryAssetsCache, temporaryFolder } from "./helpers/convertFixtures.js";
import { casePrompts, promptIds, runCase } from "./helpers/diffusersCases.js";
import { maxPixelDiff, parityCases, readCaseFile, type RealGoldenCaseFile } from "./helpers/realGoldenParity.js";
import { listCheckpoints, type CheckpointSizes } from "./helpers/recordedCheckpoints.js";

const D = readCaseFile(new URL("./fixtures/real-golden/D/cases.json", import.meta.url).pathname);
const D_CONFIG = { numVecClasses: 25, height: 4, width: 4, numLatentPixels: 16, numTrainTimesteps: 30, crossAttentionDim: 24, sequenceLength: 12, learnable: false };

temporaryAssetsCache();

/** The pipeline's sizes a recorded checkpoint's configs give. */
const configOf = (s: CheckpointSizes) => ({
  numVecClasses: s.K, height: s.height, width: s.width, numLatentPixels: s.N, numTrainTimesteps: s.T, crossAttentionDim: s.D, sequenceLength: s.L, learnable: s.learnable,
});

/** Both routes for one checkpoint folder, read with `variant`. */
function bothRoutes(name: string, checkpoint: string, variant: string | undefined, file: RealGoldenCaseFile, config: object): void {
  const read = variant === undefined ? "" : ` (variant ${variant})`;
  parityCases(`${name}${read}: convert, then load the converted folder`, async () => {
    const out = join(temporaryFolder(), "out");
    await convertIntoFolder(directorySource(checkpoint), await listCheckpointFolder(checkpoint), out, "replace-empty", { variant });
    return VQDiffusionPipeline.fromPretrained(out);
  }, file, config);
  parityCases(`${name}${read}: fromPretrained on the diffusers folder (the conversion cache)`, () =>
    VQDiffusionPipeline.fromPretrained(copyCheckpoint(checkpoint), { variant }), file, config);
}

// The committed checkpoints (test/fixtures/checkpoints: D's pickled .bin and slow tokenizer files,
// learnable null embeddings, gelu / geglu / gelu-approximate, the fp16 and bf16 variants), each read
// as diffusers read it when the cases were recorded.
for (const ckpt of listCheckpoints()) {
  bothRoutes(ckpt.name, ckpt.diffusersFolder, ckpt.variant ?? undefined, readCaseFile(ckpt.casesFile), configOf(ckpt.sizes));
}
// D saved again as safetensors with tokenizer.json (test/fixtures/convert/D-safetensors).
bothRoutes("D-safetensors", D_SAFETENSORS, undefined, D, D_CONFIG);

describe("D converted: the text encoder alone", () => {
  it("d01's raw last_hidden_state equals transformers' within 1e-5", async () => {
    const pipe = await VQDiffusionPipeline.fromPretrained(copyCheckpoint(D_BIN));
    const { textEncoder } = pipe.components;
    const c = D.cases.find((x) => x.text_encoder_output)!;
    const ref = c.text_encoder_output!;
    const input = BigInt64Array.from(c.input_ids.flat().map(BigInt));
    const out = await textEncoder!.run({ input_ids: textEncoder!.tensor("int64", input, [1, D.sizes.L]) }, ref.dims);
    let worst = 0;
    out.data.forEach((v, i) => (worst = Math.max(worst, Math.abs(v - ref.data[i]))));
    expect(worst).toBeLessThan(1e-5);
    await pipe.release();
  });
});

/** fp16-stored weights make another model: per case, the steps whose tokens all equal diffusers' and the share of equal final tokens. */
describe('converted with dtype "fp16": token agreement with diffusers\' float32 run (reported)', () => {
  const fp16Checkpoints = listCheckpoints().filter((c) => c.name === "D" || c.name === "tiny-learnable");
  it("D and tiny-learnable are there", () => expect(fp16Checkpoints.map((c) => c.name)).toEqual(["D", "tiny-learnable"]));
  for (const ckpt of fp16Checkpoints) {
    it(`${ckpt.name}: ids exactly; every case runs`, async () => {
      const pipe = await VQDiffusionPipeline.fromPretrained(copyCheckpoint(ckpt.diffusersFolder), { dtype: "fp16" });
      const report = [];
      for (const c of readCaseFile(ckpt.casesFile).cases) {
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
      console.log(ckpt.name);
      console.table(report);
      await pipe.release();
    });
  }
});
