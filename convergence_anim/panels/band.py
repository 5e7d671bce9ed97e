"""The loss panel of an ensemble: the median loss over the runs so far, and the band of the middle 80%.

At every step of the runs' common timeline it takes each run's latest loss (a run that stopped
earlier drops out) and draws the median as a line and the 10th to 90th percentile as a shaded band,
both up to the frame's step. The band is as wide as the runs disagree: it narrows as seeds
converge to the same loss and widens where they part.
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Callable

import numpy as np

from ..runs import timeline
from .loss import set_loss_axes

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes

    from ..runs import FrameState, Runs
    from ..settings import FrameLook

__all__ = ["PERCENTILES", "loss_percentiles", "setup_band_panel"]

#: The band's edges and the line, in percent.
PERCENTILES = (10, 50, 90)


def loss_percentiles(runs: "Runs") -> tuple[np.ndarray, np.ndarray]:
    """The runs' timeline steps ``(F,)`` and the 10th, 50th and 90th percentile of their losses ``(3, F)``.

    NaN where no run has a finite loss at that step.
    """
    steps, indices, finished = timeline(runs.traces)
    losses = np.column_stack([trace.losses[indices[:, r]] for r, trace in enumerate(runs.traces)]).astype(np.float64)
    losses[finished | ~np.isfinite(losses)] = np.nan
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a step where every run is NaN: NaN, said by the docstring
        return steps.astype(np.float64), np.nanpercentile(losses, PERCENTILES, axis=1)


def setup_band_panel(ax: "Axes", runs: "Runs", look: "FrameLook") -> "Callable[[FrameState], list]":
    """Draw the static parts of an ensemble's loss panel on ``ax``; return its per-frame updater."""
    from matplotlib.patches import Polygon

    colour = look.theme.loss_color
    steps, (low, median, high) = loss_percentiles(runs)
    set_loss_axes(ax, [low, median, high], float(steps[0]), float(steps[-1]), look.log_loss, look.loss_range)
    band = Polygon(np.zeros((0, 2)), closed=True, facecolor=colour, edgecolor="none", alpha=0.3, zorder=2.5)
    ax.add_patch(band)
    (line,) = ax.plot([], [], "-", color=colour, lw=2, zorder=2.6)
    (point,) = ax.plot([], [], "o", color=colour, ms=7, zorder=2.7)
    # A title, not a legend: a legend stands over the curve, so the blitter would redraw it every
    # frame (a third of an ensemble's drawing time); below the curve's zorder, it is background.
    title = ax.set_title(f"median of {len(runs)} runs, band: {PERCENTILES[0]}-{PERCENTILES[2]}%", fontsize="small")
    title.set_zorder(0.1)
    finite = np.isfinite(low) & np.isfinite(high)

    def update(state: "FrameState") -> list:
        end = int(np.searchsorted(steps, state.step, side="right"))
        keep = finite[:end]
        x, lo, hi = steps[:end][keep], low[:end][keep], high[:end][keep]
        band.set_xy(np.column_stack([np.concatenate([x, x[::-1]]), np.concatenate([lo, hi[::-1]])])
                    if x.size else np.zeros((0, 2)))
        line.set_data(steps[:end], median[:end])
        point.set_data(steps[end - 1: end], median[end - 1: end])
        return [band, line, point]

    return update
