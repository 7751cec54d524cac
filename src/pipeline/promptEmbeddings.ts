/**
 * The prompt embeddings of a generation (diffusers' `VQDiffusionPipeline._encode_prompt`):
 *   E ← E / ‖E‖₂ over the last axis (every embedding vector of every prompt)
 *   E ← repeat each prompt's rows I times, prompt-major (`repeat_interleave`)      [P, L, D] → [B, L, D]
 *   guided: context = [negative (B rows); E (B rows)], the negative being the learned [L, D]
 *           embedding as it is (not normalised), or the normalised encoding of "".
 * Arithmetic as PyTorch's float32: the norm is rounded to float32, then each element divided by it.
 */
import { argumentErrorText } from "../errors.js";

/**
 * Normalises every D-vector of `embeds` to unit length (float32 result; the input is not modified).
 *
 * @param embeds - [P, L, D] flat.
 * @param D - the vector length.
 * @param name - the argument's name, for the error on a zero vector.
 */
export function normalizeEmbeddings(embeds: Float32Array, D: number, name: string): Float32Array {
  const out = new Float32Array(embeds.length);
  for (let v = 0; v < embeds.length; v += D) {
    let sum = 0;
    for (let d = 0; d < D; d++) sum += embeds[v + d] * embeds[v + d];
    const norm = Math.fround(Math.sqrt(sum));
    if (!(norm > 0) || !Number.isFinite(norm)) {
      throw argumentErrorText(name, "embedding vectors of finite, non-zero length", `vector ${v / D} of length ${norm}`);
    }
    for (let d = 0; d < D; d++) out[v + d] = embeds[v + d] / norm;
  }
  return out;
}

/**
 * The transformer's `encoder_hidden_states` for a generation.
 *
 * @param positive - normalised prompt embeddings, [P, L, D] flat.
 * @param perPrompt - I, images per prompt.
 * @param negative - [L, D] (repeated for every image) or [P', L, D] with P' = 1 (the encoded ""),
 *   or null without guidance.
 * @returns [B, L, D] without guidance, else [2B, L, D]: negatives first; B = P · I.
 */
export function contextBatch(positive: Float32Array, P: number, perPrompt: number, LD: number, negative: Float32Array | null): Float32Array {
  const B = P * perPrompt;
  const offset = negative === null ? 0 : B * LD;
  const out = new Float32Array(offset + B * LD);
  for (let p = 0; p < P; p++) {
    const rows = positive.subarray(p * LD, (p + 1) * LD);
    for (let i = 0; i < perPrompt; i++) out.set(rows, offset + (p * perPrompt + i) * LD);
  }
  if (negative !== null) for (let b = 0; b < B; b++) out.set(negative, b * LD);
  return out;
}
