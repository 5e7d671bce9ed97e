"""Draw the frames of a trace with matplotlib, fast: static parts once, changing artists per frame."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from ._exceptions import UsageError
from .scenes import scene_from_trace
from .scenes._base import format_number
from .style import Theme, get_theme

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.artist import Artist
    from matplotlib.figure import Figure

    from .scenes import Scene
    from .trace import Trace

__all__ = ["Blitter", "FrameRenderer", "check_size", "default_size", "shown_frames"]

#: Width of the frame grows by this factor when a loss panel sits beside the main plot.
LOSS_PANEL_WIDTH = 1.6


def default_size(theme: Theme, loss_panel: bool) -> tuple[int, int]:
    """The frame size used when none is given: the theme's, widened for a loss panel."""
    width, height = theme.size
    if loss_panel:
        width = 2 * round(width * LOSS_PANEL_WIDTH / 2)
    return (width, height)


def check_size(size: "tuple[int, int] | None", dpi: "float | None", theme: Theme, loss_panel: bool = False) -> tuple[tuple[int, int], float]:
    """Validate a (width, height) frame size in pixels and a dpi, filling in the theme's defaults.

    Raises
    ------
    UsageError
        If the size is not two integers between 16 and 8192 or the dpi is not between 10 and 1200.
    """
    base = default_size(theme, loss_panel)
    size = base if size is None else size
    try:
        width, height = size
        if any(isinstance(v, bool) or int(v) != v for v in (width, height)):
            raise ValueError
        width, height = int(width), int(height)
    except (TypeError, ValueError):
        raise UsageError(f"size must be (width, height) in whole pixels, got {size!r}") from None
    if not (16 <= width <= 8192 and 16 <= height <= 8192):
        raise UsageError(f"size must be between 16 and 8192 pixels on each side, got {width}x{height}")
    if dpi is None:
        # Another size is the same picture scaled: fonts and lines shrink or grow with the frame, so a
        # small GIF is not all labels (pass dpi to keep text at its usual size instead).
        dpi = min(1200.0, max(10.0, theme.dpi * min(width / base[0], height / base[1])))
    if isinstance(dpi, bool) or not isinstance(dpi, (int, float)) or not (10 <= dpi <= 1200):
        raise UsageError(f"dpi must be a number between 10 and 1200, got {dpi!r}")
    return (width, height), float(dpi)


class Blitter:
    """Draws a figure's frames: the static parts once, then per frame only what changes.

    With ``blit=True`` the figure is drawn in full once, with the changing artists left out, and its
    pixels cached; each frame restores that background and draws only the changing artists on top.
    Everything an axes draws above a changing artist (higher zorder) changes too, and artists are
    drawn in the order a full draw would use (axes in figure order, each sorting its children by
    zorder, stably; figure-level artists last), so frames are pixel-identical to a full
    ``canvas.draw()`` (``blit=False``).
    """

    def __init__(self, fig: "Figure", blit: bool = True) -> None:
        self._fig = fig
        self._canvas = fig.canvas
        self._blit = blit
        self._dynamic: "list[Artist] | None" = None
        self._background = None

    def _prepare(self, artists: "list[Artist]") -> None:
        changing = {id(a) for a in artists}
        dynamic: "list[Artist]" = []
        for ax in self._fig.axes:
            children = ax.get_children()
            mine = [a for a in children if id(a) in changing]
            if not mine:
                continue
            lowest = min(a.get_zorder() for a in mine)
            chosen = [a for a in children if id(a) in changing or (a.get_zorder() > lowest and a is not ax.patch)]
            order = {id(a): i for i, a in enumerate(children)}
            dynamic += sorted(chosen, key=lambda a: (a.get_zorder(), order[id(a)]))
        placed = {id(a) for a in dynamic}
        dynamic += [a for a in artists if id(a) not in placed]  # figure-level text, drawn after the axes
        for artist in dynamic:
            artist.set_animated(True)
        self._dynamic = dynamic
        self.refresh()

    def refresh(self) -> None:
        """Redraw and cache the static background (after anything that redrew the canvas)."""
        if self._dynamic is not None:
            self._canvas.draw()
            self._background = self._canvas.copy_from_bbox(self._fig.bbox)

    def draw(self, artists: "list[Artist]") -> np.ndarray:
        """Draw the frame whose changing artists are ``artists``; return a new RGBA array of it."""
        if not self._blit:
            self._canvas.draw()
        else:
            if self._dynamic is None:
                self._prepare(artists)
            self._canvas.restore_region(self._background)
            for artist in self._dynamic:
                self._fig.draw_artist(artist)
        return np.array(self._canvas.buffer_rgba(), copy=True)

    def animated(self) -> "list[Artist]":
        """The artists drawn per frame (empty before the first frame)."""
        return list(self._dynamic or [])


class FrameRenderer:
    """Renders frame ``i`` of a trace as an image array.

    Parameters
    ----------
    trace:
        The captures to draw.
    theme:
        Theme name or ``Theme``.
    size, dpi:
        Frame size in pixels and resolution; the theme's defaults if None. With a size but no dpi
        the dpi scales with the size, so the frame is the default picture, scaled.
    loss_panel:
        Draw the loss curve so far beside the main plot, the current point marked.
    log_loss:
        Use a log scale for the loss panel.
    loss_range:
        Loss values the panel's y-axis must include besides the trace's own (a shared scale across
        several runs).
    blit:
        Draw only what changes per frame (``Blitter``; the default) or redraw the whole figure;
        the pixels are the same, which the tests check.
    scene:
        The scene that draws the frames; by default rebuilt from the trace (``scene_from_trace``).

    Raises
    ------
    EmptyTraceError
        If the trace has no captures.
    UsageError
        If an option is out of range.
    """

    def __init__(
        self,
        trace: "Trace",
        *,
        theme: "str | Theme" = "light",
        size: "tuple[int, int] | None" = None,
        dpi: "float | None" = None,
        loss_panel: bool = False,
        log_loss: bool = False,
        loss_range: "tuple[float, float] | None" = None,
        blit: bool = True,
        scene: "Scene | None" = None,
    ) -> None:
        import matplotlib
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure

        trace.require_frames()
        self.trace = trace
        self.theme = get_theme(theme)
        (width, height), dpi = check_size(size, dpi, self.theme, loss_panel)
        self._shown = shown_frames(trace)
        self._diverged_at = trace.diverged_at
        with matplotlib.rc_context(self.theme.rc):
            # A hair over the exact size: Agg truncates width * dpi / dpi to an int, which could lose a pixel.
            fig = Figure(figsize=((width + 1e-3) / dpi, (height + 1e-3) / dpi), dpi=dpi)
            canvas = FigureCanvasAgg(fig)
            if loss_panel:
                ax, loss_ax = fig.subplots(1, 2, width_ratios=[3, 2])
                fig.subplots_adjust(wspace=0.28)
            else:
                ax, loss_ax = fig.add_subplot(), None
            scene = scene_from_trace(trace) if scene is None else scene
            self._update_scene = scene.setup(ax, trace, self.theme)
            self._scene = scene
            self._label = ax.text(
                *_inside_figure(ax, scene.label_position),
                "",
                transform=ax.transAxes,
                fontdict={"size": self.theme.label_size, "color": self.theme.label_color},
                zorder=3,
            )
            ax.set_title(" \n ")
            self._update_loss = _setup_loss_panel(loss_ax, trace, self.theme, log_loss, loss_range) if loss_ax else None
        self._fig, self._canvas, self._ax = fig, canvas, ax
        # A scene that redraws its whole axes each frame (Plot) has no static parts to keep.
        self._blitter = Blitter(fig, blit and not scene.redraw)
        canvas.draw()
        if canvas.get_width_height() != (width, height):  # pragma: no cover - rounding of odd sizes
            raise UsageError(f"cannot render a {width}x{height} frame at dpi {dpi:g}; try another dpi")
        self.size = (width, height)

    def __len__(self) -> int:
        return len(self.trace)

    def _set_frame(self, index: int) -> "list[Artist]":
        trace = self.trace
        shown = int(self._shown[index])
        diverged = shown != index
        artists = list(self._update_scene(shown, diverged))
        if self._scene.redraw and self._label not in self._ax.texts:
            self._ax.add_artist(self._label)  # the scene cleared the axes, and the label with it
        loss = trace.losses[index]
        if diverged:
            self._label.set_text(f"diverged at iteration {self._diverged_at}")
            title = f"Iteration:{trace.steps[index]} (diverged)"
        else:
            shown_loss = self._scene.loss_label and not math.isnan(loss)
            self._label.set_text(f"Loss={format_number(loss)}" if shown_loss else "")
            title = self._scene.title(trace, shown)
        self._ax.title.set_text(title)
        artists += [self._label, self._ax.title]
        if self._update_loss is not None:
            artists += self._update_loss(index)
        return artists

    def render(self, index: int) -> np.ndarray:
        """Return frame ``index`` as a new ``(height, width, 3)`` uint8 RGB array."""
        return self.render_rgba(index)[:, :, :3].copy()

    def render_rgba(self, index: int) -> np.ndarray:
        """Return frame ``index`` as a new ``(height, width, 4)`` uint8 RGBA array.

        This is Agg's own buffer copied whole, the cheapest form: dropping the alpha channel is a
        strided copy that costs more than the copy itself, and the encoders take RGBA directly.
        """
        return self._blitter.draw(self._set_frame(index))

    def save_still(self, index: int, path: str) -> None:
        """Save frame ``index`` with ``savefig`` (PNG, SVG or PDF by the suffix of ``path``)."""
        self._set_frame(index)
        animated = self._blitter.animated()
        for artist in animated:  # savefig skips animated artists
            artist.set_animated(False)
        try:
            self._fig.savefig(path, format=str(path).rsplit(".", 1)[-1].lower(), dpi=self._fig.dpi)
        finally:
            for artist in animated:
                artist.set_animated(True)
            self._blitter.refresh()  # savefig redrew the canvas

    def close(self) -> None:
        """Release the figure."""
        self._fig.clear()


def _inside_figure(ax, position: tuple[float, float]) -> tuple[float, float]:
    """``position`` (axes fractions), moved right if it would start left of the figure's edge.

    Scenes may put the loss label left of the axes (above the tick labels); with narrow margins, as
    in the slides theme, that would cut it off.
    """
    x, y = position
    box = ax.get_position()
    return (max(x, (0.01 - box.x0) / box.width), y)


def _setup_loss_panel(ax, trace: "Trace", theme: Theme, log: bool, extra_range=None):
    """Draw the loss panel's static parts; return its per-frame updater."""
    steps = trace.steps.astype(np.float64)
    series = [("train", trace.losses, theme.loss_color)]
    if np.isfinite(trace.test_losses).any():
        series.append(("test", trace.test_losses, theme.test_loss_color))
    values = np.concatenate([s[1] for s in series] + ([np.asarray(extra_range, dtype=np.float64)] if extra_range else []))
    values = values[np.isfinite(values)]
    if log:
        ax.set_yscale("log")
        values = values[values > 0]
    if values.size:
        lo, hi = float(values.min()), float(values.max())
        if log:
            ax.set_ylim(lo / 1.5, hi * 1.5)
        else:
            pad = 0.05 * (hi - lo) if hi > lo else max(abs(hi), 1.0) * 0.05
            ax.set_ylim(lo - pad, hi + pad)
    first, last = float(steps[0]), float(steps[-1])
    ax.set_xlim(first - 0.02 * (last - first) - 0.5, last + 0.02 * (last - first) + 0.5)
    ax.set_xlabel("iteration")
    ax.set_ylabel("loss (log scale)" if log else "loss")
    lines = []
    for name, loss, colour in series:
        (line,) = ax.plot([], [], "-", color=colour, lw=2, label=name, zorder=2.6)
        (point,) = ax.plot([], [], "o", color=colour, ms=7, zorder=2.7)
        lines.append((line, point, loss))
    if len(series) > 1:
        ax.legend(loc="upper right")

    def update(index: int) -> list:
        changed = []
        for line, point, loss in lines:
            line.set_data(steps[: index + 1], loss[: index + 1])
            point.set_data(steps[index : index + 1], loss[index : index + 1])
            changed += [line, point]
        return changed

    return update


def shown_frames(trace: "Trace") -> np.ndarray:
    """For each frame, the index of the frame whose state to draw: itself, or the last finite one."""
    n = len(trace)
    ok = np.ones(n, dtype=bool)
    for value in trace.state.values():
        if value.dtype.kind == "f":
            ok &= np.isfinite(value.reshape(n, -1)).all(axis=1)
    first_bad = trace.diverged_at
    if first_bad is not None:
        ok &= trace.steps < first_bad
    shown = np.maximum.accumulate(np.where(ok, np.arange(n), -1))
    # Frames before any finite state (diverged from the start) draw their own state as it is.
    return np.where(shown < 0, np.arange(n), shown)
