/** TorchGenerator: seeding rules and the stream (the values themselves are in the golden rng fixtures). */
import { describe, expect, it } from "vitest";
import { DEFAULT_TORCH_SEED, TorchGenerator } from "../src/index.js";
import { MersenneTwister19937 } from "../src/random/mt19937.js";

describe("MersenneTwister19937", () => {
  it("gives the reference outputs for seed 5489 (the 10000th is 4123659995)", () => {
    const mt = new MersenneTwister19937(5489);
    expect(mt.nextUint32()).toBe(3499211612);
    for (let i = 1; i < 9999; i++) mt.nextUint32();
    expect(mt.nextUint32()).toBe(4123659995);
  });
  it("fillUint32 equals repeated nextUint32 across block boundaries", () => {
    const a = new MersenneTwister19937(7);
    const b = new MersenneTwister19937(7);
    a.nextUint32();
    b.nextUint32();
    const out = new Uint32Array(2000);
    a.fillUint32(out, 3, 1500);
    for (let i = 3; i < 1503; i++) expect(out[i]).toBe(b.nextUint32());
    expect(a.nextUint32()).toBe(b.nextUint32());
  });
});

describe("TorchGenerator", () => {
  it("starts with PyTorch's default seed", () => {
    expect(new TorchGenerator().initialSeed()).toBe(67280421310721n);
    expect(DEFAULT_TORCH_SEED).toBe(67280421310721n);
  });
  it("uses the low 32 bits of the seed and keeps the full seed", () => {
    const a = new TorchGenerator().manualSeed(2n ** 32n + 5n);
    expect(a.initialSeed()).toBe(4294967301n);
    expect(a.rand([10]).data).toEqual(new TorchGenerator().manualSeed(5).rand([10]).data);
  });
  it("takes negative seeds modulo 2^64", () => {
    expect(new TorchGenerator().manualSeed(-1).initialSeed()).toBe(2n ** 64n - 1n);
  });
  it("rejects seeds that are not integers in [-2^63, 2^64 - 1]", () => {
    expect(() => new TorchGenerator().manualSeed(1.5)).toThrow(new Error("seed: expected a safe integer or a bigint, got 1.5"));
    expect(() => new TorchGenerator().manualSeed(2n ** 64n)).toThrow(new Error("seed: expected an integer in [-2^63, 2^64 - 1], got 18446744073709551616n"));
  });
  it("rand returns dims and values in [0, 1) with 24-bit resolution", () => {
    const r = new TorchGenerator().manualSeed(3).rand([4, 5]);
    expect(r.dims).toEqual([4, 5]);
    for (const v of r.data) {
      expect(v).toBeGreaterThanOrEqual(0);
      expect(v).toBeLessThan(1);
      expect(Number.isInteger(v * 2 ** 24)).toBe(true);
    }
    expect(() => new TorchGenerator().rand([2, -1])).toThrow(new Error("dims: expected an array of non-negative integers, got [2, -1]"));
  });
  it("seed() draws a fresh seed from the platform", () => {
    const a = new TorchGenerator().seed().initialSeed();
    const b = new TorchGenerator().seed().initialSeed();
    expect(a).not.toBe(b);
  });
});

describe("getState / setState", () => {
  it("replays the stream from a saved position, across a twist, and refuses a malformed state", () => {
    const g = new TorchGenerator().manualSeed(11);
    g.rand([500]);
    const state = g.getState();
    const a = g.rand([1000]).data;
    expect(g.setState(state).rand([1000]).data).toEqual(a);
    expect(state).toEqual(new TorchGenerator().manualSeed(11).setState(state).getState());
    expect(() => g.setState(new Int32Array(3))).toThrow("state: expected an Int32Array of 625 words (from getState()), got a Int32Array of length 3");
    const bad = state.slice();
    bad[624] = 625;
    expect(() => g.setState(bad)).toThrow("state: expected a last word (the position) in [0, 624], got 625");
  });
});

describe("uniform53", () => {
  it("builds a 53-bit uniform in [0, 1) from two 32-bit draws", async () => {
    const { uniform53 } = await import("../src/random/uniform53.js");
    const g = new TorchGenerator().manualSeed(9);
    const ref = new TorchGenerator().manualSeed(9);
    for (let i = 0; i < 1000; i++) {
      const a = ref.nextUint32() >>> 5;
      const b = ref.nextUint32() >>> 6;
      const u = uniform53(g);
      expect(u).toBe((a * 2 ** 26 + b) / 2 ** 53);
      expect(u >= 0 && u < 1).toBe(true);
    }
  });
});

describe("a generator from another copy of the package", () => {
  it("is accepted by the scheduler and the sampler and gives the same tokens (instanceof would refuse it)", async () => {
    const { VQDiffusionScheduler } = await import("../src/index.js");
    // A structural copy: same methods and engine, another class (as a second install of the package has).
    class ForeignGenerator {
      private readonly inner = new TorchGenerator();
      getState() { return this.inner.getState(); }
      setState(state: Int32Array) { this.inner.setState(state); return this; }
      nextUint32() { return this.inner.nextUint32(); }
      fillUint32(out: Uint32Array, offset?: number, count?: number) { this.inner.fillUint32(out, offset, count); }
      manualSeed(seed: number) { this.inner.manualSeed(seed); return this; }
      rand(dims: number[]) { return this.inner.rand(dims); }
      fillRand(out: Float32Array) { this.inner.fillRand(out); }
    }
    const s = new VQDiffusionScheduler({ numVecClasses: 5 });
    const logp = { data: new Float32Array(4 * 6).fill(Math.log(0.25)), dims: [1, 4, 6] };
    const x = { data: new Int32Array(6).fill(4), dims: [1, 6] };
    const ours = s.step(logp, 50, x, { generator: new TorchGenerator().manualSeed(3) }).prevSample.data;
    const theirs = s.step(logp, 50, x, { generator: new ForeignGenerator().manualSeed(3) as unknown as TorchGenerator }).prevSample.data;
    expect(Array.from(theirs)).toEqual(Array.from(ours));
    // An older copy (before getState/setState replaced the public engine) is named by what it lacks.
    const older = { manualSeed() {}, rand() {}, fillRand() {}, engine: {} };
    expect(() => s.step(logp, 50, x, { generator: older as unknown as TorchGenerator })).toThrow(
      "options.generator: expected a TorchGenerator (methods manualSeed, rand, fillRand, getState, setState, nextUint32, fillUint32), got an object without getState()",
    );
  });
});
