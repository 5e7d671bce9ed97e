"""A batch with nothing to do: every output up to date by the manifest, so no run, no pool, no loading."""

import imageio.v3 as iio

import convergence_anim as ca
from convergence_anim.batch import render_batch

# A researcher's file that leaves a mark each time a process loads it.
EXPERIMENT = '''
import torch
import convergence_anim as ca

with open(MARKS, "a") as marks:
    marks.write("loaded\\n")


def train(seed, steps=12):
    torch.manual_seed(seed)
    x = torch.rand(10, 1) * 10
    y = 2 * x + 5 + torch.randn(10, 1)
    w = torch.zeros(1, requires_grad=True)
    b = torch.zeros(1, requires_grad=True)
    rec = ca.Recorder(ca.scenes.LineFit(x, y), every=5)
    for step in range(steps):
        loss = ((w * x + b - y) ** 2).mean()
        loss.backward()
        with torch.no_grad():
            w -= 0.01 * w.grad
            b -= 0.01 * b.grad
        w.grad.zero_()
        b.grad.zero_()
        rec.capture(step, loss=loss, w=w, b=b, force=step == steps - 1)
    return rec
'''


def test_a_resume_with_nothing_to_render_never_loads_the_file(tmp_path):
    # workers=2: a pool whose workers load the file (this process never does), so each load is a mark.
    marks = tmp_path / "marks.txt"
    experiment = tmp_path / "experiment.py"
    experiment.write_text(f"MARKS = {str(marks)!r}\n" + EXPERIMENT)
    options = dict(output=str(tmp_path / "runs" / "s{seed}.gif"), grid=tmp_path / "runs" / "grid.gif", workers=2,
                   settings=ca.RenderSettings(size=(160, 120)))
    first = render_batch(f"{experiment}:train", [0, 1], **options)
    assert [e["status"] for e in first.entries] == ["rendered", "rendered"] and first.grid["status"] == "rendered"
    loads = marks.read_text().count("loaded")
    assert loads >= 1

    again = render_batch(f"{experiment}:train", [0, 1], **options)
    assert [e["status"] for e in again.entries] == ["up to date", "up to date"]
    assert again.grid["status"] == "up to date" and again.ok
    assert [e["sha256"] for e in again.entries] == [e["sha256"] for e in first.entries]
    assert marks.read_text().count("loaded") == loads  # nothing ran, so nothing loaded the file

    # One output gone: that run is rendered again (and the grid, which shows it), the other kept.
    (tmp_path / "runs" / "s1.gif").unlink()
    third = render_batch(f"{experiment}:train", [0, 1], **options)
    assert [e["status"] for e in third.entries] == ["up to date", "rendered"]
    assert len(iio.imread(tmp_path / "runs" / "s1.gif", index=None)) == 4  # steps 0, 5, 10 and 11
    assert marks.read_text().count("loaded") > loads  # a worker of the pool loaded it to run it
