import imageio.v3 as iio
import numpy as np
import pytest
from click.testing import CliRunner

import convergence_anim as ca
from convergence_anim.cli import main

from .pixels import red_pixels


@pytest.fixture
def run(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()

    def invoke(*args):
        return runner.invoke(main, [str(a) for a in args], catch_exceptions=False)

    return invoke


def _one_line_error(result, code, text):
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output
    assert text in result.output


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
    assert iio.imread(tmp_path / "lg.mp4", index=None).shape == (7, 480, 640, 3)
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
        (["demo", "linear", "--every", "0"], "must be a positive integer"),
        (["demo", "linear", "--fps", "0"], "must be a positive number"),
        (["demo", "linear", "--fps", "-2"], "must be a positive number"),
        (["demo", "linear", "--lr", "0"], "must be a positive number"),
        (["demo", "linear", "--max-iter", "-1"], "must be a positive integer"),
        (["demo", "linear", "-o", "x.avi"], "not a known format"),
        (["demo", "linear", "-o", "x.mp4", "--format", "gif"], "does not match"),
        (["demo", "linear", "-o", "x.gif", "--fps", "100"], "at most 50 fps"),
        (["demo", "nonsense"], "Invalid value"),
        (["render", "t.npz"], "Missing option"),
        (["render", "t.npz", "-o", "x.webm"], "not a known format"),
    ],
)
def test_usage_errors_exit_2(run, args, text):
    _one_line_error(run(*args), 2, text)


def test_unwritable_output_exits_1_before_training(run, tmp_path):
    (tmp_path / "taken.gif").mkdir()
    _one_line_error(run("demo", "linear", "-o", "taken.gif"), 1, "is a directory")
    _one_line_error(run("demo", "linear", "-o", "no/such/dir.gif"), 1, "does not exist")


def test_render_missing_corrupt_and_empty_traces_exit_1(run, tmp_path):
    _one_line_error(run("render", "missing.npz", "-o", "x.gif"), 1, "does not exist")
    (tmp_path / "corrupt.npz").write_bytes(b"PK\x03\x04garbage")
    _one_line_error(run("render", "corrupt.npz", "-o", "x.gif"), 1, "not a readable trace file")
    ca.Recorder(ca.scenes.LineFit([1, 2], [1, 2]), every=1).trace.save(tmp_path / "empty.npz")
    _one_line_error(run("render", "empty.npz", "-o", "x.gif"), 1, "trace is empty")
    assert not (tmp_path / "x.gif").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["corrupt.npz", "empty.npz"]


@pytest.mark.parametrize("command", [[], ["demo"], ["render"]])
def test_help_shows_defaults(run, command):
    result = run(*command, "--help")
    assert result.exit_code == 0
    assert "Usage:" in result.output
    text = " ".join(result.output.split())  # help is wrapped to the terminal width
    if command == ["render"]:
        assert "[default: 10.0]" in text
    if command == ["demo"]:
        assert "default: linear 20, logistic 3" in text
