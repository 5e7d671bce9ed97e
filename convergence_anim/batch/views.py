"""A shared scale: every run drawn with the same axis limits (the union of each run's own).

``FixedView`` wraps the run's own scene and only rescales the axes after it has drawn, so nothing
is registered and no trace is rewritten: ``render(trace, path, settings, scene=FixedView(...))``.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, Iterable, Mapping, Sequence

import numpy as np

from ..scenes import Scene

if TYPE_CHECKING:  # pragma: no cover
    from ..trace import Trace

__all__ = ["FixedView", "same_view", "union_view", "view_limits"]


class FixedView(Scene):
    """Another scene, drawn unchanged, then shown with fixed axis limits.

    Scenes may use their own limits for more than the view (``DecisionBoundary`` evaluates the model
    on a grid over them while training), so the limits are not swapped into the scene's options: the
    scene draws what it recorded, and only the axes are rescaled afterwards.
    """

    name = "fixed_view"

    def __init__(self, inner: Scene, xlim: Sequence[float], ylim: Sequence[float]) -> None:
        self.inner = inner
        self.xlim, self.ylim = tuple(xlim), tuple(ylim)

    # How the frame draws the inner scene (its label, its "Loss=", whether it redraws) is the inner scene's.
    label_position = property(lambda self: self.inner.label_position)  # type: ignore[assignment]
    loss_label = property(lambda self: self.inner.loss_label)  # type: ignore[assignment]
    redraw = property(lambda self: self.inner.redraw)  # type: ignore[assignment]

    def draw_runs(self, ax, runs, theme):
        update = self.inner.draw_runs(ax, runs, theme)

        def fixed(indices, diverged):
            changed = update(indices, diverged)
            if self.inner.redraw:  # the inner scene cleared the axes and set its own limits again
                ax.set_xlim(self.xlim)
                ax.set_ylim(self.ylim)
            return changed

        ax.set_xlim(self.xlim)
        ax.set_ylim(self.ylim)
        return fixed

    def title(self, trace, index: int) -> str:
        return self.inner.title(trace, index)


def view_limits(trace: "Trace", scene: Scene, theme: Any) -> dict[str, list[float]]:
    """The axis limits ``scene`` draws ``trace`` with, read back from matplotlib, and the loss range."""
    import matplotlib
    from matplotlib.figure import Figure

    from ..style import get_theme

    theme = get_theme(theme)
    with matplotlib.rc_context(theme.rc):
        fig = Figure()
        ax = fig.add_subplot()
        scene.setup(ax, trace, theme)
        limits = {"xlim": [float(v) for v in ax.get_xlim()], "ylim": [float(v) for v in ax.get_ylim()]}
    fig.clear()
    losses = np.concatenate([trace.losses, trace.test_losses if trace.test_losses is not None else []])
    losses = losses[np.isfinite(losses)]
    if losses.size:  # the loss panel's range, shared like the axes
        limits["loss"] = [float(losses.min()), float(losses.max())]
    return limits


def union_view(views: Iterable[Mapping[str, Sequence[float]]]) -> dict[str, list[float]]:
    """The smallest limits that hold every one of ``views``."""
    views = list(views)
    axes = ["xlim", "ylim"] + (["loss"] if all("loss" in v for v in views) else [])
    return {axis: [min(float(v[axis][0]) for v in views), max(float(v[axis][1]) for v in views)] for axis in axes}


def same_view(a: Any, b: Any) -> bool:
    """Whether two views (or any JSON data) are equal as stored."""
    return json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)
