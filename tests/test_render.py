import warnings

import imageio.v3 as iio
import numpy as np
import pytest
from PIL import Image

import convergence_anim as ca
from convergence_anim.encoders.gif import GifEncoder, build_palette
from convergence_anim.frames import FrameRenderer

from .pixels import blue_pixels, red_pixels


def test_frames_show_points_line_and_label(linear_trace):
    frame = FrameRenderer(linear_trace).render(0)
    assert frame.shape == (480, 640, 3) and frame.dtype == np.uint8
    assert blue_pixels(frame) > 500  # 20 points
    assert red_pixels(frame) > 3000  # thick line and "Loss=" label


def test_frames_change_between_captures(linear_trace):
    renderer = FrameRenderer(linear_trace)
    first, last = renderer.render(0), renderer.render(len(linear_trace) - 1)
    assert (first != last).any(axis=2).sum() > 1000


@pytest.mark.parametrize("fixture", ["linear_trace", "logistic_trace"])
def test_blitted_frames_are_pixel_identical_to_full_redraws(fixture, request):
    trace = request.getfixturevalue(fixture)
    fast, full = FrameRenderer(trace, blit=True), FrameRenderer(trace, blit=False)
    for index in range(len(trace)):
        np.testing.assert_array_equal(fast.render(index), full.render(index), err_msg=f"frame {index}")


def test_gif_decodes_with_one_frame_per_capture(linear_trace, tmp_path):
    path = ca.render(linear_trace, tmp_path / "linear.gif", fps=5)
    frames = iio.imread(path, index=None)
    assert frames.shape == (len(linear_trace), 480, 640, 3)
    with Image.open(path) as im:
        assert im.info["loop"] == 0
        delays = []
        for i in range(im.n_frames):
            im.seek(i)
            delays.append(im.info["duration"])
    assert delays == [200] * len(linear_trace)
    rendered = FrameRenderer(linear_trace)
    for index in (0, len(linear_trace) // 2, len(linear_trace) - 1):
        diff = np.abs(frames[index].astype(int) - rendered.render(index).astype(int))
        assert diff.mean() < 1.0 and np.percentile(diff, 99) <= 8, index


def test_gif_delays_do_not_drift(linear_trace, tmp_path):
    path = ca.render(linear_trace, tmp_path / "fast.gif", fps=30)
    with Image.open(path) as im:
        delays = []
        for i in range(im.n_frames):
            im.seek(i)
            delays.append(im.info["duration"])
    assert set(delays) <= {30, 40}
    assert sum(delays) == round(len(linear_trace) * 100 / 30) * 10


def test_gif_palette_keeps_flat_colours_exact(linear_trace, tmp_path):
    path = ca.render(linear_trace, tmp_path / "linear.gif")
    decoded = iio.imread(path, index=0)
    rendered = FrameRenderer(linear_trace).render(0)
    white = (rendered == 255).all(axis=2)
    assert white.mean() > 0.5
    assert (decoded[white] == 255).all()  # no banding or dithering noise on the background


@pytest.mark.parametrize("size", [2, 16, 96, 255])
def test_gif_palette_of_any_size_keeps_the_most_frequent_colours(linear_trace, size):
    frame = FrameRenderer(linear_trace).render(0)
    palette = build_palette([frame], size=size)
    assert 2 <= len(palette) <= size
    assert len(np.unique(palette, axis=0)) == len(palette)
    assert [255, 255, 255] in palette.tolist()  # the background, the commonest colour, exactly


def test_gif_palette_size_out_of_range_is_a_usage_error(linear_trace):
    with pytest.raises(ca.UsageError, match="2 to 256 colours, got size=1"):
        build_palette([FrameRenderer(linear_trace).render(0)], size=1)


def test_gif_refuses_more_than_50_fps(linear_trace, tmp_path):
    with pytest.raises(ca.UsageError, match="at most 50 fps"):
        ca.render(linear_trace, tmp_path / "x.gif", fps=60)


def test_mp4_is_h264_yuv420p_faststart(linear_trace, tmp_path):
    path = ca.render(linear_trace, tmp_path / "linear.mp4", fps=5)
    frames = iio.imread(path, index=None)
    assert frames.shape == (len(linear_trace), 960, 1280, 3)  # each frame pixel a 2x2 block
    meta = iio.immeta(path, plugin="FFMPEG")
    assert meta["codec"] == "h264"
    assert meta["pix_fmt"].startswith("yuv420p")
    assert meta["fps"] == 5
    data = path.read_bytes()
    assert 0 < data.find(b"moov") < data.find(b"mdat")  # index first: streams in a browser
    rendered = FrameRenderer(linear_trace).render(len(linear_trace) - 1)
    shown = frames[-1].reshape(480, 2, 640, 2, 3).mean(axis=(1, 3))  # as a player shows it at 640x480
    assert np.abs(shown - rendered.astype(int)).mean() < 4


def test_mp4_doubles_odd_sizes_and_pads_large_ones_to_even(linear_trace, tmp_path):
    path = ca.render(linear_trace, tmp_path / "odd.mp4", size=(321, 241))
    assert iio.imread(path, index=None).shape[1:] == (482, 642, 3)
    # Frames over 1920x1080 are encoded at their own size, padded by a pixel when odd.
    path = ca.render(linear_trace, tmp_path / "large.mp4", size=(1921, 1081), max_frames=1)
    assert iio.imread(path, index=None).shape[1:] == (1082, 1922, 3)


@pytest.mark.parametrize("name", ["x.avi", "x", "x.GIFF"])
def test_unknown_suffix(linear_trace, tmp_path, name):
    with pytest.raises(ca.UsageError, match="not a known format"):
        ca.render(linear_trace, tmp_path / name)


@pytest.mark.parametrize("fps", [0, -1, float("nan"), float("inf")])
def test_bad_fps(linear_trace, tmp_path, fps):
    with pytest.raises(ca.UsageError, match="fps must be a positive number"):
        ca.render(linear_trace, tmp_path / "x.mp4", fps=fps)


def test_output_is_a_directory(linear_trace, tmp_path):
    (tmp_path / "out.gif").mkdir()
    with pytest.raises(ca.OutputError, match="is a directory"):
        ca.render(linear_trace, tmp_path / "out.gif")


def test_missing_output_folders_are_made_and_a_file_in_the_way_is_refused(linear_trace, tmp_path):
    path = ca.render(linear_trace, tmp_path / "runs" / "deep" / "x.gif", max_frames=2)
    assert len(iio.imread(path, index=None)) == 2
    (tmp_path / "file").write_text("")
    with pytest.raises(ca.OutputError, match="file' is not a directory"):
        ca.render(linear_trace, tmp_path / "file" / "sub" / "x.gif")


@pytest.mark.parametrize("suffix", [".gif", ".mp4"])
def test_failure_mid_render_leaves_no_file_and_no_folder_it_made(linear_trace, tmp_path, monkeypatch, suffix):
    from convergence_anim.frames import FrameRenderer as Renderer

    original = Renderer.render_rgba
    calls = {"n": 0}

    def failing(self, index):
        calls["n"] += 1
        if calls["n"] > 6:
            raise RuntimeError("boom")
        return original(self, index)

    monkeypatch.setattr(Renderer, "render_rgba", failing)
    target = tmp_path / "runs" / "deep" / f"out{suffix}"
    with pytest.raises(RuntimeError, match="boom"):
        ca.render(linear_trace, target, jobs=1)
    assert list(tmp_path.iterdir()) == []


def test_existing_output_is_replaced_whole(linear_trace, tmp_path):
    target = tmp_path / "out.gif"
    target.write_bytes(b"old")
    ca.render(linear_trace, target)
    assert len(iio.imread(target, index=None)) == len(linear_trace)


def test_gif_encoder_writes_identical_frames_as_frames(tmp_path):
    frame = np.zeros((20, 30, 3), np.uint8)
    frame[5:10, 5:10] = (255, 0, 0)
    with GifEncoder(tmp_path / "same.gif", size=(30, 20), fps=10, samples=[frame]) as enc:
        for _ in range(4):
            enc.write(frame)
    decoded = iio.imread(tmp_path / "same.gif", index=None)
    assert decoded.shape == (4, 20, 30, 3)
    assert (decoded == frame).all()


@pytest.mark.parametrize("loop, expected", [(0, 0), (3, 2)])
def test_gif_loop_count(tmp_path, loop, expected):
    frame = np.zeros((16, 16, 3), np.uint8)
    path = tmp_path / "l.gif"
    with GifEncoder(path, size=(16, 16), fps=10, loop=loop, samples=[frame]) as enc:
        enc.write(frame)
        enc.write(255 - frame)
    with Image.open(path) as im:
        assert im.info["loop"] == expected


@pytest.fixture(scope="module")
def long_trace():
    from convergence_anim.demos import run_demo

    return run_demo("linear", lr=0.004, every=1, max_iter=40).trace


@pytest.mark.parametrize("suffix", [".gif", ".mp4"])
def test_worker_processes_give_the_same_file_as_one_process(long_trace, tmp_path, suffix):
    one = ca.render(long_trace, tmp_path / f"one{suffix}", jobs=1)
    two = ca.render(long_trace, tmp_path / f"two{suffix}", jobs=2)
    if suffix == ".gif":
        assert one.read_bytes() == two.read_bytes()
    else:  # the container may differ in metadata; the decoded frames may not
        np.testing.assert_array_equal(iio.imread(one, index=None), iio.imread(two, index=None))
    assert len(iio.imread(two, index=None)) == len(long_trace) == 40


def test_worker_processes_draw_frames_and_match_one_process(tmp_path, memory_encoder, monkeypatch):
    from convergence_anim.demos import run_demo

    trace = run_demo("linear", lr=0.004, every=1, max_iter=60).trace
    ca.render(trace, tmp_path / "one.frames", jobs=1, size=(160, 120))
    one = memory_encoder.last
    # The parent draws frames itself until a worker is ready; slowing the parent's frames down makes
    # sure the workers get most of them, so this proves they draw.
    monkeypatch.setattr(memory_encoder, "slow_parent", 0.1)
    ca.render(trace, tmp_path / "two.frames", jobs=2, size=(160, 120))
    two = memory_encoder.last
    import os

    workers = set(two.pids) - {os.getpid()}
    assert len(workers) == 2, two.pids  # both workers drew frames
    assert len(two.frames) == len(one.frames) == 60
    for a, b in zip(one.frames, two.frames):
        np.testing.assert_array_equal(a, b)


def test_rgba_and_rgb_frames_are_the_same_pixels(linear_trace):
    renderer = FrameRenderer(linear_trace)
    rgba = renderer.render_rgba(3)
    assert rgba.shape == (480, 640, 4) and (rgba[..., 3] == 255).all()
    np.testing.assert_array_equal(rgba[..., :3], renderer.render(3))


def test_jobs_must_be_positive(linear_trace, tmp_path):
    with pytest.raises(ca.UsageError, match="jobs must be a positive integer"):
        ca.render(linear_trace, tmp_path / "x.gif", jobs=0)


def test_render_returns_a_path_that_shows_inline_in_jupyter(linear_trace, tmp_path):
    import base64
    from pathlib import Path

    gif = ca.render(linear_trace, tmp_path / "a.gif")
    assert isinstance(gif, Path) and gif == tmp_path / "a.gif"
    html = gif._repr_html_()
    assert html.startswith('<img src="data:image/gif;base64,')
    payload = html.split("base64,")[1].split('"')[0]
    assert base64.b64decode(payload) == gif.read_bytes()
    mp4 = ca.render(linear_trace, tmp_path / "a.mp4")
    assert mp4._repr_html_().startswith("<video") and "data:video/mp4;base64," in mp4._repr_html_()


def test_loss_panel_draws_train_and_test_losses(tmp_path):
    rec = ca.Recorder(ca.scenes.LineFit([0.0, 1.0, 2.0], [0.0, 1.0, 2.0]), every=1)
    for step in range(6):
        rec.capture(step, loss=1.0 / (step + 1), test_loss=1.5 / (step + 1), w=step / 5, b=0.0)
    trace = rec.trace
    np.testing.assert_allclose(trace.test_losses, 1.5 / np.arange(1, 7))
    with_test = FrameRenderer(trace, loss_panel=True).render(5)
    orange = ((with_test[..., 0] > 230) & (abs(with_test[..., 1].astype(int) - 127) < 30) & (with_test[..., 2] < 40)).sum()
    assert orange > 100  # C1, the test-loss curve and its marker
    loaded = ca.Trace.load(trace.save(tmp_path / "t.npz"))
    np.testing.assert_array_equal(FrameRenderer(loaded, loss_panel=True).render(5), with_test)


def test_automatic_jobs_leave_a_core_to_ffmpeg(monkeypatch):
    from convergence_anim import _processes
    from convergence_anim.encoders.gif import GifEncoder
    from convergence_anim.encoders.mp4 import Mp4Encoder

    monkeypatch.setattr(_processes, "available_cores", lambda: 2)
    assert _processes.auto_jobs(1000, GifEncoder.external_cores) == 2
    assert _processes.auto_jobs(1000, Mp4Encoder.external_cores) == 1  # ffmpeg takes the other core
    assert _processes.auto_jobs(_processes.PARALLEL_MIN_FRAMES - 1) == 1  # too short to pay for workers
    monkeypatch.setattr(_processes, "available_cores", lambda: 8)
    assert _processes.auto_jobs(1000, Mp4Encoder.external_cores) == 7


def test_renderers_draw_the_scene_they_are_given(linear_trace):
    from convergence_anim.frames import cell_look
    from convergence_anim.grid import CELL_SIZE
    from convergence_anim.scenes import LineFit, scene_from_trace
    from convergence_anim.style import get_theme

    built = scene_from_trace(linear_trace)
    zoomed = LineFit(built.x, built.y, xlim=(0.0, 0.5), ylim=(0.0, 0.5))
    last = len(linear_trace) - 1
    for make in (lambda **kw: FrameRenderer(linear_trace, **kw), lambda **kw: FrameRenderer(linear_trace, cell_look(CELL_SIZE, get_theme("light")), labels=["a"], **kw)):
        own, given, other = make(), make(scene=built), make(scene=zoomed)
        np.testing.assert_array_equal(given.render_rgba(last), own.render_rgba(last))
        assert (other.render_rgba(last) != own.render_rgba(last)).any(axis=2).sum() > 1000


def test_render_takes_a_recorder_and_refuses_what_is_not_a_trace(linear_trace, tmp_path, memory_encoder):
    rec = ca.Recorder(ca.scenes.LineFit([0.0, 1.0], [0.0, 1.0]), every=1)
    for step in range(3):
        rec.capture(step, loss=1.0 / (step + 1), w=step, b=0.0)
    ca.render(rec, tmp_path / "rec.frames")
    assert len(memory_encoder.last.frames) == 3
    with pytest.raises(ca.UsageError, match="render takes a Trace .* got dict"):
        ca.render({"steps": [0]}, tmp_path / "x.gif")
    with pytest.raises(ca.UsageError, match="got str"):
        ca.render([linear_trace, "run.npz"], tmp_path / "x.gif")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rec.frames"]


# -- the default frame budget ----------------------------------------------------------------------


class _Stop(Exception):
    pass


def _stop_after_first_frame(done):
    raise _Stop  # the frames chosen and the warning come before any drawing; no need to draw 300


def _every_step_trace(n, every=1):
    rec = ca.Recorder(ca.scenes.LineFit([0.0, 1.0, 2.0], [0.0, 1.0, 2.0]), every=every)
    for _ in range(n * every):
        rec.capture(loss=1.0, w=1.0, b=0.0)
    return rec.trace


def test_the_default_budget_draws_300_frames_and_says_in_one_line_how_to_keep_them_all(tmp_path, memory_encoder):
    with pytest.warns(UserWarning) as caught:
        with pytest.raises(_Stop):
            ca.render(_every_step_trace(400), tmp_path / "x.frames", progress=_stop_after_first_frame, jobs=1)
    (warning,) = caught
    assert str(warning.message) == (
        "render is drawing 300 of 400 frames (the default budget); max_frames=None draws them all; "
        "the trace was captured at every step (every=1, the Recorder's default)")
    assert warning.filename == __file__  # it points at the user's call
    from convergence_anim._timing import pick_frames

    chosen = pick_frames(400, ca.RenderSettings().max_frames)
    assert len(set(chosen)) == 300 and chosen[0] == 0 and chosen[-1] == 399


def test_no_budget_warning_when_frames_are_asked_for_or_the_interval_was_chosen(tmp_path, memory_encoder):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for options in ({"max_frames": None}, {"max_frames": 50}):
            with pytest.raises(_Stop):
                ca.render(_every_step_trace(400), tmp_path / "x.frames", progress=_stop_after_first_frame, jobs=1,
                          **options)
    with pytest.warns(UserWarning, match=r"^render is drawing 300 of 301 frames \(the default budget\); "
                                         r"max_frames=None draws them all$"):
        with pytest.raises(_Stop):
            ca.render(_every_step_trace(301, every=2), tmp_path / "x.frames", progress=_stop_after_first_frame)


# -- a smoothed loss panel -------------------------------------------------------------------------


def _noisy_trace(losses=(1.0, 0.0, 1.0, 0.0, 1.0, 0.0)):
    rec = ca.Recorder(ca.scenes.LineFit([0.0, 1.0, 2.0], [0.0, 1.0, 2.0]), every=1)
    for step, loss in enumerate(losses):
        rec.capture(loss=loss, w=step / 5, b=0.0)
    return rec.trace


def _loss_lines(renderer):
    """The loss panel's lines (the panel is the axes labelled "loss"), as (alpha, linewidth, y data)."""
    (panel,) = [ax for ax in renderer.figure.axes if ax.get_ylabel() == "loss"]
    return [(line.get_alpha(), line.get_linewidth(), np.asarray(line.get_ydata(), dtype=float))
            for line in panel.get_lines() if line.get_linestyle() == "-"]


def test_smooth_draws_the_moving_average_strong_over_the_raw_loss_faint():
    renderer = FrameRenderer(_noisy_trace(), smooth=0.5)  # smooth implies the loss panel
    renderer.render(5)
    (faint_alpha, faint_width, raw), (strong_alpha, strong_width, average) = _loss_lines(renderer)
    np.testing.assert_array_equal(raw, [1, 0, 1, 0, 1, 0])
    # Debiased: the first point is the first loss; then each is half the past and half the new loss.
    expected, mean, weight = [], 0.0, 0.0
    for loss in raw:
        mean, weight = 0.5 * mean + 0.5 * loss, 0.5 * weight + 0.5
        expected.append(mean / weight)
    np.testing.assert_allclose(average, expected)
    assert faint_alpha < 0.5 and strong_alpha is None and strong_width > faint_width
    plain = FrameRenderer(_noisy_trace(), loss_panel=True)
    plain.render(5)
    ((_, _, only),) = _loss_lines(plain)
    np.testing.assert_array_equal(only, raw)


def test_smoothed_panels_blit_pixel_identical_to_full_redraws_alone_and_in_a_race(linear_trace, tmp_path,
                                                                                   memory_encoder):
    fast, full = FrameRenderer(linear_trace, smooth=0.8, blit=True), FrameRenderer(linear_trace, smooth=0.8, blit=False)
    for index in (0, 4, len(linear_trace) - 1):
        np.testing.assert_array_equal(fast.render(index), full.render(index), err_msg=f"frame {index}")
    runs = [_noisy_trace(), _noisy_trace((2.0, 0.5, 1.5, 0.5, 1.0, 0.2))]
    ca.render(runs, tmp_path / "race.frames", labels=["a", "b"], smooth=0.8, jobs=1)
    smooth_race = memory_encoder.last.frames
    ca.render(runs, tmp_path / "race.frames", labels=["a", "b"], loss_panel=True, jobs=1)
    assert smooth_race[0].shape == memory_encoder.last.frames[0].shape  # the same panel, drawn otherwise
    assert (smooth_race[-1] != memory_encoder.last.frames[-1]).any()


def test_a_smoothed_panel_marks_the_loss_written_on_the_frame_raw_alone_and_in_a_race():
    from matplotlib.text import Text

    def texts(renderer, index):
        renderer.render(index)
        return [t.get_text() for t in renderer.figure.findobj(Text) if t.get_text()]

    trace = _noisy_trace()
    assert "Loss=0.0000 (raw)" in texts(FrameRenderer(trace, smooth=0.5), 5)  # the capture's loss, not the average
    assert "Loss=0.0000" in texts(FrameRenderer(trace, loss_panel=True), 5)
    race = [trace, _noisy_trace((2.0, 0.5, 1.5, 0.5, 1.0, 0.2))]
    assert "b: loss 0.2000 (raw)" in texts(FrameRenderer(race, labels=["a", "b"], smooth=0.5), 5)
    assert "b: loss 0.2000" in texts(FrameRenderer(race, labels=["a", "b"], loss_panel=True), 5)
