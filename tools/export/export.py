"""Exports a diffusers VQ-Diffusion checkpoint (such as microsoft/vq-diffusion-ithq) to the ONNX model
folder that vq-diffusion's pipeline reads.

    bash tools/export/setup.sh
    tools/export/.venv/bin/python tools/export/export.py --model CHECKPOINT --out MODEL_FOLDER

See tools/export/README.md for what is written, the options and the --check tolerances.
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from vqd_export.files import OutputFolderError, check_output_folder  # noqa: E402
from vqd_fixtures.checkpoint import CheckpointError, read_index  # noqa: E402

from vqd_export import DEFAULT_OPSET  # noqa: E402


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", required=True, help="the diffusers checkpoint folder (model_index.json + one folder per component)")
    p.add_argument("--out", required=True, help="the model folder to write (new or empty, unless --overwrite)")
    p.add_argument("--dtype", default="fp32", choices=["fp32", "fp16"],
                   help="how the ONNX weights are stored (default fp32); fp16 keeps float32 inputs, outputs and arithmetic")
    p.add_argument("--quantize", choices=["int8"],
                   help="int8: onnxruntime's dynamic int8 quantization of the transformer's and text encoder's MatMul/Gemm "
                        "weights, after a float32 export (vqd_export/quantize.py)")
    p.add_argument("--opset", type=int, default=DEFAULT_OPSET, help=f"ONNX opset (default {DEFAULT_OPSET})")
    p.add_argument("--check", action=argparse.BooleanOptionalAction, default=True,
                   help="run every component in onnxruntime against PyTorch and fail past the tolerance (default on)")
    p.add_argument("--external-data", default="auto", choices=["auto", "always", "never"],
                   help="model.onnx.data beside a model.onnx: only past protobuf's 2 GB limit (auto, default), always, or never")
    p.add_argument("--overwrite", action="store_true", help="replace a non-empty --out")
    args = p.parse_args(argv)

    if args.quantize and args.dtype != "fp32":
        print(f"export.py: --quantize int8 quantizes float32 weights: expected --dtype fp32, got {args.dtype}", file=sys.stderr)
        return 2

    try:  # the checks that need no torch first, so that bad input is refused in a moment
        read_index(args.model)
        check_output_folder(args.out, args.overwrite)
    except (CheckpointError, OutputFolderError) as e:
        print(f"export.py: {e}", file=sys.stderr)
        return 2

    from vqd_export.check import CheckError
    from vqd_export.pipeline_export import export_checkpoint
    from vqd_fixtures.quiet import quiet

    quiet()
    try:
        if args.quantize == "int8":
            from vqd_export.quantize import export_int8
            export_int8(lambda fp32: export_checkpoint(args.model, fp32, opset=args.opset, check=args.check,
                                                       external=args.external_data), args.out, args.overwrite)
        else:
            export_checkpoint(args.model, args.out, dtype=args.dtype, opset=args.opset, check=args.check,
                              overwrite=args.overwrite, external=args.external_data)
    except (CheckpointError, OutputFolderError, CheckError) as e:
        print(f"export.py: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
