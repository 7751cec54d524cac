/**
 * Typed arrays from another realm (a `vm` context here; an iframe or a worker wrapper in browsers):
 * `instanceof Float32Array` says no, yet they work the same, so every entry point takes them and
 * gives what this realm's arrays give.
 */
import { runInNewContext } from "node:vm";
import { describe, expect, it } from "vitest";
import * as ort from "onnxruntime-node";
import { readSafetensors, TorchGenerator, VQDiffusionPipeline, VQDiffusionSampler, VQDiffusionScheduler } from "../src/index.js";
import type { OrtModule } from "../src/pipeline/onnxComponent.js";
import { memoryFolder } from "./helpers/modelFolders.js";
import { isTypedArray } from "../src/tensor/validate.js";
import { safetensorsBytes } from "./helpers/safetensorsWriter.js";

/** A copy of `array` made by another realm's constructor of the same name. */
function foreign<T extends ArrayBufferView & ArrayLike<unknown>>(array: T): T {
  const name = array.constructor.name;
  const copy = runInNewContext(`new ${name}(${array.length})`) as T;
  (copy as unknown as { set(a: T): void }).set(array);
  return copy;
}

describe("typed arrays from another realm", () => {
  const K = 5;
  const N = 6;
  const logp = new Float32Array((K - 1) * N).map((_, i) => Math.log(0.05 + ((i * 7) % 5) / 10));
  const sample = Int32Array.from({ length: N }, (_, i) => (i % 2 === 0 ? K - 1 : i % (K - 1)));

  it("are foreign (instanceof fails) yet recognised by their kind", () => {
    const f = foreign(logp);
    expect(f instanceof Float32Array).toBe(false);
    expect(isTypedArray(f, "Float32Array")).toBe(true);
    expect(isTypedArray(f, "Int32Array")).toBe(false);
    expect(isTypedArray({ length: 0, [Symbol.toStringTag]: "Float32Array" }, "Float32Array")).toBe(false);
    expect(isTypedArray(new DataView(new ArrayBuffer(4)), "Float32Array")).toBe(false);
  });

  it("scheduler.step, qPosterior and addNoise take them and give this realm's result", () => {
    const s = new VQDiffusionScheduler({ numVecClasses: K, numTrainTimesteps: 10 });
    const step = (lp: Float32Array, x: Int32Array | BigInt64Array) =>
      s.step({ data: lp, dims: [1, K - 1, N] }, 5, { data: x, dims: [1, N] }, { generator: new TorchGenerator().manualSeed(3) }).prevSample;
    const here = step(logp, sample);
    expect([...step(foreign(logp), foreign(sample)).data]).toEqual([...here.data]);
    const wide = BigInt64Array.from(sample, BigInt);
    const out = step(foreign(logp), foreign(wide));
    expect(out.data).toBeInstanceOf(BigInt64Array); // the caller's token type, as a BigInt64Array
    expect([...out.data].map(Number)).toEqual([...here.data]);
    expect([...s.qPosterior({ data: foreign(logp), dims: [1, K - 1, N] }, { data: foreign(sample), dims: [1, N] }, 5).data]).toEqual([
      ...s.qPosterior({ data: logp, dims: [1, K - 1, N] }, { data: sample, dims: [1, N] }, 5).data,
    ]);
    const clean = Int32Array.from({ length: N }, (_, i) => i % (K - 1));
    const noise = (x: Int32Array) => [...s.addNoise({ data: x, dims: [1, N] }, 7, { generator: new TorchGenerator().manualSeed(1) }).data];
    expect(noise(foreign(clean))).toEqual(noise(clean));
  });

  it("a sampler's denoiser may return another realm's Float32Array", async () => {
    const s = new VQDiffusionScheduler({ numVecClasses: K, numTrainTimesteps: 10 });
    const run = (wrap: (a: Float32Array) => Float32Array) =>
      new VQDiffusionSampler({ scheduler: s, denoiser: async () => ({ data: wrap(logp), dims: [1, K - 1, N] }) }).sample({
        batchSize: 1,
        numLatentPixels: N,
        numInferenceSteps: 10,
        generator: new TorchGenerator().manualSeed(0),
      });
    expect([...(await run(foreign)).tokens.data]).toEqual([...(await run((a) => a)).tokens.data]);
  });

  it("TorchGenerator.setState and readSafetensors take them", () => {
    const g = new TorchGenerator().manualSeed(5);
    const state = g.getState();
    const a = [...g.rand([4]).data];
    expect([...new TorchGenerator().setState(foreign(state)).rand([4]).data]).toEqual(a);
    const bytes = safetensorsBytes({ e: { dims: [2], data: Float32Array.of(1, 2) } });
    expect([...readSafetensors(foreign(bytes), "x.safetensors").get("e")!.data]).toEqual([1, 2]);
  });

  it("the pipeline takes promptEmbeds, latents and tokens from another realm", async () => {
    const pipe = await VQDiffusionPipeline.fromSource(memoryFolder({}), ort as unknown as OrtModule);
    const embeds = Float32Array.from({ length: 8 * 32 }, (_, i) => Math.cos(i));
    const latents = Int32Array.from({ length: 16 }, (_, i) => (i % 3 === 0 ? 16 : i % 16));
    const run = (e: Float32Array, l: Int32Array) =>
      pipe.generate({ promptEmbeds: { data: e, dims: [1, 8, 32] }, latents: { data: l, dims: [1, 16] }, numInferenceSteps: 3, generator: new TorchGenerator().manualSeed(1) });
    const here = await run(embeds, latents);
    const there = await run(foreign(embeds), foreign(latents));
    expect([...there.tokens.data]).toEqual([...here.tokens.data]);
    expect([...(await pipe.decode({ data: foreign(here.tokens.data), dims: [1, 16] }))[0].data]).toEqual([...here.images[0].data]);
  });
});
