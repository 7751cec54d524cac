/**
 * The committed recordings of tools/fixtures/record.py are well-formed (test/helpers/recordedCheckpoints.ts):
 * every checkpoint's folder holds the files its manifest entry names, the sizes agree with its configs,
 * every component's inputs and outputs have the shapes, dtypes and ranges of the model-folder contract
 * (docs/model-folder.md), and every case has its ids, its tokens after every step and its pixels.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  CHECKPOINTS_ROOT,
  compareWithTolerance,
  decodeTensor,
  listCheckpoints,
  recordedCases,
  recordedCheckpoint,
  recordedComponents,
  recordedIthq,
  recordedManifest,
  type RecordedInt64,
  type RecordedTensor,
} from "./helpers/recordedCheckpoints.js";

const json = (path: string) => JSON.parse(readFileSync(path, "utf8")) as Record<string, unknown>;
const ints = (t: RecordedTensor) => Array.from((t as RecordedInt64).data, Number);
const within = (values: number[], lo: number, hi: number) => values.every((v) => Number.isInteger(v) && v >= lo && v < hi);

describe("the manifest", () => {
  it("lists D, tiny-learnable and the checkpoints of other options, each once, with the library versions", () => {
    const names = listCheckpoints().map((c) => c.name);
    expect(names).toEqual(["D", "tiny-learnable", "gelu-6x6", "geglu-fp16", "gelu-approximate-bf16"]);
    const m = recordedManifest();
    expect(m.torch_threads).toBe(1);
    expect(Object.keys(m.versions).sort()).toEqual(["diffusers", "numpy", "python", "safetensors", "tokenizers", "torch", "transformers"]);
  });

  it("covers every feed-forward, both null embeddings, both weight formats, both tokenizer forms, fp16 and bf16 variants", () => {
    const all = listCheckpoints();
    expect(new Set(all.map((c) => c.sizes.activation_fn))).toEqual(new Set(["gelu", "gelu-approximate", "geglu", "geglu-approximate"]));
    expect(new Set(all.map((c) => c.sizes.learnable))).toEqual(new Set([true, false]));
    expect(new Set(all.map((c) => c.variant))).toEqual(new Set([null, "fp16", "bf16"]));
    const files = all.flatMap((c) => readdirSync(join(c.diffusersFolder, "transformer")));
    expect(files).toContain("diffusion_pytorch_model.bin");
    expect(files).toContain("diffusion_pytorch_model.safetensors");
    expect(all.some((c) => !existsSync(join(c.diffusersFolder, "tokenizer/tokenizer.json")))).toBe(true);
    expect(all.some((c) => existsSync(join(c.diffusersFolder, "tokenizer/tokenizer.json")))).toBe(true);
  });

  it("names no folder that is not there, and no folder under checkpoints/ is left out", () => {
    const listed = listCheckpoints().map((c) => c.name).sort();
    const present = readdirSync(CHECKPOINTS_ROOT, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name).sort();
    expect(present).toEqual(listed);
  });

  it("refuses an unknown name, naming the known ones", () => {
    expect(() => recordedCheckpoint("nope")).toThrow('recordedCheckpoint: expected one of D, tiny-learnable, gelu-6x6, geglu-fp16, gelu-approximate-bf16, got "nope"');
  });

  it("decodes little-endian tensors and refuses a byte count that disagrees with the shape", () => {
    const f = decodeTensor({ dtype: "float32", shape: [2], data: Buffer.from([0, 0, 0x80, 0x3f, 0, 0, 0, 0xc0]).toString("base64") });
    expect(Array.from(f.data as Float32Array)).toEqual([1, -2]);
    const i = decodeTensor({ dtype: "int64", shape: [1], data: Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]).toString("base64") });
    expect(Array.from(i.data as BigInt64Array)).toEqual([-1n]);
    expect(() => decodeTensor({ dtype: "float32", shape: [3], data: "AAAAAA==" })).toThrow("decodeTensor: expected 12 bytes for float32 [3], got 4");
  });

  it("compareWithTolerance counts values past atol + rtol·|want|", () => {
    expect(compareWithTolerance([1, 2.5, 3], [1, 2, 3.01], { atol: 0.1, rtol: 0 })).toEqual({ pastTolerance: 1, maxAbsDiff: 0.5 });
    expect(compareWithTolerance([NaN], [0], { atol: 1, rtol: 1 }).pastTolerance).toBe(1);
  });
});

for (const ckpt of listCheckpoints()) {
  describe(ckpt.name, () => {
    const folder = ckpt.diffusersFolder;
    const config = (component: string, file = "config.json") => json(join(folder, component, file));
    const s = ckpt.sizes;

    it("its folder is a diffusers VQDiffusionPipeline with the weight files of its format and variant", () => {
      expect(json(join(folder, "model_index.json"))._class_name).toBe("VQDiffusionPipeline");
      for (const component of ["text_encoder", "transformer", "vqvae", "learned_classifier_free_sampling_embeddings"]) {
        const files = readdirSync(join(folder, component));
        const base = component === "text_encoder" ? (ckpt.format === "safetensors" || !ckpt.format ? "model" : "pytorch_model") : "diffusion_pytorch_model";
        const ext = ckpt.format === "safetensors" ? "safetensors" : "bin";
        if (ckpt.format) expect(files).toContain(`${component === "text_encoder" && ext === "safetensors" ? "model" : base}.${ext}`);
        if (ckpt.variant) expect(files).toContain(`${component === "text_encoder" ? "model" : "diffusion_pytorch_model"}.${ckpt.variant}.safetensors`);
      }
      if (ckpt.tokenizer_json !== undefined) expect(existsSync(join(folder, "tokenizer/tokenizer.json"))).toBe(ckpt.tokenizer_json);
    });

    it("its sizes are its configs'", () => {
      const t = config("transformer");
      expect([t.num_vector_embeds, t.sample_size, t.sample_size, t.num_embeds_ada_norm, t.cross_attention_dim, t.activation_fn]).toEqual([
        s.K, s.height, s.width, s.T, s.D, s.activation_fn,
      ]);
      expect(s.N).toBe(s.height * s.width);
      const text = config("text_encoder");
      expect([text.hidden_size, text.vocab_size]).toEqual([s.D, s.vocab_size]);
      const tok = config("tokenizer", "tokenizer_config.json");
      expect([tok.model_max_length, tok.pad_token]).toEqual([s.L, s.pad_token]);
      const sched = config("scheduler", "scheduler_config.json");
      expect([sched.num_vec_classes, sched.num_train_timesteps ?? 100]).toEqual([s.K, s.T]);
      const vq = config("vqvae");
      expect(vq.num_vq_embeddings).toBe(s.K - 1);
      const scale = 2 ** ((vq.block_out_channels as number[]).length - 1);
      expect(s.image_hw).toEqual([s.height * scale, s.width * scale]);
      expect(config("learned_classifier_free_sampling_embeddings").learnable).toBe(s.learnable);
    });

    const components = recordedComponents(ckpt.name);

    it("records the three components at B = 1 and B = 2, with the components' tolerances (vqd_fixtures/component.py)", () => {
      expect(Object.keys(components).sort()).toEqual(["text_encoder", "transformer", "vqvae_decoder"]);
      for (const c of Object.values(components)) expect(c.runs.map((r) => r.batch)).toEqual([1, 2]);
      expect(components.text_encoder.tolerance).toEqual({ atol: 1e-4, rtol: 1e-4 });
      expect(components.transformer.tolerance).toEqual({ atol: 1e-3, rtol: 1e-4 });
      expect(components.vqvae_decoder.tolerance).toEqual({ atol: 1e-3, rtol: 1e-4 });
    });

    it("text_encoder: input_ids int64 [B, L] as a tokenizer gives them → last_hidden_state float32 [B, L, D]", () => {
      const c = components.text_encoder;
      expect([c.inputNames, c.outputName]).toEqual([["input_ids"], "last_hidden_state"]);
      for (const { batch: B, inputs, output } of c.runs) {
        const ids = inputs.input_ids;
        expect([ids.dtype, ids.shape]).toEqual(["int64", [B, s.L]]);
        expect(within(ints(ids), 0, s.vocab_size)).toBe(true);
        expect(ints(ids).filter((_, i) => i % s.L === 0)).toEqual(new Array(B).fill(s.vocab_size - 2)); // <|startoftext|>
        expect(output.shape).toEqual([B, s.L, s.D]);
        expect(output.data.every(Number.isFinite)).toBe(true);
      }
    });

    it("transformer: a third of the tokens masked, unit prompt rows, t in [0, T) → log p [B, K − 1, N] that sums to 1", () => {
      const c = components.transformer;
      expect([c.inputNames, c.outputName]).toEqual([["hidden_states", "encoder_hidden_states", "timestep"], "sample"]);
      for (const { batch: B, inputs, output } of c.runs) {
        const x = inputs.hidden_states;
        expect([x.dtype, x.shape]).toEqual(["int64", [B, s.N]]);
        expect(within(ints(x), 0, s.K)).toBe(true);
        expect(ints(x).some((v) => v === s.K - 1)).toBe(true);
        const e = inputs.encoder_hidden_states;
        expect([e.dtype, e.shape]).toEqual(["float32", [B, s.L, s.D]]);
        for (let row = 0; row < B * s.L; row++) {
          const v = Array.from(e.data.subarray(row * s.D, (row + 1) * s.D) as Float32Array);
          expect(Math.hypot(...v)).toBeCloseTo(1, 5);
        }
        const t = inputs.timestep;
        expect([t.dtype, t.shape]).toEqual(["int64", []]);
        expect(within(ints(t), 0, s.T)).toBe(true);
        expect(output.shape).toEqual([B, s.K - 1, s.N]);
        for (let b = 0; b < B; b++) {
          for (let n = 0; n < s.N; n++) {
            let sum = 0;
            for (let k = 0; k < s.K - 1; k++) sum += Math.exp(output.data[(b * (s.K - 1) + k) * s.N + n]);
            expect(sum).toBeCloseTo(1, 5);
          }
        }
      }
    });

    it("vqvae_decoder: indices int64 [B, N] in [0, K − 1) → sample float32 [B, 3, H, W]", () => {
      const c = components.vqvae_decoder;
      expect([c.inputNames, c.outputName]).toEqual([["indices"], "sample"]);
      for (const { batch: B, inputs, output } of c.runs) {
        expect([inputs.indices.dtype, inputs.indices.shape]).toEqual(["int64", [B, s.N]]);
        expect(within(ints(inputs.indices), 0, s.K - 1)).toBe(true);
        expect(output.shape).toEqual([B, 3, ...s.image_hw]);
        expect(output.data.every(Number.isFinite)).toBe(true);
      }
    });

    const file = recordedCases(ckpt.name);

    it("its cases have ids [P][L], the negative prompt's ids when guided without learned embeddings, tokens after every step, pixels", () => {
      expect(file.cases.length).toBeGreaterThanOrEqual(6);
      expect([file.sizes.K, file.sizes.N, file.sizes.L, file.sizes.pad_id]).toEqual([s.K, s.N, s.L, s.pad_id]);
      for (const c of file.cases) {
        const P = typeof c.prompt === "string" ? 1 : c.prompt.length;
        const B = P * c.num_images_per_prompt;
        expect(c.input_ids.map((row) => row.length)).toEqual(new Array(P).fill(s.L));
        expect(c.negative_input_ids !== undefined).toBe(c.guidance_scale > 1 && !s.learnable);
        expect(c.timesteps.length).toBe(c.num_inference_steps);
        expect(c.tokens_after_each_step.length).toBe(c.num_inference_steps);
        for (const step of c.tokens_after_each_step) expect(step.map((row) => row.length)).toEqual(new Array(B).fill(s.N));
        expect(c.tokens).toEqual(c.tokens_after_each_step.at(-1));
        expect(within(c.tokens.flat(), 0, s.K - 1)).toBe(true);
        expect([c.images_uint8.length, c.images_uint8[0].length, c.images_uint8[0][0].length, c.images_uint8[0][0][0].length]).toEqual([B, ...s.image_hw, 3]);
      }
    });
  });
}

describe("the ITHQ-size fixture (test/fixtures/ithq-2step.json)", () => {
  const ithq = recordedIthq();

  it("records a 2-step guided run from the .bin files and from the fp16 variant, at ITHQ's sizes", () => {
    expect(ithq.sizes).toEqual({ K: 4097, N: 1024, T: 100, L: 77, pad_token: "!", pad_id: 0 });
    expect(ithq.remake).toContain("random_checkpoint.py --preset ithq --format bin --variant fp16");
    for (const run of [ithq.runs.fp32, ithq.runs.fp16]) {
      expect([run.num_inference_steps, run.guidance_scale > 1, run.num_images_per_prompt]).toEqual([2, true, 1]);
      expect(run.input_ids.map((r) => r.length)).toEqual([77]);
      expect(run.input_ids[0][0]).toBe(49406); // CLIP's <|startoftext|>
      expect(run.timesteps).toEqual([1, 0]);
      expect(run.tokens_after_each_step.map((s) => s.map((r) => r.length))).toEqual([[1024], [1024]]);
      expect(run.tokens).toEqual(run.tokens_after_each_step[1]);
      expect(within(run.tokens[0], 0, 4096)).toBe(true);
    }
    expect(ithq.runs.fp16.input_ids).toEqual(ithq.runs.fp32.input_ids);
  });
});
