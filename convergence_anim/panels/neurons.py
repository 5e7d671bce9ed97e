"""The neurons panel: each hidden unit's activation over the input plane, a small heatmap per unit.

A trace recorded with ``DecisionBoundary(..., neurons=True)`` holds, per capture, the activations of
the first units of each hidden layer on a coarse grid over the plane the main plot shows (see
``scenes.neurons``). This panel draws them as tiles, a block per layer, each block headed by what it
shows ("layer 1 (Tanh): units 1-8 of 32"). ``render`` turns it on by itself for such a trace
(``neurons=None``, the default); ``neurons=False`` leaves it out.

Colours: blue where a unit is positive, red where negative, white at 0 (in 12 flat bands), scaled per layer and frame
by the layer's largest absolute activation, so a unit that barely responds is pale beside one that
does and a shape stays visible while the weights are still small.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, Callable, Sequence

import numpy as np

from .._exceptions import TraceError, UsageError

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes

    from ..runs import FrameState, Runs
    from ..settings import FrameLook, RenderSettings
    from ..trace import Trace

__all__ = ["recorded_neurons", "settings_for", "setup_neurons_panel"]

_CMAP = "RdBu"
# Flat bands of colour, like the boundary's heatmap: as easy to read, and a GIF stores them far smaller.
_BANDS = 12
_GAP = 0.12  # between tiles, in tile widths
_HEADER = 0.55  # room above a block for its line of text, in tile widths


def recorded_neurons(trace: "Trace") -> bool:
    """Whether ``trace`` holds hidden-unit activations (``DecisionBoundary(..., neurons=True)``)."""
    return "neurons" in trace.state and isinstance(trace.options.get("neurons"), dict)


def settings_for(settings: "RenderSettings", traces: "Trace | Sequence[Trace]") -> "RenderSettings":
    """``settings`` with the neurons panel on for a single trace that recorded them, unless ``neurons=False``.

    Raises
    ------
    UsageError
        If ``neurons=True`` is asked of several runs (a race or an ensemble: one panel cannot show
        several networks' units).
    TraceError
        If ``neurons=True`` is asked of a trace that recorded none.
    """
    import dataclasses

    several = isinstance(traces, (list, tuple))
    if settings.neurons is False or (settings.neurons is None and several):
        return settings if settings.neurons is False else dataclasses.replace(settings, neurons=False)
    if several:
        raise UsageError("the neurons panel draws one network's hidden units; render each run of a race or ensemble "
                         "on its own to see its neurons")
    if not recorded_neurons(traces):
        if settings.neurons:
            raise TraceError("neurons=True draws hidden units, and this trace recorded none; record them with "
                             "DecisionBoundary(..., neurons=True)")
        return dataclasses.replace(settings, neurons=False)
    return dataclasses.replace(settings, neurons=True)


def _arrangement(layers: Sequence[dict]) -> tuple[int, list[tuple[int, int, int]]]:
    """Columns of tiles, and for each layer (first unit's index in the stored array, units drawn, rows)."""
    cols = min(4, max(layer["drawn"] for layer in layers))
    blocks, first = [], 0
    for layer in layers:
        blocks.append((first, layer["drawn"], math.ceil(layer["drawn"] / cols)))
        first += layer["drawn"]
    return cols, blocks


def setup_neurons_panel(ax: "Axes", runs: "Runs", look: "FrameLook") -> "Callable[[FrameState], list]":
    """Draw the tiles' frame and the layers' headings on ``ax``; return the per-frame updater of the tiles.

    Raises
    ------
    UsageError
        If ``runs`` holds several runs.
    TraceError
        If the trace recorded no hidden units.
    """
    if len(runs) != 1:
        raise UsageError("the neurons panel draws one network's hidden units, not a race's")
    trace = runs[0]
    if not recorded_neurons(trace):
        raise TraceError("this trace recorded no hidden units; record them with DecisionBoundary(..., neurons=True)")
    layers = trace.options["neurons"]["layers"]
    values = trace.state["neurons"]
    cols, blocks = _arrangement(layers)
    from matplotlib import colormaps

    cmap = colormaps[_CMAP].resampled(_BANDS)
    ax.set_axis_off()
    # The blitter redraws whatever lies above the tiles each frame, drawn directly (axis off or not):
    # ticks and spines go below them, hidden.
    ax.set_axisbelow(True)
    for spine in ax.spines.values():
        spine.set_visible(False)
    ax.set_title("hidden units", fontsize="small")
    images: list[tuple[Any, int, int, int]] = []  # (image, layer, unit's index in the array, first of its layer)
    top = 0.0
    blank = np.zeros(values.shape[2:], dtype=np.float32)
    color = look.theme.rc.get("text.color", "black")
    for number, ((first, drawn, rows), layer) in enumerate(zip(blocks, layers)):
        top -= _HEADER
        last = f"{drawn}" if drawn > 1 else ""
        units = f"units 1-{last}" if drawn > 1 else "unit 1"
        ax.text(0, top + 0.08, f"layer {number + 1} ({layer['name']}): {units} of {layer['units']}",
                fontsize="x-small", color=color, va="bottom", ha="left", zorder=0.5)
        for k in range(drawn):
            row, col = divmod(k, cols)
            x0 = col * (1 + _GAP)
            y1 = top - row * (1 + _GAP)
            image = ax.imshow(blank, cmap=cmap, vmin=-1.0, vmax=1.0, origin="lower", extent=(x0, x0 + 1, y1 - 1, y1),
                              interpolation="bilinear", interpolation_stage="data", zorder=1.0)
            images.append((image, number, first + k, first))
        top -= rows * (1 + _GAP)
    width = cols * (1 + _GAP) - _GAP
    ax.set_xlim(-0.02, max(width, 2.2) + 0.02)
    ax.set_ylim(top, 0.0)
    ax.set_aspect("equal", adjustable="box", anchor="N")
    spans = [(first, first + drawn) for first, drawn, _ in blocks]

    def update(state: "FrameState") -> list:
        frame = values[state.shown[0]].astype(np.float32)
        scales = [float(np.nanmax(np.abs(frame[a:b]))) if np.isfinite(frame[a:b]).any() else 0.0 for a, b in spans]
        for image, number, unit, _ in images:
            scale = scales[number]
            image.set_data(frame[unit] / scale if scale > 0 else blank)
            image.set_alpha(0.4 if state.diverged[0] else 1.0)
        return [image for image, *_ in images]

    return update
