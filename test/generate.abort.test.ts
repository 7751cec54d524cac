/**
 * Aborting `generate` (issue 31, item 9): the signal's reason comes through as the rejection, as
 * `fromPretrained` does (so `AbortSignal.timeout()` gives its `TimeoutError`), and an abort during the
 * last step is not ignored (nothing is decoded or returned).
 */
import * as ort from "onnxruntime-node";
import { describe, expect, it } from "vitest";
import { TorchGenerator } from "../src/index.js";
import type { OrtModule } from "../src/pipeline/onnxComponent.js";
import { VQDiffusionSampler } from "../src/sampling/sampler.js";
import { VQDiffusionScheduler } from "../src/scheduler/vqDiffusionScheduler.js";
import { VQDiffusionPipeline } from "../src/node.js";

const DIR = new URL("./fixtures/pipeline-golden/tiny-a/", import.meta.url).pathname;
const timeout = () => new DOMException("The operation was aborted due to timeout", "TimeoutError");

describe("generate and abort", async () => {
  const pipe = await VQDiffusionPipeline.fromPretrained(DIR, { ort: ort as unknown as OrtModule });
  const { sequenceLength: L, crossAttentionDim: D } = pipe.config;
  const embeds = { data: new Float32Array(L * D).fill(0.5), dims: [1, L, D] };
  const run = (signal: AbortSignal, onStep?: (step: number) => void) =>
    pipe.generate({ promptEmbeds: embeds, numInferenceSteps: 3, generator: new TorchGenerator().manualSeed(0), signal, onStep: onStep && (({ step }) => onStep(step)) });

  it("an already aborted signal rejects with its reason (a TimeoutError, as AbortSignal.timeout gives)", async () => {
    const reason = timeout();
    await expect(run(AbortSignal.abort(reason))).rejects.toBe(reason);
  });

  it("an abort between steps rejects with the reason", async () => {
    const controller = new AbortController();
    const reason = timeout();
    await expect(run(controller.signal, (step) => step === 0 && controller.abort(reason))).rejects.toBe(reason);
  });

  it("an abort during the last step rejects too (it used to return the images)", async () => {
    const controller = new AbortController();
    const reason = timeout();
    const steps: number[] = [];
    const done = run(controller.signal, (step) => {
      steps.push(step);
      if (step === 2) controller.abort(reason);
    });
    await expect(done).rejects.toBe(reason);
    expect(steps).toEqual([0, 1, 2]);
  });

  it("an abort with no reason rejects with the platform's AbortError", async () => {
    const controller = new AbortController();
    controller.abort();
    await expect(run(controller.signal)).rejects.toMatchObject({ name: "AbortError" });
  });
});

describe("the sampler alone", () => {
  it("an abort in the last step's onStep rejects with the reason", async () => {
    const scheduler = VQDiffusionScheduler.fromConfig({ num_vec_classes: 3, num_train_timesteps: 4 });
    const denoiser = async (_x: unknown, _t: number) => ({ data: new Float32Array(2 * 2).fill(Math.log(0.5)), dims: [1, 2, 2] });
    const controller = new AbortController();
    const reason = timeout();
    const sampler = new VQDiffusionSampler({ scheduler, denoiser });
    const done = sampler.sample({ numLatentPixels: 2, numInferenceSteps: 2, signal: controller.signal, onStep: ({ step }) => void (step === 1 && controller.abort(reason)) });
    await expect(done).rejects.toBe(reason);
  });
});
