"""The loss panel: the loss curve so far beside the plot, the current point marked.

A single run shows its training loss and, if it recorded one, its test loss (with a legend); a race
shows each run's training loss in its colour, a finished run's last point drawn hollow.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Callable, Sequence

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes

    from ..runs import FrameState, Runs
    from ..settings import FrameLook

__all__ = ["set_loss_axes", "setup_loss_panel", "smoothed"]


def set_loss_axes(ax: "Axes", losses: Sequence[np.ndarray], first: float, last: float, log: bool,
                  extra_range: "Sequence[float] | None" = None) -> None:
    """Scale, limits and labels of a loss panel that shows ``losses`` (arrays) over steps ``first..last``.

    The y range holds every finite loss and ``extra_range`` (a shared scale across runs); a log
    panel keeps only positive values.
    """
    values = np.concatenate([np.asarray(v, dtype=np.float64) for v in losses]
                            + ([np.asarray(extra_range, dtype=np.float64)] if extra_range else []))
    # Losses beyond 1e250 (a run blowing up) run off the top: matplotlib cannot place log ticks that far.
    values = values[np.abs(values) <= 1e250]
    if log:
        ax.set_yscale("log")
        values = values[values > 0]
    if values.size:
        lo, hi = float(values.min()), float(values.max())
        if log:
            ax.set_ylim(lo / 1.5, hi * 1.5)
        else:
            pad = 0.05 * (hi - lo) if hi > lo else max(abs(hi), 1.0) * 0.05
            ax.set_ylim(lo - pad, hi + pad)
    ax.set_xlim(first - 0.02 * (last - first) - 0.5, last + 0.02 * (last - first) + 0.5)
    ax.set_xlabel("iteration")
    ax.set_ylabel("loss (log scale)" if log else "loss")


def setup_loss_panel(ax: "Axes", runs: "Runs", look: "FrameLook") -> "Callable[[FrameState], list]":
    """Draw the loss panel's static parts on ``ax``; return its per-frame updater (an ensemble's: ``panels.band``)."""
    if runs.ensemble:
        from .band import setup_band_panel

        return setup_band_panel(ax, runs, look)
    theme = look.theme
    # Each curve: (run number, its steps, its losses, colour, label, smoothing weight).
    if runs.race:
        curves = [(r, trace.steps.astype(np.float64), trace.losses, colour, None, look.smooth)
                  for r, (trace, colour) in enumerate(zip(runs, runs.colors))]
    else:
        trace = runs[0]
        steps = trace.steps.astype(np.float64)
        curves = [(0, steps, trace.losses, theme.loss_color, "train", look.smooth)]
        if np.isfinite(trace.test_losses).any():  # a held-out loss is not noisy: never smoothed
            curves.append((0, steps, trace.test_losses, theme.test_loss_color, "test", 0.0))
    first = float(min(steps[0] for _, steps, *_ in curves))
    last = float(max(steps[-1] for _, steps, *_ in curves))
    set_loss_axes(ax, [losses for _, _, losses, *_ in curves], first, last, look.log_loss, look.loss_range)
    # A race's points have a thicker edge, so that a finished run's hollow point reads.
    marker = {"mew": 1.5} if runs.race else {}
    drawn = []
    for run, steps, losses, colour, label, smooth in curves:
        # Smoothed: the moving average strong, the raw losses faint behind it.
        faint = ax.plot([], [], "-", color=colour, lw=1, alpha=0.35, zorder=2.5)[0] if smooth else None
        (line,) = ax.plot([], [], "-", color=colour, lw=2, label=label, zorder=2.6)
        (point,) = ax.plot([], [], "o", color=colour, ms=7, zorder=2.7, **marker)
        drawn.append((run, steps, losses, smoothed(losses, smooth) if smooth else losses, faint, line, point))
    if len(curves) > 1 and not runs.race:
        ax.legend(loc="upper right")

    def update(state: "FrameState") -> list:
        changed = []
        for run, steps, raw, shown, faint, line, point in drawn:
            index = state.indices[run]
            if faint is not None:
                faint.set_data(steps[: index + 1], raw[: index + 1])
                changed.append(faint)
            line.set_data(steps[: index + 1], shown[: index + 1])
            point.set_data(steps[index : index + 1], shown[index : index + 1])
            if runs.race:
                point.set_markerfacecolor("none" if state.finished[run] else line.get_color())
            changed += [line, point]
        return changed

    return update


def smoothed(values: np.ndarray, weight: float) -> np.ndarray:
    """The exponential moving average of ``values`` with ``weight`` on the past, NaN where a value is not finite.

    Debiased, as TensorBoard's smoothing is: the first value is itself, not pulled towards 0. A loss
    that was not captured (NaN) or overflowed is skipped, not averaged in.
    """
    out = np.full(len(values), np.nan)
    average = total = 0.0
    for i, value in enumerate(np.asarray(values, dtype=np.float64)):
        if math.isfinite(value):
            average = weight * average + (1 - weight) * value
            total = weight * total + (1 - weight)
            out[i] = average / total
    return out
