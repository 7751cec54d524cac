"""Quiets what the libraries print on every export and that says nothing about this one: diffusers'
notice about ITHQ's `norm_type`, `accelerate` suggestions, the tracer's notes on Python conditions
that do not depend on the batch, and NNPACK's hardware notice."""
import logging
import warnings


def quiet() -> None:
    import torch

    warnings.filterwarnings("ignore", category=FutureWarning)
    warnings.filterwarnings("ignore", category=torch.jit.TracerWarning)
    warnings.filterwarnings("ignore", message=".*legacy TorchScript-based ONNX export.*")
    torch.backends.nnpack.set_flags(False)
    for name in ("diffusers", "transformers"):
        logging.getLogger(name).setLevel(logging.ERROR)
    from diffusers.utils import logging as dlogging
    from transformers.utils import logging as tlogging

    dlogging.set_verbosity_error()
    tlogging.set_verbosity_error()
    tlogging.disable_progress_bar()
    dlogging.disable_progress_bar()
