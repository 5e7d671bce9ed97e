"""``render``: a trace in, an animation file out (plus, on request, a still and a filmstrip)."""

from __future__ import annotations

import base64
import functools
import os
from pathlib import Path
from typing import Callable

import numpy as np

from ._atomic import atomic_output, check_output_path
from ._exceptions import UsageError
from ._timing import pick_frames, plan_timing
from .encoders import encoder_for
from .encoders._base import check_fps
from .scenes import scene_from_trace
from .style import Theme
from .trace import Trace

__all__ = ["Animation", "STILL_SUFFIXES", "check_extra_output", "render"]

STILL_SUFFIXES = (".png", ".svg", ".pdf")


class Animation(type(Path())):  # type: ignore[misc]
    """The path of a rendered animation; shows itself inline in a Jupyter notebook."""

    def _repr_html_(self) -> str:
        data = base64.b64encode(self.read_bytes()).decode("ascii")
        if self.suffix.lower() == ".mp4":
            return f'<video controls autoplay loop muted playsinline src="data:video/mp4;base64,{data}"></video>'
        return f'<img src="data:image/gif;base64,{data}" alt="{self.name}"/>'


def render(
    trace: Trace,
    path: "str | os.PathLike[str]",
    *,
    fps: "float | None" = 10,
    duration: "float | None" = None,
    hold: float = 0.0,
    hold_first: float = 0.0,
    loop: int = 0,
    theme: "str | Theme" = "light",
    size: "tuple[int, int] | None" = None,
    dpi: "float | None" = None,
    loss_panel: bool = False,
    log_loss: bool = False,
    loss_range: "tuple[float, float] | None" = None,
    max_frames: "int | None" = None,
    spacing: str = "uniform",
    still: "str | os.PathLike[str] | None" = None,
    filmstrip: "str | os.PathLike[str] | None" = None,
    filmstrip_frames: int = 5,
    jobs: "int | None" = None,
    progress: "Callable[[int], None] | None" = None,
) -> Animation:
    """Render the captures of ``trace`` as an animation at ``path``, one frame per capture.

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
        Frames per second (ignored if ``duration`` is given).
    duration:
        Fit the whole animation, holds included, into this many seconds.
    hold:
        Seconds to hold the last frame.
    hold_first:
        Seconds to hold the first frame.
    loop:
        Times a GIF plays; 0 (default) loops forever. MP4 does not loop by itself.
    theme:
        ``"light"`` (the blog's look), ``"dark"``, ``"slides"`` (16:9, large type) or a ``Theme``.
    size:
        Frame size ``(width, height)`` in pixels; the theme's default if None.
    dpi:
        Resolution that font sizes and line widths scale with; if None, the theme's, scaled with
        ``size`` so that a smaller frame is the same picture, smaller.
    loss_panel:
        Draw the loss curve so far beside the plot.
    log_loss:
        Draw the loss panel on a log scale. Alone it draws no panel (the command line's
        ``--log-loss`` turns the panel on too).
    loss_range:
        Loss values the panel's axis must include besides the trace's own, e.g. the range of
        several runs shown side by side.
    max_frames:
        Draw at most this many captures, the first and the last among them (only the last if 1);
        all if None.
    spacing:
        How ``max_frames`` picks them: ``"uniform"`` (evenly) or ``"log"`` (dense early).
    still:
        Also save the final frame here (``.png``, ``.svg`` or ``.pdf``).
    filmstrip:
        Also save ``filmstrip_frames`` key frames side by side here, as one PNG.
    filmstrip_frames:
        The number of key frames in the filmstrip (1 to 50).
    jobs:
        Processes drawing frames: None (default) uses every core for long animations and one
        process for short ones; the pixels are the same either way.
    progress:
        Called with the number of frames just written, for a progress bar.

    Returns
    -------
    Animation
        ``path`` as a ``pathlib.Path`` that displays inline in Jupyter.

    Raises
    ------
    UsageError
        If an option is out of range or a suffix is not a known format.
    EmptyTraceError
        If the trace holds no captures.
    OutputError
        If a file cannot be written (``EncoderError`` if the encoder fails).
    """
    from ._pipeline import auto_jobs, check_jobs, prepared_frames
    from .frames import FrameRenderer

    encoder_class = encoder_for(path)
    trace.require_frames()
    chosen = pick_frames(len(trace), max_frames, spacing)
    timing = plan_timing(len(chosen), fps=None if duration is not None else fps, duration=duration, hold=hold, hold_first=hold_first)
    check_fps(timing.fps, encoder_class.max_fps, encoder_class.suffix)
    jobs = check_jobs(jobs)
    path = check_output_path(path)
    still_path = check_extra_output("still", still, STILL_SUFFIXES)
    filmstrip_path = check_extra_output("filmstrip", filmstrip, (".png",))
    if isinstance(filmstrip_frames, bool) or not isinstance(filmstrip_frames, int) or not 1 <= filmstrip_frames <= 50:
        raise UsageError(f"filmstrip_frames must be an integer from 1 to 50, got {filmstrip_frames!r}")
    if len(chosen) != len(trace):
        trace = trace.select(chosen)

    make_renderer = functools.partial(
        FrameRenderer, trace, theme=theme, size=size, dpi=dpi, loss_panel=loss_panel, log_loss=log_loss,
        loss_range=loss_range,
    )
    renderer = make_renderer()  # validates the options and gives the size before any work is spread
    n = len(trace)
    try:
        samples = [renderer.render_rgba(i) for i in sorted({0, n // 2, n - 1})] if encoder_class.needs_samples else []
        if still_path is not None:
            with atomic_output(still_path) as tmp:
                renderer.save_still(n - 1, tmp)
        if filmstrip_path is not None:
            _save_filmstrip(renderer, filmstrip_path, filmstrip_frames)
        jobs = auto_jobs(n, encoder_class.external_cores) if jobs is None else jobs
        scene_module = type(scene_from_trace(trace)).__module__
        if scene_module == "__main__":  # a scene defined in a script cannot be imported by a worker
            jobs = 1
        with atomic_output(path) as tmp:
            encoder = encoder_class(tmp, size=renderer.size, fps=timing.fps, loop=loop, samples=samples)
            with encoder:
                frames = prepared_frames(
                    make_renderer, range(n), encoder.preparer(), jobs, modules=[scene_module], renderer=renderer
                )
                for index, payload in enumerate(frames):
                    repeat = 1 + (timing.hold_first if index == 0 else 0) + (timing.hold_last if index == n - 1 else 0)
                    encoder.write_prepared(payload, repeat)
                    if progress is not None:
                        progress(1)
    finally:
        renderer.close()
    return Animation(path)


def check_extra_output(name: str, path, suffixes: tuple[str, ...]) -> "Path | None":
    """Validate an optional extra output (still, filmstrip, trace): its suffix and its folder."""
    if path is None:
        return None
    if Path(path).suffix.lower() not in suffixes:
        raise UsageError(f"{name} must end in {', '.join(suffixes)}, got {str(path)!r}")
    return check_output_path(path)


def _save_filmstrip(renderer, path: Path, count: int) -> None:
    """Save ``count`` evenly spread frames side by side, 8 px of background apart, as one PNG."""
    from PIL import Image

    indices = pick_frames(len(renderer), count)
    frames = [renderer.render_rgba(int(i))[:, :, :3] for i in indices]
    gap = np.broadcast_to(frames[0][:1, :1], (frames[0].shape[0], 8, 3))
    strip = np.concatenate([part for frame in frames for part in (frame, gap)][:-1], axis=1)
    with atomic_output(path) as tmp:
        Image.fromarray(strip).save(tmp, format="PNG", optimize=True)
