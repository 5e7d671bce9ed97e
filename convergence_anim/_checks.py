"""Argument checks shared by every public function: each raises ``UsageError`` naming the argument.

One place for the checks that used to be written out by hand at every call site
(``isinstance(x, bool) or not isinstance(x, int) ...``): ``bool`` is an ``int`` in Python, but
``every=True`` is never what a user meant, so every integer check refuses it.
"""

from __future__ import annotations

import math
import numbers
from typing import Any, Iterable

from ._exceptions import UsageError

__all__ = ["check_fps", "choice", "integer", "number", "optional", "pair"]


# ``numbers`` rather than numpy's scalar types, so that importing the checks (the command line does,
# for its choices) does not import numpy. numpy's integers and floats register with ``numbers``.
def _is_integer(value: Any) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def integer(name: str, value: Any, low: "int | None" = None, high: "int | None" = None) -> int:
    """``value`` as an int within ``[low, high]`` (either bound may be None)."""
    if not _is_integer(value) or (low is not None and value < low) or (high is not None and value > high):
        if low is not None and high is not None:
            what = f"an integer from {low} to {high}"
        elif low == 1:
            what = "a positive integer"
        elif low == 0:
            what = "a non-negative integer"
        else:
            what = "an integer" if low is None else f"an integer >= {low}"
        raise UsageError(f"{name} must be {what}, got {value!r}")
    return int(value)


def number(name: str, value: Any, *, positive: bool = False, low: "float | None" = None, what: str = "") -> float:
    """``value`` as a finite float, > 0 if ``positive``, >= ``low`` if given."""
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool)
    if ok:
        value = float(value)
        ok = math.isfinite(value) and not (positive and value <= 0) and not (low is not None and value < low)
    if not ok:
        kind = what or ("a positive number" if positive else "a number" if low is None else f"a number >= {low:g}")
        raise UsageError(f"{name} must be {kind}, got {value!r}")
    return value


def choice(name: str, value: Any, choices: Iterable[str]) -> str:
    """``value`` if it is one of ``choices``."""
    choices = tuple(choices)
    if not isinstance(value, str) or value not in choices:
        raise UsageError(f"{name} must be one of {', '.join(choices)}, got {value!r}")
    return value


def pair(name: str, value: Any) -> tuple[float, float]:
    """``value`` as a ``(low, high)`` pair of finite floats with ``low <= high``."""
    try:
        low, high = (float(v) for v in value)
    except (TypeError, ValueError):
        raise UsageError(f"{name} must be a pair of numbers (low, high), got {value!r}") from None
    if not (math.isfinite(low) and math.isfinite(high) and low <= high):
        raise UsageError(f"{name} must be finite with low <= high, got {value!r}")
    return (low, high)


def optional(check, name: str, value: Any, *args: Any, **kwargs: Any) -> Any:
    """``None`` if ``value`` is None, else ``check(name, value, ...)``."""
    return None if value is None else check(name, value, *args, **kwargs)


def check_fps(fps: object, max_fps: float, suffix: str) -> float:
    """Return ``fps`` as a float if it is a frame rate a format that plays at most ``max_fps`` can take.

    Raises
    ------
    UsageError
        If ``fps`` is not a positive finite number, or is above ``max_fps`` (the message names ``suffix``).
    """
    if isinstance(fps, bool) or not isinstance(fps, numbers.Real) or not (fps > 0) or not math.isfinite(fps):
        raise UsageError(f"fps must be a positive number, got {fps!r}")
    if fps > max_fps:
        raise UsageError(f"{suffix} plays at most {max_fps:g} fps, got {fps:g}; lower --fps or use another format")
    return float(fps)

