"""Outputs that would destroy an input, names too long, full disks, and signals: one line, nothing left behind."""

import os
import signal
import subprocess
import sys
import time

import imageio.v3 as iio
import pytest
from click.testing import CliRunner

import convergence_anim as ca
from convergence_anim.cli import main


def _one_line(result_or_stderr, code, text, exit_code=None):
    """Assert an exit code and one line of stderr (or CliRunner output) holding ``text``, no traceback."""
    if isinstance(result_or_stderr, str):
        output, got = result_or_stderr, exit_code
    else:
        assert isinstance(result_or_stderr.exception, SystemExit), result_or_stderr.exception
        output, got = result_or_stderr.output, result_or_stderr.exit_code
    assert got == code, output
    lines = output.strip().splitlines()
    assert len(lines) == 1 and text in lines[0], output
    assert "Traceback" not in output


@pytest.fixture(scope="module")
def long_trace(tmp_path_factory):
    """400 captures of a line fit (no training needed): long enough to signal a render mid-way."""
    rec = ca.Recorder(ca.scenes.LineFit([0.0, 1.0, 2.0], [0.0, 1.0, 2.5]), every=1)
    for step in range(400):
        rec.capture(step, loss=1.0 / (step + 1), w=step / 400, b=0.1)
    return rec.trace.save(tmp_path_factory.mktemp("long") / "long.npz")


def _files(folder):
    return sorted(p.name for p in folder.iterdir())


# -- an output that is an input, or another output (issue 24, item 11) -------------------------------------


@pytest.mark.parametrize("args, kept", [
    (["render", "x.gif", "-o", "x.gif"], "x.gif"),  # a trace saved under a .gif name
    (["render", "x.gif", "-o", "sub/../x.gif"], "x.gif"),  # the same file by another path
    (["render", "t.png", "-o", "out.gif", "--still", "t.png"], "t.png"),
    (["render", "t.png", "-o", "out.gif", "--filmstrip", "./t.png"], "t.png"),
    (["render", "lin.npz", "-o", "out.gif", "--still", "s.png", "--filmstrip", "s.png"], "lin.npz"),
    (["fit", "good.gif", "--task", "regress", "--max-iter", "5", "-o", "good.gif"], "good.gif"),
    (["compare", "lin.npz", "x.gif", "-o", "x.gif"], "x.gif"),
])
def test_an_output_that_is_an_input_or_another_output_is_refused(linear_trace, tmp_path, monkeypatch, args, kept):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "sub").mkdir()
    saved = linear_trace.save(tmp_path / "lin.npz").read_bytes()
    for name in ("x.gif", "t.png"):
        (tmp_path / name).write_bytes(saved)
    (tmp_path / "good.gif").write_text("x,y\n0,1\n1,3\n2,5\n")
    before = {name: (tmp_path / name).read_bytes() for name in _files(tmp_path) if name != "sub"}
    result = CliRunner().invoke(main, args)
    _one_line(result, 2, "are the same file")
    assert _files(tmp_path) == sorted([*before, "sub"])  # nothing written
    assert all((tmp_path / name).read_bytes() == data for name, data in before.items())  # nothing destroyed
    assert (tmp_path / kept).read_bytes() == before[kept]


def test_render_refuses_a_still_and_filmstrip_on_one_file(linear_trace, tmp_path):
    with pytest.raises(ca.UsageError, match="the still and the filmstrip are the same file"):
        ca.render(linear_trace, tmp_path / "x.gif", still=tmp_path / "s.png", filmstrip=tmp_path / "s.png")
    assert _files(tmp_path) == []


# -- names too long, full disks (item 9) --------------------------------------------------------------------


@pytest.mark.parametrize("where", ["output", "still", "trace file", "saved trace", "data file"])
def test_a_file_name_too_long_is_one_line(linear_trace, tmp_path, monkeypatch, where):
    monkeypatch.chdir(tmp_path)
    linear_trace.save(tmp_path / "lin.npz")
    (tmp_path / "d.csv").write_text("x,y\n0,1\n1,3\n")
    long = "n" * 300
    args = {
        "output": ["render", "lin.npz", "-o", f"{long}.gif"],
        "still": ["render", "lin.npz", "-o", "x.gif", "--still", f"{long}.png"],
        "trace file": ["render", f"{long}.npz", "-o", "x.gif"],
        "saved trace": ["demo", "linear", "--max-iter", "5", "-o", "x.gif", "--save-trace", f"{long}.npz"],
        "data file": ["fit", f"{long}.csv", "--task", "regress", "-o", "x.gif"],
    }[where]
    result = CliRunner().invoke(main, [*args, "-q"])
    assert isinstance(result.exception, SystemExit), result.exception
    assert result.exit_code in (1, 2) and "File name too long" in result.output, result.output
    assert len(result.output.strip().splitlines()) == 1 and "Traceback" not in result.output
    assert _files(tmp_path) == ["d.csv", "lin.npz"]


def test_a_name_that_fits_only_without_the_temporary_parts_still_renders(linear_trace, tmp_path):
    target = tmp_path / ("n" * 240 + ".gif")  # 244 bytes: the temporary name would have been 270
    ca.render(linear_trace, target, max_frames=2)
    assert _files(tmp_path) == [target.name]
    assert len(iio.imread(target, index=None)) == 2


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")
def test_an_output_that_is_a_device_or_pipe_is_refused(linear_trace, tmp_path):
    os.mkfifo(tmp_path / "pipe.gif")  # renaming a file over it would replace it, like /dev/full
    with pytest.raises(ca.OutputError, match="is not a regular file"):
        ca.render(linear_trace, tmp_path / "pipe.gif")
    assert _files(tmp_path) == ["pipe.gif"] and not (tmp_path / "pipe.gif").is_file()


# Writing past RLIMIT_FSIZE fails with EFBIG, the way a full disk fails with ENOSPC (SIGXFSZ would kill).
_SMALL_DISK = (
    "import resource, signal, sys;"
    "signal.signal(signal.SIGXFSZ, signal.SIG_IGN);"
    "resource.setrlimit(resource.RLIMIT_FSIZE, (3000, 3000));"
    "from convergence_anim.cli import main; main(sys.argv[1:], prog_name='convergence-anim')"
)


@pytest.mark.parametrize("args, failing", [
    (["demo", "linear", "--every", "1", "--max-iter", "400", "-o", "x.gif", "--save-trace", "t.npz"], "t.npz"),
    (["render", "{trace}", "-o", "x.gif", "--still", "s.png", "--max-frames", "2"], "s.png"),
    (["render", "{trace}", "-o", "x.gif", "--filmstrip", "f.png", "--max-frames", "2"], "f.png"),
])
def test_a_full_disk_on_the_extra_outputs_is_one_line_and_leaves_nothing(long_trace, tmp_path, args, failing):
    args = [a.format(trace=long_trace) for a in args]
    out = subprocess.run([sys.executable, "-c", _SMALL_DISK, *args, "-q"], capture_output=True, text=True,
                         cwd=tmp_path, timeout=120)
    _one_line(out.stderr, 1, f"cannot write '{failing}': File too large", out.returncode)
    assert _files(tmp_path) == []


# -- signals (items 6 and 9) -----------------------------------------------------------------------------------


def _start_render(trace_path, target, jobs, **popen):
    proc = subprocess.Popen([sys.executable, "-m", "convergence_anim.cli", "render", str(trace_path), "-o",
                             str(target), "-q", "--jobs", str(jobs), "--size", "320x240", "--max-frames", "0"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **popen)
    return proc


def _wait_for(condition, proc, what):
    deadline = time.monotonic() + 90
    while not condition():
        assert proc.poll() is None, f"ended before {what}: {proc.stderr.read()}"
        assert time.monotonic() < deadline, f"no {what}"
        time.sleep(0.002)


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP])
def test_sigterm_and_sighup_stop_a_render_like_ctrl_c(long_trace, tmp_path, signum):
    target = tmp_path / "x.gif"
    proc = _start_render(long_trace, target, 1)
    _wait_for(lambda: any(".part" in name for name in _files(tmp_path)), proc, "temporary file")
    time.sleep(0.3)
    proc.send_signal(signum)
    _, err = proc.communicate(timeout=60)
    _one_line(err, 128 + signum, f"Stopped by {signal.Signals(signum).name}; no partial file was left behind",
              proc.returncode)
    assert _files(tmp_path) == []


def _children(pid):
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as fh:
            return fh.read().split()
    except OSError:
        return []


@pytest.mark.skipif(not os.path.exists(f"/proc/{os.getpid()}/task/{os.getpid()}/children"), reason="needs Linux /proc")
def test_ctrl_c_while_frame_workers_start_is_one_line(long_trace, tmp_path):
    target = tmp_path / "x.gif"
    # Its own session, as a terminal's foreground job: Ctrl-C goes to the whole process group.
    proc = _start_render(long_trace, target, 2, start_new_session=True)
    _wait_for(lambda: len(_children(proc.pid)) >= 1, proc, "frame worker")
    time.sleep(0.2)  # the workers are starting: importing, or about to say they are ready
    os.killpg(proc.pid, signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    _one_line(err, 130, "Interrupted; no partial file was left behind", proc.returncode)
    assert _files(tmp_path) == []


def test_temporary_files_of_a_killed_render_are_swept_by_the_next_one(long_trace, linear_trace, tmp_path):
    target = tmp_path / "x.gif"
    proc = _start_render(long_trace, target, 1)
    _wait_for(lambda: any(".part" in name for name in _files(tmp_path)), proc, "temporary file")
    proc.kill()  # SIGKILL: no clean-up is possible
    proc.wait(timeout=30)
    (left,) = _files(tmp_path)
    assert left.startswith(".x.") and left.endswith(".part.gif")
    stale = time.time() - 3600
    os.utime(tmp_path / left, (stale, stale))
    gone = 999_999_999  # above any pid_max: no such process
    kept = [
        f".x.{gone}_0123abcd.part.mp4",  # another output's (x.mp4)
        f".y.{gone}_0123abcd.part.gif",  # another output's (y.gif)
        f".x.{os.getpid()}_0123abcd.part.gif",  # a live process's
        f".x.{gone}_0123abcX.part.gif",  # not a random part we make
        f".x.{gone}.part.gif",
        "x.part.gif",
        f"x.{gone}_0123abcd.part.gif",
    ]
    for name in kept:
        (tmp_path / name).write_text("not ours")
        os.utime(tmp_path / name, (stale, stale))
    fresh = f".x.{gone}_fedcba98.part.gif"  # written to a moment ago: maybe a render on another machine
    (tmp_path / fresh).write_text("busy")
    ca.render(linear_trace, target, max_frames=2)
    assert not (tmp_path / left).exists()
    assert _files(tmp_path) == sorted([*kept, fresh, "x.gif"])
    assert len(iio.imread(target, index=None)) == 2
    assert all((tmp_path / name).read_text() == "not ours" for name in kept)


def test_the_frames_folder_of_a_killed_beamer_render_is_swept_by_the_next_one(long_trace, linear_trace, tmp_path):
    target = tmp_path / "talk.tex"
    proc = _start_render(long_trace, target, 1)
    _wait_for(lambda: any(name.startswith(".talk-frames.") and len(os.listdir(tmp_path / name)) > 2
                          for name in _files(tmp_path)), proc, "frames written")
    proc.kill()  # SIGKILL: no clean-up is possible
    proc.wait(timeout=30)
    (folder,) = [name for name in _files(tmp_path) if name.startswith(".talk-frames.")]
    assert folder.endswith(".part") and (tmp_path / folder).is_dir()
    stale = time.time() - 3600
    for path in [*(tmp_path / folder).iterdir(), tmp_path / folder]:
        os.utime(path, (stale, stale))
    ca.render(linear_trace, target, max_frames=2, size=(160, 120))
    assert [name for name in _files(tmp_path) if not name.startswith(".talk.")] == ["talk-frames", "talk.tex"]
    assert sorted(os.listdir(tmp_path / "talk-frames")) == ["frame-0000.pdf", "frame-0001.pdf"]


def test_nothing_is_swept_when_the_render_fails(linear_trace, tmp_path):
    leftover = tmp_path / ".x.999999999_0123abcd.part.gif"  # no such process
    leftover.write_text("old")
    os.utime(leftover, (1, 1))
    with pytest.raises(ca.UsageError):
        ca.render(linear_trace, tmp_path / "x.gif", fps=-1)
    assert leftover.exists()
    ca.render(linear_trace, tmp_path / "x.gif", max_frames=2)
    assert not leftover.exists()
