// A reverse chain with a toy "model": K = 17 classes (16 + the mask), N = 16 pixels, 20 steps.
// The model predicts, for every pixel, class (pixel index) with probability 0.9 and the rest
// uniformly: the chain unmasks the tokens step by step and lands near 0, 1, 2, ..., 15.
import { TorchGenerator, VQDiffusionScheduler } from "vq-diffusion";

const K = 17, N = 16, B = 1;
const scheduler = new VQDiffusionScheduler({ numVecClasses: K, numTrainTimesteps: 20 });
scheduler.setTimesteps(20);
const generator = new TorchGenerator().manualSeed(0);

const logPX0 = new Float32Array(B * (K - 1) * N);
for (let c = 0; c < K - 1; c++)
  for (let n = 0; n < N; n++) logPX0[c * N + n] = Math.log(c === n ? 0.9 : 0.1 / (K - 2));
const modelOutput = { data: logPX0, dims: [B, K - 1, N] };

let sample = { data: new Int32Array(B * N).fill(scheduler.maskClass), dims: [B, N] };
const show = (x) => Array.from(x.data, (v) => (v === scheduler.maskClass ? " ." : String(v).padStart(2))).join(" ");
console.log(`t=  start ${show(sample)}`);
for (const t of scheduler.timesteps) {
  sample = scheduler.step(modelOutput, t, sample, { generator }).prevSample;
  console.log(`t=${String(t).padStart(2)} -> ${show(sample)}`);
}
