"""Draw the frames of a trace with matplotlib, fast: static parts once, changing artists per frame."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from ._exceptions import UsageError
from .scenes import scene_from_trace
from .style import Theme, get_theme

if TYPE_CHECKING:  # pragma: no cover
    from .trace import Trace

__all__ = ["FrameRenderer", "check_size"]


def check_size(size: "tuple[int, int] | None", dpi: "int | None", theme: Theme) -> tuple[tuple[int, int], int]:
    """Validate a (width, height) frame size in pixels and a dpi, filling in the theme's defaults."""
    size = theme.size if size is None else size
    dpi = theme.dpi if dpi is None else dpi
    try:
        width, height = (int(v) for v in size)
    except (TypeError, ValueError):
        raise UsageError(f"size must be (width, height) in pixels, got {size!r}") from None
    if not (16 <= width <= 8192 and 16 <= height <= 8192):
        raise UsageError(f"size must be between 16 and 8192 pixels on each side, got {width}x{height}")
    if isinstance(dpi, bool) or not isinstance(dpi, (int, float)) or not (10 <= dpi <= 1200):
        raise UsageError(f"dpi must be a number between 10 and 1200, got {dpi!r}")
    return (width, height), int(dpi)


class FrameRenderer:
    """Renders frame ``i`` of a trace as an ``(height, width, 3)`` uint8 RGB array.

    With ``blit=True`` (the default) the figure is drawn in full once, with the changing artists
    left out, and its pixels cached; each frame restores that background and draws only the changing
    artists on top. Everything drawn above a changing artist (higher zorder) changes too, so the
    frames are pixel-identical to a full ``canvas.draw()`` (``blit=False``), which the tests check.
    """

    def __init__(
        self,
        trace: "Trace",
        *,
        theme: "str | Theme" = "light",
        size: "tuple[int, int] | None" = None,
        dpi: "int | None" = None,
        blit: bool = True,
    ) -> None:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
        import matplotlib

        trace.require_frames()
        self.trace = trace
        self.theme = get_theme(theme)
        (width, height), dpi = check_size(size, dpi, self.theme)
        self._blit = blit
        self._valid = _finite_frames(trace)
        self._diverged_at = trace.diverged_at
        with matplotlib.rc_context(self.theme.rc):
            fig = Figure(figsize=(width / dpi, height / dpi), dpi=dpi)
            canvas = FigureCanvasAgg(fig)
            ax = fig.add_subplot()
            scene = scene_from_trace(trace)
            self._update_scene = scene.setup(ax, trace, self.theme)
            self._scene = scene
            self._label = ax.text(
                *scene.label_position,
                "",
                transform=ax.transAxes,
                fontdict={"size": self.theme.label_size, "color": self.theme.label_color},
                zorder=3,
            )
            ax.set_title(" \n ")
        self._fig, self._canvas, self._ax = fig, canvas, ax
        self._dynamic = None
        self._background = None
        # The buffer Agg renders into must have exactly the requested size.
        canvas.draw()
        w, h = canvas.get_width_height()
        if (w, h) != (width, height):  # pragma: no cover - rounding of odd figure sizes
            raise UsageError(f"cannot render a {width}x{height} frame at dpi {dpi}; try another dpi")
        self.size = (width, height)

    def __len__(self) -> int:
        return len(self.trace)

    def _set_frame(self, index: int) -> list:
        trace = self.trace
        shown = int(self._valid[index])
        diverged = shown != index
        artists = list(self._update_scene(shown, diverged))
        loss = trace.losses[index]
        if diverged:
            self._label.set_text(f"diverged at iteration {self._diverged_at}")
        elif math.isnan(loss):
            self._label.set_text("")
        else:
            self._label.set_text("Loss=%.4f" % loss)
        title = self._scene.title(trace, shown)
        if diverged:
            title = f"Iteration:{trace.steps[index]} (diverged)"
        self._ax.title.set_text(title)
        return artists + [self._label, self._ax.title]

    def _prepare_blit(self, artists: list) -> None:
        # Draw order must match a full draw: the axes sorts its children by zorder, stably.
        children = self._ax.get_children()
        order = {id(a): i for i, a in enumerate(children)}
        lowest = min(a.get_zorder() for a in artists)
        dynamic = {id(a): a for a in artists}
        for child in children:
            if child.get_zorder() > lowest and child is not self._ax.patch:
                dynamic.setdefault(id(child), child)
        self._dynamic = sorted(dynamic.values(), key=lambda a: (a.get_zorder(), order.get(id(a), 0)))
        for artist in self._dynamic:
            artist.set_animated(True)
        self._canvas.draw()
        self._background = self._canvas.copy_from_bbox(self._fig.bbox)

    def render(self, index: int) -> np.ndarray:
        """Return frame ``index`` as a new ``(height, width, 3)`` uint8 RGB array."""
        return self.render_rgba(index)[:, :, :3].copy()

    def render_rgba(self, index: int) -> np.ndarray:
        """Return frame ``index`` as a new ``(height, width, 4)`` uint8 RGBA array.

        This is Agg's own buffer copied whole, the cheapest form: dropping the alpha channel is a
        strided copy that costs more than the copy itself, and the encoders take RGBA directly.
        """
        artists = self._set_frame(index)
        if not self._blit:
            self._canvas.draw()
        else:
            if self._dynamic is None:
                self._prepare_blit(artists)
            self._canvas.restore_region(self._background)
            for artist in self._dynamic:
                self._fig.draw_artist(artist)
        return np.array(self._canvas.buffer_rgba(), copy=True)

    def close(self) -> None:
        """Release the figure."""
        self._fig.clear()


def _finite_frames(trace: "Trace") -> np.ndarray:
    """For each frame, the index of the frame whose state to draw: itself, or the last finite one."""
    n = len(trace)
    ok = np.ones(n, dtype=bool)
    for value in trace.state.values():
        if value.dtype.kind == "f":
            ok &= np.isfinite(value.reshape(n, -1)).all(axis=1)
    first_bad = trace.diverged_at
    if first_bad is not None:
        ok &= trace.steps < first_bad
    shown = np.where(ok, np.arange(n), -1)
    shown = np.maximum.accumulate(shown)
    # Frames before any finite state (diverged from the start) draw frame 0's state as it is.
    return np.where(shown < 0, np.arange(n), shown)
