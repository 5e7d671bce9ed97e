"""VP9 WebM encoder, streaming frames into the bundled ffmpeg (the royalty-free video of the web)."""

from __future__ import annotations

import os

from .mp4 import Mp4Encoder

__all__ = ["WebmEncoder", "webm_structure_problem"]

_EBML, _SEGMENT = 0x1A45DFA3, 0x18538067


class WebmEncoder(Mp4Encoder):
    """Writes VP9 video in a WebM container that plays in Chromium, Firefox and Safari 14+.

    - ``yuv420p`` (VP9 profile 0): the one every browser decodes in hardware and software; 4:4:4
      (profile 1) is refused by several. Frames are sent at twice their pixels, as for MP4, so thin
      coloured lines keep their colour.
    - constant quality (``-crf`` with ``-b:v 0``): the size follows what the frames need.
    - ``-deadline realtime -cpu-used 6``: libvpx's "good" deadline takes 5x the time (20 s for 60
      moons frames at twice the pixels, on this 2-core machine) for 0.85x the bytes; MP4 is the
      smaller file anyway, WebM is for where a royalty-free codec is wanted (benchmarks/formats.py).
    - ``-threads 2``: libvpx's bytes depend on its thread count, pinned for reproducible files.

    Parameters are those of ``Mp4Encoder``; ``crf`` is libvpx's (0-63, default 32).
    """

    suffix = ".webm"
    codec = "libvpx-vp9"

    def __init__(self, path, *, size, fps, loop=0, samples=(), crf: int = 32, verbose: bool = False) -> None:
        super().__init__(path, size=size, fps=fps, loop=loop, samples=samples, crf=crf, verbose=verbose)

    def _output_params(self) -> list[str]:
        return self._scale_params() + ["-crf", str(self._crf), "-b:v", "0", "-deadline", "realtime", "-cpu-used", "6",
                                       "-row-mt", "1", "-threads", "2", "-f", "webm"]

    def _structure_problem(self) -> "str | None":
        return webm_structure_problem(self.path)


def _vint(data: bytes, offset: int, keep_marker: bool) -> "tuple[int, int] | None":
    """An EBML variable-length integer at ``offset``: ``(value, length)``, or None if cut off."""
    if offset >= len(data):
        return None
    first = data[offset]
    length = 8 - first.bit_length() + 1 if first else 9
    if length > 8 or offset + length > len(data):
        return None
    value = int.from_bytes(data[offset : offset + length], "big")
    if not keep_marker:
        value &= (1 << (7 * length)) - 1
    return value, length


def webm_structure_problem(path) -> "str | None":
    """What is wrong with the top-level elements of the WebM at ``path``, or None if they are whole.

    A finished WebM is an EBML header and one Segment whose size (written when ffmpeg closes the
    file) covers the rest of it exactly; a write cut short leaves the size unknown or too large.
    """
    try:
        size = os.path.getsize(path)
        with open(path, "rb") as fh:
            head = fh.read(64)
    except OSError as exc:
        return exc.strerror or str(exc)
    seen, offset = [], 0
    # Only the first elements are read: the header, then the Segment's size is checked against the file.
    while offset < size:
        element = _vint(head, offset, keep_marker=True)
        length = element and _vint(head, offset + element[1], keep_marker=False)
        if not element or not length:
            return f"the file ends inside an element header at byte {offset}"
        (ident, id_len), (body, size_len) = element, length
        seen.append(ident)
        if ident == _SEGMENT:
            if body == (1 << (7 * size_len)) - 1:
                return "the video was not finished (its segment size is unknown)"
            end = offset + id_len + size_len + body
            if end != size:
                return f"the file is truncated ({size} bytes, its segment needs {end})"
            break
        offset += id_len + size_len + body
    if seen[:1] != [_EBML] or _SEGMENT not in seen:
        return "the file is not a WebM (no EBML header and segment)"
    return None
