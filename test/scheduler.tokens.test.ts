/** Tokens as Int32Array or BigInt64Array: same draws, and prevSample keeps the caller's type. */
import { describe, expect, it } from "vitest";
import { TorchGenerator, VQDiffusionScheduler } from "../src/index.js";
import { asFloat, asInt, loadGolden } from "./helpers/golden.js";

describe("token types", () => {
  for (const c of loadGolden("step").filter((c) => c.file.startsWith("step_1"))) {
    it(`${c.file}: Int32Array in, Int32Array out, same tokens as BigInt64Array`, () => {
      const s = VQDiffusionScheduler.fromConfig(c.config!);
      const t = c.scalars.t as number;
      const big = asInt(c.inputs.sample);
      const small = { data: Int32Array.from(big.data, Number), dims: big.dims };
      const m = asFloat(c.inputs.model_output);
      const a = s.step(m, t, big, { generator: new TorchGenerator().manualSeed(c.scalars.seed as number) }).prevSample;
      const b = s.step(m, t, small, { generator: new TorchGenerator().manualSeed(c.scalars.seed as number) }).prevSample;
      expect(a.data).toBeInstanceOf(BigInt64Array);
      expect(b.data).toBeInstanceOf(Int32Array);
      expect(Array.from(a.data, Number)).toEqual(Array.from(b.data));
      expect(b.dims).toEqual(big.dims);
      expect(b.data).not.toBe(small.data);
    });
  }
  it("step without a generator draws valid tokens from a fresh seed", () => {
    const s = new VQDiffusionScheduler({ numVecClasses: 9, numTrainTimesteps: 10 });
    const m = { data: new Float32Array(2 * 8 * 6).fill(Math.log(1 / 8)), dims: [2, 8, 6] };
    const x = { data: new Int32Array(12).fill(8), dims: [2, 6] };
    const out = s.step(m, 5, x).prevSample;
    for (const v of out.data) expect(v >= 0 && v <= 8).toBe(true);
  });
});
