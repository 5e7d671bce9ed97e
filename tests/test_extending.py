"""The docs' "Extending" page: its example panel and output format, run from their file."""

import sys

import numpy as np
import pytest

import convergence_anim as ca
from convergence_anim.race import RACE_COLORS
from tests.examples import EXAMPLES, load_example, page_block
from tests.pixels import colour_pixels


@pytest.fixture(scope="module")
def extending():
    """The docs' example module, run as the docs show it (not copied into the tests)."""
    yield load_example("extending.py", "extending_example")
    sys.modules.pop("extending_example", None)


def test_the_example_panel_and_format_write_a_race_with_its_bars(extending, tmp_path):
    traces = extending.race()
    path = ca.render(traces, tmp_path / "race.npy", panels=["loss_bars"], jobs=1)
    frames = np.load(path)
    assert frames.shape == (8, 480, 1024, 3) and frames.dtype == np.uint8  # the default width for one panel
    first, last = frames[0], frames[-1]
    right = slice(600, None)  # the panel's half of the frame
    for colour in RACE_COLORS[:2]:
        assert colour_pixels(last[:, right], colour) > 300, colour
    # The bars shrink as the losses fall: fewer run-coloured pixels in the panel at the end.
    assert colour_pixels(first[:, right], RACE_COLORS[1]) > 2 * colour_pixels(last[:, right], RACE_COLORS[1])
    assert not list(tmp_path.glob("*.tmp*"))  # written through the one loop: no temporary file left


def test_the_example_panel_blits_to_the_pixels_of_a_full_redraw(extending):
    from convergence_anim.frames import FrameRenderer

    traces = extending.race()
    fast = FrameRenderer(traces, panels=["loss_bars"], loss_panel=True)
    full = FrameRenderer(traces, panels=["loss_bars"], loss_panel=True, blit=False)
    for i in (0, 3, len(fast) - 1):
        np.testing.assert_array_equal(fast.render(i), full.render(i), err_msg=f"frame {i}")


def test_panels_and_formats_are_checked_when_the_settings_are_made(extending):
    with pytest.raises(ca.UsageError, match="unknown panel 'no_such'.*known: loss_bars"):
        ca.RenderSettings(panels=["no_such"])
    with pytest.raises(ca.UsageError, match="turned on by loss_panel=True"):
        ca.RenderSettings(panels=["loss"])
    from convergence_anim.encoders import formats, register_encoder

    assert "npy" in formats()
    with pytest.raises(ca.UsageError, match="starts with a dot"):
        register_encoder(extending.NumpyEncoder, ["npy"])


def test_the_page_shows_the_example_file_as_it_is():
    marker = "<!-- extending.py: the block below is docs/examples/extending.py"
    assert page_block("extending.md", marker) == (EXAMPLES / "extending.py").read_text()
