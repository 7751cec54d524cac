"""Reading a diffusers VQDiffusionPipeline checkpoint, one component at a time.

At diffusers 0.40.0.dev0, `VQDiffusionPipeline.from_pretrained` fails on a folder that diffusers
itself saved (`module diffusers has no attribute LearnedClassifierFreeSamplingEmbeddings`, for both
spellings of that entry in model_index.json), so each component is loaded with its own class's
`from_pretrained(folder, subfolder=…)`. Those read safetensors or pickled `.bin` weights, and a
tokenizer as `tokenizer.json` or CLIP's slow `vocab.json` + `merges.txt`.
"""
import json
import os


class CheckpointError(Exception):
    """The folder is not a checkpoint this exporter reads; the message names the file and the expectation."""


# component → the [library, class] spellings model_index.json may give it
KNOWN_CLASSES = {
    "tokenizer": {("transformers", "CLIPTokenizer"), ("transformers", "CLIPTokenizerFast")},
    "text_encoder": {("transformers", "CLIPTextModel")},
    "transformer": {("diffusers", "Transformer2DModel")},
    "vqvae": {("diffusers", "VQModel")},
    "scheduler": {("diffusers", "VQDiffusionScheduler")},
    "learned_classifier_free_sampling_embeddings": {("diffusers", "LearnedClassifierFreeSamplingEmbeddings"),
                                                     ("vq_diffusion", "LearnedClassifierFreeSamplingEmbeddings")},
}


# component → the files it needs: each entry is a list of alternatives (one of them must exist)
WEIGHTS = ["*.safetensors", "*.bin"]
REQUIRED_FILES = {
    "tokenizer": [["tokenizer.json", "vocab.json"], ["tokenizer.json", "merges.txt"], ["tokenizer_config.json"]],
    "text_encoder": [["config.json"], WEIGHTS],
    "transformer": [["config.json"], WEIGHTS],
    "vqvae": [["config.json"], WEIGHTS],
    "scheduler": [["scheduler_config.json"]],
    "learned_classifier_free_sampling_embeddings": [["config.json"], WEIGHTS],
}


def _present(names: list[str], pattern: str) -> bool:
    if pattern.startswith("*"):
        return any(n.endswith(pattern[1:]) for n in names)
    return pattern in names


def read_index(folder: str) -> dict:
    """model_index.json, checked: a VQDiffusionPipeline naming every component with a known class,
    each component's folder present with its config and weight files (the tokenizer: tokenizer.json,
    or CLIP's vocab.json + merges.txt; and tokenizer_config.json)."""
    if not os.path.isdir(folder):
        raise CheckpointError(f"--model: expected a diffusers checkpoint folder, got {folder!r}, which is not a folder")
    path = os.path.join(folder, "model_index.json")
    if not os.path.isfile(path):
        raise CheckpointError(f"--model: expected a diffusers VQDiffusionPipeline checkpoint holding model_index.json, got {folder} without it")
    try:
        with open(path, encoding="utf-8") as f:
            index = json.load(f)
    except (ValueError, UnicodeDecodeError) as e:
        raise CheckpointError(f"{path}: expected JSON, got a parse error: {e}") from None
    if not isinstance(index, dict) or index.get("_class_name") != "VQDiffusionPipeline":
        got = index.get("_class_name") if isinstance(index, dict) else type(index).__name__
        raise CheckpointError(f"{path}: expected _class_name VQDiffusionPipeline, got {got!r}")
    for name, known in KNOWN_CLASSES.items():
        entry = index.get(name)
        if entry is None:
            raise CheckpointError(f"{path}: expected a {name} component, got none")
        if not (isinstance(entry, list) and len(entry) == 2 and tuple(entry) in known):
            spellings = " or ".join(json.dumps(list(k)) for k in sorted(known))
            raise CheckpointError(f"{path}: expected {name} to be {spellings}, got {json.dumps(entry)}")
        sub = os.path.join(folder, name)
        if not os.path.isdir(sub):
            raise CheckpointError(f"{sub}: expected the {name} component's folder, got no such folder")
        names = os.listdir(sub)
        for alternatives in REQUIRED_FILES[name]:
            if not any(_present(names, a) for a in alternatives):
                raise CheckpointError(f"{sub}: expected {' or '.join(alternatives)} in the {name} component's folder, got {', '.join(sorted(names)) or 'an empty folder'}")
    return index


def load_components(folder: str) -> dict:
    """Every component, loaded with its class's from_pretrained (float32, eval mode). A folder that
    lacks a weight or config file gives a CheckpointError naming the component."""
    import torch
    from diffusers import Transformer2DModel, VQDiffusionScheduler, VQModel
    from diffusers.pipelines.deprecated.vq_diffusion import LearnedClassifierFreeSamplingEmbeddings
    from transformers import CLIPTextModel, CLIPTokenizer

    read_index(folder)

    def safetensors(name: str) -> bool:
        """Whether the component has safetensors weights (else diffusers is told to read the `.bin`,
        instead of logging an error while it looks for safetensors first)."""
        return any(f.endswith(".safetensors") for f in os.listdir(os.path.join(folder, name)))

    loaders = {
        "tokenizer": lambda: CLIPTokenizer.from_pretrained(folder, subfolder="tokenizer"),
        "text_encoder": lambda: CLIPTextModel.from_pretrained(folder, subfolder="text_encoder", torch_dtype=torch.float32),
        "transformer": lambda: Transformer2DModel.from_pretrained(folder, subfolder="transformer", torch_dtype=torch.float32,
                                                                  use_safetensors=safetensors("transformer")),
        "vqvae": lambda: VQModel.from_pretrained(folder, subfolder="vqvae", torch_dtype=torch.float32,
                                                  use_safetensors=safetensors("vqvae")),
        "scheduler": lambda: VQDiffusionScheduler.from_pretrained(folder, subfolder="scheduler"),
        "learned_classifier_free_sampling_embeddings": lambda: LearnedClassifierFreeSamplingEmbeddings.from_pretrained(
            folder, subfolder="learned_classifier_free_sampling_embeddings", torch_dtype=torch.float32,
            use_safetensors=safetensors("learned_classifier_free_sampling_embeddings")),
    }
    components = {}
    for name, load in loaders.items():
        try:
            components[name] = load()
        except (OSError, ValueError, EnvironmentError) as e:
            first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            raise CheckpointError(f"{os.path.join(folder, name)}: expected a loadable {name} component, got: {first}") from e
        if isinstance(components[name], torch.nn.Module):
            components[name].eval()
    return components
