"""Encoders turn a stream of RGB frames into a file; they never see a figure.

An encoder is chosen by the output file's suffix. Encoders are listed here as plain data (suffix,
module, class) and imported only when used, so a missing backend only matters to those who use it.
``register_encoder`` adds a format of your own; ``writing`` (in ``encoders.writing``) is the one loop
every animation (a render, a race, a grid) is written through.
"""

from __future__ import annotations

import contextlib
import importlib
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterator, Sequence

from .._checks import check_fps
from .._exceptions import UsageError

if TYPE_CHECKING:  # pragma: no cover
    from ._base import Encoder

__all__ = ["ENCODERS", "Encoder", "FrameWriter", "check_fps", "encoder_for", "formats", "register_encoder", "writing"]

#: Output suffix -> (module, class) of the encoder that writes it (read it; add with ``register_encoder``).
ENCODERS: dict[str, tuple[str, str]] = {
    ".gif": (".gif", "GifEncoder"),
    ".mp4": (".mp4", "Mp4Encoder"),
    ".webp": (".webp", "WebpEncoder"),
    ".webm": (".webm", "WebmEncoder"),
    ".html": (".html", "HtmlEncoder"),
    ".tex": (".beamer", "BeamerEncoder"),
}


def register_encoder(encoder: "type[Encoder] | str", suffixes: "Sequence[str] | None" = None) -> Any:
    """Make ``encoder`` write the files whose suffix is one of ``suffixes``.

    Parameters
    ----------
    encoder:
        An ``Encoder`` subclass, or ``"package.module:ClassName"`` to import it only when a file of
        its format is written (a backend that is slow to import or may be missing).
    suffixes:
        The suffixes it writes, e.g. ``[".webm"]``; by default the class's own ``suffix`` (a class
        given by name must list them). Registering a suffix again replaces its encoder.

    Returns
    -------
    type or str
        ``encoder``, so that this can decorate a class.

    Raises
    ------
    UsageError
        If a suffix does not start with a dot, or none is known.
    """
    if isinstance(encoder, str):
        module, _, name = encoder.partition(":")
        if not (module and name):
            raise UsageError(f'an encoder given by name is "package.module:ClassName", got {encoder!r}')
    else:
        module, name = encoder.__module__, encoder.__qualname__
        suffixes = (encoder.suffix,) if suffixes is None else suffixes
    if suffixes is None or isinstance(suffixes, str) or not list(suffixes):
        raise UsageError(f"register_encoder needs the suffixes {encoder!r} writes, e.g. ['.webm']")
    for suffix in suffixes:
        if not isinstance(suffix, str) or not suffix.startswith(".") or len(suffix) < 2:
            raise UsageError(f"a suffix starts with a dot, e.g. '.webm'; got {suffix!r}")
    for suffix in suffixes:
        ENCODERS[suffix.lower()] = (module, name)
    return encoder


def __getattr__(name: str) -> Any:
    # The base class pulls in numpy: imported on first use, so the command line's choices of
    # formats (read from ENCODERS) cost nothing at start-up.
    if name == "Encoder":
        from ._base import Encoder

        return Encoder
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def formats() -> list[str]:
    """The format names that can be written, from the registry: ``["gif", "mp4", ...]``."""
    return [suffix.lstrip(".") for suffix in ENCODERS]


def encoder_for(path: "str | Path") -> "type[Encoder]":
    """Return the encoder class for ``path``'s suffix.

    Raises
    ------
    UsageError
        If no encoder writes that suffix.
    """
    suffix = Path(path).suffix.lower()
    try:
        module_name, class_name = ENCODERS[suffix]
    except KeyError:
        known = ", ".join(ENCODERS)
        shown = f"suffix {suffix!r}" if suffix else "no suffix"
        raise UsageError(f"cannot write {str(path)!r}: {shown} is not a known format; use one of {known}") from None
    # Built-in encoders are named relative to this package; registered ones by their full module name.
    return getattr(importlib.import_module(module_name, __name__), class_name)


class FrameWriter:
    """The frames side of ``writing``: hands frames to the encoder in order and reports progress."""

    def __init__(self, encoder: "Encoder", progress: "Callable[[int], None] | None") -> None:
        self.encoder = encoder
        self._progress = progress

    def preparer(self) -> "Callable[[Any], Any]":
        """The encoder's picklable frame -> payload step (worker processes may run it)."""
        return self.encoder.preparer()

    def write(self, frame: Any, repeat: int = 1) -> None:
        """Append ``frame`` (an RGB or RGBA uint8 array), shown for ``repeat`` frame intervals."""
        self.write_prepared(self.encoder.preparer()(frame), repeat)

    def write_prepared(self, payload: Any, repeat: int = 1) -> None:
        """Append a frame already passed through ``preparer()``."""
        self.encoder.write_prepared(payload, repeat)
        if self._progress is not None:
            self._progress(1)


@contextlib.contextmanager
def writing(
    path: "str | os.PathLike[str]",
    *,
    size: tuple[int, int],
    fps: float,
    loop: int = 0,
    samples: Sequence[Any] = (),
    progress: "Callable[[int], None] | None" = None,
    encoder: "type[Encoder] | None" = None,
    options: "dict[str, Any] | None" = None,
) -> Iterator[FrameWriter]:
    """Write an animation to ``path``: the one loop behind every render, race and grid.

    Opens the encoder for ``path``'s suffix on a temporary file next to it, yields a ``FrameWriter``
    to append frames to, and when the block ends finishes the file and moves it into place. If the
    block raises, the encoder is aborted and the temporary file removed: ``path`` is never half
    written.

    Parameters
    ----------
    path:
        The output file; its suffix chooses the encoder (unless ``encoder`` is given).
    size:
        ``(width, height)`` of every frame.
    fps, loop:
        Frames per second and, for formats that loop, times played (0: forever).
    samples:
        A few representative frames for encoders that plan ahead (``Encoder.needs_samples``).
    progress:
        Called with 1 after each frame is written.
    encoder:
        The encoder class, if already looked up.
    options:
        Keywords the encoder takes beyond these (``Encoder.options_from(settings)``: ``quality``, ...).

    Raises
    ------
    UsageError
        If the suffix is not a known format or ``fps`` is too high for it.
    OutputError
        If the file cannot be written (``EncoderError`` if the encoder fails).
    """
    from .._atomic import atomic_output

    encoder_class = encoder_for(path) if encoder is None else encoder
    with atomic_output(path) as tmp:
        with encoder_class(tmp, size=size, fps=fps, loop=loop, samples=samples, **(options or {})) as opened:
            yield FrameWriter(opened, progress)
