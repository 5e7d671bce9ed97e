"""The ``Encoder`` base class: open, write frames, close; always closed, even on error."""

from __future__ import annotations

from pathlib import Path
from typing import Callable, ClassVar, Sequence

import numpy as np

from .._checks import integer
from .._checks import check_fps

__all__ = ["Encoder"]


class Encoder:
    """Writes frames, ``(height, width, 3)`` RGB or ``(height, width, 4)`` RGBA uint8 arrays, to one file.

    Writing a frame is two steps: ``preparer()(frame)`` (pure, picklable, so worker processes can run
    it, e.g. palette mapping) and ``write_prepared(payload)`` (in order, in this process). ``write``
    does both.

    Use it as a context manager: leaving the block normally finishes the file, leaving it by an
    exception aborts it (the caller removes the partial file). The caller writes to a temporary
    path and renames it into place; an encoder only writes where it is told.

    Parameters
    ----------
    path:
        The file to write.
    size:
        Frame size ``(width, height)`` in pixels.
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
    #: Cores the encoder keeps busy in a process of its own, left free when drawing in parallel.
    external_cores: ClassVar[int] = 0
    #: Whether the encoder takes a ``quality`` keyword (1-100, lossy; None: its lossless default).
    takes_quality: ClassVar[bool] = False
    #: True if ``write_prepared`` takes a function that saves the frame to a path (``.pdf``/``.png``)
    #: instead of pixels: vector frames, drawn by the figure in the rendering process.
    draws_pages: bool = False

    @classmethod
    def options_from(cls, settings) -> dict:
        """The keywords this encoder takes from a ``RenderSettings`` (``quality``, say); none by default."""
        return {}

    @classmethod
    def companion_paths(cls, path) -> "list[Path]":
        """Paths written beside ``path`` along with it (beamer: its frames folder); none by default.

        A batch sweeps the temporaries that killed runs left for these as for ``path`` itself.
        """
        return []

    @classmethod
    def check_available(cls) -> None:
        """Raise ``EncoderError`` (saying how to fix it) if this encoder's backend cannot run here.

        Called before any training or drawing, so a missing backend fails at once. The base class
        needs nothing.
        """

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
        self.loop = integer("loop", loop, low=0)
        self.frames_written = 0

    def describe_frames(self, frames: "Sequence[dict]") -> None:
        """Learn what each frame shows before it is written, for formats that display it (HTML).

        ``frames`` holds one dict per frame to be written, in order: ``{"iteration": int,
        "loss": float or None}`` for one run, ``{"iteration": int, "losses": {label: float or
        None}}`` for a race. The renderer calls it once, before the first frame; other encoders
        ignore it.
        """

    def write(self, frame: np.ndarray, repeat: int = 1) -> None:
        """Append ``frame``, shown for ``repeat`` frame intervals (1/fps seconds each)."""
        self.write_prepared(self.preparer()(frame), repeat)

    def preparer(self) -> "Callable[[np.ndarray], object]":
        """A picklable function from a frame to what ``write_prepared`` takes (identity by default)."""
        return _identity

    def write_prepared(self, payload: object, repeat: int = 1) -> None:
        """Append a frame already passed through ``preparer()``."""
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


def _identity(frame: np.ndarray) -> np.ndarray:
    return frame
