"""Per-part times of one call of diffusers' own VQDiffusionPipeline, unmodified: what the benches'
PyTorch side reports (tools/bench/torch_pipeline.py, tools/bench/diffusers_ithq.py).

Timing wrappers go around the pipeline's own calls, without changing what they compute:
- text encoding: `_encode_prompt` (tokenizer, text model, normalisation, null embeddings);
- transformer: `transformer.forward` (one call per step, on the guided batch of 2·B when guided);
- scheduler: `scheduler.step`;
- guidance + truncation: the rest of each step (the loop's time between the end of text encoding
  and the last step's callback, less transformer and scheduler), i.e. diffusers' `u + w (c - u)`,
  logsumexp renormalisation, `truncate` and the clamp;
- decode: `quantize.get_codebook_entry` + `vqvae.decode`.
"""
import time

import torch


def _timed(fn, key, totals):
    """fn, adding its wall time (s) to totals[key] on every call."""

    def wrapper(*args, **kwargs):
        t0 = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            totals[key] += time.perf_counter() - t0

    return wrapper


def timed_call(pipe, prompt, steps, guidance, truncation, generator, num_images_per_prompt=1):
    """Runs `pipe(prompt, ...)` once under torch.inference_mode() with the wrappers above, then removes them.

    Returns a dict: total_ms (the whole call), ms_per_step {transformer, guidance, scheduler},
    text_encoder_ms, decode_ms, tokens (the final latents, long [B, N]), images (float [B, H, W, C] in
    [0, 1], output_type="np").
    """
    totals = {"text_encoder": 0.0, "transformer": 0.0, "scheduler": 0.0, "decode": 0.0}
    marks = []
    final = {}
    encode = _timed(pipe._encode_prompt, "text_encoder", totals)

    def encode_then_mark(*args, **kwargs):
        out = encode(*args, **kwargs)
        marks.append(time.perf_counter())
        return out

    def on_step(i, t, sample):
        marks.append(time.perf_counter())
        final["tokens"] = sample

    wrapped = [(pipe, "_encode_prompt", encode_then_mark),
               (pipe.transformer, "forward", _timed(pipe.transformer.forward, "transformer", totals)),
               (pipe.scheduler, "step", _timed(pipe.scheduler.step, "scheduler", totals)),
               (pipe.vqvae.quantize, "get_codebook_entry", _timed(pipe.vqvae.quantize.get_codebook_entry, "decode", totals)),
               (pipe.vqvae, "decode", _timed(pipe.vqvae.decode, "decode", totals))]
    for owner, name, fn in wrapped:
        setattr(owner, name, fn)
    try:
        with torch.inference_mode():
            t0 = time.perf_counter()
            out = pipe(prompt, num_inference_steps=steps, guidance_scale=guidance, truncation_rate=truncation,
                       num_images_per_prompt=num_images_per_prompt, generator=generator, output_type="np",
                       callback=on_step, callback_steps=1)
            total_s = time.perf_counter() - t0
    finally:
        for owner, name, _ in wrapped:
            delattr(owner, name)  # the instance attribute goes; the class's method is back
    loop_s = marks[-1] - marks[0]
    return {
        "total_ms": total_s * 1000,
        "ms_per_step": {
            "transformer": totals["transformer"] * 1000 / steps,
            "guidance": (loop_s - totals["transformer"] - totals["scheduler"]) * 1000 / steps,
            "scheduler": totals["scheduler"] * 1000 / steps,
        },
        "text_encoder_ms": totals["text_encoder"] * 1000, "decode_ms": totals["decode"] * 1000,
        "tokens": final["tokens"], "images": out.images,
    }
