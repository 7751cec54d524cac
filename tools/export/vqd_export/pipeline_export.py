"""A diffusers VQ-Diffusion checkpoint → the model folder the TypeScript pipeline reads (docs/model-folder.md):

    model_index.json                         the checkpoint's own
    scheduler/scheduler_config.json          VQDiffusionScheduler's config
    tokenizer/tokenizer.json                 transformers' fast conversion of the CLIP tokenizer
    tokenizer/tokenizer_config.json          model_max_length (L), pad_token, …
    text_encoder/config.json + model.onnx    input_ids → last_hidden_state
    transformer/config.json + model.onnx     (x_t, prompt embeddings, t) → log p(x_0 | x_t), float64 log_softmax
    vqvae/config.json                        VQModel's config
    vqvae_decoder/model.onnx                 indices → images
    learned_classifier_free_sampling_embeddings/config.json (+ diffusion_pytorch_model.safetensors when learnable)

A model.onnx whose weights pass protobuf's 2 GB limit gets ONE external data file beside it,
model.onnx.data. Everything is written into a temporary folder beside the output and renamed into
place at the end, so a failed export leaves nothing behind.
"""
import json
import os
import time

import torch

from . import DEFAULT_OPSET
from .check import CheckError, check_component, describe, float64_log_softmax, round_weights_to_fp16
from .files import staged_folder, write_json, write_safetensors
from .onnx_graph import export_component
from vqd_fixtures.checkpoint import CheckpointError, load_components, read_index
from vqd_fixtures.component import draw_inputs, torch_outputs
from vqd_fixtures.text_encoder import text_encoder_component
from vqd_fixtures.transformer import transformer_component
from vqd_fixtures.vqvae_decoder import vqvae_decoder_component


TRACE_BATCH = 2


def _sizes(components: dict, model: str) -> dict:
    """L, D, K, T, the latent grid, checked for agreement between the components' configs."""
    tokenizer, text, transformer = components["tokenizer"], components["text_encoder"], components["transformer"]
    scheduler, null = components["scheduler"], components["learned_classifier_free_sampling_embeddings"]
    L = tokenizer.model_max_length
    where = lambda c: os.path.join(model, c)  # noqa: E731
    if not isinstance(L, int) or not 1 <= L <= text.config.max_position_embeddings:
        raise CheckpointError(f"{where('tokenizer')}/tokenizer_config.json: expected model_max_length in [1, {text.config.max_position_embeddings}] "
                              f"(the text encoder's positions), got {L}")
    D = text.config.hidden_size
    tc = transformer.config
    if tc.num_vector_embeds is None:
        raise CheckpointError(f"{where('transformer')}/config.json: expected a transformer of discrete (vector) input with num_vector_embeds, got none")
    checks = [
        (tc.cross_attention_dim == D, "transformer", "config.json", f"cross_attention_dim = the text encoder's hidden_size {D}", tc.cross_attention_dim),
        (scheduler.config.num_vec_classes == tc.num_vector_embeds, "scheduler", "scheduler_config.json",
         f"num_vec_classes = the transformer's num_vector_embeds {tc.num_vector_embeds}", scheduler.config.num_vec_classes),
        (scheduler.config.num_train_timesteps == tc.num_embeds_ada_norm, "scheduler", "scheduler_config.json",
         f"num_train_timesteps = the transformer's num_embeds_ada_norm {tc.num_embeds_ada_norm}", scheduler.config.num_train_timesteps),
        (components["vqvae"].config.num_vq_embeddings == tc.num_vector_embeds - 1, "vqvae", "config.json",
         f"num_vq_embeddings = the transformer's num_vector_embeds − 1 = {tc.num_vector_embeds - 1}", components["vqvae"].config.num_vq_embeddings),
    ]
    if null.learnable:
        checks.append((tuple(null.embeddings.shape) == (L, D), "learned_classifier_free_sampling_embeddings", "config.json",
                       f"embeddings of shape [L, D] = [{L}, {D}]", list(null.embeddings.shape)))
    for ok, component, file, expected, got in checks:
        if not ok:
            raise CheckpointError(f"{where(component)}/{file}: expected {expected}, got {got}")
    return {"L": L, "D": D, "K": tc.num_vector_embeds, "T": tc.num_embeds_ada_norm, "h": tc.sample_size, "w": tc.sample_size}


# Keys that say how a file was loaded on this machine (a local path, a flag), not what the model is.
LOAD_STATE_KEYS = ("_name_or_path", "is_local", "local_files_only")


def _drop_load_state(path: str) -> None:
    with open(path, encoding="utf-8") as f:
        obj = json.load(f)
    write_json(path, {k: v for k, v in obj.items() if k not in LOAD_STATE_KEYS})


def _write_tokenizer(tokenizer, folder: str) -> None:
    tokenizer.save_pretrained(folder)
    _drop_load_state(os.path.join(folder, "tokenizer_config.json"))
    if not os.path.isfile(os.path.join(folder, "tokenizer.json")):
        raise CheckpointError(f"tokenizer: transformers wrote no tokenizer.json for a {type(tokenizer).__name__}")


def export_checkpoint(model: str, out: str, *, dtype: str = "fp32", opset: int = DEFAULT_OPSET, check: bool = True,
                      overwrite: bool = False, external: str = "auto", log=print) -> dict:
    """Exports `model` (a diffusers VQDiffusionPipeline folder) into `out`. Returns a summary:
    {"sizes", "components": {folder: {"external", "weights_bytes", "fp16_tensors", "check"}}, "seconds"}.
    Raises CheckpointError (bad checkpoint), OutputFolderError (bad --out), CheckError (--check failed)."""
    if dtype not in ("fp32", "fp16"):
        raise ValueError(f"--dtype: expected fp32 or fp16, got {dtype!r}")
    t0 = time.time()
    index = read_index(model)
    fp16 = dtype == "fp16"
    summary = {"components": {}}
    with staged_folder(out, overwrite) as stage, torch.no_grad():
        components = load_components(model)
        sizes = _sizes(components, model)
        summary["sizes"] = sizes
        log(f"loaded {model} in {time.time() - t0:.1f} s: L = {sizes['L']}, D = {sizes['D']}, K = {sizes['K']}, "
            f"T = {sizes['T']}, latents {sizes['h']}×{sizes['w']}, learnable null embeddings: "
            f"{components['learned_classifier_free_sampling_embeddings'].learnable}")
        tokenizer = components["tokenizer"]
        _write_tokenizer(tokenizer, os.path.join(stage, "tokenizer"))

        onnx_components = [
            text_encoder_component(components["text_encoder"], sizes["L"], tokenizer.bos_token_id, tokenizer.eos_token_id,
                                   tokenizer.pad_token_id),
            transformer_component(components["transformer"], sizes["L"]),
            vqvae_decoder_component(components["vqvae"], sizes["h"], sizes["w"]),
        ]
        for c in onnx_components:
            t1 = time.time()
            inputs = draw_inputs(c) if check else None
            fp32_outputs = torch_outputs(c, inputs) if check and fp16 else None
            if fp16:
                round_weights_to_fp16(c.module)
            path = os.path.join(stage, c.folder, "model.onnx")
            example = c.random_inputs(TRACE_BATCH, torch.Generator().manual_seed(1))
            info = export_component(c.module, example, path, c.input_names, [c.output_name], c.dynamic_axes, opset,
                                    fp16=fp16, external=external)
            if c.folder == "transformer" and not float64_log_softmax(path):
                raise CheckError("transformer/model.onnx: expected diffusers' float64 log_softmax (LogSoftmax on a Cast to double), got another graph")
            line = (f"{c.folder}/model.onnx: {info['weights_bytes'] / 1e6:.2f} MB of weights"
                    + (" in model.onnx.data" if info["external"] else "")
                    + (f", {info['fp16_tensors']} tensors as float16" if fp16 else "")
                    + f", exported in {time.time() - t1:.1f} s")
            if check:
                t2 = time.time()
                info["check"] = check_component(c, path, inputs, torch_outputs(c, inputs), fp32_outputs)
                line += f"\n  check {describe(c, info['check'])}, {time.time() - t2:.1f} s"
            log(line)
            summary["components"][c.folder] = info

        components["text_encoder"].config.save_pretrained(os.path.join(stage, "text_encoder"))
        components["transformer"].save_config(os.path.join(stage, "transformer"))
        components["vqvae"].save_config(os.path.join(stage, "vqvae"))
        components["scheduler"].save_config(os.path.join(stage, "scheduler"))
        null = components["learned_classifier_free_sampling_embeddings"]
        null_dir = os.path.join(stage, "learned_classifier_free_sampling_embeddings")
        null.save_config(null_dir)
        if null.learnable:
            write_safetensors(os.path.join(null_dir, "diffusion_pytorch_model.safetensors"), {"embeddings": null.embeddings})
        write_json(os.path.join(stage, "model_index.json"), index)
        for folder, _, files in os.walk(stage):
            for name in files:
                if name.endswith("config.json"):
                    _drop_load_state(os.path.join(folder, name))
    summary["seconds"] = time.time() - t0
    log(f"wrote {out} ({dtype}) in {summary['seconds']:.1f} s")
    return summary
