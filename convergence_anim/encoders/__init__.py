"""Encoders turn a stream of RGB frames into a file; they never see a figure.

An encoder is chosen by the output file's suffix. Encoders are listed here as plain data (suffix,
module, class) and imported only when used, so a missing backend only matters to those who use it.
"""

from __future__ import annotations

import importlib
from pathlib import Path

from .._exceptions import UsageError
from ._base import Encoder

__all__ = ["ENCODERS", "Encoder", "encoder_for"]

#: Output suffix -> (module, class) of the encoder that writes it.
ENCODERS: dict[str, tuple[str, str]] = {
    ".gif": (".gif", "GifEncoder"),
    ".mp4": (".mp4", "Mp4Encoder"),
}


def encoder_for(path: "str | Path") -> type[Encoder]:
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
