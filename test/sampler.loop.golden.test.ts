/**
 * The sampling loop against the reference pipeline: every `loop` fixture, token for token after every
 * step. The denoiser returns the fixture's table of the step ([uncond, cond] with guidance).
 */
import { describe, expect, it } from "vitest";
import { TorchGenerator, VQDiffusionSampler, VQDiffusionScheduler } from "../src/index.js";
import { asFloat, asInt, loadGolden, toInt32 } from "./helpers/golden.js";

describe("golden: loop", () => {
  for (const c of loadGolden("loop")) {
    it(`${c.file}: guidance ${c.scalars.guidance_scale}, truncation ${c.scalars.truncation_rate}`, async () => {
      const scheduler = VQDiffusionScheduler.fromConfig(c.config!);
      const tables = asFloat(c.inputs.tables);
      const [steps, halves, B, C, N] = tables.dims;
      const expected = asInt(c.expected.samples);
      const timesteps = toInt32(c.inputs.timesteps);
      const calls: number[] = [];
      const denoiser = (sample: { data: Int32Array | BigInt64Array; dims: readonly number[] }, t: number) => {
        const i = calls.length;
        calls.push(t);
        expect(sample.dims).toEqual([halves * B, N]);
        const size = halves * B * C * N;
        return { data: tables.data.slice(i * size, (i + 1) * size), dims: [halves * B, C, N] };
      };
      const trace: Int32Array[] = [];
      const { tokens } = await new VQDiffusionSampler({ scheduler, denoiser }).sample({
        batchSize: B,
        numLatentPixels: N,
        numInferenceSteps: c.scalars.num_inference_steps as number,
        guidanceScale: c.scalars.guidance_scale as number,
        truncationRate: c.scalars.truncation_rate as number,
        generator: new TorchGenerator().manualSeed(c.scalars.seed as number),
        onStep: ({ sample }) => void trace.push(sample.data),
      });
      expect(calls).toEqual([...timesteps]);
      expect(trace.length).toBe(steps);
      for (let i = 0; i < steps; i++) {
        expect(trace[i], `after step ${i}`).toEqual(Int32Array.from(expected.data.subarray(i * B * N, (i + 1) * B * N), Number));
      }
      expect(tokens.data).toEqual(trace[steps - 1]);
    });
  }
});
