"""Which frames to show and for how long: frame budgets, durations, holds."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from .settings import DEFAULT_FPS

if TYPE_CHECKING:  # pragma: no cover
    from .settings import RenderSettings

__all__ = ["Timing", "pick_frames", "plan_timing"]


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
