"""Encoders turn a stream of RGB frames into a file; they never see a figure.

An encoder is chosen by the output file's suffix. Encoders are listed here as plain data (suffix,
module, class) and imported only when used, so a missing backend only matters to those who use it.
"""

from __future__ import annotations

import importlib
from pathlib import Path

from typing import TYPE_CHECKING, Any

from .._exceptions import UsageError

if TYPE_CHECKING:  # pragma: no cover
    from ._base import Encoder

__all__ = ["ENCODERS", "Encoder", "encoder_for", "formats"]

#: Output suffix -> (module, class) of the encoder that writes it.
ENCODERS: dict[str, tuple[str, str]] = {
    ".gif": (".gif", "GifEncoder"),
    ".mp4": (".mp4", "Mp4Encoder"),
    ".webp": (".webp", "WebpEncoder"),
    ".webm": (".webm", "WebmEncoder"),
    ".html": (".html", "HtmlEncoder"),
    ".tex": (".beamer", "BeamerEncoder"),
}


def __getattr__(name: str) -> Any:
    # The base class pulls in numpy: imported on first use, so the command line's choices of
    # formats (read from ENCODERS) cost nothing at start-up.
    if name == "Encoder":
        from ._base import Encoder

        return Encoder
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def formats() -> list[str]:
    """The format names that can be written, from the registry: ``["gif", "mp4", ...]``."""
    return [suffix.lstrip(".") for suffix in ENCODERS]


def encoder_for(path: "str | Path") -> "type[Encoder]":
    """Return the encoder class for ``path``'s suffix.

    Raises
    ------
    UsageError
        If no encoder writes that suffix.
    """
    suffix = Path(path).suffix.lower()
    try:
        module_name, class_name = ENCODERS[suffix]
    except KeyError:
        known = ", ".join(ENCODERS)
        shown = f"suffix {suffix!r}" if suffix else "no suffix"
        raise UsageError(f"cannot write {str(path)!r}: {shown} is not a known format; use one of {known}") from None
    return getattr(importlib.import_module(module_name, __name__), class_name)
