"""One ONNX component of the model folder: a torch module with the contract's inputs and outputs
(PIPELINE.md §1), how to draw random inputs for it, and the tolerance its export is checked to."""
from dataclasses import dataclass
from typing import Callable

import torch


@dataclass
class Tolerance:
    """|onnx − torch| ≤ atol + rtol · |torch|, elementwise."""
    atol: float
    rtol: float

    def __str__(self) -> str:
        return f"{self.atol:g} + {self.rtol:g}·|x|"


@dataclass
class Component:
    """`folder`/model.onnx: `module(*inputs)` → the one output; every input's axis 0 is the batch B."""
    folder: str
    module: torch.nn.Module
    input_names: list[str]
    output_name: str
    # batch size, generator → the inputs, in `input_names` order
    random_inputs: Callable[[int, torch.Generator], tuple]
    tolerance: Tolerance
    # a view of the output for the report, e.g. probabilities beside log-probabilities (None: none)
    also_compare: Callable[[torch.Tensor], torch.Tensor] | None = None
    also_name: str = ""

    @property
    def dynamic_axes(self) -> dict:
        """The batch axis of every input and of the output ("B"); a scalar input has none."""
        axes = {self.output_name: {0: "B"}}
        for name, value in zip(self.input_names, self.random_inputs(1, torch.Generator().manual_seed(0))):
            if value.dim() > 0:
                axes[name] = {0: "B"}
        return axes
