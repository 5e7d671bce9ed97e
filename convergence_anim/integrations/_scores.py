"""``ScoresOf``: a framework's model seen as the plain score function a scene evaluates."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch

__all__ = ["ScoresOf"]


class ScoresOf(torch.nn.Module):
    """``model`` whose forward gives the tensor a scene draws: ``logits`` of a dict (Hugging Face's
    ``ModelOutput``), else its first value; the first element of a tuple; a tensor as it is.

    The model is a submodule, so the scene's eval mode and its copies of the parameters (for a
    deferred capture) reach it; wrapping changes nothing in the model.
    """

    def __init__(self, model: Any) -> None:
        super().__init__()
        self.model = model

    def forward(self, inputs: Any) -> Any:
        out = self.model(inputs)
        if isinstance(out, Mapping):
            return out["logits"] if "logits" in out else next(iter(out.values()))
        if isinstance(out, (tuple, list)):
            return out[0]
        return out
