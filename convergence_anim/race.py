"""Races: several runs of one scene on the same data, drawn in one animation, each in its colour.

``render([trace_a, trace_b], "race.gif", labels=["sgd", "adam"])`` draws them through ``RaceRenderer``:
lines and curves overlaid, boundaries as lines, each run's loss curve in the loss panel and its path
on the landscape. Frames follow the steps of all runs together; a run that stopped earlier holds its
last state and is marked as finished.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, Sequence

import numpy as np

from ._exceptions import UsageError
from .frames import LaidOutFrames, check_size, set_loss_axes, shown_frames
from .layout import FrameLayout
from .scenes import scene_from_trace
from .scenes._base import format_number
from .style import Theme

if TYPE_CHECKING:  # pragma: no cover
    from .settings import RenderSettings
    from matplotlib.artist import Artist

    from .scenes import Scene
    from .trace import Trace

__all__ = ["RACE_COLORS", "RaceRenderer", "check_race", "race_timeline"]

#: The runs' colours, in order: apart from each other and from the scenes' own colours (blue points,
#: red/blue classes), readable on light and dark backgrounds and on the landscape's grey-blue.
RACE_COLORS = ("#ff7f0e", "#2ca02c", "#9467bd", "#e6194b", "#17becf", "#8c564b", "#e377c2", "#bcbd22")


def _differs(a: Any, b: Any) -> bool:
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        a, b = np.asarray(a), np.asarray(b)
        return a.shape != b.shape or not np.array_equal(a, b)
    return a != b


def check_race(traces: Sequence["Trace"], labels: "Sequence[str] | None" = None) -> list[str]:
    """Check that ``traces`` can race in one frame; return their labels (made up if None).

    Runs race if they are of the same scene, on the same data, with the same scene options (the
    loss a two-parameter scene names may differ); recorded landscapes may differ. Default labels
    name each run's optimizer and learning rate (from its ``meta``), else ``run 1``, ``run 2``...

    Raises
    ------
    UsageError
        If there is no trace, more than ``len(RACE_COLORS)``, the scenes or data differ, a trace is
        empty, or the labels do not name each run once.
    """
    traces = list(traces)
    if not traces:
        raise UsageError("a race needs at least one trace")
    if len(traces) > len(RACE_COLORS):
        raise UsageError(f"a race draws at most {len(RACE_COLORS)} runs, got {len(traces)}")
    first = traces[0]
    for number, trace in enumerate(traces[1:], start=2):
        if trace.scene != first.scene:
            raise UsageError(f"runs of different scenes cannot race: run 1 is {first.scene!r}, run {number} is {trace.scene!r}")
        keys = {k for k in (*first.data, *trace.data) if not k.startswith("landscape_")}
        changed = sorted(k for k in keys if k not in first.data or k not in trace.data or _differs(first.data[k], trace.data[k]))
        if changed:
            raise UsageError(f"runs on different data cannot race: run {number} differs from run 1 in {', '.join(changed)}")
        options = {k for k in (*first.options, *trace.options) if k != "loss"}
        changed = sorted(k for k in options if _differs(first.options.get(k), trace.options.get(k)))
        if changed:
            raise UsageError(f"runs with different scene options cannot race: run {number} differs from run 1 in {', '.join(changed)}")
    for trace in traces:
        trace.require_frames()
    if labels is None:
        labels = [_default_label(trace, i) for i, trace in enumerate(traces)]
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


def race_timeline(traces: Sequence["Trace"]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The frames of a race: every step any run captured, in order.

    Returns
    -------
    tuple
        ``steps`` (shape ``(F,)``); ``indices`` (``(F, R)``): for each frame and run, the capture
        to show, its latest at or before the step (its first before it starts); ``finished``
        (``(F, R)``): whether the run stopped before the step.
    """
    steps = np.unique(np.concatenate([t.steps for t in traces]))
    indices = np.column_stack([np.clip(np.searchsorted(t.steps, steps, side="right") - 1, 0, None) for t in traces])
    finished = np.column_stack([steps > t.steps[-1] for t in traces])
    return steps, indices, finished


class RaceRenderer(LaidOutFrames):
    """Renders frame ``i`` of a race of several traces as an image array.

    Parameters
    ----------
    traces:
        The runs (checked with ``check_race``).
    labels:
        A name for each run, shown in the legend; by default from each run's optimizer and rate.
    frames:
        Which frames of ``race_timeline`` to draw, in order (all by default).
    settings, options, blit, scene:
        As for ``FrameRenderer``; the loss panel draws every run's loss, the landscape every run's path.

    Raises
    ------
    UsageError
        If the runs cannot race or an option is out of range.
    TraceError
        If ``landscape`` is asked for runs of a model scene that recorded none.
    """

    def __init__(
        self,
        traces: Sequence["Trace"],
        labels: "Sequence[str] | None" = None,
        settings: "RenderSettings | None" = None,
        *,
        frames: "Sequence[int] | None" = None,
        scene: "Scene | None" = None,
        blit: bool = True,
        **options: Any,
    ) -> None:
        from ._landscape_panel import setup_landscape_panel
        from .landscape import landscape_of
        from .settings import RenderSettings

        settings = RenderSettings.build(settings, **options)
        size, dpi, loss_panel, log_loss = settings.size, settings.dpi, settings.loss_panel, settings.log_loss
        loss_range, landscape = settings.loss_range, settings.landscape
        self.traces = traces = list(traces)
        self.labels = check_race(traces, labels)
        self.theme = settings.theme_object
        self.size, dpi = check_size(size, dpi, self.theme, loss_panel, landscape)
        view = landscape_of(traces) if landscape else None
        self._steps, self._indices, self._finished = race_timeline(traces)
        self._frames = np.arange(len(self._steps)) if frames is None else np.asarray(frames, dtype=np.intp)
        self._shown = [shown_frames(t) for t in traces]
        self._diverged_at = [t.diverged_at for t in traces]
        colors = list(RACE_COLORS[: len(traces)])
        scene = scene_from_trace(traces[0]) if scene is None else scene
        panels = ["loss"] * loss_panel + ["landscape"] * landscape
        fit = loss_panel or landscape or self.theme.fit_margins  # as FrameRenderer does
        self._layout = layout = FrameLayout(self.size, dpi, self.theme, panels=panels, fit=fit, blit=blit)
        ax = self._ax = layout.main
        with layout.building():
            self._update_scene = scene.setup_race(ax, traces, self.theme, colors)
            # The widest title of any frame, so the fitted layout leaves room for all of them.
            ax.set_title(f"Iteration:{self._steps[-1]}\n ")
            self._legend = _race_legend(ax, colors, self.labels, self.theme)
            self._update_loss = (
                _setup_race_loss_panel(layout.panels["loss"], traces, colors, log_loss, loss_range) if loss_panel else None
            )
            self._update_landscape = (
                setup_landscape_panel(layout.panels["landscape"], view, self.theme, colors) if view is not None else None
            )

    def __len__(self) -> int:
        return len(self._frames)

    def _set_frame(self, index: int) -> "list[Artist]":
        frame = int(self._frames[index])
        indices, finished = self._indices[frame], self._finished[frame]
        shown = [int(s[i]) for s, i in zip(self._shown, indices)]
        diverged = [s != int(i) for s, i in zip(shown, indices)]
        artists = list(self._update_scene(shown, diverged))
        for text, label, trace, i, done, gone, at in zip(
            self._legend.get_texts(), self.labels, self.traces, indices, finished, diverged, self._diverged_at
        ):
            loss = trace.losses[i]
            status = format_number(loss) if math.isfinite(loss) else ""
            if gone:
                status = f"diverged at {at}"
            elif done:
                status += f", done at {trace.steps[-1]}"
            text.set_text(f"{label}: {status}" if status else label)
        self._ax.title.set_text(f"Iteration:{self._steps[frame]}\n ")
        artists += [self._legend, self._ax.title]
        if self._update_loss is not None:
            artists += self._update_loss(indices, finished)
        if self._update_landscape is not None:
            artists += self._update_landscape(shown, finished)
        return artists


def _race_legend(ax, colors: Sequence[str], labels: Sequence[str], theme: Theme):
    """The runs' legend, in the main axes' upper left; its texts change per frame (loss, finished)."""
    from matplotlib.lines import Line2D

    handles = [Line2D([], [], color=c, lw=3) for c in colors]
    face = theme.rc.get("axes.facecolor", "white")
    # Small type: the legend sits on the data and grows by a status per run.
    return ax.legend(handles, list(labels), loc="upper left", fontsize="x-small", title="run: loss",
                     title_fontsize="x-small", framealpha=0.9, facecolor=face)


def _setup_race_loss_panel(ax, traces: Sequence["Trace"], colors: Sequence[str], log: bool, extra_range=None):
    """Every run's loss curve so far; a finished run's last point drawn hollow."""
    first = float(min(t.steps[0] for t in traces))
    last = float(max(t.steps[-1] for t in traces))
    set_loss_axes(ax, [t.losses for t in traces], first, last, log, extra_range)
    runs = []
    for trace, colour in zip(traces, colors):
        (line,) = ax.plot([], [], "-", color=colour, lw=2, zorder=2.6)
        (point,) = ax.plot([], [], "o", color=colour, ms=7, mew=1.5, zorder=2.7)
        runs.append((trace, line, point))

    def update(indices: Sequence[int], finished: Sequence[bool]) -> list:
        changed = []
        for (trace, line, point), index, done in zip(runs, indices, finished):
            steps = trace.steps.astype(np.float64)
            line.set_data(steps[: index + 1], trace.losses[: index + 1])
            point.set_data(steps[index : index + 1], trace.losses[index : index + 1])
            point.set_markerfacecolor("none" if done else line.get_color())
            changed += [line, point]
        return changed

    return update
