"""Capture the hidden units of an ``nn.Sequential`` over the picture's plane (``DecisionBoundary(neurons=True)``).

Each capture evaluates the network on a coarse grid (``NEURON_GRID`` squared points of the plane the
scene shows) and keeps, for every hidden layer, the activations of its first ``NEURON_UNITS`` units
as float16: 16 units on a 24x24 grid are 18 KB, less than the boundary's own 200x200 bytes. The
network runs through the one side-effect-free guard (``EvaluationGrid``, ``untouched``): eval mode
restored after, random state restored, no grad. The panel that draws them is ``panels.neurons``.

A hidden layer is what enters a ``Linear`` from an activation: the output of the previous ``Linear``
after the element-wise modules that follow it, at least one an activation (two ``Linear`` layers in a
row, such as a fixed scaling in front of the network, make no layer of units).
"""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np

from .._exceptions import CaptureError, UsageError
from ._base import EvaluationGrid

__all__ = ["NEURON_GRID", "NEURON_UNITS", "NeuronCapture", "SUPPORTED"]

#: The side of the grid hidden units are evaluated on (a coarse grid: the tiles are small).
NEURON_GRID = 24
#: Units drawn per hidden layer, at most: the first ones.
NEURON_UNITS = 8
#: The structure ``neurons=True`` supports, as the error messages name it.
SUPPORTED = ("an nn.Sequential of Linear layers and element-wise activations, "
             "e.g. Sequential(Linear(2, 16), ReLU(), Linear(16, 1))")
# Float16 holds up to 65504: larger activations are clipped, so they stay finite (a non-finite value
# in a capture would mark the run as diverged).
_FLOAT16_MAX = 65000.0


def _leaves(module: Any) -> list:
    """The modules of a (possibly nested) ``nn.Sequential``, in order."""
    from torch import nn

    out = []
    for child in module.children():
        out += _leaves(child) if isinstance(child, nn.Sequential) else [child]
    return out


def _elementwise(module: Any) -> bool:
    from torch import nn
    from torch.nn.modules import activation
    from torch.nn.modules.dropout import _DropoutNd

    if isinstance(module, (nn.Identity, _DropoutNd)):
        return True
    return type(module).__module__ == activation.__name__ and not isinstance(module, nn.MultiheadAttention)


def hidden_layers(model: Any) -> tuple[list, list[int], list[dict[str, Any]]]:
    """The leaf modules of ``model`` up to its last ``Linear``, where each hidden layer is read, and its description.

    Returns
    -------
    tuple
        ``(modules, taps, layers)``: the modules to run in order; for each hidden layer the index of
        the module its activations enter (a ``Linear``); for each hidden layer a dict ``name`` (the
        activation last applied), ``units`` (its width) and ``drawn``.

    Raises
    ------
    CaptureError
        If ``model`` is not an ``nn.Sequential`` of Linear layers and element-wise activations with
        at least one hidden layer (the message names the supported structure).
    """
    from torch import nn
    from torch.nn.modules.dropout import _DropoutNd

    if not isinstance(model, nn.Sequential):
        raise CaptureError(f"neurons=True needs {SUPPORTED}; got {type(model).__name__}")
    leaves = _leaves(model)
    for leaf in leaves:
        if not (isinstance(leaf, nn.Linear) or _elementwise(leaf)):
            raise CaptureError(f"neurons=True needs {SUPPORTED}; this one holds a {type(leaf).__name__}")
    linear = [i for i, leaf in enumerate(leaves) if isinstance(leaf, nn.Linear)]
    taps, layers = [], []
    for start, tap in zip(linear, linear[1:]):
        acts = [type(m).__name__ for m in leaves[start + 1: tap] if not isinstance(m, (nn.Identity, _DropoutNd))]
        if acts:  # Linear into Linear (a fixed scaling in front, say) is no layer of units of its own
            units = int(leaves[tap].in_features)
            taps.append(tap)
            layers.append({"name": acts[-1], "units": units, "drawn": min(units, NEURON_UNITS)})
    if not taps:
        raise CaptureError(f"neurons=True draws hidden units, and this network has no hidden layer (an activation "
                           f"between two Linear layers); it needs {SUPPORTED}")
    return leaves[: taps[-1]], taps, layers


class NeuronCapture:
    """Evaluates a network's hidden units on the scene's plane, one float16 array per capture.

    Parameters
    ----------
    inputs:
        The grid's points in feature space, ``(NEURON_GRID ** 2, d)`` in ``[y, x]`` order.
    layers:
        The hidden layers of a trace read back (see ``hidden_layers``), or None until the first capture.
    """

    def __init__(self, inputs: np.ndarray, layers: "list[dict[str, Any]] | None" = None) -> None:
        self._grid = EvaluationGrid(inputs)
        self.layers = layers

    @property
    def units(self) -> int:
        """The number of units drawn, over all layers (0 before the first capture)."""
        return sum(layer["drawn"] for layer in self.layers or ())

    @property
    def nbytes(self) -> int:
        """Bytes one capture takes, once the structure is known (a guess of 16 units before)."""
        return (self.units or 2 * NEURON_UNITS) * NEURON_GRID**2 * 2

    def options(self) -> dict[str, Any]:
        """What a trace stores to draw the captures: the grid's side and the layers."""
        return {"grid": NEURON_GRID, "layers": [dict(layer) for layer in self.layers or ()]}

    def evaluate(self, model: Any, parameters: "Mapping[str, Any] | None" = None) -> np.ndarray:
        """The drawn units' activations, shape ``(units, NEURON_GRID, NEURON_GRID)``, float16.

        ``parameters`` (a copy of the model's, by name) stands in for the model's own, as in
        ``EvaluationGrid.evaluate``.

        Raises
        ------
        CaptureError
            If the model is not a supported stack, or its structure changed since the first capture.
        """
        modules, taps, layers = hidden_layers(model)
        if self.layers is None:
            self.layers = layers
        elif layers != self.layers:
            raise CaptureError("the network's hidden layers changed between captures; neurons=True needs the same "
                               "structure throughout")
        wrapper = _tapped(model, modules, taps, [layer["drawn"] for layer in layers])
        if parameters is not None:  # the wrapper holds the model as "net": its names gain that prefix
            parameters = {f"net.{name}": value for name, value in parameters.items()}
        values = self._grid.evaluate(wrapper, _to_half, parameters=parameters)
        return np.ascontiguousarray(values.T).reshape(-1, NEURON_GRID, NEURON_GRID)


def _to_half(out: Any) -> Any:
    import torch

    return out.to(torch.float32).clamp(-_FLOAT16_MAX, _FLOAT16_MAX).to(torch.float16)


def _tapped(model: Any, modules: list, taps: list[int], drawn: list[int]) -> Any:
    """A module around ``model`` whose forward returns the drawn hidden units side by side, ``(m, units)``.

    Being a module, it runs through ``EvaluationGrid``'s guard like the model itself (eval mode for
    every submodule, restored after); it changes nothing in ``model``.
    """
    import torch
    from torch import nn

    class Tapped(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.net = model

        def forward(self, x: Any) -> Any:
            out, wanted = [], dict(zip(taps, drawn))
            for i, module in enumerate(modules):
                x = module(x)
                if i + 1 in wanted:
                    out.append(x[:, : wanted[i + 1]])
            return torch.cat(out, dim=1)

    return Tapped()


def check_neurons(value: Any) -> bool:
    """``neurons`` as a bool, else UsageError."""
    if not isinstance(value, (bool, np.bool_)):
        raise UsageError(f"neurons must be True or False, got {value!r}")
    return bool(value)
