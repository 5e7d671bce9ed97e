"""``render``: a trace in, an animation file out."""

from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import Callable

from ._atomic import atomic_output, check_output_path
from .encoders import encoder_for
from .encoders._base import check_fps
from .style import Theme
from .scenes import scene_from_trace
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
    jobs: "int | None" = None,
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
    jobs:
        Processes drawing frames: None (default) uses every core for long animations and one
        process for short ones; the pixels are the same either way.
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
    from ._pipeline import auto_jobs, check_jobs, prepared_frames
    from .frames import FrameRenderer

    encoder_class = encoder_for(path)
    check_fps(fps, encoder_class.max_fps, encoder_class.suffix)
    jobs = check_jobs(jobs)
    trace.require_frames()
    path = check_output_path(path)
    make_renderer = functools.partial(FrameRenderer, trace, theme=theme, size=size, dpi=dpi)
    renderer = make_renderer()  # validates the options and gives the size before any work is spread
    n = len(trace)
    try:
        samples = [renderer.render_rgba(i) for i in sorted({0, n // 2, n - 1})] if encoder_class.needs_samples else []
    finally:
        renderer.close()
    jobs = auto_jobs(n) if jobs is None else jobs
    scene_module = type(scene_from_trace(trace)).__module__
    if scene_module == "__main__":  # a scene defined in a script cannot be imported by a worker
        jobs = 1
    with atomic_output(path) as tmp:
        with encoder_class(tmp, size=renderer.size, fps=fps, loop=loop, samples=samples) as encoder:
            frames = prepared_frames(make_renderer, range(n), encoder.preparer(), jobs, modules=[scene_module])
            for payload in frames:
                encoder.write_prepared(payload)
                if progress is not None:
                    progress(1)
    return path
