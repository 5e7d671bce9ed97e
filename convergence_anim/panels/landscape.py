"""Draw a loss landscape on a side panel: filled contours once, then each run's path per frame."""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable, Sequence

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes

    from ..landscape import Landscape
    from ..runs import FrameState, Runs
    from ..settings import FrameLook
    from ..style import Theme

__all__ = ["draw_landscape", "setup_landscape_panel"]

# Low loss dark, high loss light: the valley is the dark band the path runs down. "bone" is grey-blue,
# so the runs' colours (reds, greens, oranges) stand out on it in every theme.
_CMAP = "bone"
_CMAP_SPAN = (0.25, 0.98)


def setup_landscape_panel(ax: "Axes", runs: "Runs", look: "FrameLook") -> "Callable[[FrameState], list]":
    """The loss landscape of ``runs`` (``landscape.landscape_of``) on ``ax``, every run's path on it so far.

    Raises
    ------
    TraceError
        If a model trace recorded no landscape.
    """
    from ..landscape import landscape_of

    update = draw_landscape(ax, landscape_of(runs.traces), look.theme, runs.colors)
    return lambda state: update(state.shown, state.finished)


def draw_landscape(ax: "Axes", view: "Landscape", theme: "Theme", colors: Sequence[str]) -> Callable[[Sequence[int], Sequence[bool]], list]:
    """Draw ``view``'s contours on ``ax`` (static) and return the per-frame updater of the paths.

    The updater takes, for each run, the index of the capture to show and whether the run has
    finished (drawn hollow); it draws the path up to that capture and the current point, and returns
    the artists it changed.
    """
    from matplotlib import colormaps

    from ..style import smallest_text_size
    from matplotlib.colors import ListedColormap

    colours = colormaps[_CMAP](np.linspace(*_CMAP_SPAN, max(len(view.levels) + 1, 2)))
    cmap = ListedColormap(colours)
    loss = np.where(np.isfinite(view.loss), view.loss, np.nanmax(view.loss) if np.isfinite(view.loss).any() else 0.0)
    ax.contourf(view.xs, view.ys, loss, levels=view.levels, cmap=cmap, extend="both", zorder=0.5)
    ax.contour(view.xs, view.ys, loss, levels=view.levels, colors="white", linewidths=0.5, alpha=0.45, zorder=0.6)
    ax.set_xlim(view.xs[0], view.xs[-1])
    ax.set_ylim(view.ys[0], view.ys[-1])
    ax.set_xlabel(view.xlabel)
    ax.set_ylabel(view.ylabel)
    # One short line, small (the panel is narrow) but no smaller than the tick labels.
    title = ax.set_title(view.title + (" (log)" if view.log else ""), fontsize=smallest_text_size())
    # Below the paths' zorder, so the blitter keeps this static title in the background instead of
    # redrawing it every frame (it lies outside the axes, so nothing is drawn over it either way).
    title.set_zorder(0.1)
    ax.set_axisbelow(True)  # ticks never change, so the blitter need not redraw them per frame
    lw = max(1.5, theme.line_width * 0.45)
    runs = []
    for path, colour in zip(view.paths, colors):
        # The start as a small cross: a hollow ring is how a finished run's current point is drawn.
        ax.plot(path[:1, 0], path[:1, 1], "x", ms=6 * theme.marker_scale, mec=colour, mew=1.8, zorder=2.0)
        (line,) = ax.plot([], [], "-", color=colour, lw=lw, zorder=2.6, solid_capstyle="round")
        (point,) = ax.plot([], [], "o", color=colour, ms=8 * theme.marker_scale, mec="white", mew=1.2, zorder=2.7)
        runs.append((path, line, point))

    def update(indices: Sequence[int], finished: Sequence[bool]) -> list:
        changed = []
        for (path, line, point), index, done in zip(runs, indices, finished):
            line.set_data(path[: index + 1, 0], path[: index + 1, 1])
            point.set_data(path[index : index + 1, 0], path[index : index + 1, 1])
            point.set_markerfacecolor("none" if done else line.get_color())
            point.set_markeredgecolor(line.get_color() if done else "white")
            changed += [line, point]
        return changed

    return update
