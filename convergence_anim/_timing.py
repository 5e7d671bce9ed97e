"""Which frames to show and for how long: frame budgets, durations, holds."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from .settings import DEFAULT_FPS, DEFAULT_MAX_FRAMES

if TYPE_CHECKING:  # pragma: no cover
    import os

    from .encoders import Encoder
    from .settings import FrameLook, RenderSettings
    from .trace import Trace

__all__ = ["RenderPlan", "Timing", "budget_note", "frame_budget_note", "pick_frames", "plan_render", "plan_timing"]


def pick_frames(n: int, max_frames: "int | None", spacing: str = "uniform") -> np.ndarray:
    """Indices of at most ``max_frames`` of ``n`` frames, always the first and the last.

    ``uniform`` spreads them evenly; ``log`` puts them densely early, where training changes fast,
    and sparsely late (evenly spaced in log(step index)). The arguments are already checked
    (``RenderSettings``).
    """
    if max_frames is None or max_frames >= n:
        return np.arange(n)
    if max_frames == 1:
        return np.array([n - 1])
    if spacing == "uniform":
        return np.unique(np.round(np.linspace(0, n - 1, max_frames)).astype(np.int64))
    wanted = np.round(np.geomspace(1, n, max_frames)).astype(np.int64) - 1
    # Keep them distinct: push early collisions forward, then cap so the tail still fits.
    for i in range(1, max_frames):
        wanted[i] = max(wanted[i], wanted[i - 1] + 1)
    for i in range(max_frames - 1, -1, -1):
        wanted[i] = min(wanted[i], n - max_frames + i)
    return wanted


def frame_budget_note(n: int, settings: "RenderSettings", traces: "list[Trace]", keep_all: str) -> "str | None":
    """The one-line warning for ``n`` frames the default budget cuts, None if it cuts none.

    ``keep_all`` says how to draw them all where the user is (``max_frames=None``,
    ``--max-frames 0``). A trace captured at every step (the recorder's default) is named too: its
    interval is what made so many frames.
    """
    if settings.max_frames != DEFAULT_MAX_FRAMES or n <= DEFAULT_MAX_FRAMES:
        return None
    return budget_note(f"drawing {DEFAULT_MAX_FRAMES} of {n} frames", keep_all,
                       any(trace.meta.get("capture_every") == 1 for trace in traces))


def budget_note(what: str, keep_all: str, every_step: bool) -> str:
    """``what`` the default frame budget did, how to draw every frame, and whether ``every=1`` made so many."""
    note = f"{what} (the default budget); {keep_all} draws them all"
    if every_step:
        note += "; the trace was captured at every step (every=1, the Recorder's default)"
    return note


@dataclass(frozen=True)
class Timing:
    """Frame rate and how many extra frame intervals the first and last frames are held."""

    fps: float
    hold_first: int = 0
    hold_last: int = 0


def plan_timing(n_frames: int, settings: "RenderSettings") -> Timing:
    """The frame rate and holds of ``n_frames`` frames drawn with ``settings``.

    With ``duration`` the whole animation (holds included) lasts that many seconds and the frame
    rate follows; otherwise ``fps`` is used (10 if None). Holds are rounded to whole frame intervals.
    """
    if settings.duration is not None:
        fps = n_frames / (settings.duration - settings.hold - settings.hold_first)
    else:
        fps = DEFAULT_FPS if settings.fps is None else settings.fps
    return Timing(float(fps), round(settings.hold_first * fps), round(settings.hold * fps))


@dataclass(frozen=True)
class RenderPlan:
    """What a render decided before drawing anything, resolved once and handed down.

    Attributes
    ----------
    look:
        The frames' look: theme object, pixel size, dpi, panels.
    encoder:
        The encoder class the output's suffix asks for (checked available).
    frames:
        The indices of the frames to draw, of the trace's captures (one run) or of the race's timeline.
    timing:
        Frame rate and holds (the rate checked against the format's limit).
    loop:
        Times a GIF plays (0: forever).
    """

    look: "FrameLook"
    encoder: "type[Encoder]"
    frames: np.ndarray
    timing: Timing
    loop: int


def plan_render(settings: "RenderSettings", path: "str | os.PathLike[str]", count: int) -> RenderPlan:
    """The plan of rendering ``count`` frames (captures, or steps of a race) to ``path`` with ``settings``.

    Raises
    ------
    UsageError
        If the suffix is not a known format or the frame rate is too high for it.
    OutputError
        If the output's folder is missing or not writable (``EncoderError`` if the encoder cannot run).
    """
    from .encoders import check_fps

    encoder = settings.check_output(path)
    frames = pick_frames(count, settings.max_frames, settings.spacing)
    timing = plan_timing(len(frames), settings)
    check_fps(timing.fps, encoder.max_fps, encoder.suffix)
    return RenderPlan(settings.look, encoder, frames, timing, settings.loop)
