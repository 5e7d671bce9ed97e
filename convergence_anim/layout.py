"""One layout for every frame: a figure of an exact pixel size, its axes, its theme and its blitter.

Full frames, grid cells and stills all draw through ``FrameLayout``::

    layout = FrameLayout((640, 480), 100, theme, panels=["loss"])
    with layout.building():                # the theme's rcParams apply while artists are made
        update = scene.draw_runs(layout.main, runs, theme)
        ...                                # draw the panels on layout.panels["loss"]
    pixels = layout.draw(update([0], [False]))  # static parts drawn once, then only what changes
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Iterator, Sequence

import numpy as np

from ._exceptions import UsageError
from ._glyphs import glyph_caching_canvas

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.artist import Artist
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from .style import Theme

__all__ = ["Blitter", "FrameLayout"]

#: Width of the main axes against each side panel's: 3 to 2 beside one panel; beside more, the main
#: axes keeps half the width (the plot is what the frame is about; a loss curve reads when narrow).
_MAIN_RATIO, _PANEL_RATIO = 3, 2

#: Space between the main axes and the panels, as a fraction of the mean axes width (classic margins).
_PANEL_SPACE = 0.28
#: Fitted margins: the padding around each axes' labels, in inches (scales with dpi, as fonts do), and
#: the space between the columns beyond their labels, as a fraction of the frame's width.
_FIT_PAD, _FIT_SPACE = 6 / 72, 0.03
#: A plot of fixed shape (``aspect="equal"``) beside panels takes width from them to stand as tall as
#: they do, but leaves each at least this share of the width the ratios gave it; beyond that, the
#: panels are made as short as the plot instead.
_KEEP_PANEL_WIDTH = 0.75


def _width_ratios(panels: int) -> list[int]:
    main = _MAIN_RATIO if panels <= 1 else _PANEL_RATIO * panels
    return [main] + [_PANEL_RATIO] * panels


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


class FrameLayout:
    """The figure of one frame: a main axes and optional named side panels, drawn with a ``Blitter``.

    The figure is an Agg figure of exactly ``size`` pixels. Build the frame's artists inside
    ``building()``, where the theme's rcParams apply; the layout is then fixed, and ``draw`` and
    ``save`` give its pixels.

    Parameters
    ----------
    size:
        ``(width, height)`` of the frame in pixels.
    dpi:
        Resolution that font sizes and line widths scale with.
    theme:
        The look; its ``rc`` applies while the figure and its artists are made.
    panels:
        Names of the side panels, placed right of the main axes in this order (e.g. ``["loss"]``);
        each is an axes in ``panels``.
    main_rect:
        The main axes' ``[left, bottom, width, height]`` in figure fractions (a grid cell); None
        places it, and the panels, in one row, the main axes widest.
    fit:
        Fit the margins and the space between the axes to their labels, as tight as the labels
        allow: matplotlib's constrained layout runs once when ``building()`` ends, then the layout is
        fixed, so frames never jump. False keeps the theme's subplot margins (matplotlib's classic
        layout).
    axes:
        False for a figure with no axes at all (a cell that only holds a message).
    blit:
        Draw only what changes per frame, or redraw the whole figure; the pixels are the same.
    slack:
        Fraction of a pixel added to the figure's size so that Agg, which truncates it, keeps every
        pixel. It shifts where fractions of the figure fall by as much, so it is kept per kind of
        figure (grid cells use half a pixel) to keep their pixels as they were.

    Attributes
    ----------
    fig:
        The matplotlib ``Figure``.
    main:
        The main axes (None if ``axes`` is False).
    panels:
        The side panels' axes by name.
    size:
        ``(width, height)`` in pixels.
    """

    def __init__(
        self,
        size: "tuple[int, int]",
        dpi: float,
        theme: "Theme",
        *,
        panels: Sequence[str] = (),
        main_rect: "Sequence[float] | None" = None,
        axes: bool = True,
        fit: bool = False,
        blit: bool = True,
        slack: float = 1e-3,
    ) -> None:
        import matplotlib
        from matplotlib.figure import Figure

        width, height = size
        self.size = (width, height)
        self.theme = theme
        self.main: "Axes | None" = None
        self.panels: "dict[str, Axes]" = {}
        self._blit = blit
        self._fit = fit
        self._header = 0.0
        self._blitter: "Blitter | None" = None
        with matplotlib.rc_context(theme.rc):
            # A hair over the exact size: Agg truncates width * dpi / dpi to an int, which could lose a pixel.
            self.fig = Figure(figsize=((width + slack) / dpi, (height + slack) / dpi), dpi=dpi)
            glyph_caching_canvas(self.fig)  # Agg, drawing glyphs from a cache (identical pixels)
            if not axes:
                return
            if main_rect is not None:
                self.main = self.fig.add_axes(list(main_rect))
            elif panels or fit:
                grid = self.fig.add_gridspec(
                    1, 1 + len(panels), width_ratios=_width_ratios(len(panels)),
                    wspace=None if fit else _PANEL_SPACE,
                )
                self.main = self.fig.add_subplot(grid[0, 0])
                self.panels = {name: self.fig.add_subplot(grid[0, i + 1]) for i, name in enumerate(panels)}
            else:
                self.main = self.fig.add_subplot()

    @contextlib.contextmanager
    def styled(self) -> Iterator["FrameLayout"]:
        """Context in which the theme's rcParams apply (artists take their defaults when made)."""
        import matplotlib

        with matplotlib.rc_context(self.theme.rc):
            yield self

    def reserve_top(self, pixels: float) -> None:
        """Keep a band ``pixels`` high across the top of a fitted frame free of axes (for a key drawn there)."""
        self._header = max(0.0, float(pixels))

    @contextlib.contextmanager
    def building(self) -> Iterator["FrameLayout"]:
        """Context in which to make the frame's artists: the theme applies; on leaving, the layout is fixed.

        Raises
        ------
        UsageError
            If the figure cannot be drawn at exactly ``size`` pixels at this dpi.
        """
        with self.styled():
            yield self
            if self._fit:
                # Laid out once, with the frame's texts as they stand, then fixed: a layout engine left
                # on would move the axes whenever a title changes width.
                self._fit_layout()
            self.fig.canvas.draw()
            _freeze_ticks(self.fig)
        self._blitter = Blitter(self.fig, self._blit)
        canvas = self.fig.canvas
        if canvas.get_width_height() != self.size:  # pragma: no cover - guarded by the hair over the size
            width, height = self.size
            raise UsageError(f"cannot draw a {width}x{height} frame at dpi {self.fig.dpi:g}; try another size or dpi")

    def _fit_layout(self) -> None:
        """Fit the margins to the labels (constrained layout); give a row of plots one height."""
        self.fig.set_layout_engine("constrained", w_pad=_FIT_PAD, h_pad=_FIT_PAD, wspace=_FIT_SPACE, hspace=0,
                                   rect=(0, 0, 1, 1 - self._header / self.size[1]))
        engine = self.fig.get_layout_engine()
        engine.execute(self.fig)
        row = [self.main, *self.panels.values()] if self.panels else []
        free = [_box_ratio(ax) is None for ax in row]
        shaped = not all(free) and any(free)
        if shaped:
            # A plot of fixed shape: the cells are made to fit it and the layout fitted again (its labels
            # move with it) until the widths settle, which takes one or two rounds.
            least = [_KEEP_PANEL_WIDTH * ax.get_position(original=True).width * self.size[0] for ax in row]
            for _ in range(3):
                widths = _shared_widths(row, free, least, self.size)
                before = [ax.get_position(original=True).width * self.size[0] for ax in row]
                if max(abs(a - b) for a, b in zip(widths, before)) < 0.5:
                    break
                self.main.get_subplotspec().get_gridspec().set_width_ratios(widths)
                engine.execute(self.fig)
        self.fig.set_layout_engine("none")
        if row:
            self._keep_inside(row)
        if shaped:
            # Still shorter than the panels (too little width to stand as tall): the panels take its height.
            boxes = [ax.get_position() for ax, f in zip(row, free) if not f]  # as drawn, the shape applied
            bottom, top = min(b.y0 for b in boxes), max(b.y1 for b in boxes)
            for ax in (ax for ax, f in zip(row, free) if f):
                box = ax.get_position(original=True)
                if box.y0 < bottom or box.y1 > top:
                    ax.set_position([box.x0, max(box.y0, bottom), box.width, min(box.y1, top) - max(box.y0, bottom)])

    def _keep_inside(self, row: "list[Axes]") -> None:
        """Narrow a row of axes until their labels and titles are inside the frame, keeping the gaps.

        The constrained layout leaves out how far a title overhangs its axes sideways (a panel's title
        wider than the panel), and cells of set widths can get new tick labels a few pixels wider.
        """
        renderer = self.fig.canvas.get_renderer()
        pad, width = _FIT_PAD * self.fig.dpi, self.size[0]
        for _ in range(4):  # a title wider than its axes moves less than the axes narrows: a few rounds
            tight = [ax.get_tightbbox(renderer) for ax in row]
            left, right = max(0.0, pad - min(b.x0 for b in tight)), max(0.0, max(b.x1 for b in tight) - (width - pad))
            if left + right < 0.5:
                return
            boxes = [ax.get_position(original=True) for ax in row]
            gaps = [(b.x0 - a.x1) * width for a, b in zip(boxes, boxes[1:])] + [0.0]  # where the labels stand
            squeeze = 1 - (left + right) / sum(box.width * width for box in boxes)
            x = boxes[0].x0 * width + left
            for ax, box, gap in zip(row, boxes, gaps):
                ax.set_position([x / width, box.y0, box.width * squeeze, box.height])
                x += box.width * squeeze * width + gap

    def draw(self, artists: "list[Artist]") -> np.ndarray:
        """Draw the frame whose changing artists are ``artists``; return a new ``(h, w, 4)`` uint8 RGBA array."""
        return self._blitter.draw(artists)

    def overlap(self, first: "Artist", second: "Artist") -> bool:
        """Whether the drawn extents of two artists (as they stand, after ``building()``) meet."""
        renderer = self.fig.canvas.get_renderer()
        a, b = first.get_window_extent(renderer), second.get_window_extent(renderer)
        return a.width > 0 and b.width > 0 and a.overlaps(b)

    def save(self, path: str) -> None:
        """Save the figure as it stands with ``savefig`` (PNG, SVG or PDF by the suffix of ``path``)."""
        animated = self._blitter.animated()
        for artist in animated:  # savefig skips animated artists
            artist.set_animated(False)
        try:
            self.fig.savefig(path, format=str(path).rsplit(".", 1)[-1].lower(), dpi=self.fig.dpi)
        finally:
            for artist in animated:
                artist.set_animated(True)
            self._blitter.refresh()  # savefig redrew the canvas

    def close(self) -> None:
        """Release the figure."""
        self.fig.clear()


def _box_ratio(ax: "Axes") -> "float | None":
    """The height-to-width ratio an axes' box must have (``aspect="equal"``, a box aspect), None if any will do."""
    if ax.get_box_aspect() is not None:
        return float(ax.get_box_aspect())
    aspect = ax.get_aspect()
    if aspect == "auto" or ax.get_adjustable() != "box":
        return None
    return float(aspect) * ax.get_data_ratio()


def _shared_widths(row: "list[Axes]", free: "list[bool]", least: "list[float]", size: "tuple[int, int]") -> list[float]:
    """The widths (pixels) that let the fixed-shape axes of a row stand as tall as the ``free`` ones.

    The constrained layout gives each axes a cell by the width ratios; an axes of fixed shape then
    shrinks inside its cell when drawn, leaving a wide gap beside it (a 4:3 plot in a tall cell) or
    standing shorter than its neighbours (in a wide one). Here the fixed-shape axes get the width
    their shape needs at the cells' height, taken from (or given to) the free ones, each of which
    keeps at least its width in ``least``.
    """
    width, height = size
    widths = [ax.get_position(original=True).width * width for ax in row]
    tall = min(ax.get_position(original=True).height for ax in row) * height
    total, flexible = sum(widths), sum(w for w, f in zip(widths, free) if f)
    per_height = sum(1 / _box_ratio(ax) for ax, f in zip(row, free) if not f)  # fixed axes' width per pixel of height
    fixed = min(tall * per_height, total - sum(w for w, f in zip(least, free) if f))
    return [w * (total - fixed) / flexible if f else fixed / per_height / _box_ratio(ax)
            for ax, w, f in zip(row, widths, free)]


def _freeze_ticks(fig: "Figure") -> None:
    """Keep every axis' ticks where the theme's draw put them.

    matplotlib chooses how many ticks fit from the tick label size in the rcParams of the moment it
    draws; frames are drawn outside the theme's rc, so large tick labels (slides) would get ticks
    spaced for small ones, and not the ticks the layout was fitted to.
    """
    from matplotlib.ticker import FixedLocator

    for ax in fig.axes:
        for axis in (ax.xaxis, ax.yaxis):
            axis.set_major_locator(FixedLocator(axis.get_majorticklocs()))
            axis.set_minor_locator(FixedLocator(axis.get_minorticklocs()))
