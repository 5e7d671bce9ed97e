"""The decision boundary's class regions: resampled by numpy, placed and coloured as matplotlib's own image."""

import matplotlib.image
import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.image import AxesImage

from convergence_anim.scenes.heatmap import HeatmapImage

EXTENT = (-1.6, 2.6, -1.1, 1.6)  # half a cell beyond the limits, as the boundary scene places its grid


@pytest.fixture
def ax():
    fig, ax = plt.subplots(figsize=(4.0, 3.0), dpi=100)
    ax.set_xlim(-1.5, 2.5)
    ax.set_ylim(-1.0, 1.5)
    yield ax
    plt.close(fig)


def _smooth(rows=60, cols=60):
    """A probability field like a classifier's: smooth, with a steep band where the classes meet."""
    x, y = np.meshgrid(np.linspace(-3, 3, cols), np.linspace(-2, 2, rows))
    return (1 / (1 + np.exp(-3 * (y - np.sin(x))))).astype(np.float32)


def _not_resampled_by_matplotlib(monkeypatch):
    """Make matplotlib's own resampler fail: the images made next must not need it."""
    def fail(*args, **kwargs):
        raise AssertionError("matplotlib resampled the image")

    monkeypatch.setattr(matplotlib.image, "_resample", fail)


def _made(cls, ax, data, *, alpha=1.0, extent=EXTENT, magnification=1.0, **options):
    image = cls(ax, origin="lower", extent=extent, **options)
    image.set_data(data)
    if data.ndim == 2:
        image.set_clim(0.0, 1.0)
    image.set_alpha(alpha)
    ax.add_image(image)
    ax.figure.canvas.draw()
    made = image.make_image(ax.figure.canvas.get_renderer(), magnification)
    image.remove()
    return made


@pytest.mark.parametrize("alpha", [1.0, 0.4])  # 0.4: the scene's look for a run that blew up
def test_a_scalar_field_is_placed_as_matplotlib_places_it_and_coloured_within_a_table_step(ax, alpha, monkeypatch):
    options = dict(cmap="RdBu", interpolation="bilinear", interpolation_stage="data")
    theirs, x, y, _ = _made(AxesImage, ax, _smooth(), alpha=alpha, **options)
    _not_resampled_by_matplotlib(monkeypatch)
    ours, our_x, our_y, _ = _made(HeatmapImage, ax, _smooth(), alpha=alpha, **options)
    assert ours.shape == theirs.shape and (our_x, our_y) == (x, y)
    difference = np.abs(ours.astype(int) - theirs.astype(int)).max(axis=2)
    assert difference.max() <= 4  # a value on the other side of one of the 256 colours
    assert (difference > 0).mean() < 0.01
    assert np.array_equal(ours[..., 3], theirs[..., 3])
    # Not a blank or uniform image: both classes' colours are there (row 0 is the bottom one: red, p ~ 0).
    assert ours[0, :, 0].mean() > ours[0, :, 2].mean() + 50 and ours[-1, :, 2].mean() > ours[-1, :, 0].mean() + 50


@pytest.mark.parametrize("alpha", [1.0, 0.4])
def test_rgb_regions_drawn_nearest_differ_from_matplotlibs_at_most_by_an_edge_shifted_one_pixel(ax, alpha, monkeypatch):
    colours = np.random.default_rng(0).random((30, 40, 3))  # every cell its own colour: every edge counts
    theirs, x, y, _ = _made(AxesImage, ax, colours, alpha=alpha, interpolation="nearest")
    _not_resampled_by_matplotlib(monkeypatch)
    ours, our_x, our_y, _ = _made(HeatmapImage, ax, colours, alpha=alpha, interpolation="nearest")
    assert ours.shape == theirs.shape and (our_x, our_y) == (x, y)
    _assert_edges_shifted_at_most_one_pixel(ours, theirs, share=0.005)


def _assert_edges_shifted_at_most_one_pixel(ours, theirs, share):
    """Under ``share`` of the pixels differ, each taking the colour matplotlib gave a neighbouring pixel."""
    differ = np.argwhere((ours != theirs).any(axis=2))
    assert len(differ) < share * ours.shape[0] * ours.shape[1]
    padded = np.pad(theirs, ((1, 1), (1, 1), (0, 0)), mode="edge")
    for r, c in differ:
        neighbours = [padded[r + 1 + dr, c + 1 + dc] for dr, dc in ((-1, 0), (1, 0), (0, -1), (0, 1))]
        assert any(np.array_equal(ours[r, c], n) for n in neighbours), (r, c)


@pytest.mark.parametrize("case", ["inside the axes", "not a number", "beyond the norm", "magnified"])
def test_what_it_does_not_cover_is_left_to_matplotlib_unchanged(ax, case):
    field, extent, magnification = _smooth(), EXTENT, 1.0
    if case == "inside the axes":
        extent = (-1.0, 2.0, -0.5, 1.0)  # its edges blend with the axes under them
    elif case == "not a number":
        field[10, 10] = np.nan
    elif case == "beyond the norm":
        field[10, 10] = 1.5  # the colormap's "over" colour
    else:
        magnification = 2.0  # a vector backend's image resolution
    options = dict(cmap="RdBu", interpolation="bilinear", interpolation_stage="data", extent=extent,
                   magnification=magnification)
    theirs = _made(AxesImage, ax, field, **options)
    ours = _made(HeatmapImage, ax, field, **options)
    assert np.array_equal(ours[0], theirs[0]) and ours[1:3] == theirs[1:3]


def test_an_unclipped_image_covering_the_figure_fills_the_figure_as_matplotlib_does(ax, monkeypatch):
    colours = np.random.default_rng(1).random((30, 40, 3))
    options = dict(interpolation="nearest", extent=(-9.0, 9.0, -9.0, 9.0), clip_on=False)  # far past the figure
    theirs, x, y, _ = _made(AxesImage, ax, colours, **options)
    _not_resampled_by_matplotlib(monkeypatch)
    ours, our_x, our_y, _ = _made(HeatmapImage, ax, colours, **options)
    assert ours.shape == theirs.shape == (300, 400, 4) and (our_x, our_y) == (x, y) == (0, 0)  # the whole 4x3 in figure
    _assert_edges_shifted_at_most_one_pixel(ours, theirs, share=0.01)
