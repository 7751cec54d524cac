/**
 * Text to image off the main thread: loads the model folder with onnxruntime-web (the WASM backend,
 * or WebGPU when asked and available), generates, and posts the partially decoded images after every
 * step (masked tokens as a grey checker) and the final images with their tokens.
 */
import * as ort from "onnxruntime-web";
import { TorchGenerator, VQDiffusionPipeline, type GenerationTimings, type OrtModule } from "vq-diffusion";
import type { GenerateMessage, GenerateRequest, StepTimes } from "./protocol.ts";

const post = (message: GenerateMessage) => (self as unknown as { postMessage(m: GenerateMessage): void }).postMessage(message);

let loaded: { key: string; pipe: Promise<VQDiffusionPipeline> } | null = null;

function pipeline(request: GenerateRequest): Promise<VQDiffusionPipeline> {
  const key = `${request.modelUrl} ${request.backend}`;
  if (loaded?.key !== key) {
    ort.env.wasm.numThreads = self.crossOriginIsolated ? Math.min(4, navigator.hardwareConcurrency) : 1;
    const started = performance.now();
    const pipe = VQDiffusionPipeline.fromPretrained(request.modelUrl, {
      ort: ort as unknown as OrtModule,
      sessionOptions: { executionProviders: request.backend === "webgpu" ? ["webgpu", "wasm"] : ["wasm"], graphOptimizationLevel: "all" },
    });
    // What runs the model, for the status line and the page test: WASM threads, or WebGPU's adapter.
    const gpu = (navigator as unknown as { gpu?: { requestAdapter(): Promise<{ info?: { architecture?: string; vendor?: string } } | null> } }).gpu;
    const adapter = request.backend === "webgpu" && gpu ? gpu.requestAdapter() : Promise.resolve(null);
    Promise.all([pipe, adapter])
      .then(([, a]) => {
        const wasm = `wasm, ${ort.env.wasm.numThreads} thread${ort.env.wasm.numThreads === 1 ? "" : "s"}`;
        const backend = request.backend !== "webgpu" ? wasm : a ? `webgpu (${a.info?.architecture || a.info?.vendor || "adapter"}), ${wasm} for the rest` : `${wasm} (no WebGPU adapter)`;
        post({ type: "loaded", ms: performance.now() - started, backend, webgpu: !gpu ? "none" : a ? "adapter" : "no-adapter" });
      })
      .catch(() => undefined);
    loaded = { key, pipe };
  }
  return loaded.pipe;
}

function perStep(t: GenerationTimings): StepTimes {
  const n = Math.max(1, t.steps);
  return { transformerMs: t.transformerMs / n, schedulerMs: t.schedulerMs / n, guidanceMs: t.guidanceMs / n };
}

// In a cross-origin isolated page onnxruntime-web starts its WASM threads from this same script
// (named "em-pthread"); those threads take their messages from onnxruntime, not from the page.
const isOrtThread = (self as unknown as { name?: string }).name?.startsWith("em-pthread") ?? false;

if (!isOrtThread) self.onmessage = async (event: MessageEvent<GenerateRequest>) => {
  const request = event.data;
  const { options } = request;
  try {
    const pipe = await pipeline(request);
    const started = performance.now();
    const result = await pipe.generate({
      prompt: options.prompt,
      numImagesPerPrompt: options.numImagesPerPrompt,
      numInferenceSteps: options.numInferenceSteps,
      guidanceScale: options.guidanceScale,
      truncationRate: options.truncationRate,
      generator: new TorchGenerator().manualSeed(options.seed),
      timestepSpacing: options.timestepSpacing,
      strategy: options.strategy,
      mode: options.mode,
      onWarning: (message) => post({ type: "warning", message }),
      onStep: async ({ step, sample, timings }) => {
        const images = request.preview ? await pipe.decodePreview(sample) : null;
        post({ type: "step", step, total: options.numInferenceSteps, images, times: perStep(timings) });
      },
    });
    const t = result.timings;
    post({
      type: "done", images: result.images, tokens: result.tokens.data, times: perStep(t),
      totalMs: performance.now() - started, decodeMs: t.decodeMs, textEncoderMs: t.textEncoderMs,
    });
  } catch (e) {
    post({ type: "error", message: (e as Error)?.message ?? String(e) });
  }
};
