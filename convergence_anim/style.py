"""Themes: the look of a frame (colours, line widths, font sizes, frame size)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ._exceptions import UsageError

__all__ = ["THEMES", "Theme", "get_theme"]


@dataclass(frozen=True)
class Theme:
    """A named look for frames.

    ``size`` is the default frame size in pixels and ``dpi`` the resolution text and lines are
    scaled by; ``rc`` holds matplotlib rcParams applied while the figure is built.
    """

    name: str
    size: tuple[int, int] = (640, 480)
    dpi: int = 100
    point_color: str = "C0"
    line_color: str = "red"
    line_width: float = 5.0
    label_color: str = "red"
    label_size: float = 20.0
    rc: dict[str, Any] = field(default_factory=dict)


#: The blog's look: matplotlib's defaults, blue points, a thick red line, a red loss label.
LIGHT = Theme("light")

THEMES: dict[str, Theme] = {theme.name: theme for theme in (LIGHT,)}


def get_theme(theme: "str | Theme") -> Theme:
    """Return the theme called ``theme`` (or ``theme`` itself if it is a Theme)."""
    if isinstance(theme, Theme):
        return theme
    try:
        return THEMES[theme]
    except KeyError:
        raise UsageError(f"unknown theme {theme!r}; choose from {', '.join(THEMES)}") from None
