"""Draw the frames of one or more runs with matplotlib, fast: static parts once, changing artists per frame.

``FrameRenderer`` is the one renderer: a single run, a race of several runs and a grid cell are
all drawn by it. It places the scene's main plot and the side panels with one ``FrameLayout``, asks
the scene to draw its runs (``Scene.draw_runs``), asks each panel to draw its own (``panels``), and
adds the frame's caption: the "Loss=" label and title of a single run, the key above the plots of a
race, or the name and loss of a grid cell.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, Sequence

import numpy as np

from ._exceptions import UsageError
from .layout import FrameLayout
from .panels import panel_setup
from .runs import Runs, frame_states
from .scenes import format_number, scene_from_trace
from .settings import FrameLook, RenderSettings
from .trace import Trace

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.artist import Artist

    from .runs import FrameState
    from .scenes import Scene
    from .style import Theme

__all__ = ["CELL_LOOKS_LIKE_WIDTH", "FrameRenderer", "cell_layout", "cell_look", "cell_message", "cell_title"]

#: A cell is drawn like a frame this many pixels wide, scaled down: lines, points and the scene's own
#: text keep their proportions to the plot.
CELL_LOOKS_LIKE_WIDTH = 480
# Cell layout in pixels: a header line for the label and the loss, a thin margin elsewhere.
_HEADER, _MARGIN = 17, 3
_LABEL_PX, _LOSS_PX = 12, 11


class FrameRenderer:
    """Renders frame ``i`` of one trace, or of a race of several, as an image array.

    Parameters
    ----------
    trace:
        The captures to draw, or a list of traces to race (checked with ``race.check_race``): runs
        of one scene on the same data, each in its colour, with a key above the plots; frames follow
        the steps of all runs together, and a run that stopped earlier holds its last state.
    settings:
        A ``RenderSettings`` (its fields ``theme``, ``size``, ``dpi``, ``loss_panel``, ``log_loss``,
        ``loss_range``, ``landscape``, ``panels``, ``neurons`` and ``ensemble`` matter here; the others
        are ``render``'s), or the ``FrameLook`` one resolved. ``neurons=None`` draws no neurons
        panel here: ``render`` turns it on for a trace that recorded them.
    labels:
        For a race, a name for each run, shown in the key (by default each run's optimizer and
        rate); for a grid cell, its name.
    frames:
        Which frames of the runs' timeline to draw, in order (all by default).
    scene:
        The scene, already built (``scene_from_trace`` of the first trace if None): a render builds
        it once and hands it to every renderer.
    blit:
        Draw only what changes per frame (``Blitter``; the default) or redraw the whole figure;
        the pixels are the same, which the tests check.
    **options:
        Any ``RenderSettings`` field, replacing the one in ``settings``
        (``FrameRenderer(trace, theme="dark", loss_panel=True)``).

    Raises
    ------
    EmptyTraceError
        If a trace has no captures.
    UsageError
        If an option is out of range or the runs cannot race.
    TraceError
        If a landscape is asked of a model trace that recorded none.
    """

    def __init__(
        self,
        trace: "Trace | Sequence[Trace]",
        settings: "RenderSettings | FrameLook | None" = None,
        *,
        labels: "Sequence[str] | None" = None,
        frames: "Sequence[int] | None" = None,
        scene: "Scene | None" = None,
        blit: bool = True,
        **options: Any,
    ) -> None:
        from .race import RACE_COLORS, check_race

        look = settings if isinstance(settings, FrameLook) and not options else RenderSettings.build(settings, **options).look
        race = not isinstance(trace, Trace)
        if race:
            from .ensemble import ensemble_color

            traces = list(trace)
            labels = check_race(traces, labels, ensemble=look.ensemble)
            colors = [ensemble_color(look.theme)] * len(traces) if look.ensemble else RACE_COLORS[: len(traces)]
        elif look.ensemble:
            raise UsageError("an ensemble draws several runs; pass a list of traces")
        else:
            trace.require_frames()
            traces, colors = [trace], [look.theme.line_color]
        self.look, self.theme, self.size = look, look.theme, look.size
        self.runs = runs = Runs(traces, colors, labels or (), race, ensemble=look.ensemble)
        self.trace, self.traces, self.labels = traces[0], traces, list(runs.labels)
        self._states = frame_states(traces, None if frames is None else np.asarray(frames, dtype=np.intp))
        scene = scene_from_trace(traces[0]) if scene is None else scene
        caption = (_CellCaption if look.cell else _EnsembleCaption if runs.ensemble else _RaceCaption if race
                   else _RunCaption)(runs, scene, look, self._states)
        # A scene that redraws its whole axes each frame (Plot) has no static parts to blit.
        self._layout = layout = caption.layout(blit and not scene.redraw)
        with layout.building():
            self._update_scene = scene.draw_runs(layout.main, runs, look.theme)
            if runs.ensemble:
                from .ensemble import translucent

                self._update_scene = translucent(self._update_scene, len(runs))
            caption.build(layout)
            self._panels = [panel_setup(name)(layout.panels[name], runs, look) for name in look.panels]
        caption.settle(layout)
        self._caption = caption

    def __len__(self) -> int:
        return len(self._states)

    @property
    def figure(self):
        """The matplotlib ``Figure`` the frames are drawn on, to inspect (e.g. where texts fall); do not change it."""
        return self._layout.fig

    def _set_frame(self, index: int) -> "list[Artist]":
        state = self._states[index]
        artists = list(self._update_scene(state.shown, state.diverged))
        artists += self._caption.update(state)
        for update in self._panels:
            artists += update(state)
        return artists

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


class _Caption:
    """The texts of a frame around the scene: made once in ``build``, set per frame in ``update``."""

    def __init__(self, runs: Runs, scene: "Scene", look: FrameLook, states: "list[FrameState]") -> None:
        self.runs, self.scene, self.look, self.states = runs, scene, look, states
        # Frames with panels, and themes that ask for it, fit their margins to the labels; a lone plot
        # in the light and dark themes keeps the blog's classic composition.
        self.fit = bool(look.panels) or look.theme.fit_margins

    def layout(self, blit: bool) -> FrameLayout:
        look = self.look
        return FrameLayout(look.size, look.dpi, look.theme, panels=list(look.panels), fit=self.fit, blit=blit)

    def build(self, layout: FrameLayout) -> None:
        raise NotImplementedError

    def settle(self, layout: FrameLayout) -> None:
        """Adjust the texts once the layout is fixed."""

    def update(self, state: "FrameState") -> "list[Artist]":
        raise NotImplementedError


class _RunCaption(_Caption):
    """A single run: the "Loss=" label (or "diverged at ...") and the scene's title."""

    def texts(self, state: "FrameState") -> tuple[str, str]:
        """The loss label and the title of a frame."""
        trace, index, shown = self.runs[0], state.indices[0], state.shown[0]
        if state.diverged[0]:
            return f"diverged at iteration {trace.diverged_at}", f"Iteration:{trace.steps[index]} (diverged)"
        loss = trace.losses[index]
        shown_loss = self.scene.loss_label and not math.isnan(loss)
        return (f"Loss={format_number(loss)}{_raw(self.look)}" if shown_loss else ""), _with_rate(self.scene.title(trace, shown), trace, index)

    def build(self, layout: FrameLayout) -> None:
        ax, theme, scene = layout.main, self.look.theme, self.scene
        self.ax = ax
        # The layout is made for the widest label and title of any frame, so none is cut off or
        # runs into another text, and nothing moves from frame to frame.
        labels, titles = zip(*(self.texts(state) for state in self.states))
        self.label = ax.text(
            *(scene.label_position if self.fit else _inside_figure(ax, scene.label_position)),
            _widest(labels),
            transform=ax.transAxes,
            fontdict={"size": theme.label_size, "color": theme.label_color},
            zorder=3,
        )
        self.title = ax.set_title(_widest(titles))

    def settle(self, layout: FrameLayout) -> None:
        if layout.overlap(self.label, self.title):
            # A label above the axes (DecisionBoundary, CurveFit) and a centred title meet in a
            # narrow plot or when the label says "diverged at ...": the title moves to the right.
            widest_title = self.title.get_text()
            with layout.styled():
                self.ax.set_title("")
                self.title = self.ax.set_title(widest_title, loc="right")
            # A plot narrowed by two side panels may have no room for both at the label's size:
            # the label then shrinks until they part (the layout stays as it was fitted).
            while layout.overlap(self.label, self.title) and self.label.get_fontsize() > 6:
                self.label.set_fontsize(self.label.get_fontsize() * 0.85)

    def update(self, state: "FrameState") -> "list[Artist]":
        if self.scene.redraw:
            # The scene cleared the axes (Plot): the label went with it, and the axes has a new title.
            if self.label not in self.ax.texts:
                self.ax.add_artist(self.label)
            self.title = self.ax.title
        label, title = self.texts(state)
        self.label.set_text(label)
        self.title.set_text(title)
        return [self.label, self.title]


class _RaceCaption(_Caption):
    """A race: a key above the plots (each run's colour, name, loss and status) and the iteration as the title."""

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.fit = True  # the key needs a band of the frame to itself, which only a fitted layout keeps

    def statuses(self, state: "FrameState") -> list[str]:
        """Each run's entry in the key at a frame: its name and loss, or when it finished or diverged."""
        entries = []
        for label, trace, i, done, gone in zip(self.runs.labels, self.runs, state.indices, state.finished, state.diverged):
            loss = trace.losses[i]
            if gone:
                entries.append(f"{label}: diverged at {trace.diverged_at}")
                continue
            entry = f"{label}: loss {format_number(loss)}{_raw(self.look)}" if math.isfinite(loss) else label
            entries.append(entry + (f", done at {trace.steps[-1]}" if done else ""))
        return entries

    def build(self, layout: FrameLayout) -> None:
        ax, runs = layout.main, self.runs
        self.ax = ax
        ax.set_title(f"Iteration:{max(int(t.steps[-1]) for t in runs)}")  # the widest, for the fitted layout
        widest = [_widest(texts) for texts in zip(*(self.statuses(state) for state in self.states))]
        self.key = _Key(layout, runs.colors, widest, self.look.theme)

    def settle(self, layout: FrameLayout) -> None:
        self.key.above([ax.get_tightbbox(layout.fig.canvas.get_renderer()) for ax in layout.fig.axes])

    def update(self, state: "FrameState") -> "list[Artist]":
        for text, entry in zip(self.key.texts, self.statuses(state)):
            text.set_text(entry)
        self.ax.title.set_text(f"Iteration:{state.step}")
        return [*self.key.texts, self.ax.title]


class _Key:
    """A race's key in a band across the top of the frame: a line of each run's colour and its text.

    The entries stand in a grid of equal columns, as many as fit across the frame, centred; each
    column is as wide as the widest text its run has in any frame, so no entry moves when another's
    text changes. The text is as large as the tick labels (the smallest text of a frame), smaller
    only if one entry would not fit across the frame otherwise. The band is kept free of axes
    (``FrameLayout.reserve_top``).
    """

    def __init__(self, layout: FrameLayout, colors: "Sequence[str]", widest: "Sequence[str]", theme: "Theme") -> None:
        from matplotlib.font_manager import FontProperties
        from matplotlib.lines import Line2D

        from .style import smallest_text_size

        fig = layout.fig
        width, height = layout.size
        points = FontProperties(size=smallest_text_size()).get_size_in_points()
        renderer = fig.canvas.get_renderer()
        self.texts = [fig.text(0, 0, text, va="center", ha="left", fontsize=points) for text in widest]
        em = points * fig.dpi / 72
        handle, after, between = 2.0 * em, 0.5 * em, 1.5 * em
        text_width = max(t.get_window_extent(renderer).width for t in self.texts)
        room = width - 2 * em
        if handle + after + text_width > room:  # a tiny frame: the text shrinks to fit, as it would not otherwise
            scale = max(0.3, (room - handle - after) / text_width)
            points, em, text_width = points * scale, em * scale, text_width * scale
            handle, after, between = handle * scale, after * scale, between * scale
            for text in self.texts:
                text.set_fontsize(points)
        column = handle + after + text_width
        columns = max(1, min(len(widest), int((room + between) // (column + between))))
        rows = math.ceil(len(widest) / columns)
        line = 1.5 * em
        self.band, self.height, self.em = rows * line + 0.5 * em, height, em
        layout.reserve_top(self.band)
        left = (width - (columns * column + (columns - 1) * between)) / 2
        self.lines = []
        for i, (text, colour) in enumerate(zip(self.texts, colors)):
            x = left + (i % columns) * (column + between)
            y = height - 0.5 * em - (i // columns + 0.5) * line
            self.lines.append(fig.add_artist(Line2D(
                [x / width, (x + handle) / width], [y / height] * 2, transform=fig.transFigure,
                color=colour, lw=max(3.0, theme.line_width * 0.6), solid_capstyle="butt")))
            text.set_position(((x + handle + after) / width, y / height))

    def above(self, boxes: list) -> None:
        """Move the key down to just above the highest of ``boxes`` (pixels), if plots shorter than the frame left a gap."""
        gap = self.height - self.band - max(box.y1 for box in boxes) - 0.5 * self.em
        if gap <= 0:
            return
        shift = gap / self.height
        for line in self.lines:
            line.set_ydata([y - shift for y in line.get_ydata()])
        for text in self.texts:
            x, y = text.get_position()
            text.set_position((x, y - shift))


class _EnsembleCaption(_Caption):
    """An ensemble: the iteration as the title, and how many runs there are with their median loss."""

    def build(self, layout: FrameLayout) -> None:
        ax, theme = layout.main, self.look.theme
        self.ax = ax
        ax.set_title(f"Iteration:{max(int(t.steps[-1]) for t in self.runs)}")
        face = theme.rc.get("axes.facecolor", "white")
        self.note = ax.text(0.02, 0.98, f"{len(self.runs)} runs, median loss 0.0000", transform=ax.transAxes, ha="left",
                            va="top", fontsize="small", zorder=3,
                            bbox={"boxstyle": "round,pad=0.3", "facecolor": face, "edgecolor": "none", "alpha": 0.85})

    def update(self, state: "FrameState") -> "list[Artist]":
        losses = np.array([t.losses[i] for t, i, done in zip(self.runs, state.indices, state.finished) if not done])
        losses = losses[np.isfinite(losses)]
        median = f", median loss {format_number(float(np.median(losses)))}" if losses.size else ""
        self.note.set_text(f"{len(self.runs)} runs{median}")
        self.ax.title.set_text(f"Iteration:{state.step}")
        return [self.note, self.ax.title]


class _CellCaption(_Caption):
    """A grid cell: no tick labels (unreadable at this size), the run's name top left, its loss top right."""

    def layout(self, blit: bool) -> FrameLayout:
        return cell_layout(self.look, blit, axes=True)

    def build(self, layout: FrameLayout) -> None:
        ax = layout.main
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_title("")
        ax.set_xlabel("")
        ax.set_ylabel("")
        cell_title(layout, self.runs.labels[0])
        width, height = layout.size
        self.loss = layout.fig.text(1 - _MARGIN / width, 1 - 2 / height, "", ha="right", va="top",
                                    fontsize=_LOSS_PX * 72 / layout.fig.dpi, color=self.look.theme.label_color)

    def update(self, state: "FrameState") -> "list[Artist]":
        loss = self.runs[0].losses[state.indices[0]]
        if state.diverged[0]:
            self.loss.set_text("diverged")
        else:
            self.loss.set_text("" if math.isnan(loss) else f"loss {loss:.4g}")
        return [self.loss]


def cell_look(size: "tuple[int, int]", theme: "Theme") -> FrameLook:
    """The look of a grid cell of ``size`` pixels: drawn like a frame ``CELL_LOOKS_LIKE_WIDTH`` wide, scaled down."""
    return FrameLook(theme, tuple(size), theme.dpi * size[0] / CELL_LOOKS_LIKE_WIDTH, cell=True)


def cell_layout(look: FrameLook, blit: bool, axes: bool) -> FrameLayout:
    """A cell's layout: the plot under a header line, a thin margin elsewhere."""
    width, height = look.size
    rect = [_MARGIN / width, _MARGIN / height, 1 - 2 * _MARGIN / width, 1 - (_MARGIN + _HEADER) / height]
    return FrameLayout(look.size, look.dpi, look.theme, main_rect=rect, axes=axes, blit=blit, slack=0.5)


def cell_title(layout: FrameLayout, label: str) -> None:
    """The cell's name, top left in bold."""
    width, height = layout.size
    layout.fig.text(_MARGIN / width, 1 - 2 / height, label, ha="left", va="top", fontsize=_LABEL_PX * 72 / layout.fig.dpi,
                    fontweight="bold")


def cell_message(layout: FrameLayout, message: str) -> None:
    """A message in the middle of a cell that has no plot."""
    layout.fig.text(0.5, 0.5, message, ha="center", va="center", fontsize=_LOSS_PX * 72 / layout.fig.dpi,
                    color=layout.theme.label_color, wrap=True)


def _raw(look: FrameLook) -> str:
    """What a loss written on a frame adds when the loss panel is smoothed: it is the capture's own, not the average."""
    return " (raw)" if look.smooth else ""


def _inside_figure(ax, position: tuple[float, float]) -> tuple[float, float]:
    """``position`` (axes fractions), moved right if it would start left of the figure's edge.

    Scenes may put the loss label left of the axes (above the tick labels); with narrow margins, as
    in the slides theme, that would cut it off.
    """
    x, y = position
    box = ax.get_position()
    return (max(x, (0.01 - box.x0) / box.width), y)


def _with_rate(title: str, trace: Trace, index: int) -> str:
    """``title`` with the learning rate recorded at capture ``index`` (if any) at the end of its first line."""
    rate = trace.learning_rates[index]
    if not math.isfinite(rate):
        return title
    first, newline, rest = title.partition("\n")
    return f"{first}   lr={rate:.3g}{newline}{rest}"


def _widest(texts: "tuple[str, ...]") -> str:
    """The text with the most lines, and of those the longest line (digits are equally wide)."""
    return max(texts, key=lambda text: (text.count("\n"), max(len(line) for line in text.split("\n"))))
