"""Which frames to show and for how long: frame budgets, durations, holds."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ._exceptions import UsageError

__all__ = ["Timing", "pick_frames", "plan_timing"]

SPACINGS = ("uniform", "log")


def pick_frames(n: int, max_frames: "int | None", spacing: str = "uniform") -> np.ndarray:
    """Indices of at most ``max_frames`` of ``n`` frames, always the first and the last.

    ``uniform`` spreads them evenly; ``log`` puts them densely early, where training changes fast,
    and sparsely late (evenly spaced in log(step index)).

    Raises
    ------
    UsageError
        If ``max_frames`` is not a positive integer or ``spacing`` is unknown.
    """
    if spacing not in SPACINGS:
        raise UsageError(f"spacing must be one of {', '.join(SPACINGS)}, got {spacing!r}")
    if max_frames is None:
        return np.arange(n)
    if isinstance(max_frames, bool) or not isinstance(max_frames, (int, np.integer)) or max_frames <= 0:
        raise UsageError(f"max_frames must be a positive integer, got {max_frames!r}")
    if max_frames >= n:
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


def _seconds(name: str, value: "float | None") -> float:
    if value is None:
        return 0.0
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not (0 <= value < math.inf):
        raise UsageError(f"{name} must be a number of seconds >= 0, got {value!r}")
    return float(value)


def plan_timing(
    n_frames: int,
    *,
    fps: "float | None",
    duration: "float | None" = None,
    hold: "float | None" = None,
    hold_first: "float | None" = None,
) -> Timing:
    """Work out the frame rate and holds.

    With ``duration`` the whole animation (holds included) lasts that many seconds and the frame
    rate follows; otherwise ``fps`` is used. Holds are rounded to whole frame intervals.

    Raises
    ------
    UsageError
        If both or neither of fps and duration are usable, or the holds do not fit the duration.
    """
    hold_last_s = _seconds("hold", hold)
    hold_first_s = _seconds("hold_first", hold_first)
    if duration is not None:
        if fps is not None:
            raise UsageError("give either fps or duration, not both")
        if isinstance(duration, bool) or not isinstance(duration, (int, float)) or not (0 < duration < math.inf):
            raise UsageError(f"duration must be a positive number of seconds, got {duration!r}")
        moving = duration - hold_last_s - hold_first_s
        if moving <= 0:
            raise UsageError(f"the holds ({hold_first_s + hold_last_s:g} s) leave no time in a {duration:g} s animation")
        fps = n_frames / moving
    if fps is None:
        raise UsageError("give fps or duration")
    if isinstance(fps, bool) or not isinstance(fps, (int, float, np.number)) or not (0 < fps < math.inf):
        raise UsageError(f"fps must be a positive number, got {fps!r}")
    return Timing(float(fps), round(hold_first_s * fps), round(hold_last_s * fps))
