"""The runs a frame draws: one run, or several of one scene raced in one frame.

A single render is the one-run case of a race: the same renderer, the same scene method
(``Scene.draw_runs``) and the same panels draw both. ``Runs`` says what is drawn (the traces, their
colours and labels, and whether they are drawn as a race); ``FrameState`` says where each run is
at one frame of the animation.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Iterator, Sequence

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    from .trace import Trace

__all__ = ["FrameState", "Runs", "shown_frames", "timeline"]


class Runs:
    """One or more traces of one scene, drawn in one frame.

    Parameters
    ----------
    traces:
        The runs, in legend order.
    colors:
        One colour per run: the theme's line colour for a single run, the race colours otherwise.
    labels:
        One name per run (empty for a single run).
    race:
        True when the runs are drawn as a race (thin lines in the run colours, a legend), even a race
        of one; False for a single run drawn in the scene's own look.
    ensemble:
        True when the runs are an ensemble (drawn as a race, in one colour, translucent; the loss
        panel shows their median and spread): see ``convergence_anim.ensemble``.
    """

    def __init__(self, traces: Sequence["Trace"], colors: Sequence[str], labels: Sequence[str] = (), race: bool = False,
                 ensemble: bool = False) -> None:
        self.traces = tuple(traces)
        self.colors = tuple(colors)
        self.labels = tuple(labels) or ("",) * len(self.traces)
        self.race = bool(race) or bool(ensemble)
        self.ensemble = bool(ensemble)

    def __len__(self) -> int:
        return len(self.traces)

    def __iter__(self) -> Iterator["Trace"]:
        return iter(self.traces)

    def __getitem__(self, index: int) -> "Trace":
        return self.traces[index]


@dataclass(frozen=True)
class FrameState:
    """Where every run is at one frame.

    Attributes
    ----------
    step:
        The training step the frame shows.
    indices:
        For each run, its capture at (or last before) ``step``.
    shown:
        For each run, the capture whose state is drawn: ``indices``, or the last finite one once the
        run diverged.
    diverged:
        For each run, whether it had diverged by then (``shown`` differs from ``indices``).
    finished:
        For each run, whether it stopped before ``step``.
    """

    step: int
    indices: tuple[int, ...]
    shown: tuple[int, ...]
    diverged: tuple[bool, ...]
    finished: tuple[bool, ...]


def shown_frames(trace: "Trace") -> np.ndarray:
    """For each capture, the index of the capture whose state to draw: itself, or the last finite one."""
    n = len(trace)
    ok = np.ones(n, dtype=bool)
    for value in trace.state.values():
        if value.dtype.kind == "f":
            ok &= np.isfinite(value.reshape(n, -1)).all(axis=1)
    first_bad = trace.diverged_at
    if first_bad is not None:
        ok &= trace.steps < first_bad
    shown = np.maximum.accumulate(np.where(ok, np.arange(n), -1))
    # Frames before any finite state (diverged from the start) draw their own state as it is.
    return np.where(shown < 0, np.arange(n), shown)


def timeline(traces: Sequence["Trace"]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The frames of several runs: every step any run captured, in order.

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


def frame_states(traces: Sequence["Trace"], frames: "Sequence[int] | None" = None) -> list[FrameState]:
    """The ``FrameState`` of each frame of ``timeline(traces)`` listed in ``frames`` (all if None)."""
    steps, indices, finished = timeline(traces)
    shown_of = [shown_frames(t) for t in traces]
    chosen = range(len(steps)) if frames is None else frames
    states = []
    for frame in chosen:
        at = tuple(int(i) for i in indices[frame])
        shown = tuple(int(s[i]) for s, i in zip(shown_of, at))
        states.append(FrameState(int(steps[frame]), at, shown, tuple(s != i for s, i in zip(shown, at)),
                                 tuple(bool(f) for f in finished[frame])))
    return states
