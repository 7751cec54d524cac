"""Export: the model folder of docs/model-folder.md (ONNX components, configs, tokenizer, null embeddings
as safetensors), the evaluation files, and recorded input/output pairs that the TypeScript tests
replay through the pipeline's own loading code (test/fixtures/fashion-mnist-export.json).
"""
import json
import os
import struct

import numpy as np
import torch

import data
from text_encoder import encode, tokenizer_config, tokenizer_json
from vqvae import DecoderExport

OPSET = 17
CHECKS = os.path.join(os.path.dirname(__file__), "..", "..", "test", "fixtures", "fashion-mnist-export.json")


def write_json(path, obj):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        json.dump(obj, f, indent=2)
        f.write("\n")


def write_safetensors(path, tensors):
    """The safetensors format: u64 little-endian header length, JSON header, raw little-endian data."""
    header, blobs, offset = {}, [], 0
    for name, t in tensors.items():
        arr = np.ascontiguousarray(t.detach().cpu().numpy().astype("<f4"))
        header[name] = {"dtype": "F32", "shape": list(arr.shape), "data_offsets": [offset, offset + arr.nbytes]}
        blobs.append(arr.tobytes())
        offset += arr.nbytes
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * ((8 - len(text) % 8) % 8)                               # pad to 8 bytes, as the format allows
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for b in blobs:
            f.write(b)


def onnx(module, args, path, inputs, outputs, dynamic):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    torch.onnx.export(module, args, path, input_names=inputs, output_names=outputs,
                      dynamic_axes=dynamic, opset_version=OPSET, do_constant_folding=True)


def tensor_json(t):
    t = t.detach().cpu()
    flat = t.reshape(-1)
    values = [int(v) for v in flat.tolist()] if not t.is_floating_point() else [float(v) for v in flat.float().tolist()]
    return {"dims": list(t.shape), "data": values}


@torch.no_grad()
def export_all(args, vocab, vqvae, text, transformer, null, classifier, test_codes, log):
    out = args.out
    K, L, D, N = args.codes + 1, args.length, args.text_dim, test_codes.shape[1]
    grid = vqvae.grid
    write_json(f"{out}/model_index.json", {
        "_class_name": "VQDiffusionPipeline", "_diffusers_version": "0.40.0.dev0",
        "learned_classifier_free_sampling_embeddings": ["diffusers", "LearnedClassifierFreeSamplingEmbeddings"],
        "scheduler": ["diffusers", "VQDiffusionScheduler"],
        "text_encoder": ["vq-diffusion", "WordLevelTextEncoder"],
        "tokenizer": ["transformers", "PreTrainedTokenizerFast"],
        "transformer": ["diffusers", "Transformer2DModel"],
        "vqvae": ["diffusers", "VQModel"]})
    write_json(f"{out}/scheduler/scheduler_config.json", {
        "_class_name": "VQDiffusionScheduler", "_diffusers_version": "0.40.0.dev0",
        "alpha_cum_end": 9e-06, "alpha_cum_start": 0.99999, "gamma_cum_end": 0.99999,
        "gamma_cum_start": 9e-06, "num_train_timesteps": 100, "num_vec_classes": K})
    write_json(f"{out}/transformer/config.json", {
        "_class_name": "Transformer2DModel", "_diffusers_version": "0.40.0.dev0",
        "num_vector_embeds": K, "sample_size": grid, "height": grid, "width": grid,
        "cross_attention_dim": D, "num_embeds_ada_norm": 100, "num_layers": args.layers,
        "num_attention_heads": args.heads, "attention_head_dim": args.dim // args.heads,
        "norm_type": "ada_norm", "activation_fn": "gelu"})
    write_json(f"{out}/vqvae/config.json", {
        "_class_name": "VQModel", "_diffusers_version": "0.40.0.dev0", "in_channels": 1,
        "out_channels": 1, "sample_size": 28, "num_vq_embeddings": args.codes,
        "vq_embed_dim": args.code_dim, "latent_channels": args.code_dim})
    write_json(f"{out}/text_encoder/config.json", {
        "_class_name": "WordLevelTextEncoder", "vocab_size": len(vocab), "hidden_size": D,
        "max_position_embeddings": L, "num_hidden_layers": len(text.layers)})
    write_json(f"{out}/learned_classifier_free_sampling_embeddings/config.json", {
        "_class_name": "LearnedClassifierFreeSamplingEmbeddings", "_diffusers_version": "0.40.0.dev0",
        "learnable": True, "hidden_size": D, "length": L})
    write_safetensors(f"{out}/learned_classifier_free_sampling_embeddings/diffusion_pytorch_model.safetensors",
                      {"embeddings": null})
    write_json(f"{out}/tokenizer/tokenizer.json", tokenizer_json(vocab, L))
    write_json(f"{out}/tokenizer/tokenizer_config.json", tokenizer_config(L))

    ids = torch.tensor([encode("sneaker", vocab, L), encode("ankle boot", vocab, L)])
    onnx(text, (ids,), f"{out}/text_encoder/model.onnx", ["input_ids"], ["last_hidden_state"],
         {"input_ids": {0: "batch"}, "last_hidden_state": {0: "batch"}})
    hidden = text(ids)
    ctx = hidden / hidden.norm(dim=-1, keepdim=True)
    gen = torch.Generator().manual_seed(1)
    tokens = torch.randint(0, K, (2, N), generator=gen)
    tokens[0, : N // 2] = K - 1
    timestep = torch.tensor(37)
    onnx(transformer, (tokens, ctx, timestep), f"{out}/transformer/model.onnx",
         ["hidden_states", "encoder_hidden_states", "timestep"], ["sample"],
         {"hidden_states": {0: "batch"}, "encoder_hidden_states": {0: "batch"}, "sample": {0: "batch"}})
    log_x0 = transformer(tokens, ctx, timestep)
    decoder = DecoderExport(vqvae).eval()
    codes = test_codes[:2]
    onnx(decoder, (codes,), f"{out}/vqvae_decoder/model.onnx", ["indices"], ["sample"],
         {"indices": {0: "batch"}, "sample": {0: "batch"}})
    decoded = decoder(codes)

    ev = args.eval_out
    os.makedirs(ev, exist_ok=True)
    # The PyTorch weights too, for the PyTorch baseline of `npm run bench:pipeline` (tools/bench).
    torch.save({"args": vars(args), "vocab": vocab, "vqvae": vqvae.state_dict(), "text_encoder": text.state_dict(),
                "transformer": transformer.state_dict(), "null_embeddings": null, "classifier": classifier.state_dict()},
               f"{ev}/pytorch-weights.pt")
    images = (decoded.clamp(-1, 1) / 2 + 0.5)
    onnx(classifier, (images,), f"{ev}/classifier.onnx", ["images"], ["logits", "features"],
         {"images": {0: "batch"}, "logits": {0: "batch"}, "features": {0: "batch"}})
    logits, features = classifier(images)
    os.makedirs(ev, exist_ok=True)
    with open(f"{ev}/test-tokens.bin", "wb") as f:
        f.write(test_codes.to(torch.uint8).numpy().tobytes())
    write_json(f"{ev}/meta.json", {"test_tokens": {"file": "test-tokens.bin", "dtype": "uint8", "dims": list(test_codes.shape)},
                                   "classifier": {"file": "classifier.onnx", "input": "images [B,1,28,28] in [0,1]",
                                                  "outputs": ["logits [B,10]", "features [B,128]"]},
                                   "class_names": data.CLASS_NAMES})
    write_json(CHECKS, {
        "about": "inputs and PyTorch outputs recorded at export (tools/train/export.py)",
        "text_encoder": {"prompts": ["sneaker", "ankle boot"], "input_ids": tensor_json(ids), "last_hidden_state": tensor_json(hidden)},
        "transformer": {"hidden_states": tensor_json(tokens), "encoder_hidden_states": tensor_json(ctx),
                        "timestep": 37, "sample": tensor_json(log_x0)},
        "vqvae_decoder": {"indices": tensor_json(codes), "sample": tensor_json(decoded)},
        "classifier": {"images": tensor_json(images), "logits": tensor_json(logits), "features": tensor_json(features)}})
    sizes = {}
    for root, _, files in os.walk(out):
        for name in files:
            sizes[os.path.relpath(os.path.join(root, name), out)] = os.path.getsize(os.path.join(root, name))
    log("exported " + ", ".join(f"{k} {v / 1e6:.2f} MB" for k, v in sorted(sizes.items()) if v > 100000)
        + f"; total {sum(sizes.values()) / 1e6:.2f} MB")
