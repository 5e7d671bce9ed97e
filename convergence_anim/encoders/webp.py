"""Streaming animated WebP encoder: the GIF's pixels, losslessly, each frame only the pixels that changed.

Why not Pillow's ``save_all`` (or ffmpeg's ``libwebp_anim``): both go through libwebp's animation
encoder, which keeps every frame until the end and merges a frame identical to the previous one into
the previous frame's duration, so a decoder sees fewer frames than were captured. Here the file is
written as frames arrive, like the GIF encoder: the first frame whole, then for each frame the
bounding box of the pixels that changed, with unchanged pixels inside it made transparent and
alpha-blended onto the canvas (long transparent runs compress well). Pillow encodes each of those
rectangles as a still WebP, in C; this module only puts its chunks into the animation's RIFF
container (https://developers.google.com/speed/webp/docs/riff_container).

Why the GIF's palette: lossless WebP of the drawn frames themselves (every anti-aliased shade kept)
came out 1.12x the size of our GIF, which is already about half a plain Pillow GIF (one palette,
changed rectangles only). Mapped to the same 255-colour palette first, each frame has few colours,
so libwebp's colour-indexing transform packs it tightly: 0.71x (moons) to 0.76x (linear) of the
GIF, for the same pixels the GIF shows (benchmarks/formats.py).
"""

from __future__ import annotations

import io
import struct
from concurrent.futures import Future, ThreadPoolExecutor
from typing import BinaryIO

import numpy as np

from .._checks import integer
from .._exceptions import EncoderError, OutputError, UsageError
from ._base import Encoder
from .gif import TRANSPARENT, PaletteMapper, build_palette, colour_keys

__all__ = ["WebpEncoder", "read_webp_frames"]

# libwebp's effort for lossless frames (0 .. 100) and its method (0 .. 6). Measured on 60 frames of the
# linear demo: method 1 at effort 100 is the smallest but for 0.5%, and as fast as any setting below
# it (method 0 doubles the size; methods 3 and up take 3x the time for no gain).
_LOSSLESS_EFFORT, _LOSSLESS_METHOD = 100, 1
_LOSSY_METHOD = 2
#: Frames encoded ahead of the one being written: Pillow releases the GIL while libwebp encodes, so
#: a frame compresses in a thread while the next one is drawn.
_AHEAD = 4


class WebpEncoder(Encoder):
    """Writes an animated WebP, lossless unless ``quality`` is given, one frame at a time.

    Parameters
    ----------
    path, size, fps, loop, samples:
        As for every ``Encoder``; ``loop`` is the number of times the animation plays (0: forever).
    quality:
        None (the default) for lossless frames on the GIF's palette: the same pixels as ``.gif``,
        built from ``samples`` the same way; or 1 to 100 for lossy frames of the drawn colours
        (larger for these sharp-edged plots at any quality that keeps thin lines clean).

    Raises
    ------
    UsageError
        If fps, loop or quality is out of range.
    OutputError
        If the file cannot be written.
    """

    suffix = ".webp"
    # Frame durations are whole milliseconds; browsers play frames of 10 ms or less at 100 ms, as GIF.
    max_fps = 60.0
    external_cores = 1  # the encoding thread
    takes_quality = True
    needs_samples = True  # for the palette of lossless frames

    @classmethod
    def options_from(cls, settings) -> dict:
        return {"quality": settings.quality}

    def __init__(self, path, *, size, fps, loop=0, samples=(), quality: "int | None" = None) -> None:
        super().__init__(path, size=size, fps=fps, loop=loop, samples=samples)
        from PIL import Image, features

        if not features.check("webp"):
            raise EncoderError("cannot write .webp: this Pillow was built without WebP; pip install --upgrade pillow")
        self._Image = Image
        self.quality = None if quality is None else integer("quality", quality, 1, 100)
        if self.quality is None and not samples:
            raise UsageError("a lossless WebpEncoder needs sample frames to build its palette")
        self._mapper = PaletteMapper(build_palette(samples)) if self.quality is None else None
        if self._mapper is not None:  # palette index -> opaque RGBA word; TRANSPARENT -> all zero
            self._rgba_words = np.zeros(256, dtype="<u4")
            self._rgba_words[: len(self._mapper.palette)] = colour_keys(self._mapper.palette[None]) | np.uint32(0xFF000000)
        if loop > 0xFFFF:
            raise UsageError(f"a WebP plays at most {0xFFFF} times (0 loops forever), got loop={loop}")
        self._previous: "np.ndarray | None" = None  # palette indices or colour keys of the last frame
        self._ticks = 0  # frame intervals written so far, for drift-free millisecond durations
        self._pending: "list[tuple[tuple, Future]]" = []
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="webp")
        width, height = size
        try:
            self._fh: BinaryIO = open(self.path, "wb")
            # The RIFF size is written when the file is complete; VP8X says: animated, with alpha.
            self._fh.write(b"RIFF\0\0\0\0WEBP")
            self._fh.write(_chunk(b"VP8X", struct.pack("<B3x", 0x12) + _u24(width - 1) + _u24(height - 1)))
            # Background (BGRA) is only a hint to viewers: the first frame covers the whole canvas.
            self._fh.write(_chunk(b"ANIM", struct.pack("<4BH", 255, 255, 255, 255, self.loop)))
        except OSError as exc:
            self._pool.shutdown()
            raise OutputError(f"cannot write {str(self.path)!r}: {exc.strerror}") from None

    def preparer(self):
        """The picklable frame -> palette indices step of lossless frames (as the GIF's), which worker processes can run."""
        return self._mapper or super().preparer()

    def write_prepared(self, frame: np.ndarray, repeat: int = 1) -> None:
        """Append a frame passed through ``preparer()``, shown for ``repeat`` frame intervals.

        Lossless: the frame's palette indices, shape ``(height, width)``; lossy: the RGB or RGBA
        uint8 frame itself.
        """
        if self._mapper is None:
            keys = colour_keys(frame)  # also checks dtype and shape
        else:
            keys = np.asarray(frame)
            if keys.dtype != np.uint8 or keys.ndim != 2:
                raise UsageError(f"a lossless WebP frame is palette indices from preparer(), got {keys.dtype} {keys.shape}")
        if keys.shape != (self.size[1], self.size[0]):
            raise UsageError(f"frames must be {self.size[0]}x{self.size[1]}, got {keys.shape[1]}x{keys.shape[0]}")
        start = self._ticks
        self._ticks += repeat
        duration = round(self._ticks * 1000 / self.fps) - round(start * 1000 / self.fps)
        previous, self._previous = self._previous, keys
        if previous is None:
            left, top, patch, blend = 0, 0, self._patch(frame, np.s_[:, :], None), False
        else:
            changed = keys != previous
            rows = np.flatnonzero(changed.any(axis=1))
            if rows.size == 0:  # identical frame: one transparent pixel keeps the frame count
                left, top, patch = 0, 0, np.zeros((1, 1, 4), dtype=np.uint8)
            else:
                cols = np.flatnonzero(changed[rows[0] : rows[-1] + 1].any(axis=0))
                # Frame offsets are stored halved, so a rectangle starts on even coordinates.
                top, left = int(rows[0]) & ~1, int(cols[0]) & ~1
                window = np.s_[top : rows[-1] + 1, left : cols[-1] + 1]
                patch = self._patch(frame, window, changed[window])
            blend = True
        placement = (left, top, patch.shape[1], patch.shape[0], duration, blend)
        self._pending.append((placement, self._pool.submit(self._encode, patch)))
        while len(self._pending) > _AHEAD:
            self._flush_one()
        self.frames_written += 1

    def _patch(self, frame: np.ndarray, window, changed: "np.ndarray | None") -> np.ndarray:
        """``window`` of a prepared frame as RGBA, the pixels not ``changed`` transparent (None: all opaque)."""
        if self._mapper is None:
            rgb = frame[window][..., :3]
            alpha = np.full(rgb.shape[:2], 255, np.uint8) if changed is None else np.where(changed, 255, 0).astype(np.uint8)
            return np.ascontiguousarray(np.dstack([rgb, alpha]))
        indices = frame[window] if changed is None else np.where(changed, frame[window], np.uint8(TRANSPARENT))
        # One gather of packed RGBA words, read back as bytes: cheaper than building the channels.
        return self._rgba_words[indices].view(np.uint8).reshape(indices.shape + (4,))

    def _encode(self, patch: np.ndarray) -> bytes:
        """The image chunks (``VP8L``, or ``ALPH`` + ``VP8 ``) of ``patch`` encoded as a still WebP."""
        image = self._Image.fromarray(patch, "RGBA" if patch.shape[2] == 4 else "RGB")
        out = io.BytesIO()
        if self.quality is None:
            image.save(out, "WEBP", lossless=True, quality=_LOSSLESS_EFFORT, method=_LOSSLESS_METHOD, exact=False)
        else:
            image.save(out, "WEBP", quality=self.quality, method=_LOSSY_METHOD)
        return b"".join(chunk for kind, chunk in _chunks(out.getvalue()) if kind in (b"VP8L", b"VP8 ", b"ALPH"))

    def _flush_one(self) -> None:
        (left, top, width, height, duration, blend), future = self._pending.pop(0)
        data = future.result()
        # Flags: bit 1 set means "do not blend" (the first frame replaces the canvas); bit 0 clear
        # means the frame is not disposed, so the next one is drawn over it.
        header = _u24(left // 2) + _u24(top // 2) + _u24(width - 1) + _u24(height - 1) + _u24(duration)
        header += bytes([0 if blend else 2])
        try:
            self._fh.write(_chunk(b"ANMF", header + data))
        except OSError as exc:
            raise OutputError(f"cannot write {str(self.path)!r}: {exc.strerror}") from None

    def close(self) -> None:
        try:
            if self.frames_written == 0:
                raise EncoderError("no frame was written, so there is no animation to finish")
            while self._pending:
                self._flush_one()
            size = self._fh.tell()
            self._fh.seek(4)
            self._fh.write(struct.pack("<I", size - 8))
            self._fh.close()
        except OSError as exc:
            raise OutputError(f"cannot write {str(self.path)!r}: {exc.strerror}") from None
        finally:
            self._pool.shutdown()
            self._fh.close()

    def abort(self) -> None:
        for _, future in self._pending:
            future.cancel()
        self._pool.shutdown()
        try:
            self._fh.close()
        except OSError:
            pass


def _u24(value: int) -> bytes:
    if not 0 <= value < 1 << 24:
        raise UsageError(f"a WebP field holds 0 to {(1 << 24) - 1}, got {value} (frame too large or too long)")
    return value.to_bytes(3, "little")


def _chunk(kind: bytes, payload: bytes) -> bytes:
    """A RIFF chunk: type, little-endian size, payload, padded to an even length."""
    return kind + struct.pack("<I", len(payload)) + payload + (b"\0" if len(payload) % 2 else b"")


def _chunks(data: bytes, start: int = 12):
    """``(type, whole chunk)`` of each chunk in a RIFF payload from ``start`` (after ``RIFF....WEBP``)."""
    offset = start
    while offset + 8 <= len(data):
        kind, size = data[offset : offset + 4], struct.unpack("<I", data[offset + 4 : offset + 8])[0]
        end = offset + 8 + size + (size & 1)
        yield kind, data[offset:end]
        offset = end


def read_webp_frames(path) -> list[dict]:
    """The frames of an animated WebP as stored: offset, size, duration (ms), blending; for tests and checks.

    Returns
    -------
    list of dict
        One ``{"x", "y", "width", "height", "duration", "blend"}`` per ``ANMF`` chunk, in order.
    """
    with open(path, "rb") as fh:
        data = fh.read()
    frames = []
    for kind, chunk in _chunks(data):
        if kind == b"ANMF":
            p = chunk[8:24]
            field = [int.from_bytes(p[i : i + 3], "little") for i in range(0, 15, 3)]
            frames.append({"x": 2 * field[0], "y": 2 * field[1], "width": field[2] + 1, "height": field[3] + 1,
                           "duration": field[4], "blend": not p[15] & 2})
    return frames
