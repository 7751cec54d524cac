/**
 * vq-diffusion/node's session options: every session uses all cores unless the caller says otherwise
 * (onnxruntime-node's own default ran one intra-op thread on this 2-core machine: the Fashion-MNIST
 * transformer took 35 ms a step at B = 16 against 27 ms with two threads), and a caller's options win.
 */
import { availableParallelism } from "node:os";
import * as ort from "onnxruntime-node";
import { describe, expect, it } from "vitest";
import type { OrtModule } from "../src/pipeline/onnxComponent.js";
import { VQDiffusionPipeline } from "../src/node.js";

/** onnxruntime-node, recording the options of every InferenceSession.create. */
function recordingOrt(): { ort: OrtModule; seen: Record<string, unknown>[] } {
  const seen: Record<string, unknown>[] = [];
  const real = ort.InferenceSession;
  const InferenceSession = {
    create: (model: unknown, options?: Record<string, unknown>) => {
      seen.push(options ?? {});
      return (real.create as (m: unknown, o?: unknown) => Promise<unknown>)(model, options);
    },
  };
  return { ort: { ...ort, InferenceSession } as unknown as OrtModule, seen };
}

describe("vq-diffusion/node session options", () => {
  it("intraOpNumThreads defaults to every core", async () => {
    const { ort: recording, seen } = recordingOrt();
    const pipe = await VQDiffusionPipeline.fromPretrained("fashion-mnist", { ort: recording });
    await pipe.release();
    expect(seen.length).toBe(3); // text encoder, transformer, decoder
    for (const options of seen) expect(options.intraOpNumThreads).toBe(availableParallelism());
  });

  it("the caller's sessionOptions win", async () => {
    const { ort: recording, seen } = recordingOrt();
    const pipe = await VQDiffusionPipeline.fromPretrained("fashion-mnist", { ort: recording, sessionOptions: { intraOpNumThreads: 1, graphOptimizationLevel: "basic" } });
    await pipe.release();
    for (const options of seen) expect(options).toMatchObject({ intraOpNumThreads: 1, graphOptimizationLevel: "basic" });
  });

  it("sessionOptions that are not an object are refused before anything loads", async () => {
    const { ort: recording, seen } = recordingOrt();
    await expect(VQDiffusionPipeline.fromPretrained("fashion-mnist", { ort: recording, sessionOptions: "fast" as never })).rejects.toThrow(
      new Error('sessionOptions: expected an object of onnxruntime session options, got "fast"'),
    );
    expect(seen).toEqual([]);
  });
});
