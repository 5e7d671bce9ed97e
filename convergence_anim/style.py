"""Themes: the look of a frame (colours, line widths, font sizes, frame size)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ._exceptions import UsageError

__all__ = ["SIZES", "THEMES", "Theme", "get_theme", "smallest_text_size"]

#: Frame sizes by name, for ``size="1080p"``: video resolutions, and a square for social posts.
SIZES: dict[str, tuple[int, int]] = {
    "720p": (1280, 720),
    "1080p": (1920, 1080),
    "4k": (3840, 2160),
    "square": (1080, 1080),
}


@dataclass(frozen=True)
class Theme:
    """A named look for frames.

    ``size`` is the default frame size in pixels and ``dpi`` the resolution that font sizes and line
    widths scale with; ``rc`` holds matplotlib rcParams applied while the figure is built.

    ``panels_widen``: a side panel (the loss curve) widens the default frame; if False the panels
    share the theme's size, as on a 16:9 slide. ``fit_margins``: margins are fitted to the labels
    even for a frame without panels (frames with panels always are); if False such a frame keeps
    matplotlib's classic margins, the blog's composition.
    """

    name: str
    size: tuple[int, int] = (640, 480)
    dpi: int = 100
    point_color: str = "C0"
    line_color: str = "red"
    line_width: float = 5.0
    label_color: str = "red"
    label_size: float = 20.0
    loss_color: str = "C0"
    test_loss_color: str = "C1"
    #: Scenes multiply their marker areas by the square of this.
    marker_scale: float = 1.0
    panels_widen: bool = True
    fit_margins: bool = False
    rc: dict[str, Any] = field(default_factory=dict)


#: The blog's look: matplotlib's defaults, blue points, a thick red line, a red loss label.
LIGHT = Theme("light")

DARK = Theme(
    "dark",
    point_color="#4cc9f0",
    line_color="#ff4d6d",
    label_color="#ff4d6d",
    loss_color="#4cc9f0",
    test_loss_color="#ffd166",
    rc={
        "figure.facecolor": "#111418",
        "axes.facecolor": "#111418",
        "savefig.facecolor": "#111418",
        "axes.edgecolor": "#c9d1d9",
        "axes.labelcolor": "#e6edf3",
        "axes.titlecolor": "#e6edf3",
        "text.color": "#e6edf3",
        "xtick.color": "#c9d1d9",
        "ytick.color": "#c9d1d9",
    },
)

#: For projectors: 16:9, and at 1280x720 fonts and lines readable from the back of a room.
SLIDES = Theme(
    "slides",
    size=(1280, 720),
    dpi=100,
    line_width=8.0,
    label_size=34.0,
    marker_scale=1.6,
    panels_widen=False,
    fit_margins=True,
    rc={
        "font.size": 20,
        "axes.titlesize": 24,
        "axes.labelsize": 22,
        "xtick.labelsize": 18,
        "ytick.labelsize": 18,
        "axes.linewidth": 2.0,
        "xtick.major.width": 2.0,
        "ytick.major.width": 2.0,
        "xtick.major.size": 7,
        "ytick.major.size": 7,
        # Large tick labels meet at the axes' lower left corner unless set a little further out.
        "xtick.major.pad": 6,
        "ytick.major.pad": 6,
        "lines.markersize": 10,
        "scatter.edgecolors": "face",
    },
)

THEMES: dict[str, Theme] = {theme.name: theme for theme in (LIGHT, DARK, SLIDES)}


def smallest_text_size() -> "str | float":
    """The size of a frame's smallest texts (notes, legends, a race's key): its tick labels', in the rcParams in force.

    Nothing in a frame is smaller than its tick labels, so every text reads where they do (a capital
    10 px high at the default size and up).
    """
    from matplotlib import rcParams

    return rcParams["xtick.labelsize"]


def get_theme(theme: "str | Theme") -> Theme:
    """Return the theme called ``theme`` (or ``theme`` itself if it is a Theme).

    Raises
    ------
    UsageError
        If no theme has that name.
    """
    if isinstance(theme, Theme):
        return theme
    try:
        return THEMES[theme]
    except (KeyError, TypeError):
        raise UsageError(f"unknown theme {theme!r}; choose from {', '.join(THEMES)}") from None
