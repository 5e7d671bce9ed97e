import gc
import os

import numpy as np
import pytest

import convergence_anim as ca
from convergence_anim.scenes import Plot
from tests.pixels import blue_pixels, red_pixels
from tests.plot_draws import blog_draw, clears_and_legends, failing_draw, moving_point


def blog_recording(steps=12, every=1):
    rec = ca.Recorder(Plot(blog_draw), every=every)
    w, b = np.array([0.5]), np.array([0.0])
    for step in range(steps):
        rec.capture(step, loss=10.0 / (step + 1), w=w + 0.15 * step, b=b + 0.4 * step)
    return rec


def test_blog_lines_animate_from_a_live_and_a_saved_trace_alike(tmp_path, memory_encoder):
    rec = blog_recording()
    ca.render(rec.trace, tmp_path / "live.frames", jobs=1)
    live = memory_encoder.last.frames
    assert len(live) == 12
    for frame in (live[0], live[-1]):
        assert red_pixels(frame[..., :3]) > 2000  # the thick line and the loss text
        assert blue_pixels(frame[..., :3]) > 300  # the points
    assert not np.array_equal(live[0], live[-1])  # the line moved

    saved = rec.trace.save(tmp_path / "run.npz")
    del rec
    gc.collect()
    loaded = ca.Trace.load(saved)
    # The file holds the values, not the code: without the function, render says what to do.
    with pytest.raises(ca.TraceError, match=r"scene=Plot\(blog_draw\)"):
        ca.render(loaded, tmp_path / "no.frames")
    assert not (tmp_path / "no.frames").exists()
    ca.render(loaded, tmp_path / "again.frames", scene=Plot(blog_draw), jobs=1)
    again = memory_encoder.last.frames
    assert all(np.array_equal(a, b) for a, b in zip(live, again)) and len(again) == len(live)


def test_frame_gives_values_history_step_and_losses():
    seen = []

    def draw(ax, frame):
        seen.append((frame.step, frame.loss, frame.test_loss, frame["c"].copy(), frame.history("c").shape,
                     frame["k"].dtype, sorted(frame.keys())))
        with pytest.raises(KeyError, match="nothing was captured as 'nope'; captured names: 'c', 'k'"):
            frame["nope"]

    rec = ca.Recorder(Plot(draw), every=5)
    for step in range(0, 15, 5):
        rec.capture(step, loss=step / 10, test_loss=1.0, c=np.full((3, 2), step, dtype=np.float32), k=np.arange(3))
    from convergence_anim.frames import FrameRenderer

    FrameRenderer(rec.trace).render(2)
    step, loss, test_loss, c, history, kind, names = seen[-1]
    assert (step, loss, test_loss, history, names) == (10, 1.0, 1.0, (3, 3, 2), ["c", "k"])
    assert np.array_equal(c, np.full((3, 2), 10)) and kind == np.int64


def test_axes_are_fixed_from_the_whole_trace(tmp_path, memory_encoder):
    rec = ca.Recorder(Plot(moving_point))
    for step in range(11):
        rec.capture(step, p=[step, step])
    ca.render(rec.trace, tmp_path / "walk.frames", jobs=1, size=(320, 240))
    frames = [f[..., :3] for f in memory_encoder.last.frames]
    # The point is on the picture at both ends of the walk, and it moves: the axes did not follow it.
    assert red_pixels(frames[0]) > 50 and red_pixels(frames[-1]) > 50
    where = [np.argwhere((f[..., 0] > 200) & (f[..., 1] < 60)).mean(axis=0) for f in (frames[0], frames[5], frames[-1])]
    assert where[0][1] < where[1][1] < where[2][1]  # left to right
    assert where[0][0] > where[1][0] > where[2][0]  # bottom to top
    # Tick labels (left of and below the axes) are the same on every frame.
    for f in frames[1:]:
        assert np.array_equal(f[-25:], frames[0][-25:]) and np.array_equal(f[:, :35], frames[0][:, :35])


def test_a_draw_that_clears_the_axes_itself_still_gets_limits_from_every_frame(tmp_path, memory_encoder):
    rec = ca.Recorder(Plot(clears_and_legends))
    for step in range(1, 6):
        rec.capture(step, v=0.0)
    ca.render(rec.trace, tmp_path / "c.frames", jobs=1, size=(320, 240))
    frames = [f[..., :3] for f in memory_encoder.last.frames]
    # The line grows to the right over fixed axes: it ends further right in each frame.
    ends = [max(c for c in range(320) if blue_pixels(f[:, c : c + 1])) for f in frames]
    assert ends == sorted(ends) and ends[0] + 100 < ends[-1]


def test_limits_given_are_kept(tmp_path, memory_encoder):
    rec = ca.Recorder(Plot(moving_point, xlim=(-100, 100), ylim=(-100, 100)))
    for step in range(3):
        rec.capture(step, p=[step, step])
    ca.render(rec.trace, tmp_path / "walk.frames", jobs=1, size=(320, 240))
    frames = [f[..., :3] for f in memory_encoder.last.frames]
    centres = [np.argwhere((f[..., 0] > 200) & (f[..., 1] < 60)).mean(axis=0) for f in frames]
    assert np.allclose(centres[0], centres[-1], atol=2)  # 0..2 of 200 units: the point barely moves


def test_plot_frames_are_drawn_by_workers_when_draw_is_importable(tmp_path, memory_encoder, monkeypatch, capfd):
    rec = blog_recording(steps=40)
    ca.render(rec.trace, tmp_path / "one.frames", jobs=1, size=(160, 120))
    one = memory_encoder.last
    monkeypatch.setattr(memory_encoder, "slow_parent", 0.1)
    ca.render(rec.trace, tmp_path / "two.frames", jobs=2, size=(160, 120))
    two = memory_encoder.last
    assert len(set(two.pids) - {os.getpid()}) == 2, two.pids
    assert all(np.array_equal(a, b) for a, b in zip(one.frames, two.frames)) and len(two.frames) == 40
    assert capfd.readouterr().err == ""


def test_a_draw_workers_cannot_import_is_drawn_in_one_process_said_in_one_line(tmp_path, memory_encoder, capfd):
    def local_draw(ax, frame):  # a closure: a worker process cannot import it
        blog_draw(ax, frame)

    rec = ca.Recorder(Plot(local_draw))
    for step in range(20):
        rec.capture(step, loss=1.0, w=[1.0], b=[step])
    ca.render(rec.trace, tmp_path / "x.frames", jobs=2, size=(160, 120))
    assert set(memory_encoder.last.pids) == {os.getpid()}
    err = capfd.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "one process" in err and "local_draw" in err and "top level of an importable module" in err


def test_a_failing_draw_is_one_error_naming_type_message_and_step(tmp_path):
    rec = ca.Recorder(Plot(failing_draw))
    for step in range(4):
        rec.capture(step, v=step)
    with pytest.raises(ca.RenderError) as info:
        ca.render(rec.trace, tmp_path / "fail.gif")
    assert str(info.value) == "draw failed at step 2: ValueError: no such column 'z'"
    assert not (tmp_path / "fail.gif").exists()


def test_bad_captures_are_one_clear_error():
    rec = ca.Recorder(Plot(moving_point))
    rec.capture(0, centroids=np.zeros((3, 2)))
    with pytest.raises(ca.CaptureError, match=r"'centroids' has shape \(4, 2\), earlier captures had \(3, 2\)"):
        rec.capture(1, centroids=np.zeros((4, 2)))
    with pytest.raises(ca.CaptureError, match="'label' is not numeric"):
        ca.Recorder(Plot(moving_point)).capture(0, label="cat")
    with pytest.raises(ca.UsageError, match="draw must be a function"):
        Plot("draw")


def test_themes_stills_and_real_encoders_work_with_plot(tmp_path):
    from PIL import Image

    rec = blog_recording(steps=6)
    gif = ca.render(rec.trace, tmp_path / "dark.gif", theme="dark", loss_panel=True, still=tmp_path / "last.png",
                    hold=1.0)
    with Image.open(gif) as image:
        assert image.n_frames >= 6
        first = np.array(image.convert("RGB"))
    still = np.array(Image.open(tmp_path / "last.png").convert("RGB"))
    assert first.shape == (480, 1024, 3) and still.shape == first.shape
    # The dark theme's background inside the axes (the blog's x range starts at 1.5, left of the points).
    corner = still[60:70, 90:100].reshape(-1, 3).mean(axis=0)
    assert corner.max() < 40, corner
    assert red_pixels(still) > 1000
    # Tick labels in the theme's light grey, though the axes is cleared and its ticks remade each frame.
    tick_labels = still[60:430, 0:60]
    assert (tick_labels.min(axis=-1) > 150).sum() > 40


def test_plot_renders_to_mp4_with_timing_options(tmp_path):
    import imageio.v3 as iio

    rec = blog_recording(steps=6)
    path = ca.render(rec.trace, tmp_path / "blog.mp4", fps=4, hold=1.0, size=(320, 240))
    frames = iio.imread(path, index=None)
    # 6 frames, the last held 1 s at 4 fps; 320x240 with each pixel doubled in the MP4
    assert frames.shape[0] == 6 + 4 and frames.shape[1:3] == (480, 640)
    assert red_pixels(frames[-1]) > 300 and blue_pixels(frames[-1]) > 30


def test_cli_render_of_a_saved_plot_trace_says_how_in_one_line(run, tmp_path):
    saved = blog_recording(steps=3).trace.save(tmp_path / "plot.npz")
    gc.collect()
    result = run("render", saved, "-o", "out.gif", "-q")
    assert result.exit_code == 1
    assert "a trace keeps the captured values, not the code: render it with render(trace, path, " \
           "scene=Plot(blog_draw))" in result.output
    assert len(result.output.strip().splitlines()) == 1 and not (tmp_path / "out.gif").exists()


def test_margins_fit_the_labels_and_ticks_draw_sets():
    """A panel makes the layout fit its margins: to the axis labels and the wide ticks of the user's draw."""
    from convergence_anim.frames import FrameRenderer

    def draw(ax, frame):
        ax.scatter(*frame["c"].T)
        ax.set_xlabel("first principal component of the latent code")
        ax.set_ylabel("second component (units)")

    rec = ca.Recorder(Plot(draw), every=1)
    for step in range(4):
        rec.capture(step, loss=1 / (step + 1), c=np.random.default_rng(step).normal(size=(5, 2)) * 1000)
    renderer = FrameRenderer(rec.trace, loss_panel=True)
    renderer.render(0)
    fig = renderer.figure
    ax = fig.axes[0]
    texts = [ax.yaxis.label, ax.xaxis.label, *ax.get_yticklabels()]
    boxes = [t.get_window_extent(fig.canvas.get_renderer()) for t in texts if t.get_text()]
    assert len(boxes) > 3 and min(b.x0 for b in boxes) >= 0 and min(b.y0 for b in boxes) >= 0


def test_a_shared_scale_draws_a_plot_as_the_plot_itself_with_those_limits(tmp_path, memory_encoder):
    # batch --shared-scale wraps each run's scene in FixedView: a Plot must stay a Plot (redrawn each
    # frame, no "Loss=" label), only with the shared limits.
    from convergence_anim.batch.views import FixedView

    plot = Plot(moving_point)
    rec = ca.Recorder(plot, every=1)
    for step in range(4):
        rec.capture(step, loss=1.0 / (step + 1), p=[float(step), float(step) ** 2])
    limits = {"xlim": (-1.0, 5.0), "ylim": (-2.0, 20.0)}
    ca.render(rec.trace, tmp_path / "own.frames", scene=Plot(moving_point, **limits), jobs=1)
    own = memory_encoder.last.frames
    ca.render(rec.trace, tmp_path / "shared.frames", scene=FixedView(plot, **limits), jobs=1)
    shared = memory_encoder.last.frames
    assert len(shared) == len(own) == 4 and not np.array_equal(own[0], own[-1])
    for i, (a, b) in enumerate(zip(own, shared)):
        np.testing.assert_array_equal(a, b, err_msg=f"frame {i}")
