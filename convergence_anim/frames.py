"""Draw the frames of a trace with matplotlib, fast: static parts once, changing artists per frame."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

from ._exceptions import UsageError
from .layout import Blitter, FrameLayout
from .scenes import scene_from_trace
from .scenes._base import format_number
from .style import SIZES, Theme

if TYPE_CHECKING:  # pragma: no cover
    from .settings import RenderSettings
    from matplotlib.artist import Artist

    from .scenes import Scene
    from .trace import Trace

__all__ = ["Blitter", "FrameRenderer", "SIZES", "check_size", "default_size", "shown_frames"]

#: Width of the frame grows by this factor when a loss panel sits beside the main plot (for themes
#: whose panels widen the frame).
LOSS_PANEL_WIDTH = 1.6



def default_size(theme: Theme, loss_panel: bool, landscape: bool = False) -> tuple[int, int]:
    """The frame size used when none is given: the theme's, widened for each side panel (loss curve,
    landscape) if the theme says so."""
    width, height = theme.size
    panels = int(loss_panel) + int(landscape)
    if panels and theme.panels_widen:
        width = 2 * round(width * (1 + (LOSS_PANEL_WIDTH - 1) * panels) / 2)
    return (width, height)


def check_size(
    size: "tuple[int, int] | str | None", dpi: "float | None", theme: Theme, loss_panel: bool = False,
    landscape: bool = False,
) -> tuple[tuple[int, int], float]:
    """Validate a frame size and a dpi, filling in the theme's defaults.

    Parameters
    ----------
    size:
        ``(width, height)`` in pixels, a name from ``SIZES`` (``"1080p"``), ``"WIDTHxHEIGHT"``, or
        None for the theme's default (``default_size``).
    dpi:
        Resolution that fonts and lines scale with; None scales the theme's with the size.
    theme:
        The theme whose defaults apply.
    loss_panel, landscape:
        Whether a loss panel and a landscape are drawn (each may widen the default size).

    Returns
    -------
    tuple
        ``((width, height), dpi)``.

    Raises
    ------
    UsageError
        If the size is not two integers between 16 and 8192 or a known name, or the dpi is not
        between 10 and 1200.
    """
    base = default_size(theme, loss_panel, landscape)
    size = base if size is None else _named_size(size) if isinstance(size, str) else size
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


def _named_size(name: str) -> tuple[int, int]:
    """The size called ``name`` in ``SIZES``, or written ``"640x480"``."""
    key = name.strip().lower()
    if key in SIZES:
        return SIZES[key]
    width, x, height = key.partition("x")
    if x and width.isdigit() and height.isdigit():
        return (int(width), int(height))
    raise UsageError(f"unknown size {name!r}; give WIDTHxHEIGHT or one of {', '.join(SIZES)}")


class LaidOutFrames:
    """What every frame renderer offers once it has a ``FrameLayout`` (``_layout``) and sets the
    changing artists of a frame in ``_set_frame(index)``: frames as arrays, stills, closing."""

    _layout: FrameLayout

    def _set_frame(self, index: int) -> "list[Artist]":
        raise NotImplementedError

    def render(self, index: int) -> np.ndarray:
        """Return frame ``index`` as a new ``(height, width, 3)`` uint8 RGB array."""
        return self.render_rgba(index)[:, :, :3].copy()

    def render_rgba(self, index: int) -> np.ndarray:
        """Return frame ``index`` as a new ``(height, width, 4)`` uint8 RGBA array.

        This is Agg's own buffer copied whole, the cheapest form: dropping the alpha channel is a
        strided copy that costs more than the copy itself, and the encoders take RGBA directly.
        """
        return self._layout.draw(self._set_frame(index))

    def save_still(self, index: int, path: str) -> None:
        """Save frame ``index`` with ``savefig`` (PNG, SVG or PDF by the suffix of ``path``)."""
        self._set_frame(index)
        self._layout.save(path)

    def close(self) -> None:
        """Release the figure."""
        self._layout.close()


class FrameRenderer(LaidOutFrames):
    """Renders frame ``i`` of a trace as an image array.

    Parameters
    ----------
    trace:
        The captures to draw.
    settings:
        The look of the frames: ``RenderSettings`` fields ``theme``, ``size``, ``dpi``,
        ``loss_panel``, ``log_loss``, ``loss_range`` and ``landscape`` (the others are ``render``'s).
    **options:
        Any ``RenderSettings`` field, replacing the one in ``settings``
        (``FrameRenderer(trace, theme="dark", loss_panel=True)``).
    blit:
        Draw only what changes per frame (``Blitter``; the default) or redraw the whole figure;
        the pixels are the same, which the tests check.
    scene:
        The trace's scene, already built (``scene_from_trace(trace)`` if None): a render builds it
        once and hands it to every renderer.

    The loss panel draws the loss curve so far beside the main plot, the current point marked; the
    landscape panel draws the loss landscape's contours once, in the static background, and the path
    so far with the current point on each frame.

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
        settings: "RenderSettings | None" = None,
        *,
        scene: "Scene | None" = None,
        blit: bool = True,
        **options: Any,
    ) -> None:
        from ._landscape_panel import setup_landscape_panel
        from .landscape import landscape_of
        from .settings import RenderSettings

        settings = RenderSettings.build(settings, **options)
        size, dpi, loss_panel, log_loss = settings.size, settings.dpi, settings.loss_panel, settings.log_loss
        loss_range, landscape = settings.loss_range, settings.landscape
        trace.require_frames()
        self.trace = trace
        self.theme = settings.theme_object
        self.size, dpi = check_size(size, dpi, self.theme, loss_panel, landscape)
        view = landscape_of([trace]) if landscape else None  # fails here, before any figure, if there is none
        self._shown = shown_frames(trace)
        self._diverged_at = trace.diverged_at
        self._scene = scene = scene_from_trace(trace) if scene is None else scene
        # Frames with panels, and themes that ask for it, fit their margins to the labels; a lone plot
        # in the light and dark themes keeps the blog's classic composition.
        fit = loss_panel or landscape or self.theme.fit_margins
        panels = ["loss"] * loss_panel + ["landscape"] * landscape
        # A scene that redraws its whole axes each frame (Plot) has no static parts to blit.
        self._layout = layout = FrameLayout(self.size, dpi, self.theme, panels=panels, fit=fit,
                                            blit=blit and not scene.redraw)
        ax = self._ax = layout.main
        # The layout is made for the widest label and title of any frame, so none is cut off or
        # runs into another text, and nothing moves from frame to frame.
        labels, titles = zip(*(self._texts(i) for i in range(len(trace))))
        with layout.building():
            self._update_scene = scene.setup(ax, trace, self.theme)
            self._label = ax.text(
                *(scene.label_position if fit else _inside_figure(ax, scene.label_position)),
                _widest(labels),
                transform=ax.transAxes,
                fontdict={"size": self.theme.label_size, "color": self.theme.label_color},
                zorder=3,
            )
            self._title = ax.set_title(_widest(titles))
            self._update_loss = (
                _setup_loss_panel(layout.panels["loss"], trace, self.theme, log_loss, loss_range) if loss_panel else None
            )
            self._update_landscape = (
                setup_landscape_panel(layout.panels["landscape"], view, self.theme, [self.theme.line_color])
                if view is not None else None
            )
        if layout.overlap(self._label, self._title):
            # A label above the axes (DecisionBoundary, CurveFit) and a centred title meet in a
            # narrow plot or when the label says "diverged at ...": the title moves to the right.
            widest_title = self._title.get_text()
            with layout.styled():
                ax.set_title("")
                self._title = ax.set_title(widest_title, loc="right")
            # A plot narrowed by two side panels may have no room for both at the label's size:
            # the label then shrinks until they part (the layout stays as it was fitted).
            while layout.overlap(self._label, self._title) and self._label.get_fontsize() > 6:
                self._label.set_fontsize(self._label.get_fontsize() * 0.85)

    def __len__(self) -> int:
        return len(self.trace)

    @property
    def figure(self):
        """The matplotlib ``Figure`` the frames are drawn on, to inspect (e.g. where texts fall); do not change it."""
        return self._layout.fig

    def _texts(self, index: int) -> tuple[str, str]:
        """The loss label and the title of frame ``index``."""
        trace = self.trace
        shown = int(self._shown[index])
        if shown != index:
            return f"diverged at iteration {self._diverged_at}", f"Iteration:{trace.steps[index]} (diverged)"
        loss = trace.losses[index]
        shown_loss = self._scene.loss_label and not math.isnan(loss)
        return (f"Loss={format_number(loss)}" if shown_loss else ""), self._scene.title(trace, shown)

    def _set_frame(self, index: int) -> "list[Artist]":
        shown = int(self._shown[index])
        artists = list(self._update_scene(shown, shown != index))
        if self._scene.redraw:
            # The scene cleared the axes (Plot): the label went with it, and the axes has a new title.
            if self._label not in self._ax.texts:
                self._ax.add_artist(self._label)
            self._title = self._ax.title
        label, title = self._texts(index)
        self._label.set_text(label)
        self._title.set_text(title)
        artists += [self._label, self._title]
        if self._update_loss is not None:
            artists += self._update_loss(index)
        if self._update_landscape is not None:
            artists += self._update_landscape([shown], [False])
        return artists



def _inside_figure(ax, position: tuple[float, float]) -> tuple[float, float]:
    """``position`` (axes fractions), moved right if it would start left of the figure's edge.

    Scenes may put the loss label left of the axes (above the tick labels); with narrow margins, as
    in the slides theme, that would cut it off.
    """
    x, y = position
    box = ax.get_position()
    return (max(x, (0.01 - box.x0) / box.width), y)


def _widest(texts: "tuple[str, ...]") -> str:
    """The text with the most lines, and of those the longest line (digits are equally wide)."""
    return max(texts, key=lambda text: (text.count("\n"), max(len(line) for line in text.split("\n"))))


def set_loss_axes(ax, losses, first: float, last: float, log: bool, extra_range=None) -> None:
    """Scale, limits and labels of a loss panel that shows ``losses`` (arrays) over steps ``first..last``.

    The y range holds every finite loss and ``extra_range`` (a shared scale across runs); a log
    panel keeps only positive values. Shared by the single-run panel and the race panel.
    """
    values = np.concatenate([np.asarray(v, dtype=np.float64) for v in losses]
                            + ([np.asarray(extra_range, dtype=np.float64)] if extra_range else []))
    # Losses beyond 1e250 (a run blowing up) run off the top: matplotlib cannot place log ticks that far.
    values = values[np.abs(values) <= 1e250]
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
    ax.set_xlim(first - 0.02 * (last - first) - 0.5, last + 0.02 * (last - first) + 0.5)
    ax.set_xlabel("iteration")
    ax.set_ylabel("loss (log scale)" if log else "loss")


def _setup_loss_panel(ax, trace: "Trace", theme: Theme, log: bool, extra_range=None):
    """Draw the loss panel's static parts; return its per-frame updater."""
    steps = trace.steps.astype(np.float64)
    series = [("train", trace.losses, theme.loss_color)]
    if np.isfinite(trace.test_losses).any():
        series.append(("test", trace.test_losses, theme.test_loss_color))
    set_loss_axes(ax, [s[1] for s in series], float(steps[0]), float(steps[-1]), log, extra_range)
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
