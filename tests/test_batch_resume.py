"""A batch with nothing to do: every output up to date by the manifest, so no run, no pool, no loading."""

import imageio.v3 as iio

import convergence_anim as ca
from convergence_anim.batch import render_batch
from tests.batch_experiment import EXPERIMENT


def test_a_resume_with_nothing_to_render_never_loads_the_file(tmp_path):
    # workers=2: a pool whose workers load the file (this process never does), so each load is a mark.
    marks = tmp_path / "marks.txt"
    experiment = tmp_path / "experiment.py"
    # The researcher's file, leaving a mark each time a process loads it.
    experiment.write_text(f"open({str(marks)!r}, 'a').write('loaded\\n')\n" + EXPERIMENT)
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
    assert len(iio.imread(tmp_path / "runs" / "s1.gif", index=None)) == 4  # steps 0, 10, 20 and 29
    assert marks.read_text().count("loaded") > loads  # a worker of the pool loaded it to run it
