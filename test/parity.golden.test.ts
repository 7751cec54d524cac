/**
 * Parity with the Python reference: every golden fixture, as test/fixtures/golden/README.md says.
 * schedule, rng, step, bigstep: equal element for element; transition, posterior: within
 * 1e-5 + 1e-5·|expected|, -inf exactly where expected.
 */
import { describe, expect, it } from "vitest";
import { indexToLogOnehot, TorchGenerator, VQDiffusionScheduler } from "../src/index.js";
import { asFloat, asInt, bigstepModelOutput, countMismatches, loadGolden, toInt32 } from "./helpers/golden.js";

describe("golden: schedule", () => {
  for (const c of loadGolden("schedule")) {
    it(c.file, () => {
      const s = VQDiffusionScheduler.fromConfig(c.config!);
      expect(s.logAt).toEqual(asFloat(c.expected.log_at).data);
      expect(s.logBt).toEqual(asFloat(c.expected.log_bt).data);
      expect(s.logCt).toEqual(asFloat(c.expected.log_ct).data);
      expect(s.logCumprodAt).toEqual(asFloat(c.expected.log_cumprod_at).data);
      expect(s.logCumprodBt).toEqual(asFloat(c.expected.log_cumprod_bt).data);
      expect(s.logCumprodCt).toEqual(asFloat(c.expected.log_cumprod_ct).data);
      expect(s.timesteps).toEqual(toInt32(c.expected.timesteps));
    });
  }
});

describe("golden: rng", () => {
  for (const c of loadGolden("rng")) {
    it(c.file, () => {
      const g = new TorchGenerator();
      if (c.scalars.seed === null) expect(g.initialSeed()).toBe(BigInt(c.scalars.initial_seed as number));
      else g.manualSeed(BigInt(c.scalars.seed as number));
      expect(g.rand([1000]).data).toEqual(asFloat(c.expected.rand_1000).data);
      if (c.expected.then_rand_3x5) {
        const r = g.rand([3, 5]);
        expect(r.dims).toEqual([3, 5]);
        expect(r.data).toEqual(asFloat(c.expected.then_rand_3x5).data);
      }
    });
  }
});

describe("golden: transition", () => {
  for (const c of loadGolden("transition")) {
    it(c.file, () => {
      const s = VQDiffusionScheduler.fromConfig(c.config!);
      const xT = asInt(c.inputs.x_t);
      const logOnehotXT = indexToLogOnehot(xT, s.numEmbed);
      for (const cumulative of [true, false]) {
        const expected = asFloat(c.expected[cumulative ? "cumulative" : "non_cumulative"]);
        const got = s.logQtTransitioningToKnownClass({ t: c.scalars.t as number, xT, logOnehotXT, cumulative });
        expect(got.dims).toEqual(expected.dims);
        expect(countMismatches(got.data, expected.data)).toBe(0);
      }
    });
  }
});

describe("golden: posterior", () => {
  for (const c of loadGolden("posterior")) {
    it(c.file, () => {
      const s = VQDiffusionScheduler.fromConfig(c.config!);
      const expected = asFloat(c.expected.log_p_x_t_min_1);
      const got = s.qPosterior(asFloat(c.inputs.log_p_x_0), asInt(c.inputs.x_t), c.scalars.t as number);
      expect(got.dims).toEqual(expected.dims);
      expect(countMismatches(got.data, expected.data)).toBe(0);
    });
  }
});

describe("golden: step", () => {
  for (const c of loadGolden("step")) {
    it(c.file, () => {
      const s = VQDiffusionScheduler.fromConfig(c.config!);
      const generator = new TorchGenerator().manualSeed(c.scalars.seed as number);
      const sample = asInt(c.inputs.sample);
      const { prevSample } = s.step(asFloat(c.inputs.model_output), c.scalars.t as number, sample, { generator });
      expect(prevSample.dims).toEqual(sample.dims);
      expect(prevSample.data).toEqual(asInt(c.expected.prev_sample).data);
    });
  }
});

describe("golden: bigstep (ITHQ size)", () => {
  for (const c of loadGolden("bigstep")) {
    it(c.file, () => {
      const s = VQDiffusionScheduler.fromConfig(c.config!);
      const B = c.scalars.batch as number;
      const N = c.scalars.pixels as number;
      const K = s.numEmbed;
      const modelOutput = { data: bigstepModelOutput(c.scalars.input_seed as number, B, K, N), dims: [B, K - 1, N] };
      const generator = new TorchGenerator().manualSeed(c.scalars.seed as number);
      const { prevSample } = s.step(modelOutput, c.scalars.t as number, asInt(c.inputs.sample), { generator });
      expect(prevSample.data).toEqual(asInt(c.expected.prev_sample).data);
    });
  }
});
