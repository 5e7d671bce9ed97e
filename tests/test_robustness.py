"""Divergence, interruption, failing encoders, full disks, memory: nothing crashes, nothing half-written."""

import gc
import json
import signal
import subprocess
import sys
import textwrap
import time
import tracemalloc
import warnings
import weakref

import imageio.v3 as iio
import numpy as np
import pytest
import torch
from click.testing import CliRunner

import convergence_anim as ca
from convergence_anim.cli import main
from convergence_anim.demos import run_demo
from convergence_anim.frames import FrameRenderer

from .pixels import blue_pixels, red_pixels


@pytest.fixture(scope="module")
def diverged():
    return run_demo("linear", lr=0.1, every=3).trace


def test_diverging_frames_are_drawn_without_warnings(diverged):
    assert diverged.diverged_at is not None
    first_bad = int(np.searchsorted(diverged.steps, diverged.diverged_at))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no RuntimeWarning or matplotlib warning may leak out
        renderer = FrameRenderer(diverged, loss_panel=True, log_loss=True)
        frames = [renderer.render(i) for i in range(len(diverged))]
    before, after = frames[first_bad - 1], frames[-1]
    assert all(blue_pixels(f) > 500 for f in frames)  # the data is always there: no blank frame
    assert red_pixels(after) > 800  # the "diverged at iteration N" label
    # The axes stay where they were: tick labels left of the plot are unchanged.
    left = int(renderer.figure.axes[0].get_window_extent().x0) - 2
    assert left > 20
    np.testing.assert_array_equal(before[60:, :left], after[60:, :left])


def test_cli_warns_once_and_exits_0(tmp_path):
    result = CliRunner().invoke(main, ["demo", "linear", "--lr", "0.1", "-o", str(tmp_path / "d.gif"), "-q"])
    assert result.exit_code == 0
    assert result.output.count("diverged at iteration") == 1


def test_keyboard_interrupt_in_the_users_loop_keeps_the_captures(tmp_path):
    rec = ca.Recorder(ca.scenes.LineFit(torch.arange(4.0), torch.arange(4.0)), every=10)
    w = torch.zeros(1, requires_grad=True)
    with pytest.raises(KeyboardInterrupt):
        for step in range(100):
            rec.capture(step, loss=float(step), w=w, b=0.0)
            if step == 57:
                raise KeyboardInterrupt
    trace = rec.trace
    assert list(trace.steps) == [0, 10, 20, 30, 40, 50]
    path = ca.render(trace, tmp_path / "partial.gif")
    assert len(iio.imread(path, index=None)) == 6


def test_recorder_keeps_no_graph_alive():
    x = torch.linspace(0, 1, 50)
    w = torch.ones(1, requires_grad=True)
    rec = ca.Recorder(ca.scenes.LineFit(x, 2 * x), every=1)
    prediction = w * x
    loss = ((prediction - 2 * x) ** 2).mean()
    scaled = w * 1.0
    refs = [weakref.ref(t) for t in (prediction, loss, scaled)]
    rec.capture(0, loss=loss, w=scaled, b=loss * 0)
    del prediction, loss, scaled
    gc.collect()
    assert [r() for r in refs] == [None, None, None]  # nothing of the graph outlives the loop's own names


def test_memory_does_not_grow_beyond_the_captured_values_over_10000_captures():
    x = torch.linspace(0, 1, 50)
    w = torch.ones(1, requires_grad=True)
    b = torch.zeros(1, requires_grad=True)
    rec = ca.Recorder(ca.scenes.LineFit(x, 2 * x), every=1, max_captures=None)  # keep all 10,000
    losses = []
    tracemalloc.start()
    try:
        start = tracemalloc.get_traced_memory()[0]
        for step in range(10_000):
            loss = ((w * x + b - 2 * x) ** 2).mean()
            rec.capture(step, loss=loss, w=w, b=b)
            if step % 1000 == 0:
                losses.append(weakref.ref(loss))
        del loss
        gc.collect()
        grown = tracemalloc.get_traced_memory()[0] - start
    finally:
        tracemalloc.stop()
    # No loss tensor (and so no graph) survives its iteration.
    assert all(ref() is None for ref in losses)
    # What stays is the captured values: two 0-d arrays, a loss pair and a dict per capture, under
    # a kilobyte each. (Tensor storage is not seen by tracemalloc; the weakrefs above cover it.)
    assert grown / 10_000 < 1_000, grown
    assert len(rec.trace) == 10_000


_SMALL_DISK = (
    "import resource, signal, sys;"
    # Writing past RLIMIT_FSIZE fails with EFBIG, the way a full disk fails with ENOSPC, in this
    # process and in ffmpeg (which inherits the limit); SIGXFSZ would otherwise kill the process.
    "signal.signal(signal.SIGXFSZ, signal.SIG_IGN);"
    "resource.setrlimit(resource.RLIMIT_FSIZE, (10000, 10000));"
    "from convergence_anim.cli import main; main(sys.argv[1:], prog_name='convergence-anim')"
)


@pytest.mark.parametrize("suffix, text", [(".gif", "File too large"), (".mp4", "ffmpeg failed")])
def test_a_write_that_fails_in_the_os_is_one_line_and_leaves_nothing(linear_trace, tmp_path, suffix, text):
    trace_path = linear_trace.save(tmp_path / "lin.npz")
    out = subprocess.run(
        [sys.executable, "-c", _SMALL_DISK, "render", str(trace_path), "-o", str(tmp_path / f"x{suffix}"), "-q",
         "--size", "640x480"],
        capture_output=True, text=True, timeout=120,
    )
    assert out.returncode == 1, out.stderr
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: ") and text in lines[0], out.stderr
    assert "Traceback" not in out.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["lin.npz"]  # no file, no temporary file


@pytest.mark.parametrize("exe, text", [("/nonexistent/ffmpeg", "could not start"), ("/bin/false", "ffmpeg failed")])
def test_missing_or_failing_ffmpeg_suggests_gif(linear_trace, tmp_path, monkeypatch, exe, text):
    monkeypatch.setenv("IMAGEIO_FFMPEG_EXE", exe)
    path = tmp_path / "lin.npz"
    linear_trace.save(path)
    runner = CliRunner()
    result = runner.invoke(main, ["render", str(path), "-o", str(tmp_path / "x.mp4"), "-q"])
    assert result.exit_code == 1
    assert text in result.output and "write a .gif instead" in result.output
    assert "Traceback" not in result.output and len(result.output.strip().splitlines()) == 1
    verbose = runner.invoke(main, ["render", str(path), "-o", str(tmp_path / "x.mp4"), "-q", "-v"])
    # -v adds ffmpeg's own words where ffmpeg ran; a missing binary has nothing more to say.
    assert verbose.exit_code == 1 and (len(verbose.output.strip().splitlines()) > 1) == (exe == "/bin/false")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["lin.npz"]


_LONG_RENDER = textwrap.dedent(
    """
    import sys
    import convergence_anim as ca
    from convergence_anim.demos import run_demo
    trace = run_demo("linear", lr=0.004, every=1, max_iter=3000).trace
    print("ready", flush=True)
    ca.render(trace, sys.argv[1], fps=30, jobs=int(sys.argv[2]))
    """
)


def _start_long_render(target, jobs):
    proc = subprocess.Popen(
        [sys.executable, "-c", _LONG_RENDER, str(target), str(jobs)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    assert proc.stdout.readline().strip() == "ready"
    deadline = time.monotonic() + 60
    while not any(".part" in p.name for p in target.parent.iterdir()):  # the render has started writing
        assert time.monotonic() < deadline and proc.poll() is None, proc.stderr.read()
        time.sleep(0.05)
    time.sleep(1.0)  # well inside the render: thousands of frames to go
    return proc


@pytest.mark.parametrize("suffix, jobs", [(".mp4", 1), (".gif", 2)])
def test_sigint_mid_render_leaves_no_file_at_all(tmp_path, suffix, jobs):
    target = tmp_path / f"long{suffix}"
    proc = _start_long_render(target, jobs)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode != 0 and "KeyboardInterrupt" in err
    assert list(tmp_path.iterdir()) == []


def test_sigkill_mid_render_leaves_nothing_under_the_final_name(tmp_path):
    target = tmp_path / "long.gif"
    proc = _start_long_render(target, 1)
    proc.kill()
    proc.wait(timeout=30)
    assert not target.exists()
    assert all(p.name.startswith(".long.") and ".part" in p.name for p in tmp_path.iterdir())


def test_cli_ctrl_c_exits_130_without_traceback(tmp_path):
    cmd = [sys.executable, "-m", "convergence_anim.cli", "demo", "logistic", "--every", "1", "-o", str(tmp_path / "l.gif"), "-q", "--jobs", "1"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not any(".part" in p.name for p in tmp_path.iterdir()):
        assert time.monotonic() < deadline and proc.poll() is None, proc.stderr.read()
        time.sleep(0.05)
    time.sleep(0.5)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130
    assert "Traceback" not in err and "Interrupted" in err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.filterwarnings("error::RuntimeWarning", "error::UserWarning")
def test_huge_finite_weights_draw_without_warnings():
    rec = ca.Recorder(ca.scenes.LineFit([1.0, 1e6], [0.0, 1.0]), every=1)
    rec.capture(0, loss=1e300, w=1e308, b=-1e308)
    frame = FrameRenderer(rec.trace).render(0)
    assert blue_pixels(frame) > 50


# -- hostile traces: loadable files whose values no recorder makes ------------------------------------------


def _small_traces():
    """Two captures of each scene kind, from prediction functions (no training): name -> Trace."""
    points = torch.tensor([[0.0, 0.0], [1.0, 1.0], [0.0, 1.0], [1.0, 0.0]])
    line = ca.Recorder(ca.scenes.LineFit([0.0, 1.0, 2.0], [0.0, 1.0, 2.5]), every=1)
    two = ca.Recorder(ca.scenes.DecisionBoundary(points, [0, 1, 1, 0], resolution=8), every=1)
    three = ca.Recorder(ca.scenes.DecisionBoundary(points, [0, 1, 2, 0], resolution=8), every=1)
    curve = ca.Recorder(ca.scenes.CurveFit([0.0, 1.0, 2.0], [0.0, 1.0, 4.0], resolution=8), every=1)
    for step in range(2):
        line.capture(step, loss=1.0 / (step + 1), w=0.5 * step, b=0.1)
        two.capture(step, loss=1.0, predict=lambda x, s=step: x[:, :1] - s)
        three.capture(step, loss=1.0, predict=lambda x, s=step: torch.cat([x, x.sum(1, keepdim=True) - s], dim=1))
        curve.capture(step, loss=1.0, predict=lambda x, s=step: x * s)
    return {"line": line.trace, "two": two.trace, "three": three.trace, "curve": curve.trace}


def _with_landscape(trace, **broken):
    """``trace`` with a (fake, consistent) recorded landscape, then ``broken`` arrays put in its place."""
    data = {"landscape_loss": np.ones((3, 4)), "landscape_x": np.arange(4.0), "landscape_y": np.arange(3.0),
            "landscape_origin": np.zeros(5), "landscape_directions": np.eye(2, 5),
            "landscape_explained": np.array([0.6, 0.3])}
    state = {**trace.state, "landscape_path": np.zeros((len(trace), 2))}
    for key, value in broken.items():
        (state if key == "landscape_path" else data)[key] = value
    return ca.Trace(trace.scene, {**trace.data, **data}, trace.options, trace.steps, trace.losses, state, trace.meta)


def _hostile(base, *, drop=(), options=None, **arrays):
    """The arrays of ``base`` saved as a file, without ``drop``, with ``arrays`` (``state_w=...``) and ``options``."""
    out = {"convergence_anim_trace": np.array([1]), "scene": np.array(base.scene), "meta": np.array("{}"),
           "options": np.array(json.dumps({**base.options, **(options or {})})), "steps": base.steps,
           "losses": base.losses}
    out.update({f"data.{k}": v for k, v in base.data.items()})
    out.update({f"state.{k}": v for k, v in base.state.items()})
    out.update({key.replace("_", ".", 1): value for key, value in arrays.items()})
    return {key: value for key, value in out.items() if key not in drop}


_HOSTILE = {  # name: (base trace, how it is broken, extra render options, what the one line says)
    "state.b missing": ("line", dict(drop=["state.b"]), [], "no 'b' values"),
    "text in state.w": ("line", dict(state_w=np.array(["1.0", "x"])), [], "'w' values are <U3, not numbers"),
    "a w per feature": ("line", dict(state_w=np.zeros((2, 3))), [], "'w' values have shape (3,)"),
    "grid of another resolution": ("two", dict(state_probability=np.zeros((2, 5, 5), np.uint8)), [],
                                   "shape (5, 5) per capture; the 'decision_boundary' scene draws (8, 8)"),
    "resolution option off": ("two", dict(options={"resolution": 20}), [], "draws (20, 20)"),
    "plane of the wrong shape": ("two", dict(options={"plane": [[1, 2], [3]]}), [], "plane option must be"),
    "plane of text": ("two", dict(options={"plane": ["a", "b", "c"]}), [], "plane option must be"),
    "classes option off": ("two", dict(options={"classes": 3}), [], "no 'region' values"),
    "region beyond the classes": ("three", dict(state_region=np.full((2, 8, 8), 7, np.uint8)), [],
                                  "run from 7 to 7"),
    "region as floats": ("three", dict(state_region=np.zeros((2, 8, 8))), [], "not integers"),
    "curve without predictions": ("curve", dict(drop=["state.prediction"]), [], "no 'prediction' values"),
    "landscape grid of the wrong shape": ("two_landscape", dict(data_landscape_loss=np.ones((2, 2))), ["--landscape"],
                                          "landscape is malformed"),
    "landscape axis of 1e308": ("two_landscape", dict(data_landscape_x=np.array([0, 1, 2, 1e308])), ["--landscape"],
                                "landscape is malformed"),
    "landscape path of text": ("two_landscape", dict(state_landscape_path=np.full((2, 2), "a")), ["--landscape"],
                               "not numbers"),
}


@pytest.fixture(scope="module")
def small_traces():
    traces = _small_traces()
    traces["two_landscape"] = _with_landscape(traces["two"])
    return traces


@pytest.mark.parametrize("case", list(_HOSTILE))
def test_a_malformed_trace_is_one_line_and_no_file(small_traces, tmp_path, case):
    base, broken, extra, message = _HOSTILE[case]
    np.savez(tmp_path / "bad.npz", **_hostile(small_traces[base], **broken))
    result = CliRunner().invoke(main, ["render", str(tmp_path / "bad.npz"), "-o", str(tmp_path / "x.gif"), "-q",
                                       "--still", str(tmp_path / "x.png"), *extra])
    assert isinstance(result.exception, SystemExit), result.exception  # not an exception escaping click
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: ") and message in lines[0], result.output
    assert "Traceback" not in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.npz"]


@pytest.mark.parametrize("state, losses, extra", [
    ({"w": [1e308, -1e308]}, None, ["--landscape"]),  # far beyond what a loss grid or an axis can hold
    ({"w": [1e307, 1e306]}, None, ["--landscape"]),
    (None, [1e305, 1.0], ["--log-loss"]),  # a loss on its way to infinity: log ticks that far overflow
])
def test_values_near_the_float_limit_are_drawn_not_a_crash(small_traces, tmp_path, state, losses, extra):
    base = small_traces["line"]
    arrays = {f"state_{k}": np.array(v) for k, v in (state or {}).items()}
    if losses is not None:
        arrays["losses"] = np.array(losses)
    np.savez(tmp_path / "far.npz", **_hostile(base, **arrays))
    result = CliRunner().invoke(main, ["render", str(tmp_path / "far.npz"), "-o", str(tmp_path / "x.gif"), "-q",
                                       *extra])
    assert result.exit_code == 0, result.output
    frames = iio.imread(tmp_path / "x.gif", index=None)
    assert len(frames) == 2 and blue_pixels(frames[-1]) > 50
