"""The ``Encoder`` base class: open, write frames, close; always closed, even on error."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar, Sequence

import numpy as np

from .._exceptions import UsageError

__all__ = ["Encoder"]


class Encoder:
    """Writes RGB frames to one file.

    Use it as a context manager: leaving the block normally finishes the file, leaving it by an
    exception aborts it (the caller removes the partial file). The caller writes to a temporary
    path and renames it into place; an encoder only writes where it is told.

    Parameters
    ----------
    path:
        The file to write.
    size:
        Frame size ``(width, height)`` in pixels; every frame must be ``(height, width, 3)`` uint8.
    fps:
        Frames per second (a positive number).
    loop:
        How many times the animation plays: 0 means forever. Formats without looping ignore it.
    samples:
        A few representative frames (first, middle, last) for encoders that plan ahead, such as a
        GIF's shared palette.

    Raises
    ------
    UsageError
        If fps or loop is out of range for this format.
    EncoderError
        If the backend is missing or fails.
    """

    suffix: ClassVar[str]
    #: Highest frame rate the format plays correctly.
    max_fps: ClassVar[float] = 240.0
    #: Whether the encoder uses ``samples`` (the renderer skips drawing them otherwise).
    needs_samples: ClassVar[bool] = False

    def __init__(
        self,
        path: "str | Path",
        *,
        size: tuple[int, int],
        fps: float,
        loop: int = 0,
        samples: Sequence[np.ndarray] = (),
    ) -> None:
        self.path = Path(path)
        self.size = size
        self.fps = check_fps(fps, type(self).max_fps, self.suffix)
        if isinstance(loop, bool) or not isinstance(loop, (int, np.integer)) or loop < 0:
            raise UsageError(f"loop must be 0 (forever) or a positive count, got {loop!r}")
        self.loop = int(loop)
        self.frames_written = 0

    def write(self, frame: np.ndarray, repeat: int = 1) -> None:
        """Append ``frame``, shown for ``repeat`` frame intervals (1/fps seconds each)."""
        raise NotImplementedError

    def close(self) -> None:
        """Finish the file."""
        raise NotImplementedError

    def abort(self) -> None:
        """Stop after an error; the file may be incomplete."""
        raise NotImplementedError

    def __enter__(self) -> "Encoder":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()


def check_fps(fps: object, max_fps: float, suffix: str) -> float:
    """Validate a frame rate for a format that plays at most ``max_fps``."""
    if isinstance(fps, bool) or not isinstance(fps, (int, float, np.number)) or not (fps > 0) or not np.isfinite(fps):
        raise UsageError(f"fps must be a positive number, got {fps!r}")
    if fps > max_fps:
        raise UsageError(f"{suffix} plays at most {max_fps:g} fps, got {fps:g}; lower --fps or use another format")
    return float(fps)
