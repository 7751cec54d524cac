/**
 * Samples off the main thread, so the page stays responsive: posts the tokens after every step and the
 * result at the end. The kernels are compiled before the first run (workers could compile them
 * synchronously too, on the first step; doing it first keeps that out of the timing).
 */
import { initKernels } from "vq-diffusion";
import { samplePixelArt } from "vq-diffusion/demo";
import type { SampleRequest, WorkerMessage } from "./protocol.ts";

const post = (message: WorkerMessage) => (self as unknown as { postMessage(m: WorkerMessage): void }).postMessage(message);

self.onmessage = async (event: MessageEvent<SampleRequest>) => {
  const { options } = event.data;
  const backend = await initKernels();
  const total = options.numInferenceSteps ?? 100;
  const started = performance.now();
  try {
    const result = await samplePixelArt({
      ...options,
      onStep: ({ step, sample }) => post({ type: "step", step, total, tokens: sample.data, msPerStep: (performance.now() - started) / (step + 1) }),
    });
    post({ type: "done", tokens: result.tokens, matches: result.matches, msPerStep: (performance.now() - started) / total, backend });
  } catch (e) {
    post({ type: "error", message: (e as Error).message });
  }
};
