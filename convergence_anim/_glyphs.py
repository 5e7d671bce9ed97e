"""Glyph bitmaps drawn once per frame layout, so the texts that change every frame cost half as much.

matplotlib (3.11) draws a text by asking FreeType to render each glyph at its position, to 1/64 of
a pixel. A frame's changing texts ("Iteration:41", "Loss=0.3245") are new strings every frame, but
made of the same few glyphs, at the same few sub-pixel offsets. FreeType renders a glyph moved by
whole pixels as the same bitmap moved, so each glyph bitmap is rendered once per (font, size,
glyph, offset within its pixel) and then only placed: pixel-identical frames, a quarter to a third
less drawing time per frame in the demos (benchmarks/formats.py).

This replaces a private method of matplotlib's Agg renderer, on our own frames' renderers only.
It is installed only where that method and the FreeType calls it makes exist, and only after a
self-check has drawn sample texts both ways and found every pixel equal; anywhere else (another
matplotlib) the renderer is left as it is.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

__all__ = ["GlyphDrawer", "cache_glyphs", "glyph_caching_canvas", "supported"]

#: Bitmaps kept per renderer before the cache starts again (a few hundred bytes each).
MAX_GLYPHS = 20_000

_SAMPLE = "Iteration:1042 w:-0.1541 Loss=0.6466 Ag"


class GlyphDrawer:
    """Draws a renderer's glyphs from bitmaps rendered once; what ``cache_glyphs`` installs.

    Unrotated glyphs of plain text are cached; a rotated text, a slanted or stretched glyph, or
    mathtext's boxes go to matplotlib's own method unchanged.
    """

    def __init__(self, renderer: Any, original: Any) -> None:
        from matplotlib.backends.backend_agg import get_hinting_flag
        from matplotlib.ft2font import RenderMode

        self._renderer = renderer
        self._original = original
        self._hinting = get_hinting_flag  # called per text: it reads the rcParams in force
        self._modes = {True: RenderMode.NORMAL, False: RenderMode.MONO}  # by antialiasing
        self._bitmaps: dict = {}
        self.hits = 0
        self.misses = 0

    def __call__(self, gc: Any, x: float, y: float, angle: float, glyphs: Any, boxes: Any) -> None:
        if angle or boxes:
            return self._original(gc, x, y, angle, glyphs, boxes)
        renderer = self._renderer
        height, dpi = renderer.height, renderer.dpi
        flags, antialiased = self._hinting(), bool(gc.get_antialiased())
        bitmaps = self._bitmaps
        for font, size, glyph, slant, extend, dx, dy in glyphs:  # dy is upwards
            if slant or extend != 1:
                self._original(gc, x, y, angle, [(font, size, glyph, slant, extend, dx, dy)], [])
                continue
            # The glyph's origin in FreeType's 26.6 fixed point (y upwards), as matplotlib places it.
            ox, oy = round(0x40 * (x + dx)), round(0x40 * (height - y + dy))
            key = (font, size, dpi, glyph, ox & 63, oy & 63, flags, antialiased)
            found = bitmaps.get(key)
            if found is None:
                self.misses += 1
                font.set_size(size, dpi)
                font._set_transform(np.array([[0x10000, 0], [0, 0x10000]]), [ox & 63, oy & 63])
                bitmap = font._render_glyph(glyph, flags, self._modes[antialiased])
                buffer = bitmap.buffer if antialiased else bitmap.buffer * 0xFF
                if len(bitmaps) >= MAX_GLYPHS:
                    bitmaps.clear()
                found = bitmaps[key] = (buffer, bitmap.left, bitmap.top)
            else:
                self.hits += 1
            buffer, left, top = found
            # Moved by the whole pixels left out of the key; draw_text_image's y is downwards, the bitmap's bottom.
            renderer._renderer.draw_text_image(buffer, left + (ox >> 6), int(height) - top - (oy >> 6) + buffer.shape[0], 0, gc)


def cache_glyphs(renderer: Any) -> bool:
    """Install a ``GlyphDrawer`` on an Agg ``renderer`` (once); whether its glyphs are now cached."""
    if isinstance(renderer.__dict__.get("_draw_text_glyphs_and_boxes"), GlyphDrawer):
        return True
    if not supported():
        return False
    _install(renderer)
    return True


def glyph_caching_canvas(figure: Any) -> Any:
    """Attach an Agg canvas to ``figure`` whose renderers cache glyphs (where ``supported``); return it."""
    return _canvas_class()(figure)


@functools.lru_cache(maxsize=None)
def _canvas_class() -> type:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    class GlyphCachingCanvas(FigureCanvasAgg):
        """``FigureCanvasAgg`` whose renderer draws glyphs through a ``GlyphDrawer``."""

        def get_renderer(self, *args: Any, **kwargs: Any) -> Any:
            renderer = super().get_renderer(*args, **kwargs)
            cache_glyphs(renderer)
            return renderer

    return GlyphCachingCanvas


def _install(renderer: Any) -> GlyphDrawer:
    drawer = GlyphDrawer(renderer, renderer._draw_text_glyphs_and_boxes)
    renderer._draw_text_glyphs_and_boxes = drawer  # this instance only; the class is untouched
    return drawer


@functools.lru_cache(maxsize=None)
def supported() -> bool:
    """Whether this matplotlib draws text as ``GlyphDrawer`` expects: sample texts drawn by both,
    at many sub-pixel offsets, twice (so cached bitmaps are reused), give identical pixels."""
    try:
        from matplotlib.backends.backend_agg import RendererAgg, get_hinting_flag  # noqa: F401
        from matplotlib.font_manager import FontProperties
        from matplotlib.ft2font import FT2Font, RenderMode  # noqa: F401

        if not all(hasattr(FT2Font, name) for name in ("_set_transform", "_render_glyph", "_layout")):
            return False
        if not hasattr(RendererAgg, "_draw_text_glyphs_and_boxes"):
            return False
        pixels = []
        for cached in (False, True):
            renderer = RendererAgg(480, 120, 100)
            if cached:
                _install(renderer)
            for i, size in enumerate((8.5, 20.0)):
                prop = FontProperties(family="sans-serif", size=size)
                for step in range(3):  # 1.37 px apart: other sub-pixel offsets, and glyphs met again
                    gc = renderer.new_gc()
                    gc.set_foreground((0.8, 0.1, 0.1))
                    renderer.draw_text(gc, 3 + step * 1.37 + i * 0.29, 30 + 30 * i + step * 0.61, _SAMPLE, prop, 0)
                    gc.restore()
            pixels.append(np.asarray(renderer.buffer_rgba()).copy())
        return bool(pixels[0].any()) and np.array_equal(pixels[0], pixels[1])
    except Exception:  # any surprise in a private API: leave matplotlib's drawing alone
        return False
