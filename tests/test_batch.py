"""``convergence-anim batch`` and ``render_batch``: a user's function over seeds and a sweep, resumable,
identical bytes everywhere, and a Dask cluster that loses a worker."""

import csv
import hashlib
import json
import os
import sys

import time

import imageio.v3 as iio
import numpy as np
import pytest
from click.testing import CliRunner

import convergence_anim as ca
from convergence_anim.batch import (
    TrainingFunction,
    dask_executor,
    expand_template,
    parse_params,
    parse_seeds,
    parse_value,
    render_batch,
)
from convergence_anim.cli import main
from convergence_anim.frames import FrameRenderer, cell_look
from convergence_anim.grid import CELL_SIZE
from convergence_anim.style import get_theme

from .pixels import blue_pixels, red_pixels

SMALL = ("--size", "320x240")

# A researcher's own experiment: the blog's line fit, with a swept learning rate. It returns the
# Recorder (a Trace works too). lr 0.1 blows up; 0.01 and 0.001 do not.
EXPERIMENT = '''
import torch
import convergence_anim as ca


def train(seed, lr=0.01, steps=30):
    torch.manual_seed(seed)
    x = torch.rand(20, 1) * 10
    y = 2 * x + 5 + torch.randn(20, 1)
    w = torch.zeros(1, requires_grad=True)
    b = torch.zeros(1, requires_grad=True)
    rec = ca.Recorder(ca.scenes.LineFit(x, y, xlim=(0, 10), ylim=(0, 30)), every=10)
    for step in range(steps):
        loss = ((w * x + b - y) ** 2).mean()
        loss.backward()
        with torch.no_grad():
            w -= lr * w.grad
            b -= lr * b.grad
        w.grad.zero_()
        b.grad.zero_()
        rec.capture(step, loss=loss, w=w, b=b, force=step == steps - 1)
    return rec


def flaky(seed, lr=0.01):
    if seed == 1:
        raise RuntimeError("the data loader broke")
    return train(seed, lr).trace


def not_a_trace(seed):
    return {"loss": 1.0}


def no_seed(lr):
    return None


def spread(seed):
    """Points on y = 2x + 1 for x in [0, seed]: each seed has its own axis limits."""
    x = torch.linspace(0, seed, 10)
    rec = ca.Recorder(ca.scenes.LineFit(x, 2 * x + 1), every=1)
    for step in range(3):
        rec.capture(step, loss=seed / (step + 1), w=float(step), b=1.0)
    return rec.trace


def boundary(seed):
    rec = ca.Recorder(ca.scenes.LinearBoundary(torch.randn(10, 2), torch.arange(10) % 2), every=1)
    rec.capture(0, loss=1.0, w=1.0, b=0.0)
    return rec.trace


def mixed(seed):
    return spread(seed + 1) if seed == 0 else boundary(seed)
'''


@pytest.fixture
def experiment(tmp_path):
    path = tmp_path / "experiment.py"
    path.write_text(EXPERIMENT)
    return path


def _manifest(path):
    return json.loads(path.read_text())


def _runs(manifest):
    return {(tuple(sorted(e["params"].items())), e["seed"]): e for e in manifest["runs"]}


def _sha(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


# -- seeds, parameters and templates -------------------------------------------------------------


def test_parse_seeds():
    assert parse_seeds("0-3") == [0, 1, 2, 3]
    assert parse_seeds("1,2,5-9") == [1, 2, 5, 6, 7, 8, 9]
    assert parse_seeds(" 3 , 1-2, 2") == [3, 1, 2]  # order kept, repeats dropped
    for bad in ["5-1", "-3", "", " ", "1,,2", "a", "1-", "1.5", "2-x"]:
        with pytest.raises(ca.UsageError):
            parse_seeds(bad)


def test_parse_params_values_are_int_float_or_text():
    assert parse_params(["lr=0.1,1e-3", "hidden=16, 32", "opt=adam,sgd"]) == {
        "lr": [0.1, 0.001], "hidden": [16, 32], "opt": ["adam", "sgd"]}
    assert [type(parse_value(v)) for v in ("3", "3.0", "nan", "x")] == [int, float, str, str]


@pytest.mark.parametrize(
    "spec, text",
    [
        ("lr", "has no '='"),
        ("lr=", "empty value"),
        ("lr=0.1,", "empty value"),
        ("lr=0.1,0.1", "lists 0.1 twice"),
        ("n=1,1.0", "lists 1 twice"),
        ("seed=1,2", "give the seeds with --seeds"),
        ("2x=1", "not a Python identifier"),
    ],
)
def test_bad_params_exit_2_before_any_run(run, tmp_path, experiment, spec, text):
    result = run("batch", "experiment.py:train", "--seeds", "0", "--param", spec)
    assert result.exit_code == 2, result.output
    assert text in result.output and "Traceback" not in result.output
    assert sorted(os.listdir(tmp_path)) == ["experiment.py"]


def test_expand_template_fills_params_and_literal_braces():
    values = {"seed": 3, "lr": 0.02, "hidden": 16, "opt": "adam", "f": 2.0}
    assert expand_template("{opt}-{lr}-{hidden}-{f}-{seed}.gif", values) == "adam-0.02-16-2-3.gif"
    assert expand_template("{{x}}-{seed}.gif", values) == "{x}-3.gif"
    with pytest.raises(ca.UsageError, match="would change the output folder"):
        expand_template("{opt}-{seed}.gif", {"seed": 1, "opt": "../up"})


@pytest.mark.parametrize(
    "template, text",
    [
        ("{seed.__class__}.gif", "{seed.__class__}"),
        ("{seed[0]}.gif", "{seed[0]}"),
        ("{foo}-{seed}.gif", "{foo}"),
        ("{seed!r}.gif", "{seed!r}"),
        ("{lr:.3f}-{seed}.gif", "{lr:.3f}"),
        ("{seed.gif", "malformed"),
        ("out-{seed}.gif", "gives several runs the file 'out-0.gif'; put {lr} in it"),
        ("out-{lr}.gif", "put {seed} in it"),
        ("out-{seed}-{lr}", "must end in a format's suffix: .gif, .mp4"),  # not read as the suffix ".01"
        ("out-{seed}-{lr}.png", "not a known format"),
    ],
)
def test_bad_templates_fail_before_training(run, tmp_path, experiment, template, text):
    result = run("batch", "experiment.py:train", "--seeds", "0-1", "--param", "lr=0.1,0.01", "-o", template)
    assert result.exit_code == 2, result.output
    assert text in result.output
    assert "Traceback" not in result.output
    assert sorted(os.listdir(tmp_path)) == ["experiment.py"]


@pytest.mark.parametrize(
    "target, args, text",
    [
        ("missing.py:train", [], "no file"),
        ("experiment.py:trian", [], "has no function 'trian'; it defines boundary, flaky, mixed, no_seed"),
        ("experiment.py", [], "name the function in it: experiment.py:train"),
        ("nosuchdemo", [], "unknown training function 'nosuchdemo'"),
        ("no_such_module_xyz:train", [], "cannot import module 'no_such_module_xyz'"),
        ("experiment.py:no_seed", [], "does not take 'seed', which --seeds gives: no_seed(lr)"),
        ("experiment.py:train", ["--param", "hidden=8,16"], "does not take 'hidden', which --param hidden gives"),
        ("experiment.py:train", ["--workers", "2", "--scheduler", "tcp://127.0.0.1:1"], "--workers sets local processes"),
        ("experiment.py:train", ["--grid", "g.png"], "not a known format"),
        ("experiment.py:train", ["--summary", "s.gif"], "the summary must end in .png, .svg, .pdf"),
    ],
)
def test_bad_input_exits_2_with_one_line(run, tmp_path, experiment, target, args, text):
    result = run("batch", target, "--seeds", "0-1", *args)
    assert result.exit_code == 2, result.output
    assert result.output.startswith("Error: ") and result.output.count("\n") == 1, result.output
    assert text in result.output
    assert sorted(os.listdir(tmp_path)) == ["experiment.py"]


# -- a user's sweep: outputs, manifest, CSV, grid, summary, resume ---------------------------------


def test_a_users_sweep_renders_outputs_manifest_csv_grid_and_summary(run, tmp_path, experiment):
    args = ["batch", "experiment.py:train", "--seeds", "0,1", "--param", "lr=0.01,0.001", "--workers", "1",
            "-o", "runs/lr{lr}/s{seed}.gif", "--grid", "runs/grid.gif", "--summary", "runs/summary.png", *SMALL]
    # A temporary file a killed batch left beside an output is removed; other files are not.
    (tmp_path / "runs" / "lr0.01").mkdir(parents=True)
    stale = _left_by_a_killed_batch(tmp_path / "runs" / "lr0.01" / "s0.gif")
    (tmp_path / "runs" / "lr0.01" / "notes.txt").write_text("mine")
    result = run(*args)
    assert result.exit_code == 0, result.output
    assert "4 runs: 4 rendered, 0 up to date, 0 failed." in result.output
    assert not stale.exists() and (tmp_path / "runs" / "lr0.01" / "notes.txt").exists()
    manifest_path = tmp_path / "runs" / "batch.json"  # the outputs' common folder
    runs = _runs(_manifest(manifest_path))
    assert sorted(runs) == [((("lr", lr),), seed) for lr in (0.001, 0.01) for seed in (0, 1)]
    for (params, seed), entry in runs.items():
        lr = dict(params)["lr"]
        path = tmp_path / "runs" / f"lr{lr}" / f"s{seed}.gif"
        frames = iio.imread(path, index=None)
        assert frames.shape == (4, 240, 320, 3) and entry["frames"] == 4  # steps 0, 10, 20 and the last, 29
        assert entry["function"] == "experiment.py:train" and entry["iterations"] == 30
        assert entry["output"] == f"lr{lr}/s{seed}.gif" and entry["status"] == "rendered" and entry["error"] is None
        assert entry["bytes"] == path.stat().st_size and entry["sha256"] == _sha(path)
        assert entry["settings"]["render"] == ca.RenderSettings(fps=10, size=(320, 240), jobs=1).to_dict()
        assert entry["settings"]["code"] == _sha(experiment)
        assert entry["curve"]["steps"] == [0, 10, 20, 29] and entry["final_loss"] == entry["curve"]["losses"][-1]
        assert red_pixels(frames[-1]) > 100
    # lr 0.01 learns faster than 0.001, for each seed.
    assert all(runs[((("lr", 0.01),), s)]["final_loss"] < runs[((("lr", 0.001),), s)]["final_loss"] for s in (0, 1))

    with open(tmp_path / "runs" / "batch.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [(r["lr"], r["seed"], r["status"]) for r in rows] == [  # in the order of the runs
        ("0.01", "0", "rendered"), ("0.01", "1", "rendered"), ("0.001", "0", "rendered"), ("0.001", "1", "rendered")]
    assert float(rows[2]["final_loss"]) == runs[((("lr", 0.001),), 0)]["final_loss"]

    # The grid: one row per learning rate, one column per seed, cells wide enough for "lr=0.001 s0".
    grid = iio.imread(tmp_path / "runs" / "grid.gif", index=None)
    assert grid.shape == (4, 320, 2 * 200, 3)
    # A parameter given one value is the same in every cell: it is not in the labels, nor widens them.
    one_value = run("batch", "experiment.py:train", "--seeds", "0,1", "--param", "lr=0.01,0.001", "--param", "steps=30",
                    "--workers", "1", "--grid", "again/grid.gif", *SMALL)
    assert one_value.exit_code == 0, one_value.output
    assert iio.imread(tmp_path / "again" / "grid.gif", index=None).shape == grid.shape
    assert all(red_pixels(grid[-1][r * 160:(r + 1) * 160, c * 200:(c + 1) * 200]) > 20 for r in (0, 1) for c in (0, 1))
    summary = iio.imread(tmp_path / "runs" / "summary.png")
    assert summary.shape[:2] == (420, 1000) and summary[..., :3].std() > 20
    manifest = _manifest(manifest_path)
    assert manifest["grids"][0]["status"] == "rendered" and manifest["grids"][0]["sha256"] == _sha(tmp_path / "runs" / "grid.gif")
    assert manifest["summaries"][0]["output"] == "summary.png" and manifest["summaries"][0]["status"] == "rendered"

    # Rerun: everything up to date, nothing rewritten, the summary drawn again to the same bytes.
    files = sorted((tmp_path / "runs").rglob("*.gif"))
    mtimes = {p: p.stat().st_mtime_ns for p in files}
    summary_bytes = (tmp_path / "runs" / "summary.png").read_bytes()
    result = run(*args)
    assert result.exit_code == 0, result.output
    assert "4 runs: 0 rendered, 4 up to date, 0 failed." in result.output
    assert {p: p.stat().st_mtime_ns for p in files} == mtimes
    assert (tmp_path / "runs" / "summary.png").read_bytes() == summary_bytes
    assert {e["status"] for e in _manifest(manifest_path)["runs"]} == {"up to date"}

    # Editing the experiment makes every run out of date.
    experiment.write_text(EXPERIMENT + "\n# changed\n")
    result = run(*args[:-2], "--summary", "runs/summary.svg", *SMALL)  # a summary in another format too
    assert "4 rendered, 0 up to date" in result.output
    assert (tmp_path / "runs" / "summary.svg").read_text().lstrip().startswith("<?xml")
    assert not list(tmp_path.rglob("*.part*"))


def test_the_python_api_takes_a_function_and_a_params_mapping(tmp_path):
    from tests import batch_experiment

    result = render_batch(batch_experiment.quadratic, [0, 1], {"scale": [1, 2.5]}, output=str(tmp_path / "q{scale}-{seed}.gif"),
                          workers=2, settings=ca.RenderSettings(size=(320, 240)))
    assert result.ok and [e["status"] for e in result.entries] == ["rendered"] * 4
    assert [(e["params"], e["seed"]) for e in result.entries] == [
        ({"scale": 1}, 0), ({"scale": 1}, 1), ({"scale": 2.5}, 0), ({"scale": 2.5}, 1)]
    assert result.entries[0]["function"] == "tests.batch_experiment:quadratic"
    assert result.entries[2]["final_loss"] == pytest.approx(2.5 * result.entries[0]["final_loss"])
    assert len(iio.imread(tmp_path / "q2.5-1.gif", index=None)) == 3


def test_the_python_api_refuses_what_cannot_work_before_any_run(tmp_path, experiment, monkeypatch):
    target = f"{experiment}:train"
    with pytest.raises(ca.UsageError, match="nothing to write"):
        render_batch(target, [0])
    with pytest.raises(ca.UsageError, match="every run would write the same file"):
        render_batch(target, [0], output=str(tmp_path / "{seed}.gif"), settings=ca.RenderSettings(still="s.png"))
    with pytest.raises(ca.UsageError, match="parameter lr has no values"):
        render_batch(target, [0], {"lr": []}, output=str(tmp_path / "{seed}.gif"))

    def local(seed):
        return None

    with monkeypatch.context() as patch:
        patch.setitem(sys.modules, "cloudpickle", None)  # without it, a closure cannot reach a worker
        with pytest.raises(ca.UsageError, match="local cannot be sent to worker processes .*define it with def"):
            render_batch(local, [0, 1], output=str(tmp_path / "{seed}.gif"), workers=2)
    assert sorted(os.listdir(tmp_path)) == ["experiment.py"]


def test_a_pool_runs_partials_bound_methods_lambdas_and_parameter_iterators(tmp_path):
    import functools

    from tests import batch_experiment

    def local(seed):  # a closure: sent by value (cloudpickle)
        return batch_experiment.quadratic(seed, 3.0)

    functions = {"partial": functools.partial(batch_experiment.quadratic, scale=3.0),
                 "method": batch_experiment.Experiment(3.0).train,
                 "lambda": lambda seed: batch_experiment.quadratic(seed, 3.0),
                 "local": local}
    expected = [3.0 * (seed + 1) / 3 for seed in (0, 1)]  # the last capture's loss
    for name, function in functions.items():
        result = render_batch(function, [0, 1], output=str(tmp_path / name / "s{seed}.gif"), workers=2)
        assert result.ok, (name, result.failed)
        assert [e["final_loss"] for e in result.entries] == pytest.approx(expected), name
    assert render_batch(functions["partial"], [0], output=str(tmp_path / "p.gif")).entries[0]["function"] == \
        "tests.batch_experiment:quadratic (partial)"
    # Parameter values may come as any iterable, a generator too.
    result = render_batch(batch_experiment.quadratic, [0], {"scale": (v for v in (1.0, 2.0))}, workers=1,
                          output=str(tmp_path / "g" / "s{seed}-{scale}.gif"), grid=str(tmp_path / "g" / "grid.gif"))
    assert result.ok and [e["params"] for e in result.entries] == [{"scale": 1.0}, {"scale": 2.0}]


def test_a_local_pool_loads_the_users_file_in_its_workers_never_in_the_starting_process(tmp_path, experiment):
    """The process that starts a batch stays small: the user's file (and torch) load only in the workers."""
    import subprocess
    import sys

    marks = tmp_path / "marks.txt"
    experiment.write_text(f"import os\nopen({str(marks)!r}, 'a').write(f'{{os.getpid()}}\\n')\n" + EXPERIMENT)
    script = tmp_path / "start.py"
    script.write_text(
        "import os, sys\n"
        "from convergence_anim.batch import render_batch\n"
        "if __name__ == '__main__':\n"
        f"    result = render_batch({str(experiment) + ':train'!r}, [0, 1], {{'lr': [0.01]}}, workers=2,\n"
        f"                          output={str(tmp_path / 'out' / 's{seed}.gif')!r})\n"
        "    print(os.getpid(), result.ok, 'torch' in sys.modules)\n"
        f"    render_batch({str(experiment) + ':trian'!r}, [0, 1], output='never-{{seed}}.gif', workers=2)\n")
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, cwd=tmp_path, timeout=120,
                          env={**os.environ, "PYTHONPATH": os.path.dirname(os.path.dirname(ca.__file__))})
    pid, ok, torch_loaded = done.stdout.split()
    assert (ok, torch_loaded) == ("True", "False"), done.stderr
    loaded_in = set(marks.read_text().split())
    assert loaded_in and pid not in loaded_in
    # A function that is not there is still refused before any run, with the file's own listing.
    assert "UsageError: experiment.py has no function 'trian'; it defines" in done.stderr.replace(str(tmp_path) + "/", "")
    assert not (tmp_path / "never-0.gif").exists() and done.returncode == 1


def test_a_resume_with_nothing_to_render_never_loads_the_file(tmp_path, experiment):
    """A batch with nothing to do: every output up to date by the manifest, so no run, no pool, no loading."""
    # workers=2: a pool whose workers load the file (this process never does), so each load is a mark.
    marks = tmp_path / "marks.txt"
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


@pytest.mark.parametrize("jobs, first_line, text", [
    ("1", "import sys; sys.exit(3)", "loading experiment.py raised SystemExit: 3"),
    ("2", "import sys; sys.exit(3)", "loading experiment.py raised SystemExit: 3"),
    ("2", "import os; os._exit(3)", "a worker process ended while loading experiment.py:train"),
])
def test_a_file_that_exits_as_it_loads_is_refused_in_one_line(run, tmp_path, experiment, jobs, first_line, text):
    experiment.write_text(first_line + "\n" + EXPERIMENT)
    result = run("batch", "experiment.py:train", "--seeds", "0-1", "--workers", jobs, "-o", "x-{seed}.gif")
    assert result.exit_code == 2, result.output
    assert text in result.output and "Traceback" not in result.output
    assert sorted(os.listdir(tmp_path)) == ["experiment.py"]


# -- failures and divergence -----------------------------------------------------------------------


def test_a_failing_run_is_recorded_and_the_others_go_on(run, tmp_path, experiment):
    args = ["batch", "experiment.py:flaky", "--seeds", "0-2", "--workers", "2", "-o", "f-{seed}.gif", "--grid", "grid.gif", *SMALL]
    result = run(*args)
    assert result.exit_code == 1, result.output
    assert "seed 1 failed: RuntimeError: the data loader broke" in result.output
    assert "1 of 3 runs failed: seed 1" in result.output
    assert "Traceback" not in result.output
    entries = {e["seed"]: e for e in _manifest(tmp_path / "batch.json")["runs"]}
    assert entries[1]["status"] == "failed" and entries[1]["error"] == "RuntimeError: the data loader broke"
    assert entries[1]["sha256"] is None and not (tmp_path / "f-1.gif").exists()
    for seed in (0, 2):
        assert entries[seed]["status"] == "rendered"
        assert len(iio.imread(tmp_path / f"f-{seed}.gif", index=None)) == entries[seed]["frames"]
    grid = iio.imread(tmp_path / "grid.gif", index=None)  # the failed run's cell is there, without a plot
    assert red_pixels(grid[-1][:160, 0:200]) > 50 and blue_pixels(grid[-1][:160, 200:400]) < 5

    result = run(*args)  # a rerun retries the failed run only
    assert result.exit_code == 1
    assert "0 rendered, 2 up to date, 1 failed" in result.output


def test_force_renders_runs_that_write_no_file_of_their_own_again(run, tmp_path, experiment):
    args = ["batch", "experiment.py:train", "--seeds", "0,1", "--workers", "1", "--summary", "s.png", *SMALL]
    assert "2 runs: 2 rendered, 0 up to date" in run(*args).output
    assert "2 runs: 0 rendered, 2 up to date" in run(*args).output
    assert "2 runs: 2 rendered, 0 up to date" in run(*args, "--force").output
    assert {e["status"] for e in _manifest(tmp_path / "batch.json")["runs"]} == {"rendered"}


def test_no_grid_is_written_when_every_run_failed(run, tmp_path, experiment):
    result = run("batch", "experiment.py:not_a_trace", "--seeds", "0,1", "--workers", "1", "--grid", "g.gif")
    assert result.exit_code == 1
    assert "the grid could not be written: every run failed" in result.output
    assert not (tmp_path / "g.gif").exists()


def test_what_a_run_returns_and_which_scene_are_checked(run, tmp_path, experiment):
    result = run("batch", "experiment.py:not_a_trace", "--seeds", "0", "--workers", "1", "-o", "n-{seed}.gif")
    assert result.exit_code == 1, result.output
    assert "experiment.py:not_a_trace returned dict, not a Trace or a Recorder" in result.output
    assert _manifest(tmp_path / "batch.json")["runs"][0]["status"] == "failed"

    result = run("batch", "experiment.py:mixed", "--seeds", "0-1", "--workers", "1", "--grid", "mixed.gif")
    assert result.exit_code == 1, result.output
    assert "seed 1 failed: returned a trace of scene 'linear_boundary', but seed 0 returned 'line_fit'; a grid shows one scene" in result.output


def test_a_diverging_run_is_rendered_counted_and_marked_in_the_summary(run, tmp_path, experiment):
    args = ["batch", "experiment.py:train", "--seeds", "0", "--param", "lr=0.1,0.01", "--workers", "1", *SMALL]
    result = run(*args)
    assert result.exit_code == 0, result.output
    assert "Diverged (rendered, see the frames): lr=0.1, seed 0." in result.output
    assert (tmp_path / "outputs" / "train-lr0.1-seed0.gif").exists()  # the default name holds the parameters
    entries = {e["params"]["lr"]: e for e in _manifest(tmp_path / "outputs" / "batch.json")["runs"]}
    assert entries[0.1]["status"] == "diverged" and isinstance(entries[0.1]["diverged_at"], int)
    assert entries[0.1]["final_loss"] is None and entries[0.01]["status"] == "rendered"

    # A summary of runs that are up to date is drawn from the curves the manifest keeps.
    result = run(*args, "-o", "outputs/train-lr{lr}-seed{seed}.gif", "--summary", "outputs/s.png")
    assert "0 rendered, 2 up to date" in result.output and "Diverged (rendered, see the frames): lr=0.1" in result.output
    image = iio.imread(tmp_path / "outputs" / "s.png")[..., :3].astype(int)
    strip = image[:, 700:]  # the final-loss strip: a red x for the diverged run
    assert (((strip[..., 0] > 180) & (strip[..., 1] < 80) & (strip[..., 2] < 80)).sum()) > 20


def test_interrupt_keeps_finished_runs_and_no_partial_files(tmp_path, experiment):
    def stop_after_first(stage, done, total):
        if stage == "runs" and done == 1:
            raise KeyboardInterrupt

    target = f"{experiment}:train"
    with pytest.raises(KeyboardInterrupt):
        render_batch(target, "0-2", output=str(tmp_path / "i-{seed}.gif"), workers=1, progress=stop_after_first)
    entries = _manifest(tmp_path / "batch.json")["runs"]
    assert [e["seed"] for e in entries] == [0]
    assert entries[0]["sha256"] == _sha(tmp_path / "i-0.gif")
    assert sorted(p.name for p in tmp_path.iterdir()) == [".batch.json.lock", "batch.csv", "batch.json", "experiment.py",
                                                          "i-0.gif"]

    result = render_batch(target, "0-2", output=str(tmp_path / "i-{seed}.gif"), workers=1)  # resumes
    assert [e["status"] for e in result.entries] == ["up to date", "rendered", "rendered"]


# -- runs that end their process, crash or hang; orphans; shared manifests; temporary files -------------


@pytest.mark.parametrize("how, jobs, error", [
    ("os_exit", "1", "process died: exited with code 3"),  # --jobs 1 too runs in a process of its own
    ("segfault", "2", "process died: killed by SIGSEGV"),
    ("sys_exit", "1", "SystemExit: 4"),
])
def test_a_run_that_ends_its_process_fails_alone_named_and_alone_reruns(run, tmp_path, how, jobs, error):
    args = ["batch", "tests.batch_experiment:hostile", "--seeds", "0-2", "--param", f"how={how}", "--workers", jobs,
            "-o", "h-{seed}.gif", *SMALL]
    result = run(*args)
    assert result.exit_code == 1, result.output
    assert f"how={how}, seed 1 failed: {error}" in result.output and "Traceback" not in result.output
    entries = {e["seed"]: e for e in _manifest(tmp_path / "batch.json")["runs"]}
    assert [entries[s]["status"] for s in range(3)] == ["rendered", "failed", "rendered"]
    assert entries[1]["error"] == error
    assert all(len(iio.imread(tmp_path / f"h-{s}.gif", index=None)) == 3 for s in (0, 2))
    if how == "os_exit":
        assert "0 rendered, 2 up to date, 1 failed" in run(*args).output  # a rerun runs the culprit only


def test_a_run_past_the_timeout_is_stopped_and_the_others_go_on(run, tmp_path):
    from tests import batch_experiment

    started = time.monotonic()
    result = render_batch(batch_experiment.hostile, [0, 1, 2], {"how": ["hang"]}, workers=1, timeout=4,
                          output=str(tmp_path / "t-{seed}.gif"), settings=ca.RenderSettings(size=(320, 240)))
    assert time.monotonic() - started < 30
    assert [e["status"] for e in result.entries] == ["rendered", "failed", "rendered"]  # seed 2: a new worker
    assert result.entries[1]["error"] == "timed out after 4 s"
    assert not list(tmp_path.glob(".t-1.*"))

    result = run("batch", "tests.batch_experiment:hostile", "--seeds", "1", "--param", "how=hang", "--timeout", "0.5",
                 "-o", "c-{seed}.gif")
    assert result.exit_code == 1 and "how=hang, seed 1 failed: timed out after 0.5 s" in result.output


def _children(pid):
    """PIDs of the live (not zombie) processes whose parent is ``pid``, from /proc."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as fh:
                    fields = fh.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid and fields[0] != "Z":
                found.append(int(entry))
    return found


def _alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@pytest.mark.skipif(not os.path.isdir("/proc"), reason="finds processes in /proc")
def test_workers_fork_server_and_tracker_exit_when_the_batch_is_killed(tmp_path):
    import signal
    import subprocess

    marks = tmp_path / "marks"
    marks.mkdir()
    script = tmp_path / "start.py"
    script.write_text(
        "from convergence_anim.batch import render_batch\n"
        "from tests import batch_experiment\n"
        "if __name__ == '__main__':\n"
        f"    render_batch(batch_experiment.sleeper, [0, 1], {{'marks': [{str(marks)!r}]}}, workers=2,\n"
        f"                 output={str(tmp_path / 's{seed}.gif')!r})\n")
    root = os.path.dirname(os.path.dirname(ca.__file__))
    batch = subprocess.Popen([sys.executable, str(script)], cwd=tmp_path, env={**os.environ, "PYTHONPATH": root})
    started = []
    try:
        deadline = time.monotonic() + 60
        while len(list(marks.iterdir())) < 2 and time.monotonic() < deadline and batch.poll() is None:
            time.sleep(0.05)
        workers = [int(p.name.split("-")[1]) for p in marks.iterdir()]
        assert len(workers) == 2, "the runs did not start"
        helpers = _children(batch.pid)  # the fork server and the resource tracker
        started = workers + helpers
        assert helpers and all(_alive(p) for p in started)
        os.kill(batch.pid, signal.SIGKILL)  # the batch only
        batch.wait()
        deadline = time.monotonic() + 10
        while any(_alive(p) for p in started) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not [p for p in started if _alive(p)], "left running after the batch was killed"
    finally:
        for pid in [batch.pid] * (batch.poll() is None) + [p for p in started if _alive(p)]:
            os.kill(pid, signal.SIGKILL)  # what this test started, by PID
        batch.wait()


def test_two_batches_sharing_a_manifest_keep_each_others_runs(tmp_path):
    from tests import batch_experiment

    manifest = tmp_path / "shared.json"
    common = dict(settings=ca.RenderSettings(size=(320, 240)), manifest=str(manifest), workers=1)

    def other_batch_meanwhile(stage, done, total):
        if stage == "runs" and done == 0:  # this batch has read the manifest and is about to run
            render_batch(batch_experiment.quadratic, [1], output=str(tmp_path / "b-{seed}.gif"), **common)

    render_batch(batch_experiment.quadratic, [0], output=str(tmp_path / "a-{seed}.gif"), progress=other_batch_meanwhile,
                 **common)
    assert sorted(e["output"] for e in _manifest(manifest)["runs"]) == ["a-0.gif", "b-1.gif"]
    with open(manifest.with_suffix(".csv"), newline="") as fh:
        assert sorted(row["output"] for row in csv.DictReader(fh)) == ["a-0.gif", "b-1.gif"]


def _left_by_a_killed_batch(output):
    """A temporary file the package made for ``output``, left as a killed batch would leave it."""
    from convergence_anim._atomic import atomic_output

    with atomic_output(output) as tmp:
        tmp.write_bytes(b"half")
        os.link(tmp, output.with_name("kept"))
    os.replace(output.with_name("kept"), tmp)
    os.unlink(output)
    return tmp


def test_the_cleanup_removes_only_temporary_files_the_package_made(tmp_path):
    from tests import batch_experiment

    left = _left_by_a_killed_batch(tmp_path / "x-0.gif")
    users = tmp_path / ".x-0.final.part.gif"  # the user's own file, named like one
    users.write_bytes(b"mine")
    render_batch(batch_experiment.quadratic, [0], output=str(tmp_path / "x-{seed}.gif"), workers=1,
                 settings=ca.RenderSettings(size=(320, 240)))
    assert not left.exists() and users.read_bytes() == b"mine"
    assert len(iio.imread(tmp_path / "x-0.gif", index=None)) == 3


def test_the_cleanup_removes_the_frames_folder_a_killed_beamer_run_left(tmp_path):
    from tests import batch_experiment

    left = tmp_path / ".x-0-frames.999999999_0123abcd.part"  # no such process
    left.mkdir()
    (left / "frame-0000.pdf").write_bytes(b"half")
    for path in (left / "frame-0000.pdf", left):
        os.utime(path, (1, 1))
    render_batch(batch_experiment.quadratic, [0], output=str(tmp_path / "x-{seed}.tex"), workers=1,
                 settings=ca.RenderSettings(size=(320, 240), frames_format="png"))
    assert not left.exists()
    assert sorted(os.listdir(tmp_path / "x-0-frames")) == [f"frame-000{i}.png" for i in range(3)]


@pytest.mark.parametrize("runs, problem", [
    ("[1]", "runs[0] is not an object"),
    ('[{"seed": "a", "output": "x.gif"}]', 'runs[0] has seed = "a"'),
    ('[{"seed": 0, "output": 5}]', "runs[0] has output = 5"),
    ('[{"seed": 0, "output": "x-0.gif", "curve": {"steps": [0, 1], "losses": [1.0]}}]', "runs[0] has a curve"),
])
def test_a_manifest_wrong_inside_is_one_line_that_says_to_move_it_away(run, tmp_path, experiment, runs, problem):
    (tmp_path / "batch.json").write_text(f'{{"format": 2, "runs": {runs}, "grids": [], "summaries": []}}')
    result = run("batch", "experiment.py:train", "--seeds", "0", "-o", "x-{seed}.gif", *SMALL)
    assert result.exit_code == 1, result.output
    assert result.output.count("\n") == 1 and "Traceback" not in result.output
    assert problem in result.output
    assert f"{str(tmp_path / 'batch.json')!r}" in result.output and "move it away to start afresh" in result.output


# -- shared scale --------------------------------------------------------------------------------


def _points_width(frame):
    r, g, b = (frame[..., i].astype(int) for i in range(3))
    cols = np.flatnonzero(((abs(r - 31) < 25) & (abs(g - 119) < 25) & (abs(b - 180) < 25)).any(axis=0))
    return cols[-1] - cols[0]


def test_shared_scale_gives_every_run_the_union_of_the_limits(run, tmp_path, experiment):
    result = run("batch", "experiment.py:spread", "--seeds", "1,4", "--workers", "1", "-o", "own-{seed}.gif", *SMALL)
    assert result.exit_code == 0, result.output
    result = run("batch", "experiment.py:spread", "--seeds", "1,4", "--workers", "1", "-o", "shared-{seed}.gif",
                 "--shared-scale", "--grid", "grid.mp4", *SMALL)
    assert result.exit_code == 0, result.output
    entries = [e for e in _manifest(tmp_path / "batch.json")["runs"] if e["output"].startswith("shared")]
    for entry in entries:
        # finite_range pads by 10%: x in [0, 1] and [0, 4], y = 2x + 1 in [1, 3] and [1, 9].
        assert entry["settings"]["shared_scale"] == {
            "xlim": pytest.approx([-0.4, 4.4]), "ylim": pytest.approx([0.2, 9.8]),
            "loss": pytest.approx([1 / 3, 4.0]),  # seed 1's losses 1..1/3, seed 4's 4..4/3
        }
    own = iio.imread(tmp_path / "own-1.gif", index=0)  # frame 0: the line is flat and hides no point
    shared = iio.imread(tmp_path / "shared-1.gif", index=0)
    assert _points_width(shared) < 0.4 * _points_width(own)  # seed 1's points now fill a quarter of the x range
    wide = iio.imread(tmp_path / "shared-4.gif", index=0)
    assert _points_width(wide) > 3 * _points_width(shared)
    # Two 200x160 cells side by side, 3 frames, each pixel a 2x2 block in the MP4.
    grid = iio.imread(tmp_path / "grid.mp4", index=None)
    assert grid.shape == (3, 320, 800, 3)
    assert all(grid[-1][:, x : x + 400].std() > 20 for x in (0, 400))  # both cells drawn


# -- byte-identical everywhere: alone, local processes, Dask -------------------------------------


@pytest.fixture(scope="module")
def alone(tmp_path_factory):
    """Seed 3 of linear rendered by ``convergence-anim demo``, as GIF and MP4."""
    folder = tmp_path_factory.mktemp("alone")
    for suffix in ("gif", "mp4"):
        result = CliRunner().invoke(main, ["demo", "linear", "--seed", "3", "-q", "-o", str(folder / f"a.{suffix}")])
        assert result.exit_code == 0, result.output
    return {suffix: (folder / f"a.{suffix}").read_bytes() for suffix in ("gif", "mp4")}


def test_a_demo_runs_by_name_and_writes_the_same_bytes_as_the_demo_command(run, tmp_path, alone):
    for suffix in ("gif", "mp4"):
        result = run("batch", "linear", "--seeds", "2,3", "--workers", "2", "-o", f"linear-{{seed}}.{suffix}", "-q")
        assert result.exit_code == 0, result.output
        assert (tmp_path / f"linear-3.{suffix}").read_bytes() == alone[suffix]
    entry = {e["seed"]: e for e in _manifest(tmp_path / "batch.json")["runs"]}[2]
    assert entry["function"] == "linear" and entry["settings"]["render"]["fps"] == 5  # the demo's own
    assert len(iio.imread(tmp_path / "linear-2.mp4", index=None)) == entry["frames"]


@pytest.fixture(scope="module")
def cluster():
    """Two worker processes on loopback, as ``dask scheduler`` and ``dask worker`` would start them."""
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, protocol="tcp",
                                  host="127.0.0.1", dashboard_address=None) as cluster:
        yield cluster


def test_dask_runs_a_file_the_workers_never_saw_and_writes_the_same_bytes(run, tmp_path, alone, cluster):
    address = cluster.scheduler_address
    result = run("batch", "linear", "--seeds", "3", "--scheduler", address, "-o", "outputs/linear-{seed}.mp4")
    assert result.exit_code == 0, result.output
    assert "1 runs: 1 rendered" in result.output
    assert (tmp_path / "outputs" / "linear-3.mp4").read_bytes() == alone["mp4"]

    # The function travels by value: the file is gone before any worker runs.
    (tmp_path / "gone").mkdir()
    path = tmp_path / "gone" / "experiment.py"
    path.write_text(EXPERIMENT)
    fn = TrainingFunction(f"{path}:train")
    fn.check_call(["lr"])  # loads it in this process
    path.unlink()
    with dask_executor(address) as executor:
        outcome = render_batch(fn, [0, 1], {"lr": [0.01]}, executor=executor, output=str(tmp_path / "d-{seed}.gif"),
                               settings=ca.RenderSettings(size=(320, 240)))
    assert outcome.ok, outcome.failed
    local = render_batch(EXPERIMENT_FILE(tmp_path), [0, 1], {"lr": [0.01]}, workers=1,
                         output=str(tmp_path / "local" / "d-{seed}.gif"), settings=ca.RenderSettings(size=(320, 240)))
    assert [e["sha256"] for e in outcome.entries] == [e["sha256"] for e in local.entries]


def test_dask_draws_an_ensemble_from_the_traces_its_workers_saved(tmp_path, cluster):
    from tests import batch_experiment

    with dask_executor(cluster.scheduler_address) as executor:
        outcome = render_batch(batch_experiment.quadratic, [0, 1, 2], executor=executor, ensemble=str(tmp_path / "e.gif"),
                               settings=ca.RenderSettings(size=(320, 160)))
    assert outcome.ok and [e["status"] for e in outcome.ensembles] == ["rendered"]
    assert sorted(e["trace"] for e in outcome.entries) == [f"traces/seed{s}.npz" for s in range(3)]
    assert iio.imread(tmp_path / "e.gif").shape == (3, 160, 320, 3)


def EXPERIMENT_FILE(tmp_path):
    path = tmp_path / "again" / "experiment.py"
    path.parent.mkdir(exist_ok=True)
    path.write_text(EXPERIMENT)
    return f"{path}:train"


def test_dask_stops_a_run_past_the_timeout_and_its_workers_go_on(tmp_path, cluster):
    from tests import batch_experiment

    common = dict(output=str(tmp_path / "d-{seed}.gif"), settings=ca.RenderSettings(size=(320, 240)))
    with dask_executor(cluster.scheduler_address) as executor:
        result = render_batch(batch_experiment.hostile, [1], {"how": ["hang"]}, executor=executor, timeout=2, **common)
        assert [(e["status"], e["error"]) for e in result.entries] == [("failed", "timed out after 2 s")]
        result = render_batch(batch_experiment.hostile, [0, 2], {"how": ["hang"]}, executor=executor, **common)
    assert [e["status"] for e in result.entries] == ["rendered", "rendered"], result.entries
    assert len(iio.imread(tmp_path / "d-0.gif", index=None)) == 3 and not (tmp_path / "d-1.gif").exists()


def test_a_worker_killed_mid_batch_does_not_stop_the_batch(tmp_path, cluster):
    from tests import batch_experiment

    marks = tmp_path / "marks"
    marks.mkdir()
    address = cluster.scheduler_address
    with dask_executor(address) as executor:
        import threading

        outcome = {}
        thread = threading.Thread(target=lambda: outcome.update(result=render_batch(
            batch_experiment.slow, [0, 1, 2, 3], {"marks": [str(marks)]}, executor=executor,
            output=str(tmp_path / "k-{seed}.gif"), settings=ca.RenderSettings(size=(320, 240)))))
        thread.start()
        deadline = time.monotonic() + 60
        while not list(marks.iterdir()) and time.monotonic() < deadline:
            time.sleep(0.05)
        victim = int(sorted(marks.iterdir())[0].name.split("-")[1])  # a worker in the middle of a run
        os.kill(victim, 9)
        thread.join(120)
    result = outcome["result"]
    assert [e["status"] for e in result.entries] == ["rendered"] * 4
    assert all(len(iio.imread(tmp_path / f"k-{s}.gif", index=None)) == 3 for s in range(4))
    started = [p.name for p in marks.iterdir()]
    assert len(started) > 4  # the killed worker's run was started again on another worker
    assert not list(tmp_path.glob(".k-*"))  # its temporary file was cleaned up


def test_scheduler_errors_name_the_fix(run, monkeypatch):
    with pytest.raises(ca.ConvergenceAnimError, match="cannot reach the Dask scheduler"):
        with dask_executor("tcp://127.0.0.1:9", timeout=1):
            pass
    monkeypatch.setitem(__import__("sys").modules, "distributed", None)  # as if the extra were not installed
    result = run("batch", "linear", "--seeds", "1", "--scheduler", "tcp://127.0.0.1:9")
    assert result.exit_code == 2, result.output
    assert "pip install 'convergence-anim[distributed]'" in result.output


# -- grid cells ------------------------------------------------------------------------------------


def test_grid_cells_blit_to_the_same_pixels_as_full_draws(linear_trace, logistic_trace):
    for trace in (linear_trace, logistic_trace):
        look = cell_look(CELL_SIZE, get_theme("light"))
        fast, full = FrameRenderer(trace, look, labels=["seed 1"]), FrameRenderer(trace, look, labels=["seed 1"], blit=False)
        for i in sorted({0, len(trace) // 2, len(trace) - 1}):
            frame = fast.render_rgba(i)
            assert frame.shape == (160, 200, 4)
            assert np.array_equal(frame, full.render_rgba(i))





def test_batch_takes_max_frames_and_says_once_in_one_line_what_the_default_budget_cut(run, tmp_path, capfd):
    import imageio.v3 as iio

    args = ["batch", "tests.batch_experiment:every_step", "--seeds", "0-1", "-o", "s{seed}.gif", "--size", "32x24",
            "--workers", "2", "-q"]
    result = run(*args)
    assert result.exit_code == 0, result.output
    said = (result.output + capfd.readouterr().err).strip().splitlines()  # the workers' stderr too
    assert said == ["Warning: 2 runs drew 300 of up to 305 frames (the default budget); --max-frames 0 draws them all; "
                    "the trace was captured at every step (every=1, the Recorder's default)."]
    assert len(iio.imread(tmp_path / "s0.gif", index=None)) == 300
    result = run(*args, "--max-frames", "4")  # other settings: both rendered again, nothing said
    assert result.exit_code == 0 and result.output == "" and capfd.readouterr().err == ""
    assert len(iio.imread(tmp_path / "s1.gif", index=None)) == 4
