/**
 * A model exported with a static batch (torch.onnx.export without dynamic_axes; issue 31, item 10):
 * caught at load when the transformer can never hold classifier-free guidance's doubled batch [x; x]
 * (an odd batch), and before anything runs when a run's batch differs from the static one. The static
 * models are tiny-a's own, their batch axes rewritten with onnx-proto.
 */
import { readFileSync } from "node:fs";
import onnxProto from "onnx-proto";
import * as ort from "onnxruntime-node";
import { describe, expect, it } from "vitest";
import { TorchGenerator, VQDiffusionPipeline } from "../src/index.js";
import type { OrtModule } from "../src/pipeline/onnxComponent.js";
import { memoryFolder, TINY_A } from "./helpers/modelFolders.js";

const { onnx } = onnxProto;
const ORT = ort as unknown as OrtModule;

/** The file's model with axis 0 of every input and output fixed to `batch`. */
function staticBatch(path: string, batch: number): Uint8Array {
  const model = onnx.ModelProto.decode(readFileSync(TINY_A + path));
  for (const value of [...(model.graph?.input ?? []), ...(model.graph?.output ?? [])]) {
    const dims = value.type?.tensorType?.shape?.dim;
    if (dims && dims.length > 0) dims[0] = onnx.TensorShapeProto.Dimension.create({ dimValue: batch });
  }
  return onnx.ModelProto.encode(model).finish();
}

async function loadError(changes: Record<string, Uint8Array>): Promise<string> {
  return VQDiffusionPipeline.fromSource(memoryFolder(changes), ORT).then(
    () => {
      throw new Error("expected the folder to be refused");
    },
    (e: Error) => e.message,
  );
}

describe("a static batch", () => {
  it("a transformer with a static batch of 1 is refused at load, naming the guided doubling", async () => {
    expect(await loadError({ "transformer/model.onnx": staticBatch("transformer/model.onnx", 1) })).toBe(
      "transformer/model.onnx: expected a dynamic batch axis (or an even static one), got a static batch of 1: classifier-free guidance runs the transformer on 2·B rows ([unconditional; conditional]); export it with a dynamic batch axis",
    );
    expect(await loadError({ "transformer/model.onnx": staticBatch("transformer/model.onnx", 3) })).toMatch(/got a static batch of 3:/);
  });

  it("a static batch of 2 loads; a run whose batch differs is refused before the generator draws anything", async () => {
    const pipe = await VQDiffusionPipeline.fromSource(memoryFolder({ "transformer/model.onnx": staticBatch("transformer/model.onnx", 2), "vqvae_decoder/model.onnx": staticBatch("vqvae_decoder/model.onnx", 1) }), ORT);
    expect(pipe.components.transformer.staticBatch).toBe(2);
    expect(pipe.components.decoder.staticBatch).toBe(1);
    const { sequenceLength: L, crossAttentionDim: D } = pipe.config;
    const embeds = (P: number) => ({ data: new Float32Array(P * L * D).fill(0.5), dims: [P, L, D] });
    const generator = new TorchGenerator().manualSeed(3);
    await expect(pipe.generate({ promptEmbeds: embeds(1), numImagesPerPrompt: 2, numInferenceSteps: 2, guidanceScale: 5, generator })).rejects.toThrow(
      new Error("numImagesPerPrompt: expected a run whose batch fits transformer/model.onnx, exported with a static batch of 2, got 4 rows (2·B with B = 1 prompts × 2 images, doubled for guidance)"),
    );
    await expect(pipe.generate({ promptEmbeds: embeds(1), numInferenceSteps: 2, guidanceScale: 1, generator })).rejects.toThrow(
      new Error("numImagesPerPrompt: expected a run whose batch fits transformer/model.onnx, exported with a static batch of 2, got 1 rows (B = 1 prompts × 1 images)"),
    );
    expect(generator.rand([1]).data[0]).toBe(new TorchGenerator().manualSeed(3).rand([1]).data[0]);
    // The batch it was exported for runs.
    const { images } = await pipe.generate({ promptEmbeds: embeds(1), numInferenceSteps: 2, guidanceScale: 5, generator: new TorchGenerator().manualSeed(0) });
    expect(images.length).toBe(1);
  });

  it("dynamic batch axes give staticBatch null", async () => {
    const pipe = await VQDiffusionPipeline.fromSource(memoryFolder({}), ORT);
    expect([pipe.components.transformer.staticBatch, pipe.components.decoder.staticBatch]).toEqual([null, null]);
  });
});
