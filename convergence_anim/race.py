"""Races: several runs of one scene on the same data, drawn in one animation, each in its colour.

``render([trace_a, trace_b], "race.gif", labels=["sgd", "adam"])`` draws them through ``FrameRenderer``
(a single run is the race of one): lines and curves overlaid, boundaries as lines, each run's loss
curve in the loss panel and its path on the landscape. Frames follow the steps of all runs together; a run that stopped earlier holds its
last state and is marked as finished.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Sequence

import numpy as np

from ._exceptions import UsageError
from .runs import timeline

if TYPE_CHECKING:  # pragma: no cover
    from .trace import Trace

__all__ = ["RACE_COLORS", "check_race", "race_timeline"]

#: The runs' colours, in order: apart from each other and from the scenes' own colours (blue points,
#: red/blue classes), readable on light and dark backgrounds and on the landscape's grey-blue.
RACE_COLORS = ("#ff7f0e", "#2ca02c", "#9467bd", "#e6194b", "#17becf", "#8c564b", "#e377c2", "#bcbd22")


def _differs(a: Any, b: Any) -> bool:
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        a, b = np.asarray(a), np.asarray(b)
        return a.shape != b.shape or not np.array_equal(a, b)
    return a != b


def check_race(traces: Sequence["Trace"], labels: "Sequence[str] | None" = None, *, ensemble: bool = False) -> list[str]:
    """Check that ``traces`` can race in one frame; return their labels (made up if None).

    Runs race if they are of the same scene, on the same data, with the same scene options (the
    loss a two-parameter scene names may differ); recorded landscapes may differ. Default labels
    name each run's optimizer and learning rate (from its ``meta``), else ``run 1``, ``run 2``...
    An ``ensemble`` (``convergence_anim.ensemble``) may hold up to ``ENSEMBLE_MAX_RUNS`` runs, labelled
    ``run 1``, ``run 2``... by default.

    Raises
    ------
    UsageError
        If there is no trace, more than ``len(RACE_COLORS)``, the scenes or data differ, a trace is
        empty, or the labels do not name each run once.
    """
    traces = list(traces)
    if not traces:
        raise UsageError("a race needs at least one trace")
    from .ensemble import ENSEMBLE_MAX_RUNS

    most = ENSEMBLE_MAX_RUNS if ensemble else len(RACE_COLORS)
    if len(traces) > most:
        what = "an ensemble" if ensemble else "a race (ensemble=True draws up to 500 runs of one setting)"
        raise UsageError(f"{what} draws at most {most} runs, got {len(traces)}")
    first = traces[0]
    for number, trace in enumerate(traces[1:], start=2):
        if trace.scene != first.scene:
            raise UsageError(f"runs of different scenes cannot race: run 1 is {first.scene!r}, run {number} is {trace.scene!r}")
        keys = {k for k in (*first.data, *trace.data) if not k.startswith("landscape_")}
        changed = sorted(k for k in keys if k not in first.data or k not in trace.data or _differs(first.data[k], trace.data[k]))
        if changed and ensemble:
            raise UsageError(f"an ensemble overlays runs on the same data, and run {number} differs from run 1 in "
                             f"{', '.join(changed)}: keep the data fixed and seed only the weights")
        if changed:
            raise UsageError(f"runs on different data cannot race: run {number} differs from run 1 in {', '.join(changed)}")
        options = {k for k in (*first.options, *trace.options) if k != "loss"}
        changed = sorted(k for k in options if _differs(first.options.get(k), trace.options.get(k)))
        if changed:
            raise UsageError(f"runs with different scene options cannot race: run {number} differs from run 1 in {', '.join(changed)}")
    for trace in traces:
        trace.require_frames()
    if labels is None:
        labels = [f"run {i + 1}" if ensemble else _default_label(trace, i) for i, trace in enumerate(traces)]
    labels = [str(label) for label in labels]
    if len(labels) != len(traces):
        raise UsageError(f"labels must name each of the {len(traces)} runs, got {len(labels)} labels")
    if len(set(labels)) != len(labels):
        raise UsageError(f"labels must differ from each other, got {', '.join(labels)}")
    return labels


def _default_label(trace: "Trace", index: int) -> str:
    optimizer, lr = trace.meta.get("optimizer"), trace.meta.get("lr")
    if optimizer is None and lr is None:
        return f"run {index + 1}"
    name = optimizer or "gd"
    return f"{name} lr={lr:g}" if isinstance(lr, (int, float)) else name


#: The frames of a race: ``(steps, indices, finished)`` (see ``runs.timeline``).
race_timeline = timeline
