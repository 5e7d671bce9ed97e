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
from typing import BinaryIO, Sequence

import numpy as np

from .._exceptions import OutputError, UsageError
from ._base import Encoder

__all__ = ["GifEncoder", "PaletteMapper", "build_palette"]

#: Palette index reserved for "unchanged since the previous frame".
TRANSPARENT = 255
#: How many of the most frequent sample colours are kept exactly (backgrounds, fills, text).
EXACT_COLOURS = 96


def colour_keys(frame: np.ndarray) -> np.ndarray:
    """24-bit integer keys ``R | G << 8 | B << 16`` of an RGB or RGBA frame, shape ``frame.shape[:-1]``.

    For RGBA this is a free reinterpretation of each pixel's four bytes as one little-endian integer
    with the alpha byte masked off; RGB frames are packed channel by channel.
    """
    frame = np.asarray(frame)
    if frame.dtype != np.uint8 or frame.ndim < 2 or frame.shape[-1] not in (3, 4):
        raise UsageError(f"frames must be uint8 arrays of shape (height, width, 3 or 4), got {frame.dtype} {frame.shape}")
    if frame.shape[-1] == 4 and frame.flags.c_contiguous:
        return frame.view("<u4")[..., 0] & 0xFFFFFF
    r, g, b = (frame[..., i].astype(np.uint32) for i in range(3))
    return r | (g << 8) | (b << 16)


def _keys_to_rgb(keys: np.ndarray) -> np.ndarray:
    keys = np.asarray(keys, dtype=np.uint32)
    return np.stack([keys & 255, (keys >> 8) & 255, (keys >> 16) & 255], axis=-1).astype(np.uint8)


def build_palette(samples: Sequence[np.ndarray], size: int = TRANSPARENT) -> np.ndarray:
    """Return a ``(k, 3)`` uint8 palette (k <= size) for frames like ``samples``.

    If the samples hold at most ``size`` colours the palette is exact. Otherwise the most frequent
    colours are kept exactly, so flat areas never band, and median cut spreads the remaining entries
    over the rest (anti-aliased edges, gradients).
    """
    from PIL import Image

    if not 2 <= size <= 256:
        raise UsageError(f"a GIF palette holds 2 to 256 colours, got size={size}")
    keys = np.concatenate([colour_keys(s).reshape(-1) for s in samples])
    colours, counts = np.unique(keys, return_counts=True)
    if len(colours) <= size:
        return _keys_to_rgb(colours)
    # A small palette keeps half its entries exact, so median cut always has some to spread.
    exact = colours[np.argsort(-counts, kind="stable")[: min(EXACT_COLOURS, size // 2)]]
    others = _keys_to_rgb(keys[~np.isin(keys, exact)])
    strip = Image.fromarray(others.reshape(1, -1, 3))
    quantised = strip.quantize(size - len(exact), method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    used = len(quantised.getcolors(size) or ())  # median cut may return fewer colours than asked
    rest = np.array(quantised.getpalette()[: 3 * used], dtype=np.uint8).reshape(-1, 3)
    palette = np.concatenate([_keys_to_rgb(exact), rest])
    _, first = np.unique(palette, axis=0, return_index=True)
    return palette[np.sort(first)]


class PaletteMapper:
    """Maps frames to the index of the nearest palette colour, exactly.

    Pillow's own mapping truncates colours to 6 bits per channel first, which turns a white
    background into (252, 252, 252): a visible grey cast. Here a lookup table over all 2**24 colours
    (16 MB, filled lazily) remembers the nearest entry of each colour seen, so a colour that is in the
    palette always maps to itself and each other colour is searched once. Pickling sends only the
    palette (worker processes rebuild the table).
    """

    _UNKNOWN = TRANSPARENT  # never a palette index, so it can mark "not looked up yet"

    def __init__(self, palette: np.ndarray) -> None:
        palette = np.asarray(palette, dtype=np.uint8)
        if not 0 < len(palette) <= TRANSPARENT:
            raise ValueError(f"a GIF palette holds 1 to {TRANSPARENT} colours, got {len(palette)}")
        self.palette = palette
        self._lut = np.full(1 << 24, self._UNKNOWN, dtype=np.uint8)
        self._lut[colour_keys(palette)] = np.arange(len(palette), dtype=np.uint8)

    def __reduce__(self):
        return (PaletteMapper, (self.palette,))

    def __call__(self, frame: np.ndarray) -> np.ndarray:
        keys = colour_keys(frame)
        indices = self._lut[keys]
        missing = indices == self._UNKNOWN
        if missing.any():
            new = np.unique(keys[missing])
            rgb = _keys_to_rgb(new).astype(np.int32)
            distance = ((rgb[:, None, :] - self.palette[None, :, :].astype(np.int32)) ** 2).sum(axis=-1)
            self._lut[new] = distance.argmin(axis=1).astype(np.uint8)
            indices = self._lut[keys]
        return indices


class GifEncoder(Encoder):
    """Writes an animated GIF89a frame by frame, holding only the previous frame's indices."""

    suffix = ".gif"
    # Browsers treat GIF delays under 2/100 s as 1/10 s, so faster animations would play slower.
    max_fps = 50.0
    needs_samples = True

    def __init__(self, path, *, size, fps, loop=0, samples=()) -> None:
        super().__init__(path, size=size, fps=fps, loop=loop, samples=samples)
        from PIL import GifImagePlugin, Image

        if not samples:
            raise UsageError("GifEncoder needs sample frames to build its palette")
        self._Image = Image
        self._getdata = GifImagePlugin.getdata
        self.palette = build_palette(samples)
        self._mapper = PaletteMapper(self.palette)
        table = np.zeros((256, 3), dtype=np.uint8)
        table[: len(self.palette)] = self.palette
        self._previous: np.ndarray | None = None
        self._ticks = 0  # frame intervals written so far, for drift-free centisecond delays
        try:
            self._fh: BinaryIO = open(self.path, "wb")
            self._fh.write(_header(size, table, self.loop))
        except OSError as exc:
            raise OutputError(f"cannot write {str(self.path)!r}: {exc.strerror}") from None

    def preparer(self) -> PaletteMapper:
        """The picklable frame -> palette indices step, which worker processes can run."""
        return self._mapper

    def write_prepared(self, indices: np.ndarray, repeat: int = 1) -> None:
        """Append a frame already mapped to this encoder's palette by ``preparer()``."""
        start = self._ticks
        self._ticks += repeat
        delay = round(self._ticks * 100 / self.fps) - round(start * 100 / self.fps)
        previous, self._previous = self._previous, indices
        params = {"duration": delay * 10, "disposal": 1}
        if previous is None:
            left, top, patch = 0, 0, indices
        else:
            params["transparency"] = TRANSPARENT
            changed = indices != previous
            rows = np.flatnonzero(changed.any(axis=1))
            if rows.size == 0:  # identical frame: a 1x1 transparent patch keeps the frame count
                left, top, patch = 0, 0, np.full((1, 1), TRANSPARENT, dtype=np.uint8)
            else:
                cols = np.flatnonzero(changed[rows[0] : rows[-1] + 1].any(axis=0))
                top, bottom, left, right = rows[0], rows[-1] + 1, cols[0], cols[-1] + 1
                window = np.s_[top:bottom, left:right]
                patch = np.where(changed[window], indices[window], np.uint8(TRANSPARENT))
        image = self._Image.fromarray(np.ascontiguousarray(patch, dtype=np.uint8), "L")
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
