"""Glyph bitmaps cached per frame layout: the same pixels as matplotlib's own text drawing, faster."""

import numpy as np
import pytest

from convergence_anim import _glyphs
from convergence_anim.frames import FrameRenderer

from .pixels import red_pixels

pytestmark = pytest.mark.skipif(not _glyphs.supported(), reason="this matplotlib draws text another way: glyphs are not cached")


def _frames(trace, **options):
    renderer = FrameRenderer(trace, **options)
    frames = [renderer.render(i) for i in range(len(renderer))]
    drawer = renderer.figure.canvas.get_renderer().__dict__.get("_draw_text_glyphs_and_boxes")
    renderer.close()
    return frames, drawer


@pytest.mark.parametrize("options", [{}, {"loss_panel": True, "theme": "slides"}], ids=["classic", "panel"])
def test_frames_with_cached_glyphs_equal_matplotlibs_own_text_drawing(linear_trace, monkeypatch, options):
    cached, drawer = _frames(linear_trace, **options)
    assert isinstance(drawer, _glyphs.GlyphDrawer)
    assert drawer.hits > 3 * drawer.misses  # the titles' and labels' glyphs are reused, not re-rendered

    monkeypatch.setattr(_glyphs, "supported", lambda: False)
    plain, drawer = _frames(linear_trace, **options)
    assert drawer is None
    assert len(cached) == len(plain) > 5
    for ours, theirs in zip(cached, plain):
        np.testing.assert_array_equal(ours, theirs)


def test_rotated_text_and_mathtext_are_drawn_as_matplotlib_draws_them():
    from matplotlib.backends.backend_agg import RendererAgg
    from matplotlib.font_manager import FontProperties

    pixels = []
    for cached in (False, True):
        renderer = RendererAgg(300, 200, 100)
        if cached:
            assert _glyphs.cache_glyphs(renderer)
        gc = renderer.new_gc()
        prop = FontProperties(size=14)
        renderer.draw_text(gc, 40.3, 150.7, "loss (log scale)", prop, 90)
        renderer.draw_text(gc, 80.6, 60.2, r"$\alpha^2 + \sum_i w_i$", prop, 0, ismath=True)
        renderer.draw_text(gc, 80.6, 120.2, "Iteration:42", prop, 0)
        gc.restore()
        pixels.append(np.asarray(renderer.buffer_rgba()).copy())
    assert pixels[0].any()
    np.testing.assert_array_equal(pixels[0], pixels[1])


def test_a_drawer_that_would_change_pixels_is_never_installed(linear_trace, monkeypatch):
    monkeypatch.setattr(_glyphs.GlyphDrawer, "__call__", lambda self, *args: None)  # draws no glyph at all
    _glyphs.supported.cache_clear()
    try:
        assert not _glyphs.supported()
        frames, drawer = _frames(linear_trace)
    finally:
        _glyphs.supported.cache_clear()
    assert drawer is None
    assert red_pixels(frames[0]) > 200  # the red line and "Loss=...", drawn by matplotlib itself
