"""Every frame composed for where it is shown: sizes kept, nothing cut off, no text on another, panels fill."""

import itertools

import imageio.v3 as iio
import numpy as np
import pytest

import convergence_anim as ca
from convergence_anim.frames import FrameRenderer
from convergence_anim.settings import check_size
from convergence_anim.style import SIZES
from convergence_anim.style import get_theme

THEMES = ["light", "dark", "slides"]
PANELS = {"none": {}, "loss": {"loss_panel": True}, "log": {"loss_panel": True, "log_loss": True}}
LANDSCAPE = {"land": {"landscape": True}, "land+loss": {"landscape": True, "loss_panel": True}}
#: The walk's sizes: the default, a small one, and every named size (deduplicated: see ``_walked_sizes``).
WALKED_SIZES = [None, (320, 240), *SIZES]
#: The smallest text a frame of a named size may have: a capital letter this many pixels high (the tick
#: labels of the default 640x480 frame, 10 pt at 100 dpi).
MIN_CAP_PX = 10


@pytest.fixture(scope="module")
def traces(linear_trace, logistic_trace):
    """One trace per kind of frame: every scene, a diverged run, a legend with a test-loss curve, a race."""
    import torch

    from convergence_anim.demos import classification_loss, mlp, race_demo, run_demo

    torch.manual_seed(0)
    points = torch.cat([torch.randn(40, 2) + torch.tensor(c) for c in ([2.0, 0.0], [-1.0, 1.7], [-1.0, -1.7])])
    labels = torch.arange(3).repeat_interleave(40)
    model = mlp(2, (), 3)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.05)
    scene = ca.scenes.DecisionBoundary(points, labels, class_names=["setosa", "versicolor", "virginica"], resolution=40)
    rec = ca.Recorder(scene, every=5)
    for step in range(30):
        optimizer.zero_grad()
        loss = classification_loss(model(points), labels)
        loss.backward()
        optimizer.step()
        rec.capture(step, loss=loss, test_loss=loss.item() * 1.2 + 0.05, model=model, force=step == 29)
    return {
        "linear": linear_trace,
        "logistic": logistic_trace,
        "spiral3": run_demo("spiral3", max_iter=40, every=10).trace,
        "sine": run_demo("sine", max_iter=40, every=10).trace,
        "diverged": run_demo("linear", lr=0.1, max_iter=40).trace,
        "legend": rec.trace,
        # A race whose key says "done at", "diverged at" and a loss at once.
        "race": race_demo("linear", [("momentum", 0.005), ("adam", 0.5), ("sgd", 0.1)], every=4, max_iter=60),
    }


@pytest.fixture(scope="module")
def landscape_traces(linear_trace, logistic_trace):
    from convergence_anim.demos import race_demo, run_demo

    # The logistic demo's landscape title is the longest; its levels are log-spaced.
    return {"linear": linear_trace, "logistic": logistic_trace,
            "moons": run_demo("moons", max_iter=30, every=10, landscape=True).trace,
            "race-moons": race_demo("moons", [("sgd", None), ("adam", None)], max_iter=30, every=10, landscape=True)}


def _walked_sizes(theme, options):
    """The sizes to draw for a theme and panels, each with whether it stands for a named size.

    A frame of another size but the same size in inches (pixels over dpi) is the same picture scaled:
    slides at 720p, 1080p and 4k, or light at 1080p and 4k against 720p. Of those only the smallest
    is drawn (dpi grows with the size, so the others' smallest text is larger still).
    """
    seen, walked = {}, []
    for size in WALKED_SIZES:
        (width, height), dpi = check_size(size, None, get_theme(theme), options.get("loss_panel", False),
                                          options.get("landscape", False))
        inches = (round(width / dpi, 6), round(height / dpi, 6))
        if isinstance(size, str) and inches in seen:
            walked[seen[inches]][1] = True
            continue
        seen.setdefault(inches, len(walked))
        walked.append([size, isinstance(size, str)])
    return walked


def _drawn_texts(fig):
    """(name, window extent, its texts) of every text drawn on ``fig``: legends as one box, only ticks in view."""
    from matplotlib.legend import Legend
    from matplotlib.text import Text

    renderer = fig.canvas.get_renderer()
    boxes, skip = [], set()
    for legend in fig.findobj(Legend):
        inside = [t for t in legend.findobj(Text) if t.get_visible() and t.get_text().strip()]
        boxes.append(("legend", legend.get_window_extent(renderer), inside))
        skip.update(id(t) for t in legend.findobj(Text))
    for ax in fig.axes:
        for axis in (ax.xaxis, ax.yaxis):
            scale = axis.get_transform()  # compare on the axis' own scale (log for a log loss panel)
            lo, hi = sorted(scale.transform(np.asarray(axis.get_view_interval(), dtype=float)))
            for ticks, locs in ((axis.get_major_ticks(), axis.get_majorticklocs()),
                                (axis.get_minor_ticks(), axis.get_minorticklocs())):
                for tick, loc in itertools.zip_longest(ticks, locs):
                    at = None if loc is None else float(scale.transform(np.array([loc], dtype=float))[0])
                    shown = at is not None and lo - 1e-9 * (hi - lo) <= at <= hi + 1e-9 * (hi - lo)
                    if tick is not None and not shown:
                        skip.update({id(tick.label1), id(tick.label2)})
    for text in fig.findobj(Text):
        if id(text) in skip or not text.get_visible() or not text.get_text().strip():
            continue
        boxes.append((repr(text.get_text()), text.get_window_extent(renderer), [text]))
    return boxes


def _cap_height(text, renderer):
    """The height in pixels of a capital H in ``text``'s font, as the renderer draws it."""
    return renderer.get_text_width_height_descent("H", text.get_fontproperties(), ismath=False)[1]


def _titles(fig):
    """Every title drawn on ``fig``: each axes' (left, centre, right) and the figure's own texts (a race's key)."""
    from matplotlib.text import Text

    found = [t for t in fig.texts if t.get_visible() and t.get_text().strip()]
    for ax in fig.axes:
        names = {ax.get_title(loc) for loc in ("left", "center", "right")} - {""}
        found += [c for c in ax.get_children() if isinstance(c, Text) and c.get_visible() and c.get_text() in names]
    return found


def _inner(a, b):
    """How far two boxes overlap in x and in y (both positive: they do)."""
    return min(a.x1, b.x1) - max(a.x0, b.x0), min(a.y1, b.y1) - max(a.y0, b.y0)


def _check_frame(renderer, index, where, named=False):
    renderer.render(index)
    fig = renderer.figure
    width, height = renderer.size
    r = fig.canvas.get_renderer()
    tight = [ax.get_tightbbox(r) for ax in fig.axes]
    for box in tight:
        assert box.x0 >= -0.5 and box.y0 >= -0.5 and box.x1 <= width + 0.5 and box.y1 <= height + 0.5, (
            f"{where}: an axes' artists leave the {width}x{height} frame: {box.bounds}"
        )
    boxes = _drawn_texts(fig)
    for name, box, texts in boxes:
        assert box.x0 >= -0.5 and box.y0 >= -0.5 and box.x1 <= width + 0.5 and box.y1 <= height + 0.5, (
            f"{where}: text {name} is cut off: {box.bounds} in {width}x{height}"
        )
        if named and texts:
            smallest = min(_cap_height(t, r) for t in texts)
            assert smallest >= MIN_CAP_PX, f"{where}: text {name} is {smallest:.0f} px high, under {MIN_CAP_PX}"
    for (name_a, a, _), (name_b, b, _) in itertools.combinations(boxes, 2):
        inner = _inner(a, b)
        assert not (inner[0] > 0.5 and inner[1] > 0.5), f"{where}: {name_a} and {name_b} overlap: {a.bounds} {b.bounds}"
    plots = [ax.get_window_extent(r) for ax in fig.axes]
    for title in _titles(fig):
        box = title.get_window_extent(r)
        for plot in plots:
            inner = _inner(box, plot)
            assert not (inner[0] > 0.5 and inner[1] > 0.5), f"{where}: title {title.get_text()!r} lies on a plot"
    if len(plots) > 1:  # side panels stand as tall as the plot, as evenly spaced as their labels allow
        for edge in ("y0", "y1"):
            ends = [getattr(p, edge) for p in plots]
            assert max(ends) - min(ends) <= 1.0, f"{where}: the plots are not of one height: {[p.bounds for p in plots]}"
        gaps = [b.x0 - a.x1 for a, b in zip(tight, tight[1:])]
        assert min(gaps) >= 0 and max(gaps) - min(gaps) <= 0.02 * width, f"{where}: uneven gaps {gaps}"


def _walk(trace, theme, panels, where):
    """Check a trace's first, last and diverged frames at every size of ``_walked_sizes``, with each of ``panels``."""
    for panel, options in panels.items():
        for size, named in _walked_sizes(theme, options):
            # Blitted: the first frame draws the whole figure, the others only what changes.
            renderer = FrameRenderer(trace, theme=theme, size=size, **options)
            try:
                assert renderer.size == check_size(size, None, get_theme(theme), options.get("loss_panel", False),
                                                   options.get("landscape", False))[0]
                # The layout is made for the widest text of any frame, so the last frame (and the one that
                # says "diverged") stand for the rest; the first is drawn at the default size too.
                shown = [0, len(renderer) - 1] if size is None else [len(renderer) - 1]
                if not isinstance(trace, list) and trace.diverged_at is not None:
                    shown.append(int(np.argmax(trace.steps >= trace.diverged_at)))
                for index in shown:
                    _check_frame(renderer, index, f"{where} {theme} {panel} {size} frame {index}", named)
            finally:
                renderer.close()


def test_dark_frames_are_light_ones_in_other_colours():
    # So the walks draw light frames only: dark ones have every text and axes where light ones have them.
    dark, light = get_theme("dark"), get_theme("light")
    assert all("color" in key for key in dark.rc) and not light.rc
    assert (dark.size, dark.dpi, dark.label_size, dark.line_width) == (light.size, light.dpi, light.label_size, light.line_width)


@pytest.mark.parametrize("theme", ["light", "slides"])
@pytest.mark.parametrize("name", ["linear", "logistic", "spiral3", "sine", "diverged", "legend", "race"])
def test_no_text_is_cut_off_too_small_or_on_another(traces, theme, name):
    _walk(traces[name], theme, PANELS, name)


@pytest.mark.parametrize("theme", ["light", "slides"])
@pytest.mark.parametrize("name", ["linear", "logistic", "moons", "race-moons"])
def test_the_landscape_panel_is_not_cut_off_too_small_or_on_another_either(landscape_traces, theme, name):
    _walk(landscape_traces[name], theme, LANDSCAPE, name)


@pytest.mark.parametrize("panel", list(PANELS))
def test_slides_frames_stay_16_9_with_every_panel(traces, panel):
    renderer = FrameRenderer(traces["spiral3"], theme="slides", **PANELS[panel])
    assert renderer.size == (1280, 720)
    assert renderer.render(0).shape == (720, 1280, 3)


def test_slides_mp4_with_loss_panel_is_16_9(traces, tmp_path):
    path = ca.render(traces["spiral3"], tmp_path / "slides.mp4", theme="slides", loss_panel=True, log_loss=True)
    assert iio.imread(path, index=0).shape == (1440, 2560, 3)  # 1280x720, each pixel doubled in the MP4


def test_panels_widen_the_default_frame_of_light_and_dark_only():
    for theme in ("light", "dark"):
        assert check_size(None, None, get_theme(theme), loss_panel=True)[0] == (1024, 480)
    assert check_size(None, None, get_theme("slides"), loss_panel=True)[0] == (1280, 720)


@pytest.mark.parametrize("theme", THEMES)
@pytest.mark.parametrize("size", [(500, 500), (321, 241), "square", "1080p"])
def test_a_given_size_is_exactly_honoured(linear_trace, theme, size):
    renderer = FrameRenderer(linear_trace, theme=theme, size=size, loss_panel=True)
    expected = SIZES[size] if isinstance(size, str) else size
    assert renderer.size == expected
    assert renderer.render(0).shape == (expected[1], expected[0], 3)


def test_named_sizes():
    assert SIZES == {"720p": (1280, 720), "1080p": (1920, 1080), "4k": (3840, 2160), "square": (1080, 1080)}
    light = get_theme("light")
    assert check_size("4K", None, light)[0] == (3840, 2160)
    assert check_size("800x600", None, light)[0] == (800, 600)
    with pytest.raises(ca.UsageError, match="unknown size 'huge'; give WIDTHxHEIGHT or one of 720p, 1080p"):
        check_size("huge", None, light)


def test_render_takes_a_named_size(linear_trace, tmp_path):
    path = ca.render(linear_trace, tmp_path / "square.gif", size="square", max_frames=2)
    assert iio.imread(path, index=0).shape == (1080, 1080, 3)


@pytest.mark.parametrize("theme", THEMES)
@pytest.mark.parametrize("size", [None, (1920, 1080)])
def test_panels_fill_the_frame(traces, theme, size):
    renderer = FrameRenderer(traces["legend"], theme=theme, size=size, loss_panel=True)
    renderer.render(0)
    fig = renderer.figure
    width, height = renderer.size
    r = fig.canvas.get_renderer()
    boxes = [ax.get_tightbbox(r) for ax in fig.axes]
    # Margins only as wide as the padding around the labels: a few percent of the frame.
    assert min(b.x0 for b in boxes) < 0.03 * width and max(b.x1 for b in boxes) > 0.97 * width
    assert min(b.y0 for b in boxes) < 0.04 * height and max(b.y1 for b in boxes) > 0.96 * height
    main, panel = (ax.get_window_extent(r) for ax in fig.axes)
    assert main.width > 1.3 * panel.width and main.width > 0.45 * width  # the main view gets most


def test_the_layout_does_not_move_between_frames(traces):
    renderer = FrameRenderer(traces["diverged"], theme="slides", loss_panel=True)
    renderer.render(0)
    before = [ax.get_position().bounds for ax in renderer.figure.axes]
    for index in range(len(traces["diverged"])):
        renderer.render(index)
    assert [ax.get_position().bounds for ax in renderer.figure.axes] == before


@pytest.mark.parametrize("fixture", ["linear_trace", "logistic_trace"])
@pytest.mark.parametrize("theme", ["light", "dark"])
def test_blog_frames_keep_their_classic_composition(fixture, theme, request):
    renderer = FrameRenderer(request.getfixturevalue(fixture), theme=theme)
    renderer.render(0)
    (ax,) = renderer.figure.axes
    # matplotlib's default subplot box, as in the blog's frames.
    np.testing.assert_allclose(ax.get_position().bounds, (0.125, 0.11, 0.775, 0.77))


@pytest.mark.parametrize("theme", THEMES)
@pytest.mark.parametrize("panel", ["none", "log"])
def test_blitted_frames_equal_full_redraws_with_fitted_layouts(traces, theme, panel):
    trace = traces["diverged"]
    fast = FrameRenderer(trace, theme=theme, blit=True, **PANELS[panel])
    full = FrameRenderer(trace, theme=theme, blit=False, **PANELS[panel])
    for index in range(0, len(trace), 7):
        np.testing.assert_array_equal(fast.render(index), full.render(index), err_msg=f"frame {index}")


def test_a_filmstrip_wraps_into_even_rows_of_at_most_four(linear_trace, tmp_path, memory_encoder):
    from tests.pixels import red_pixels

    ca.render(linear_trace, tmp_path / "a.frames", filmstrip=tmp_path / "strip.png", filmstrip_frames=5)
    strip = iio.imread(tmp_path / "strip.png")[..., :3]
    assert strip.shape == (2 * 480 + 8, 3 * 640 + 2 * 8, 3)  # 5 frames: rows of 3 and 2, 8 px apart
    cells = [strip[r * 488 : r * 488 + 480, c * 648 : c * 648 + 640] for r in range(2) for c in range(3)]
    for cell in cells[:5]:
        assert red_pixels(cell) > 1000  # each holds a frame: the red line and loss label
    assert len({cell.tobytes() for cell in cells[:5]}) == 5  # five different frames
    assert (cells[5] == 255).all() and (strip[480:488] == 255).all()  # the empty cell and the gap: background
