"""``render``: a trace in, an animation file out."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable

from ._atomic import atomic_output, check_output_path
from .encoders import encoder_for
from .encoders._base import check_fps
from .style import Theme
from .trace import Trace

__all__ = ["render"]


def render(
    trace: Trace,
    path: "str | os.PathLike[str]",
    *,
    fps: float = 10,
    loop: int = 0,
    theme: "str | Theme" = "light",
    size: "tuple[int, int] | None" = None,
    dpi: "int | None" = None,
    progress: "Callable[[int], None] | None" = None,
) -> Path:
    """Render every capture of ``trace`` as one frame of an animation at ``path``.

    The format follows the suffix (``.gif``, ``.mp4``). Frames are streamed to the encoder as they
    are drawn, into a temporary file that replaces ``path`` only when complete; an existing file at
    ``path`` is overwritten.

    Parameters
    ----------
    trace:
        The captures to draw (``Recorder.trace`` or ``Trace.load(...)``).
    path:
        Output file; its folder must exist.
    fps:
        Frames per second.
    loop:
        Times the animation plays; 0 (default) loops forever. Only GIF loops.
    theme:
        A theme name (``"light"``) or a ``Theme``.
    size:
        Frame size ``(width, height)`` in pixels; the theme's default (640x480) if None.
    dpi:
        Resolution that font sizes and line widths scale with; the theme's default if None.
    progress:
        Called with the number of frames just written, for a progress bar.

    Returns
    -------
    Path
        ``path``.

    Raises
    ------
    UsageError
        If an option is out of range or the suffix is not a known format.
    EmptyTraceError
        If the trace holds no captures.
    OutputError
        If the file cannot be written (``EncoderError`` if the encoder fails).
    """
    from .frames import FrameRenderer

    encoder_class = encoder_for(path)
    check_fps(fps, encoder_class.max_fps, encoder_class.suffix)
    trace.require_frames()
    path = check_output_path(path)
    renderer = FrameRenderer(trace, theme=theme, size=size, dpi=dpi)
    try:
        n = len(trace)
        samples = [renderer.render(i) for i in sorted({0, n // 2, n - 1})] if encoder_class.needs_samples else []
        with atomic_output(path) as tmp:
            with encoder_class(tmp, size=renderer.size, fps=fps, loop=loop, samples=samples) as encoder:
                for index in range(n):
                    encoder.write(renderer.render(index))
                    if progress is not None:
                        progress(1)
    finally:
        renderer.close()
    return path
