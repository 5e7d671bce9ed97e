"""The loss panel: the loss curve so far beside the plot, the current point marked.

A single run shows its training loss and, if it recorded one, its test loss, dashed (with a legend); a
race shows each run's training loss in its colour (and its test loss dashed), a finished run's last
point drawn hollow. A recorded learning rate is marked where it changes (a thin dotted line and its
new value) and labelled events (``Recorder.mark``) as a dashed line with their text.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Callable, Sequence

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes

    from ..runs import FrameState, Runs
    from ..settings import FrameLook
    from ..style import Theme
    from ..trace import Trace

__all__ = ["mark_schedule", "rate_changes", "set_loss_axes", "setup_loss_panel", "smoothed"]


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
        # Each run's held-out loss, dashed in its colour; never smoothed.
        curves += [(r, trace.steps.astype(np.float64), trace.test_losses, colour, "test", 0.0)
                   for r, (trace, colour) in enumerate(zip(runs, runs.colors)) if np.isfinite(trace.test_losses).any()]
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
        (line,) = ax.plot([], [], "--" if label == "test" else "-", color=colour, lw=2, label=label, zorder=2.6)
        (point,) = ax.plot([], [], "o", color=colour, ms=7, zorder=2.7, **marker)
        drawn.append((run, steps, losses, smoothed(losses, smooth) if smooth else losses, faint, line, point))
    if len(curves) > 1 and not runs.race:
        ax.legend(loc="upper right")
    elif runs.race and any(label == "test" for *_, label, _ in curves):
        _race_test_legend(ax, theme)
    mark_schedule(ax, runs, theme)

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


def _race_test_legend(ax: "Axes", theme: "Theme") -> None:
    """A race's key to its line styles: each run's colour, solid for training, dashed for the test set."""
    from matplotlib.lines import Line2D

    ink = theme.rc.get("text.color", "#333333")
    handles = [Line2D([], [], color=ink, lw=1.5, label="train"), Line2D([], [], color=ink, lw=1.5, ls="--", label="test")]
    ax.legend(handles=handles, loc="upper right", fontsize="x-small")


def rate_changes(trace: "Trace") -> "list[tuple[int, float]]":
    """The recorded learning rate where it is first seen and wherever it changes: ``(step, rate)`` pairs.

    A change is placed at the first capture that recorded the new rate (the capture interval says
    how close that is to the step it changed at).
    """
    changes: "list[tuple[int, float]]" = []
    for step, rate in zip(trace.steps, trace.learning_rates):
        if math.isfinite(rate) and (not changes or not math.isclose(rate, changes[-1][1], rel_tol=1e-9)):
            changes.append((int(step), float(rate)))
    return changes


def mark_schedule(ax: "Axes", runs: "Runs", theme: "Theme") -> None:
    """Mark the runs' learning-rate changes and events on the loss panel ``ax`` (static: drawn once).

    A rate change is a thin dotted line in the run's colour (a single run's in the theme's text
    colour) with the new rate written small up along it, from the top; the first rate is written
    at the top left without a line. An event is a dashed line with its text written up along it, from the bottom.
    Events shared by several runs of a race (same step and text) are drawn once.
    """
    from matplotlib.transforms import blended_transform_factory

    ink = theme.rc.get("text.color", "#333333")
    along = blended_transform_factory(ax.transData, ax.transAxes)  # x a step, y a fraction of the panel
    small = {"fontsize": "x-small", "transform": along, "zorder": 2.2, "clip_on": False}
    for trace, colour in zip(runs, runs.colors if runs.race else [ink]):
        for number, (step, rate) in enumerate(rate_changes(trace)):
            if number:  # written up along its line, from the top: events are written from the bottom
                ax.axvline(step, color=colour, lw=0.9, ls=":", alpha=0.9, zorder=2.1)
                ax.text(step, 0.97, f"lr {rate:.3g} ", color=colour, rotation=90, ha="right", va="top", **small)
            else:
                ax.text(step, 0.97, f" lr {rate:.3g}", color=colour, ha="left", va="top", **small)
    seen = set()
    for trace in runs:
        for step, label in zip(trace.event_steps.tolist(), trace.event_labels.tolist()):
            if (step, label) in seen:
                continue
            seen.add((step, label))
            ax.axvline(step, color=ink, lw=1.0, ls="--", alpha=0.7, zorder=2.1)
            ax.text(step, 0.03, f" {label}", color=ink, rotation=90, ha="right", va="bottom", **small)
