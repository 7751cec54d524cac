// Benchmark inputs at the published ITHQ size, built as tools/bench/torch_step.py builds its own:
// log_softmax(8 · uniform) over the class axis, and tokens of one of three kinds (its --tokens):
//   "masked"   every pixel masked (a chain's start)
//   "mixed"    pixel i unmasked to (7i) mod (K − 1) when i ≡ 0 (mod 3), else masked (two thirds masked)
//   "unmasked" pixel i = (2654435761 i) mod (K − 1) (a chain's end)
import { TorchGenerator } from "../dist/index.js";

export const K = 4097;
export const N = 1024;

/** The token kinds, as torch_step.py's --tokens. */
export const TOKEN_KINDS = ["masked", "mixed", "unmasked"];

/** (B, N) tokens of a kind; exact in float64 (2654435761 · i < 2^53 for B·N < 2^21). */
export function ithqTokens(B, kind) {
  return new Int32Array(B * N).map((_, i) => {
    if (kind === "masked") return K - 1;
    if (kind === "mixed") return i % 3 === 0 ? (i * 7) % (K - 1) : K - 1;
    if (kind === "unmasked") return (2654435761 * i) % (K - 1);
    throw new Error(`kind: expected masked, mixed or unmasked, got ${kind}`);
  });
}

/** (B, K - 1, N) log-probabilities and (B, N) tokens of a kind (default "mixed"), deterministic. */
export function ithqInputs(B, kind = "mixed") {
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
  const tokens = ithqTokens(B, kind);
  return { modelOutput: { data, dims: [B, K - 1, N] }, sample: { data: tokens, dims: [B, N] } };
}
