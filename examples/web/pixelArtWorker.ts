/**
 * Samples off the main thread, so the page stays responsive: posts the tokens after every step and the
 * result at the end. WebAssembly compiles synchronously here (workers have no size limit).
 */
import { kernelBackend } from "vq-diffusion";
import { samplePixelArt } from "vq-diffusion/demo";
import type { SampleRequest, WorkerMessage } from "./protocol.ts";

const post = (message: WorkerMessage) => (self as unknown as { postMessage(m: WorkerMessage): void }).postMessage(message);

self.onmessage = async (event: MessageEvent<SampleRequest>) => {
  const { options } = event.data;
  const total = options.steps ?? 100;
  const started = performance.now();
  try {
    const result = await samplePixelArt({
      ...options,
      onStep: ({ step, sample }) => post({ type: "step", step, total, tokens: sample.data, msPerStep: (performance.now() - started) / (step + 1) }),
    });
    post({ type: "done", tokens: result.tokens, matches: result.matches, msPerStep: (performance.now() - started) / total, backend: kernelBackend() });
  } catch (e) {
    post({ type: "error", message: (e as Error).message });
  }
};
