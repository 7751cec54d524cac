// The Fashion-MNIST model's real transformer outputs, for the guidance benches: the denoiser's output
// at every 10th step of a 100-step generation of "ankle boot" at guidance 5 (seed 0), each a copy of
// the guided batch, (2B, K − 1, N) float32 [unconditional; conditional].

import { TorchGenerator } from "../dist/index.js";

/** `pipe`: a loaded VQDiffusionPipeline; B images per generation. Returns the captured Float32Arrays. */
export async function captureGuidedOutputs(pipe, B) {
  const outputs = [];
  const transformer = pipe.components.transformer;
  const run = transformer.run.bind(transformer);
  let step = 0;
  transformer.run = async (...args) => {
    const out = await run(...args);
    if (step++ % 10 === 0) outputs.push(out.data.slice());
    return out;
  };
  try {
    await pipe.generate({ prompt: "ankle boot", numImagesPerPrompt: B, guidanceScale: 5, numInferenceSteps: 100, generator: new TorchGenerator().manualSeed(0) });
  } finally {
    transformer.run = run;
  }
  return outputs;
}
