"""The bundled ffmpeg binary (imageio-ffmpeg's) and what it can encode, checked before any work."""

from __future__ import annotations

import functools
import os
import subprocess

from .._exceptions import EncoderError

__all__ = ["ffmpeg_exe", "require_ffmpeg_encoder"]


def ffmpeg_exe(suffix: str = ".mp4") -> str:
    """Path of the ffmpeg binary, or EncoderError saying how to get one (to write ``suffix``)."""
    try:
        import imageio_ffmpeg

        return imageio_ffmpeg.get_ffmpeg_exe()
    except (ImportError, RuntimeError):
        raise EncoderError(
            f"cannot write {suffix[1:].upper()}: the ffmpeg binary was not found (pip install imageio-ffmpeg, or "
            "set IMAGEIO_FFMPEG_EXE); write a .gif instead"
        ) from None


@functools.lru_cache(maxsize=None)
def _encoders(exe: str) -> "frozenset[str]":
    """The encoder names ``exe -encoders`` lists (an empty set if it cannot run)."""
    try:
        listing = subprocess.run([exe, "-hide_banner", "-encoders"], capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        return frozenset()
    # Lines look like " V....D libx264   libx264 H.264 / AVC ..." after a legend ending in "------".
    names = set()
    for line in listing.split("------", 1)[-1].splitlines():
        parts = line.split()
        if len(parts) >= 2:
            names.add(parts[1])
    return frozenset(names)


def require_ffmpeg_encoder(codec: str, suffix: str) -> str:
    """The ffmpeg binary, after checking it exists and lists ``codec``; else one EncoderError line saying what to do.

    Raises
    ------
    EncoderError
        If there is no ffmpeg binary, it cannot run, or it was built without ``codec``.
    """
    exe = ffmpeg_exe(suffix)
    if not (os.path.isfile(exe) and os.access(exe, os.X_OK)):
        raise EncoderError(f"ffmpeg could not start ({exe}): no such executable file; write a .gif instead")
    found = _encoders(exe)
    # An empty listing says nothing about the codec (ffmpeg failed to list): the encoder's own
    # start then reports ffmpeg's error.
    if found and codec not in found:
        raise EncoderError(
            f"cannot write {suffix}: the ffmpeg at {exe} has no {codec} encoder; pip install --upgrade "
            f"imageio-ffmpeg (its ffmpeg has it), or set IMAGEIO_FFMPEG_EXE to an ffmpeg built with {codec}"
        )
    return exe
