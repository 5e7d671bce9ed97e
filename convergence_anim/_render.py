"""``render``: a trace in, an animation file out (plus, on request, a still and a filmstrip)."""

from __future__ import annotations

import base64
import functools
import math
import os
import sys
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Sequence

import numpy as np

from ._atomic import atomic_output
from ._exceptions import UsageError
from ._timing import frame_budget_note, pick_frames, plan_render
from .scenes import scene_from_trace
from .settings import RenderSettings
from .trace import Trace

if TYPE_CHECKING:  # pragma: no cover
    from .scenes import Scene

__all__ = ["Animation", "render"]

#: A filmstrip wraps into rows of at most this many frames, so that it reads on a page.
FILMSTRIP_COLUMNS = 4


class Animation(type(Path())):  # type: ignore[misc]
    """The path of a rendered animation; shows itself inline in a Jupyter notebook."""

    def _repr_html_(self) -> str:
        import html

        suffix = self.suffix.lower()
        if suffix == ".tex":  # a beamer snippet: its text, to paste into slides
            return f"<pre>{html.escape(self.read_text(encoding='utf-8'))}</pre>"
        if suffix == ".html":
            # The player is a page of its own: a frame keeps its script and ids apart from the notebook's.
            text = self.read_text(encoding="utf-8")
            width, height = _player_size(text)
            return (f'<iframe srcdoc="{html.escape(text, quote=True)}" sandbox="allow-scripts" '
                    f'style="border:0;width:{width + 20}px;max-width:100%;height:{height + 80}px" '
                    f'title="{html.escape(self.name)}"></iframe>')
        data = base64.b64encode(self.read_bytes()).decode("ascii")
        if suffix in (".mp4", ".webm"):
            return (f'<video controls autoplay loop muted playsinline src="data:video/{suffix[1:]};base64,{data}">'
                    f'</video>')
        return f'<img src="data:image/{suffix[1:]};base64,{data}" alt="{self.name}"/>'


def _player_size(page: str) -> tuple[int, int]:
    """The video size an HTML player page declares (640x480 if it cannot be read)."""
    import re

    found = re.search(r'<video id="ca-video"[^>]*?width="(\d+)" height="(\d+)"', page[:5000])
    return (int(found.group(1)), int(found.group(2))) if found else (640, 480)


def render(
    trace: "Trace | Sequence[Trace]",
    path: "str | os.PathLike[str]",
    settings: "RenderSettings | None" = None,
    *,
    scene: "Scene | None" = None,
    progress: "Callable[[int], None] | None" = None,
    labels: "Sequence[str] | None" = None,
    **options: Any,
) -> Animation:
    """Render the captures of ``trace`` as an animation at ``path``, one frame per capture.

    Given a list of traces, render a race: runs of the same scene on the same data in one frame,
    each in its own colour with a key above the plots (see ``convergence_anim.race``); frames follow the steps of
    all runs together, and a run that stopped earlier holds its last state, marked as finished.
    With ``ensemble=True`` the list is drawn as an ensemble instead (runs of one setting, such as
    seeds: each thin and translucent in one colour, the loss panel's median and 10-90% band; see
    ``convergence_anim.ensemble``).

    The format follows the suffix (``.gif``, ``.mp4``, ``.webp``, ``.webm``, ``.html``, ``.tex``; see
    the docs' formats page). Frames are streamed to the encoder as they
    are drawn, into a temporary file that replaces ``path`` only when complete; an existing file at
    ``path`` is overwritten.

    Parameters
    ----------
    trace:
        The captures to draw (``Recorder.trace``, the ``Recorder`` itself, or ``Trace.load(...)``), or a
        list of them to race.
    path:
        Output file; missing folders are created (and removed again if the render fails).
    settings:
        A ``RenderSettings``; the keyword ``options`` replace its fields.
    scene:
        The scene that draws the frames; by default the one the trace names (its registered
        ``Scene`` class, rebuilt from the trace's data).
    progress:
        Called with the number of frames just written, for a progress bar.
    labels:
        For a race, the name of each run in the key; by default its optimizer and learning rate.
    **options:
        Any field of ``RenderSettings``: ``fps``, ``duration``, ``hold``, ``hold_first``, ``loop``,
        ``theme``, ``size``, ``dpi``, ``loss_panel``, ``log_loss``, ``landscape``, ``loss_range``, ``max_frames``,
        ``spacing``, ``still``, ``filmstrip``, ``filmstrip_frames``, ``jobs``, ``quality``, ``frames_format``,
        ``panels``, ``neurons``, ``ensemble``.

    Returns
    -------
    Animation
        ``path`` as a ``pathlib.Path`` that displays inline in Jupyter.

    Warns
    -----
    UserWarning
        When the default ``max_frames`` (300) leaves captures out: one line, starting ``"render is
        drawing"``, that says how to keep them all.

    Raises
    ------
    UsageError
        If an option is unknown or out of range (``fps`` and ``duration`` together, say), a
        suffix is not a known format, or the runs of a race differ in scene or data.
    TraceError
        If the trace names a scene that is not known (``EmptyTraceError`` if it holds no captures),
        or ``landscape`` is asked of a model trace that recorded none.
    OutputError
        If a file cannot be written (``EncoderError`` if the encoder cannot run or fails).
    """
    from ._pipeline import prepared_frames
    from ._processes import auto_jobs, why_not_sendable
    from .encoders import writing
    from .frames import FrameRenderer
    from .panels import panel_module
    from .panels.neurons import settings_for as neuron_settings

    settings = RenderSettings.build(settings, **options)
    settings.check_output(path)  # a bad path or format fails before the traces are looked at
    trace = [_as_trace(t) for t in trace] if isinstance(trace, (list, tuple)) else _as_trace(trace)
    settings = neuron_settings(settings, trace)  # the neurons panel, on for a trace that recorded them
    if isinstance(trace, list):
        from .race import check_race, race_timeline

        labels = check_race(trace, labels, ensemble=settings.ensemble)
        scene = scene_from_trace(trace[0]) if scene is None else scene
        for run in trace:  # every run's values, before any figure (scene_from_trace checked the first)
            scene.check_trace(run)
        total = len(race_timeline(trace)[0])
        plan = plan_render(settings, path, total)
        frames = plan.frames
        note = frame_budget_note(total, settings, trace, "max_frames=None")
    else:
        if labels is not None:
            raise UsageError("labels name the runs of a race; pass a list of traces to render a race")
        if settings.ensemble:
            raise UsageError("an ensemble draws several runs; pass a list of traces")
        trace.require_frames()
        if scene is None:
            scene = scene_from_trace(trace)
        else:
            scene.check_trace(trace)
        plan = plan_render(settings, path, len(trace))
        note = frame_budget_note(len(trace), settings, [trace], "max_frames=None")
        # A single run draws only the chosen captures: its limits and loss panel are those of the frames shown.
        frames = None
        if len(plan.frames) != len(trace):
            trace = trace.select(plan.frames)
    if note is not None:
        warnings.warn(f"render is {note}", UserWarning, stacklevel=2)
    make_renderer = functools.partial(FrameRenderer, trace, plan.look, labels=labels, frames=frames, scene=scene)
    timing = plan.timing
    path = Path(path)
    renderer = make_renderer()  # gives the size before any work is spread
    n = len(renderer)
    try:
        encoder_class = plan.encoder
        samples = [renderer.render_rgba(i) for i in sorted({0, n // 2, n - 1})] if encoder_class.needs_samples else []
        if settings.still is not None:
            with atomic_output(settings.still) as tmp:
                renderer.save_still(n - 1, tmp)
        if settings.filmstrip is not None:
            _save_filmstrip(renderer, settings.filmstrip, settings.filmstrip_frames)
        jobs = auto_jobs(n, encoder_class.external_cores) if settings.jobs is None else settings.jobs
        # Workers import the scene's module (and any registered panel's) before they rebuild the renderer.
        modules = [type(scene).__module__, *filter(None, map(panel_module, plan.look.panels))]
        if jobs > 1 and len(range(n)) > 1:
            reason = why_not_sendable(scene)
            if reason is not None:  # say once why a long render is slower than it could be
                print(f"convergence_anim: drawing the frames in one process, as worker processes cannot import "
                      f"the scene ({reason}); define it at the top level of an importable module", file=sys.stderr)
                jobs = 1
        with writing(path, size=renderer.size, fps=timing.fps, loop=plan.loop, samples=samples, progress=progress,
                     encoder=encoder_class, options=encoder_class.options_from(settings)) as out:
            out.encoder.describe_frames(_frame_table(trace, plan.frames, labels))
            if out.encoder.draws_pages:  # vector frames: the figure saves itself, in this process
                payloads = (functools.partial(renderer.save_still, i) for i in range(n))
            else:
                payloads = prepared_frames(make_renderer, range(n), out.preparer(), jobs, modules=modules,
                                           renderer=renderer)
            for index, payload in enumerate(payloads):
                repeat = 1 + (timing.hold_first if index == 0 else 0) + (timing.hold_last if index == n - 1 else 0)
                out.write_prepared(payload, repeat)
    finally:
        renderer.close()
    return Animation(path)


def _frame_table(trace: "Trace | list[Trace]", chosen: np.ndarray, labels) -> list[dict]:
    """What each frame shows (iteration and loss, or each run's loss in a race), for ``describe_frames``."""
    def loss(value) -> "float | None":
        return float(value) if np.isfinite(value) else None

    if not isinstance(trace, list):  # already reduced to the chosen captures
        return [{"iteration": int(step), "loss": loss(value)} for step, value in zip(trace.steps, trace.losses)]
    from .race import race_timeline

    steps, indices, _ = race_timeline(trace)
    return [{"iteration": int(steps[f]), "losses": {label: loss(t.losses[i]) for label, t, i in zip(labels, trace, indices[f])}}
            for f in chosen]


def _as_trace(obj: Any) -> Trace:
    """``obj`` if it is a Trace, a Recorder's trace, else a UsageError saying what render takes."""
    from .recorder import Recorder

    if isinstance(obj, Recorder):
        return obj.trace
    if not isinstance(obj, Trace):
        raise UsageError(f"render takes a Trace (rec.trace), a Recorder, or a list of them for a race; "
                         f"got {type(obj).__name__}")
    return obj


def _save_filmstrip(renderer, path: Path, count: int) -> None:
    """Save ``count`` evenly spread frames in rows of at most ``FILMSTRIP_COLUMNS``, 8 px of background apart, as one PNG.

    The rows are as even as they can be (5 frames: 3 and 2), read left to right, top to bottom; a
    short last row is filled with background.
    """
    from PIL import Image

    indices = pick_frames(len(renderer), count)
    frames = [renderer.render_rgba(int(i))[:, :, :3] for i in indices]
    columns = math.ceil(len(frames) / math.ceil(len(frames) / FILMSTRIP_COLUMNS))
    height, width = frames[0].shape[:2]
    gap = 8
    background = frames[0][0, 0]
    rows = math.ceil(len(frames) / columns)
    sheet = np.empty((rows * height + (rows - 1) * gap, columns * width + (columns - 1) * gap, 3), dtype=np.uint8)
    sheet[:] = background
    for i, frame in enumerate(frames):
        top, left = (i // columns) * (height + gap), (i % columns) * (width + gap)
        sheet[top : top + height, left : left + width] = frame
    with atomic_output(path) as tmp:
        Image.fromarray(sheet).save(tmp, format="PNG", optimize=True)
