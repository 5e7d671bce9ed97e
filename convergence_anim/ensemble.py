"""Ensembles: many runs of one setting (seeds) drawn in one animation, in sync by step.

``render(traces, "seeds.gif", ensemble=True)`` draws a race whose runs are not told apart: every run's
line, curve or boundary thin and translucent in one colour over the data, so where the runs agree the
ink is dense and where they differ it fans out; the loss panel shows the median loss over the runs
and the band from the 10th to the 90th percentile (``panels.band``). ``batch ... --ensemble`` draws one
per parameter setting of a sweep, from the runs' saved traces (``batch.ensembles``).

The scenes draw their race look (``Scene.draw_runs`` with ``runs.race``), and ``translucent`` thins
and fades the artists each run's updater returns: any scene that races draws an ensemble too.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Sequence

if TYPE_CHECKING:  # pragma: no cover
    from .scenes import RunsUpdater
    from .style import Theme

__all__ = ["ENSEMBLE_MAX_RUNS", "ensemble_alpha", "ensemble_color", "translucent"]

#: The most runs an ensemble draws in one frame.
ENSEMBLE_MAX_RUNS = 500
# How much thinner than a race's line each run's line is.
_WIDTH = 0.5


def ensemble_alpha(runs: int) -> float:
    """The opacity of one run's line: low enough that 20 lines that agree read as one dark line and
    a lone one stays visible (0.6 for 1 to 4 runs, 0.125 for 20, never below 0.05)."""
    return min(0.6, max(0.05, 2.5 / max(runs, 1)))


def ensemble_color(theme: "Theme") -> str:
    """The runs' one colour: the theme's text colour (near black on light backgrounds, near white on dark)."""
    return theme.rc.get("text.color", "black")


def translucent(update: "RunsUpdater", runs: int) -> "Callable[[Sequence[int], Sequence[bool]], list]":
    """``update`` with each artist it returns drawn at ``ensemble_alpha(runs)`` of its alpha and half its width.

    The scene sets each artist's alpha every frame (dimmer once a run diverges); this scales it
    after, every frame, so the scene's own dimming still shows.
    """
    alpha = ensemble_alpha(runs)
    thinned: set[int] = set()

    def faded(indices: Sequence[int], diverged: Sequence[bool]) -> list:
        artists = list(update(indices, diverged))
        for artist in artists:
            own = artist.get_alpha()
            artist.set_alpha(alpha * (1.0 if own is None else own))
            if id(artist) not in thinned and hasattr(artist, "set_linewidth"):
                _thin(artist)
                thinned.add(id(artist))
        return artists

    return faded


def _thin(artist: Any) -> None:
    widths = artist.get_linewidth()
    try:
        artist.set_linewidth([w * _WIDTH for w in widths])
    except TypeError:  # one width, not a list (a Line2D)
        artist.set_linewidth(widths * _WIDTH)
