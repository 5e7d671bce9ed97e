import imageio.v3 as iio
import numpy as np
import pytest

import convergence_anim as ca

from .pixels import red_pixels


def _one_line_error(result, code, text):
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output
    assert text in result.output
    # The message is one line, the last; only click's own option errors put its usage line first.
    last = result.output.strip().splitlines()[-1]
    assert last.startswith("Error: ") and text in last, result.output


def test_demo_linear_default_output(run, tmp_path):
    (tmp_path / "outputs").mkdir()
    result = run("demo", "linear", "-q")
    assert result.exit_code == 0, result.output
    frames = iio.imread(tmp_path / "outputs" / "linear-seed10.gif", index=None)
    assert frames.shape == (11, 480, 640, 3)
    assert red_pixels(frames[-1]) > 3000


def test_demo_logistic_mp4_and_trace_rerender(run, tmp_path):
    result = run("demo", "logistic", "--max-iter", 30, "--every", 5, "--format", "mp4", "-o", "lg.mp4",
                 "--save-trace", "lg.npz")
    assert result.exit_code == 0, result.output
    assert "Wrote lg.mp4 (7 frames" in result.output
    assert iio.imread(tmp_path / "lg.mp4", index=None).shape == (7, 960, 1280, 3)  # MP4 pixels are doubled
    trace = ca.Trace.load(tmp_path / "lg.npz")
    assert list(trace.steps) == [0, 5, 10, 15, 20, 25, 29]
    result = run("render", "lg.npz", "-o", "again.gif", "--fps", 2)
    assert result.exit_code == 0, result.output
    assert iio.imread(tmp_path / "again.gif", index=None).shape == (7, 480, 640, 3)


def test_diverging_run_warns_and_still_renders(run, tmp_path):
    result = run("demo", "linear", "--lr", 0.1, "--every", 5, "-o", "div.gif", "-q")
    assert result.exit_code == 0, result.output
    assert "diverged at iteration" in result.output
    frames = iio.imread(tmp_path / "div.gif", index=None)
    assert all(red_pixels(f) > 500 for f in frames)  # no blank frame


@pytest.mark.parametrize(
    "args, text",
    [
        (["demo", "linear", "--every", "0"], "'--every': 0 is not in the range x>=1"),
        (["demo", "linear", "--fps", "0"], "'--fps': 0.0 is not in the range 0<x<inf"),
        (["demo", "linear", "--fps", "-2"], "'--fps': -2.0 is not in the range 0<x<inf"),
        (["demo", "linear", "--fps", "nan"], "fps must be a positive number, got nan"),
        (["demo", "linear", "--lr", "0"], "'--lr': 0.0 is not in the range 0<x<inf"),
        (["demo", "linear", "--max-iter", "-1"], "'--max-iter': -1 is not in the range x>=1"),
        (["demo", "linear", "-o", "x.avi"], "not a known format"),
        (["demo", "linear", "-o", "x.mp4", "--format", "gif"], "does not match"),
        (["demo", "linear", "-o", "x.gif", "--fps", "100"], "at most 50 fps"),
        (["demo", "nonsense"], "Invalid value"),
        (["render", "t.npz"], "Missing option"),
        (["render", "t.npz", "-o", "x.mkv"], "not a known format"),
    ],
)
def test_usage_errors_exit_2(run, args, text):
    _one_line_error(run(*args), 2, text)


def test_unwritable_output_exits_1_before_training(run, tmp_path):
    (tmp_path / "taken.gif").mkdir()
    _one_line_error(run("demo", "linear", "-o", "taken.gif"), 1, "is a directory")
    (tmp_path / "file").write_text("")
    _one_line_error(run("demo", "linear", "-o", "file/x.gif"), 1, "'file' is not a directory")


def test_render_missing_corrupt_and_empty_traces_exit_1(run, tmp_path):
    _one_line_error(run("render", "missing.npz", "-o", "x.gif"), 1, "does not exist")
    (tmp_path / "corrupt.npz").write_bytes(b"PK\x03\x04garbage")
    _one_line_error(run("render", "corrupt.npz", "-o", "x.gif"), 1, "not a readable trace file")
    ca.Recorder(ca.scenes.LineFit([1, 2], [1, 2]), every=1).trace.save(tmp_path / "empty.npz")
    _one_line_error(run("render", "empty.npz", "-o", "x.gif"), 1, "trace is empty")
    assert not (tmp_path / "x.gif").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["corrupt.npz", "empty.npz"]


@pytest.mark.parametrize("command", [[], ["demo"], ["render"], ["fit"], ["batch"]])
def test_help_shows_defaults(run, command):
    result = run(*command, "--help")
    assert result.exit_code == 0
    assert "Usage:" in result.output
    text = " ".join(result.output.split())  # help is wrapped to the terminal width
    if command == ["render"]:
        assert "Frames per second [default: 10]" in text
        assert "[default: light]" in text and "overwritten if it exists" in text
    if command in (["fit"], ["batch"]):
        assert "[default:" in text and "--theme" in text
    if command == ["demo"]:
        assert "linear the blog's linear regression" in text and "every 20, max-iter 1000, fps 5" in text
        assert "moons" in text


def _gif_delays(path):
    from PIL import Image

    with Image.open(path) as im:
        delays = []
        for i in range(im.n_frames):
            im.seek(i)
            delays.append(im.info["duration"])
        return delays, im.info.get("loop")


@pytest.fixture(scope="module")
def saved_trace(tmp_path_factory):
    from convergence_anim.demos import run_demo

    path = tmp_path_factory.mktemp("trace") / "linear.npz"
    run_demo("linear").trace.save(path)
    return path


def test_theme_size_and_loss_panel(run, saved_trace, tmp_path):
    assert run("render", saved_trace, "-o", "s.gif", "--theme", "slides", "-q").exit_code == 0
    assert iio.imread(tmp_path / "s.gif", index=None).shape[1:] == (720, 1280, 3)
    assert run("render", saved_trace, "-o", "p.gif", "--loss-panel", "-q").exit_code == 0
    assert iio.imread(tmp_path / "p.gif", index=0).shape == (480, 1024, 3)
    assert run("render", saved_trace, "-o", "d.mp4", "--size", "320x240", "--theme", "dark", "--log-loss", "-q").exit_code == 0
    frames = iio.imread(tmp_path / "d.mp4", index=None)
    assert frames.shape == (11, 480, 640, 3)  # 320x240 frames, each pixel doubled in the MP4
    assert frames[0].mean() < 80  # dark background


def test_timing_options_set_gif_delays(run, saved_trace, tmp_path):
    assert run("render", saved_trace, "-o", "h.gif", "--fps", 10, "--hold", 2, "--hold-first", 0.5, "--loop", 3, "-q").exit_code == 0
    delays, loop = _gif_delays(tmp_path / "h.gif")
    assert delays == [600] + [100] * 9 + [2100]
    assert loop == 2  # GIF stores repeats: played 3 times
    assert run("render", saved_trace, "-o", "d.gif", "--duration", 4.4, "-q").exit_code == 0
    delays, _ = _gif_delays(tmp_path / "d.gif")
    assert sum(delays) == 4400 and len(delays) == 11


def test_hold_repeats_mp4_frames(run, saved_trace, tmp_path):
    assert run("render", saved_trace, "-o", "h.mp4", "--fps", 10, "--hold", 1, "-q").exit_code == 0
    assert len(iio.imread(tmp_path / "h.mp4", index=None)) == 11 + 10


@pytest.mark.parametrize("spacing, steps", [("uniform", [0, 60, 140, 194]), ("log", [0, 20, 80, 194])])
def test_max_frames(run, saved_trace, tmp_path, spacing, steps, memory_encoder):
    result = run("render", saved_trace, "-o", "m.gif", "--max-frames", 4, "--spacing", spacing, "-q")
    assert result.exit_code == 0, result.output
    assert len(iio.imread(tmp_path / "m.gif", index=None)) == 4
    # The frames the encoder receives are the captures of those steps, drawn as a trace of them alone.
    from convergence_anim.frames import FrameRenderer

    trace = ca.Trace.load(saved_trace)
    ca.render(trace, tmp_path / "m.frames", max_frames=4, spacing=spacing)
    chosen = trace.select([int(np.flatnonzero(trace.steps == step)[0]) for step in steps])
    expected = FrameRenderer(chosen)
    received = memory_encoder.last.frames
    assert len(received) == 4
    for i, frame in enumerate(received):
        np.testing.assert_array_equal(frame, expected.render_rgba(i), err_msg=f"frame {i}")


def test_still_and_filmstrip(run, saved_trace, tmp_path):
    result = run("render", saved_trace, "-o", "a.gif", "--still", "last.png", "--filmstrip", "strip.png",
                 "--filmstrip-frames", 3, "-q")
    assert result.exit_code == 0, result.output
    last = iio.imread(tmp_path / "last.png")
    assert last.shape[:2] == (480, 640)
    assert red_pixels(last[..., :3]) > 3000
    assert iio.imread(tmp_path / "strip.png").shape[:2] == (480, 3 * 640 + 2 * 8)
    assert run("render", saved_trace, "-o", "a.gif", "--still", "last.svg", "-q").exit_code == 0
    assert (tmp_path / "last.svg").read_text().lstrip().startswith("<?xml")


@pytest.mark.parametrize(
    "args, text",
    [
        (["--size", "640"], "must be WIDTHxHEIGHT"),
        (["--size", "0x480"], "between 16 and 8192"),
        (["--size", "axb"], "must be WIDTHxHEIGHT"),
        (["--dpi", "0"], "'--dpi': 0.0 is not in the range 10<=x<=1200"),
        (["--theme", "neon"], "Invalid value"),
        (["--fps", "5", "--duration", "3"], "give either fps or duration, not both"),
        (["--duration", "1", "--hold", "2"], "leave no time"),
        (["--max-frames", "-1"], "'--max-frames': -1 is not in the range x>=0"),
        (["--smooth", "1"], "'--smooth': 1.0 is not in the range 0<=x<1"),
        (["--jobs", "0"], "'--jobs': 0 is not in the range x>=1"),
        (["--hold", "-1"], "'--hold': -1.0 is not in the range 0<=x<inf"),
        (["--still", "x.jpg"], "must end in .png, .svg, .pdf"),
        (["--filmstrip", "x.gif"], "must end in .png"),
        (["--filmstrip-frames", "0"], "Invalid value"),
        (["--loop", "-1"], "Invalid value"),
    ],
)
def test_render_option_errors_exit_2(run, saved_trace, tmp_path, args, text):
    _one_line_error(run("render", saved_trace, "-o", "x.gif", *args), 2, text)
    assert not (tmp_path / "x.gif").exists()


def test_size_takes_a_name_and_slides_stay_16_9_with_a_panel(run, tmp_path):
    assert run("demo", "linear", "--size", "square", "--max-frames", "2", "-o", "sq.gif", "-q").exit_code == 0
    assert iio.imread(tmp_path / "sq.gif", index=0).shape[:2] == (1080, 1080)
    result = run("demo", "linear", "--theme", "slides", "--loss-panel", "--max-frames", "2", "-o", "s.mp4", "-q")
    assert result.exit_code == 0, result.output
    assert iio.imread(tmp_path / "s.mp4", index=0).shape[:2] == (1440, 2560)  # MP4 pixels are doubled
    result = run("demo", "linear", "--size", "8k")
    assert result.exit_code == 2 and "one of 720p, 1080p, 4k, square; got '8k'" in result.output


@pytest.mark.parametrize("command", [["demo", "linear"], ["fit", "points.csv", "--task", "regress", "--max-iter", "40"]])
def test_live_without_a_display_says_so_once_and_writes_the_same_file(run, tmp_path, monkeypatch, command):
    monkeypatch.delenv("DISPLAY", raising=False)
    (tmp_path / "points.csv").write_text("x,y\n" + "".join(f"{i / 10},{(i / 10) ** 2}\n" for i in range(20)))
    plain = run(*command, "-o", "plain.gif", "-q")
    live = run(*command, "-o", "live.gif", "-q", "--live")
    assert plain.exit_code == live.exit_code == 0, live.output
    assert live.output.strip().splitlines() == [
        "convergence_anim: live view is off: not in a notebook, and no display to open a window on ($DISPLAY is "
        "not set); training and recording go on without it"
    ]
    assert (tmp_path / "live.gif").read_bytes() == (tmp_path / "plain.gif").read_bytes()


def test_demo_makes_missing_folders_says_so_and_reports_frames_drawn(run, tmp_path):
    assert run("demo", "linear", "--fps", "100", "-q").exit_code == 2  # refused before anything is made
    assert list(tmp_path.iterdir()) == []
    result = run("demo", "linear", "--max-frames", "3")
    assert result.exit_code == 0, result.output
    assert len(iio.imread(tmp_path / "outputs" / "linear-seed10.gif", index=None)) == 3
    assert "(3 frames," in result.output and result.output.rstrip().endswith("; created folder outputs/")
    result = run("demo", "linear", "--max-frames", "2", "-o", "runs/a/x.gif", "--save-trace", "traces/x.npz")
    assert result.exit_code == 0, result.output
    assert result.output.rstrip().endswith("; created folders runs/a/, traces/")
    assert (tmp_path / "traces" / "x.npz").is_file()
    result = run("demo", "linear", "--max-frames", "2", "-o", "runs/a/x.gif")  # the folder is there now
    assert "created" not in result.output


def test_render_and_compare_make_the_output_folder_and_say_so(run, saved_trace, tmp_path):
    result = run("render", saved_trace, "-o", "runs/r.gif", "--max-frames", 2, "--still", "figs/last.png")
    assert result.exit_code == 0, result.output
    assert "Wrote runs/r.gif (2 frames" in result.output
    assert result.output.rstrip().endswith("; created folders runs/, figs/")
    assert (tmp_path / "figs" / "last.png").is_file()
    result = run("compare", saved_trace, saved_trace, "--labels", "a,b", "-o", "cmp/c.gif", "--max-frames", 2)
    assert result.exit_code == 0, result.output
    assert "Wrote cmp/c.gif (2 frames, 2 runs, " in result.output
    assert result.output.rstrip().endswith(" KiB); created folder cmp/")


def test_old_option_names_still_work_for_a_release_with_a_note(run, tmp_path):
    (tmp_path / "points.csv").write_text("x,y\n" + "".join(f"{i / 10},{(i / 10) ** 2}\n" for i in range(20)))
    result = run("fit", "points.csv", "--task", "regress", "--iterations", "20", "--every", "10", "-o", "old.gif", "-q")
    assert result.exit_code == 0, result.output
    assert result.output.strip().splitlines() == [
        "convergence-anim: --iterations is now --max-iter (--iterations still works in this release, not the next)"
    ]
    assert len(iio.imread(tmp_path / "old.gif", index=None)) == 3  # steps 0, 10 and the last, 19
    result = run("fit", "points.csv", "--task", "regress", "--iterations", "20", "--max-iter", "20")
    assert result.exit_code == 2 and "give --max-iter only (--iterations is its old name)" in result.output
    result = run("batch", "linear", "--seeds", "0", "--jobs", "1", "--workers", "1")
    assert result.exit_code == 2 and "give --workers only (--jobs is its old name)" in result.output


def test_help_says_how_race_and_compare_differ(run):
    for command in ([], ["race"], ["compare"]):
        text = " ".join(run(*command, "--help").output.split())
        assert "race" in text and "compare" in text and "saved" in text, command


def test_the_default_frame_budget_warns_in_the_command_line_s_terms(run, tmp_path, monkeypatch):
    import convergence_anim._render

    drawn = []

    def fake_render(trace, path, settings, **kwargs):  # what the command asks for, without drawing 400 frames
        drawn.append(settings.max_frames)
        path.write_bytes(b"GIF89a")
        return path

    monkeypatch.setattr(convergence_anim._render, "render", fake_render)
    rec = ca.Recorder(ca.scenes.LineFit([0.0, 1.0], [0.0, 1.0]))
    for _ in range(400):
        rec.capture(loss=1.0, w=1.0, b=0.0)
    rec.trace.save(tmp_path / "long.npz")
    result = run("render", "long.npz", "-o", "long.gif", "-q")
    assert result.exit_code == 0 and drawn == [300]
    assert result.output.strip() == (
        "Warning: drawing 300 of 400 frames (the default budget); --max-frames 0 draws them all; "
        "the trace was captured at every step (every=1, the Recorder's default).")
    result = run("render", "long.npz", "-o", "long.gif", "-q", "--max-frames", "0")
    assert result.exit_code == 0 and drawn == [300, None] and result.output == ""
