// Benchmark inputs at the published ITHQ size, built as bench/torch_step.py builds its own:
// log_softmax(8 · uniform) over the class axis, and tokens a mix of masked and unmasked.
import { TorchGenerator } from "../dist/index.js";

export const K = 4097;
export const N = 1024;

/** (B, K - 1, N) log-probabilities and (B, N) tokens, deterministic. */
export function ithqInputs(B) {
  // The uniforms are written straight into the output (no second (B, K, N) array), so that the
  // memory benchmark's baseline is the inputs alone.
  const data = new Float32Array(B * (K - 1) * N);
  new TorchGenerator().manualSeed(0).fillRand(data);
  const col = new Float64Array(K - 1);
  for (let b = 0; b < B; b++) {
    for (let n = 0; n < N; n++) {
      let m = -Infinity;
      for (let c = 0; c < K - 1; c++) m = Math.max(m, (col[c] = data[(b * (K - 1) + c) * N + n] * 8));
      let z = 0;
      for (let c = 0; c < K - 1; c++) z += Math.exp(col[c] - m);
      const lse = m + Math.log(z);
      for (let c = 0; c < K - 1; c++) data[(b * (K - 1) + c) * N + n] = col[c] - lse;
    }
  }
  const tokens = new Int32Array(B * N).map((_, i) => (i % 3 === 0 ? (i * 7) % (K - 1) : K - 1));
  return { modelOutput: { data, dims: [B, K - 1, N] }, sample: { data: tokens, dims: [B, N] } };
}
