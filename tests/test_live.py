"""The live view (issue 13): a notebook, a script without a display, a window under Xvfb."""

import base64
import io
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

import convergence_anim as ca
from convergence_anim.demos import run_demo
from convergence_anim.live import LiveView

ROOT = Path(__file__).resolve().parent.parent


def _env(**changes):
    """This process's environment for a child Python that must import this checkout."""
    env = {k: v for k, v in os.environ.items() if k not in ("MPLBACKEND", "DISPLAY", "WAYLAND_DISPLAY")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    env.update(changes)
    return env


def test_live_view_options_are_checked():
    scene = ca.scenes.LineFit([0.0, 1.0], [0.0, 1.0])
    with pytest.raises(ca.UsageError, match="live must be True, False or a LiveView"):
        ca.Recorder(scene, live="yes")
    with pytest.raises(ca.UsageError, match="max_fps"):
        LiveView(max_fps=0)
    with pytest.raises(ca.UsageError, match="size must be"):
        LiveView(size=(3, 3))
    with pytest.raises(ca.UsageError, match="needs record=True"):
        run_demo("linear", live=True, record=False)


def test_log_loss_implies_the_loss_panel_as_in_render():
    live = LiveView(log_loss=True)
    assert live.loss_panel
    assert live.frame_size == LiveView(loss_panel=True).frame_size != LiveView().frame_size


def test_without_a_display_one_line_says_so_and_training_goes_on(capfd):
    # conftest sets MPLBACKEND=Agg: no notebook and no window here.
    with_live = run_demo("linear", max_iter=300, live=True)
    err = capfd.readouterr().err
    assert err.count("\n") == 1 and err.startswith("convergence_anim: live view is off: ")
    assert "'agg' opens no window" in err or "$DISPLAY is not set" in err
    without = run_demo("linear", max_iter=300, record=False)
    assert with_live.iterations == without.iterations
    for name, value in without.params.items():
        assert torch.equal(with_live.params[name], value), name
    assert len(with_live.trace) == len(run_demo("linear", max_iter=300).trace)


def test_headless_script_prints_one_line_and_finishes(tmp_path):
    script = "from convergence_anim.demos import run_demo\nprint(len(run_demo('linear', live=True).trace))\n"
    done = subprocess.run([sys.executable, "-c", script], env=_env(), capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == str(len(run_demo("linear").trace))
    assert done.stderr.splitlines() == [
        "convergence_anim: live view is off: not in a notebook, and no display to open a window on ($DISPLAY is not "
        "set); training and recording go on without it"
    ]


NOTEBOOK_CELL = """
import sys
sys.path.insert(0, {root!r})
import torch
from convergence_anim.demos import run_demo
run = run_demo({demo!r}, live=True)
without = run_demo({demo!r}, record=False)
assert run.iterations == without.iterations
print("identical", all(torch.equal(run.params[k], v) for k, v in without.params.items()), len(run.trace))
run.trace.save({trace!r})
"""


@pytest.mark.parametrize("demo", ["linear", "moons"])
def test_a_notebook_cell_ends_with_exactly_one_picture_the_last_frame(tmp_path, demo):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    from PIL import Image

    from convergence_anim.frames import FrameRenderer

    trace_path = tmp_path / "run.npz"
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(NOTEBOOK_CELL.format(root=str(ROOT), demo=demo, trace=str(trace_path)))]
    nbclient.NotebookClient(notebook, timeout=300, kernel_name="python3").execute(env=_env())
    outputs = notebook.cells[0].outputs
    pictures = [o for o in outputs if "image/png" in o.get("data", {})]
    text = "".join(o.get("text", "") for o in outputs if o.output_type == "stream")
    assert len(pictures) == 1, outputs
    assert "identical True" in text, text
    # The picture left in the cell is the run's last frame, drawn as render draws it.
    shown = np.asarray(Image.open(io.BytesIO(base64.b64decode(pictures[0]["data"]["image/png"]))).convert("RGB"))
    trace = ca.Trace.load(trace_path)
    np.testing.assert_array_equal(shown, FrameRenderer(trace).render(len(trace) - 1))


GUI_SCRIPT = """
import time
import numpy as np
import torch
import matplotlib.pyplot as plt
import convergence_anim as ca
from convergence_anim.frames import FrameRenderer

def train(live, close_at=None):
    torch.manual_seed(10)
    x = torch.rand(20, 1) * 10
    y = 2 * x + (5 + torch.randn(20, 1))
    w = torch.randn((1), requires_grad=True)
    b = torch.zeros((1), requires_grad=True)
    rec = ca.Recorder(ca.scenes.LineFit(x, y, xlim=(1.5, 10), ylim=(8, 28)), every=2, live=live)
    shown = set()
    for step in range(300):
        loss = (0.5 * (y - (w * x + b)) ** 2).mean()
        loss.backward()
        with torch.no_grad():
            w -= 0.004 * w.grad
            b -= 0.004 * b.grad
        w.grad.zero_()
        b.grad.zero_()
        rec.capture(step, loss=loss, w=w, b=b, force=step == 299)
        time.sleep(0.005)  # a slower step, so the run lasts long enough for several updates
        if live and "convergence_anim: live" in plt.get_figlabels():
            shown.add(plt.figure("convergence_anim: live").images[0].get_array().tobytes())
        if step == close_at:
            plt.close("convergence_anim: live")
    return rec.trace, w.detach().clone(), shown

trace, w, shown = train(True)
assert plt.get_figlabels() == ["convergence_anim: live"], plt.get_figlabels()
window = plt.figure("convergence_anim: live").images[0].get_array()
last = FrameRenderer(trace).render(len(trace) - 1)
print("captures", len(trace), "pictures shown", len(shown), "last frame shown", np.array_equal(window, last))
print("identical", torch.equal(w, train(False)[1]))
plt.close("all")
trace, w, shown = train(True, close_at=100)
print("after closing", len(trace), plt.get_figlabels(), torch.equal(w, train(False)[1]))
"""


def _xvfb_display():
    if shutil.which("Xvfb") is None:
        pytest.skip("Xvfb is not installed (Debian: apt-get install xvfb)")
    try:
        import tkinter  # noqa: F401
    except ImportError:
        pytest.skip("tkinter is missing: matplotlib has no GUI backend to open a window with")
    read, write = os.pipe()
    server = subprocess.Popen(["Xvfb", "-displayfd", str(write), "-screen", "0", "1024x768x24", "-nolisten", "tcp"],
                              pass_fds=(write,), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.close(write)
    with os.fdopen(read) as stream:
        number = stream.readline().strip()
    if not number:
        server.kill()
        pytest.skip("Xvfb did not start")
    return server, f":{number}"


def test_a_script_with_a_display_shows_a_window_and_exits_cleanly(tmp_path):
    server, display = _xvfb_display()
    try:
        done = subprocess.run([sys.executable, "-c", GUI_SCRIPT], env=_env(DISPLAY=display), capture_output=True,
                              text=True, timeout=600)
    finally:
        server.terminate()
        server.wait(timeout=10)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    lines = done.stdout.splitlines()
    captures, pictures = int(lines[0].split()[1]), int(lines[0].split()[4])
    # Throttled: several updates while training ran, far fewer than the 151 captures; the last one stays.
    assert captures == 151 and 2 <= pictures < captures / 2, lines[0]
    assert lines[0].endswith("last frame shown True")
    assert lines[1] == "identical True"
    # Closing the window stops the updates (it does not come back), never the training.
    assert lines[2] == "after closing 151 [] True"


def test_the_live_view_draws_the_smoothed_loss_panel_render_draws(linear_trace):
    from convergence_anim.frames import FrameRenderer
    from convergence_anim.live import draw_frame  # what every live screen shows, a notebook's or a window's

    last = len(linear_trace) - 1
    smoothed = draw_frame(LiveView(smooth=0.8), linear_trace, "rgb")
    np.testing.assert_array_equal(smoothed, FrameRenderer(linear_trace, smooth=0.8).render(last))
    assert (smoothed != draw_frame(LiveView(loss_panel=True), linear_trace, "rgb")).any()
