"""Streaming GIF encoder: one shared palette, no dithering, only changed pixels per frame.

Why not Pillow's ``save_all``: it keeps every frame until the end, merges identical frames (so a
decoder would see fewer frames than were captured) and, fed RGB frames, quantises each one with its
own palette, so flat colours shimmer and the file grows. Here the file is written as frames arrive:
a global palette built once from sample frames, then for each frame only the bounding box of the
pixels that changed, with unchanged pixels inside it made transparent (long runs compress well).
Pillow still does the LZW compression, in C.
"""

from __future__ import annotations

import struct
from pathlib import Path
from typing import BinaryIO, Sequence

import numpy as np

from .._exceptions import OutputError
from ._base import Encoder

__all__ = ["GifEncoder", "build_palette"]

#: Palette index reserved for "unchanged since the previous frame".
TRANSPARENT = 255
#: How many of the most frequent sample colours are kept exactly (backgrounds, fills, text).
EXACT_COLOURS = 96


def build_palette(samples: Sequence[np.ndarray], size: int = 255) -> np.ndarray:
    """Return a ``(k, 3)`` uint8 palette (k <= size) for frames like ``samples``.

    If the samples hold at most ``size`` colours the palette is exact. Otherwise the most frequent
    colours are kept exactly, so flat areas never band, and median cut spreads the remaining entries
    over the rest (anti-aliased edges, gradients).
    """
    from PIL import Image

    pixels = np.concatenate([np.asarray(s, dtype=np.uint8).reshape(-1, 3) for s in samples])
    packed = _pack(pixels)
    colours, counts = np.unique(packed, return_counts=True)
    if len(colours) <= size:
        exact = colours
        rest = np.empty((0, 3), dtype=np.uint8)
    else:
        exact = colours[np.argsort(-counts, kind="stable")[:EXACT_COLOURS]]
        others = pixels[~np.isin(packed, exact)]
        strip = Image.fromarray(others.reshape(1, -1, 3))
        quantised = strip.quantize(size - len(exact), method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
        used = len(quantised.getcolors(size) or ())  # median cut may return fewer colours than asked
        rest = np.array(quantised.getpalette()[: 3 * used], dtype=np.uint8).reshape(-1, 3)
    exact_rgb = np.stack([(exact >> 16) & 255, (exact >> 8) & 255, exact & 255], axis=1).astype(np.uint8)
    palette = np.concatenate([exact_rgb, rest])
    _, first = np.unique(palette, axis=0, return_index=True)
    return palette[np.sort(first)]


class PaletteMapper:
    """Maps RGB frames to the index of the nearest palette colour, exactly.

    Pillow's own mapping truncates colours to 6 bits per channel first, which turns a white
    background into (252, 252, 252): visible as a grey cast. Here a lookup table over all 2**24
    colours (16 MB, filled lazily) remembers the nearest entry of each colour seen, so a colour that
    is in the palette always maps to itself and each new colour is searched once.
    """

    _UNKNOWN = TRANSPARENT  # never a palette index, so it can mark "not looked up yet"

    def __init__(self, palette: np.ndarray) -> None:
        if not 0 < len(palette) <= TRANSPARENT:
            raise ValueError(f"a GIF palette holds 1 to {TRANSPARENT} colours, got {len(palette)}")
        self.palette = np.asarray(palette, dtype=np.uint8)
        self._lut = np.full(1 << 24, self._UNKNOWN, dtype=np.uint8)
        self._lut[_pack(self.palette)] = np.arange(len(self.palette), dtype=np.uint8)

    def __call__(self, frame: np.ndarray) -> np.ndarray:
        keys = _pack(frame)
        indices = self._lut[keys]
        missing = indices == self._UNKNOWN
        if missing.any():
            new = np.unique(keys[missing])
            rgb = np.stack([(new >> 16) & 255, (new >> 8) & 255, new & 255], axis=-1).astype(np.int32)
            distance = ((rgb[:, None, :] - self.palette[None, :, :].astype(np.int32)) ** 2).sum(axis=-1)
            self._lut[new] = distance.argmin(axis=1).astype(np.uint8)
            indices = self._lut[keys]
        return indices


def _pack(rgb: np.ndarray) -> np.ndarray:
    """24-bit integer keys of RGB values, shape ``rgb.shape[:-1]``."""
    rgb = np.asarray(rgb, dtype=np.uint8)
    return (rgb[..., 0].astype(np.uint32) << 16) | (rgb[..., 1].astype(np.uint32) << 8) | rgb[..., 2]


class GifEncoder(Encoder):
    """Writes an animated GIF89a, frame by frame, holding at most two index frames in memory."""

    suffix = ".gif"
    # Browsers treat GIF delays under 2/100 s as 1/10 s, so faster animations would play slower.
    max_fps = 50.0
    needs_samples = True

    def __init__(self, path, *, size, fps, loop=0, samples=()) -> None:
        super().__init__(path, size=size, fps=fps, loop=loop, samples=samples)
        from PIL import GifImagePlugin, Image

        self._Image = Image
        self._getdata = GifImagePlugin.getdata
        if not samples:
            raise ValueError("GifEncoder needs sample frames to build its palette")
        palette = build_palette(samples)
        self.palette = palette
        table = np.zeros((256, 3), dtype=np.uint8)
        table[: len(palette)] = palette
        self._mapper = PaletteMapper(palette)
        self._previous: np.ndarray | None = None
        self._ticks = 0  # frame intervals written so far, for drift-free centisecond delays
        try:
            self._fh: BinaryIO = open(self.path, "wb")
            self._fh.write(_header(size, table, self.loop))
        except OSError as exc:
            raise OutputError(f"cannot write {str(self.path)!r}: {exc.strerror}") from None

    def quantise(self, frame: np.ndarray) -> np.ndarray:
        """Map an RGB frame to palette indices (nearest colour, no dithering)."""
        return self._mapper(frame)

    def write(self, frame: np.ndarray, repeat: int = 1) -> None:
        self.write_indices(self.quantise(frame), repeat)

    def write_indices(self, indices: np.ndarray, repeat: int = 1) -> None:
        """Append a frame already mapped to this encoder's palette (see ``quantise``)."""
        start = self._ticks
        self._ticks += repeat
        delay = round(self._ticks * 100 / self.fps) - round(start * 100 / self.fps)
        previous, self._previous = self._previous, indices
        if previous is None:
            left, top, patch, transparency = 0, 0, indices, None
        else:
            changed = indices != previous
            rows = np.flatnonzero(changed.any(axis=1))
            if rows.size == 0:  # identical frame: a 1x1 transparent patch keeps the frame count
                left, top, patch = 0, 0, np.full((1, 1), TRANSPARENT, dtype=np.uint8)
            else:
                cols = np.flatnonzero(changed[rows[0] : rows[-1] + 1].any(axis=0))
                top, bottom, left, right = rows[0], rows[-1] + 1, cols[0], cols[-1] + 1
                patch = np.where(changed[top:bottom, left:right], indices[top:bottom, left:right], TRANSPARENT)
                patch = patch.astype(np.uint8)
            transparency = TRANSPARENT
        params = {"duration": delay * 10, "disposal": 1}
        if transparency is not None:
            params["transparency"] = transparency
        image = self._Image.fromarray(np.ascontiguousarray(patch), "L")
        try:
            for chunk in self._getdata(image, offset=(int(left), int(top)), **params):
                self._fh.write(chunk)
        except OSError as exc:
            raise OutputError(f"cannot write {str(self.path)!r}: {exc.strerror}") from None
        self.frames_written += 1

    def close(self) -> None:
        try:
            self._fh.write(b";")
            self._fh.close()
        except OSError as exc:
            raise OutputError(f"cannot write {str(self.path)!r}: {exc.strerror}") from None

    def abort(self) -> None:
        try:
            self._fh.close()
        except OSError:
            pass


def _header(size: tuple[int, int], table: np.ndarray, loop: int) -> bytes:
    width, height = size
    # Global colour table present (0x80), 8-bit colour resolution (0x70), 256 entries (0x07).
    head = b"GIF89a" + struct.pack("<HHBBB", width, height, 0xF7, 0, 0) + table.tobytes()
    if loop != 1:  # NETSCAPE2.0 repeat count: 0 loops forever, N plays N+1 times; omitted, it plays once
        head += b"!\xff\x0bNETSCAPE2.0\x03\x01" + struct.pack("<H", 0 if loop == 0 else loop - 1) + b"\x00"
    return head
