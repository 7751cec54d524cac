/**
 * The TypeScript-built VQModel decode graph against diffusers' own outputs (recorded by
 * tools/fixtures/record.py --components), within the components' tolerance (vqd_fixtures/component.py) for the VQ
 * decoder (atol 1e-3, rtol 1e-4); and its refusals.
 */
import { readFileSync } from "node:fs";
import * as ort from "onnxruntime-node";
import { describe, expect, it } from "vitest";
import type { ComponentConfig } from "../src/convert/configValues.js";
import { buildVqvaeDecoderGraph, vqModelDecoderSizes } from "../src/convert/vqModelDecoder.js";
import type { StateDict } from "../src/formats/checkpointTensor.js";
import { openSession, outsideTolerance, writeGraph } from "./helpers/graphSession.js";
import { componentTolerance } from "./helpers/recordedCheckpoints.js";
import { float32Of, int64Of, safetensorsStateDict } from "./helpers/safetensorsStateDict.js";

const { atol: ATOL, rtol: RTOL } = componentTolerance("vqvae_decoder");

const FIXTURES = new URL("./fixtures/components/", import.meta.url);

function load(caseName: string): { config: ComponentConfig; dict: StateDict; cases: StateDict } {
  const dir = new URL(`${caseName}/vqvae/`, FIXTURES);
  return {
    config: JSON.parse(readFileSync(new URL("config.json", dir), "utf8")) as ComponentConfig,
    dict: safetensorsStateDict(readFileSync(new URL("model.safetensors", dir)), "vqvae/diffusion_pytorch_model.safetensors"),
    cases: safetensorsStateDict(readFileSync(new URL("cases.safetensors", dir)), "cases.safetensors"),
  };
}

describe("buildVqvaeDecoderGraph: parity with diffusers' VQModel decode", () => {
  // D: the real-golden checkpoint (4 levels, 4 × 4 grid); tiny-learnable: 3 levels, a 3 × 5 grid;
  // no-mid-attention: mid_block_add_attention false, 2 levels, a 2 × 4 grid.
  for (const caseName of ["D", "tiny-learnable", "no-mid-attention"]) {
    it(`${caseName}: sample at B = 1 and 2 within atol 1e-3, rtol 1e-4`, async () => {
      const { config, dict, cases } = load(caseName);
      const [height, width] = [...(await int64Of(cases, "grid"))].map(Number);
      const session = await openSession(await writeGraph(buildVqvaeDecoderGraph(config, dict, "vqvae/config.json", { grid: { height, width } })));
      for (const batch of [1, 2]) {
        const indices = await int64Of(cases, `indices.b${batch}`);
        const expected = await float32Of(cases, `sample.b${batch}`);
        const out = await session.run({ indices: new ort.Tensor("int64", indices, [batch, height * width]) });
        expect(out["sample"].dims).toEqual(cases.tensors.get(`sample.b${batch}`)!.shape);
        expect(outsideTolerance(out["sample"].data as Float32Array, expected, ATOL, RTOL).outside).toBe(0);
      }
      await session.release();
    });
  }

  it("reads attention weights saved under diffusers' pre-0.15 names (query, key, value, proj_attn), as diffusers loads them", async () => {
    const { config, dict, cases } = load("D");
    const legacy: Record<string, string> = { to_q: "query", to_k: "key", to_v: "value", "to_out.0": "proj_attn" };
    const renamed = new Map([...dict.tensors].map(([key, t]) => [key.replace(/\.attentions\.(\d+)\.(to_q|to_k|to_v|to_out\.0)\./, (_, i: string, n: string) => `.attentions.${i}.${legacy[n]}.`), t]));
    expect(renamed.has("decoder.mid_block.attentions.0.proj_attn.weight") && !renamed.has("decoder.mid_block.attentions.0.to_q.weight")).toBe(true);
    const session = await openSession(await writeGraph(buildVqvaeDecoderGraph(config, { file: dict.file, tensors: renamed })));
    const out = await session.run({ indices: new ort.Tensor("int64", await int64Of(cases, "indices.b2"), [2, 16]) });
    expect(outsideTolerance(out["sample"].data as Float32Array, await float32Of(cases, "sample.b2"), ATOL, RTOL).outside).toBe(0);
    await session.release();
  });

  it("floatStorage float16: every weight stored as float16 and widened by a Cast, matching diffusers' module with its weights rounded to float16", async () => {
    const { config, dict, cases } = load("D");
    const graph = buildVqvaeDecoderGraph(config, dict, "vqvae/config.json", { floatStorage: "float16" });
    expect(graph.weights.length).toBeGreaterThan(0);
    expect(graph.weights.filter((w) => w.elemType !== "float16")).toEqual([]);
    const session = await openSession(await writeGraph(graph));
    for (const batch of [1, 2]) {
      const out = await session.run({ indices: new ort.Tensor("int64", await int64Of(cases, `indices.b${batch}`), [batch, 16]) });
      expect(outsideTolerance(out["sample"].data as Float32Array, await float32Of(cases, `sample.fp16.b${batch}`), ATOL, RTOL).outside).toBe(0);
    }
    await session.release();
  });

  it("takes the square grid sample_size / 2^(levels − 1) when no grid is given (D: 32 / 8 = 4)", () => {
    const { config, dict } = load("D");
    const g = buildVqvaeDecoderGraph(config, dict);
    expect(g.inputs[0].dims).toEqual(["batch", 16]);
    expect(g.outputs[0].dims).toEqual(["batch", 3, 32, 32]);
  });
});

describe("vqModelDecoderSizes: microsoft/vq-diffusion-ithq's VQModel", () => {
  // diffusers' VQModel config of the ITHQ preset (tools/fixtures/vqd_fixtures/presets.py), as save_pretrained writes it.
  const ithq = {
    _class_name: "VQModel", in_channels: 3, out_channels: 3, act_fn: "silu", latent_channels: 256, sample_size: 256,
    down_block_types: ["DownEncoderBlock2D", "DownEncoderBlock2D", "DownEncoderBlock2D", "AttnDownEncoderBlock2D"],
    up_block_types: ["AttnUpDecoderBlock2D", "UpDecoderBlock2D", "UpDecoderBlock2D", "UpDecoderBlock2D"],
    block_out_channels: [64, 128, 256, 512], layers_per_block: 2, num_vq_embeddings: 4096, norm_num_groups: 32,
    vq_embed_dim: 128, scaling_factor: 0.18215, norm_type: "group", mid_block_add_attention: true, lookup_from_codebook: false, force_upcast: false,
  };

  it("accepts it (scaling_factor and force_upcast are not part of decoding), with its 32 × 32 grid by default", () => {
    expect(vqModelDecoderSizes(ithq)).toEqual({
      numVqEmbeddings: 4096, vqEmbedDim: 128, latentChannels: 256, outChannels: 3, blockOutChannels: [64, 128, 256, 512],
      upBlockTypes: ithq.up_block_types, layersPerBlock: 2, normNumGroups: 32, midBlockAddAttention: true, sampleSize: 256,
    });
    expect(vqModelDecoderSizes({ ...ithq, scaling_factor: 1, force_upcast: true })).toEqual(vqModelDecoderSizes(ithq));
  });

  it("takes vq_embed_dim null as latent_channels, as diffusers does", () => {
    expect(vqModelDecoderSizes({ ...ithq, vq_embed_dim: null }).vqEmbedDim).toBe(256);
  });
});

describe("buildVqvaeDecoderGraph: refusals", () => {
  const { config, dict } = load("D");

  it("refuses norm_type spatial, naming the file, the key and the value", () => {
    expect(() => buildVqvaeDecoderGraph({ ...config, norm_type: "spatial" }, dict)).toThrow(
      'vqvae/config.json: "norm_type": expected one of "group", got "spatial" (not supported by the converter)',
    );
  });

  it("refuses lookup_from_codebook true and an act_fn other than silu", () => {
    expect(() => buildVqvaeDecoderGraph({ ...config, lookup_from_codebook: true }, dict, "my/vqvae.json")).toThrow(
      'my/vqvae.json: "lookup_from_codebook": expected one of false, got true (not supported by the converter)',
    );
    expect(() => buildVqvaeDecoderGraph({ ...config, act_fn: "gelu" }, dict)).toThrow(
      'vqvae/config.json: "act_fn": expected one of "silu", "swish", got "gelu" (not supported by the converter)',
    );
  });

  it("refuses an up block type it does not build, and up_block_types of another length than block_out_channels", () => {
    expect(() => buildVqvaeDecoderGraph({ ...config, up_block_types: ["AttnUpDecoderBlock2D", "UpDecoderBlock2D", "UpDecoderBlock2D", "SkipUpBlock2D"] }, dict)).toThrow(
      'vqvae/config.json: "up_block_types": expected 4 of "UpDecoderBlock2D", "AttnUpDecoderBlock2D" (one per block_out_channels), got ["AttnUpDecoderBlock2D","UpDecoderBlock2D","UpDecoderBlock2D","SkipUpBlock2D"] (not supported by the converter)',
    );
    expect(() => buildVqvaeDecoderGraph({ ...config, up_block_types: ["UpDecoderBlock2D"] }, dict)).toThrow('"up_block_types": expected 4 of');
  });

  it("refuses norm_num_groups that does not divide the channels", () => {
    expect(() => buildVqvaeDecoderGraph({ ...config, norm_num_groups: 3 }, dict)).toThrow(
      'vqvae/config.json: "norm_num_groups": expected a divisor of every block_out_channels (8, 8, 16, 16), got 3',
    );
  });

  it("refuses a tensor whose shape disagrees with config.json, naming the weights file and the key", () => {
    expect(() => buildVqvaeDecoderGraph({ ...config, num_vq_embeddings: 4096 }, dict)).toThrow(
      'vqvae/diffusion_pytorch_model.safetensors: tensor "quantize.embedding.weight": expected shape [4096, 3] (from the component\'s config.json), got [24, 3]',
    );
    expect(() => buildVqvaeDecoderGraph({ ...config, latent_channels: 5 }, dict)).toThrow(
      'vqvae/diffusion_pytorch_model.safetensors: tensor "post_quant_conv.weight": expected shape [5, 3, 1, 1] (from the component\'s config.json), got [4, 3, 1, 1]',
    );
  });

  it("refuses a latent grid out of bounds, and a sample_size the upsampling does not divide", () => {
    expect(() => buildVqvaeDecoderGraph(config, dict, "vqvae/config.json", { grid: { height: 512, width: 512 } })).toThrow(
      "buildVqvaeDecoderGraph: options.grid: expected at most 65536 positions, got 512 × 512",
    );
    expect(() => buildVqvaeDecoderGraph(config, dict, "vqvae/config.json", { grid: { height: 2.5, width: 4 } })).toThrow(
      "buildVqvaeDecoderGraph: options.grid.height: expected an integer in [1, 65536], got 2.5",
    );
    expect(() => buildVqvaeDecoderGraph({ ...config, sample_size: 20 }, dict)).toThrow(
      'vqvae/config.json: "sample_size": expected a multiple of 2^3 (the decoder\'s upsampling) to give the latent grid, got 20; pass the grid (the transformer\'s height and width)',
    );
  });
});
