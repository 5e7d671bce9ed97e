"""``convergence-anim batch`` and ``render_batch``: many seeds, resumable, identical bytes everywhere."""

import dataclasses
import functools
import hashlib
import json
import os

import imageio.v3 as iio
import numpy as np
import pytest
from click.testing import CliRunner

import convergence_anim as ca
from convergence_anim.batch import BatchJob, dask_executor, expand_template, parse_seeds, render_batch, seed_jobs
from convergence_anim.cli import main
from convergence_anim.demos import DEMOS, DemoRun
from convergence_anim.grid import CellRenderer

from .pixels import blue_pixels, red_pixels

SMALL = ("--size", "320x240")


def _manifest(path):
    return json.loads(path.read_text())


def _by_seed(manifest):
    return {e["seed"]: e for e in manifest["seeds"]}


def _sha(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


# -- seeds and templates ------------------------------------------------------------------------


def test_parse_seeds():
    assert parse_seeds("0-3") == [0, 1, 2, 3]
    assert parse_seeds("1,2,5-9") == [1, 2, 5, 6, 7, 8, 9]
    assert parse_seeds(" 3 , 1-2, 2") == [3, 1, 2]  # order kept, repeats dropped
    for bad in ["5-1", "-3", "", " ", "1,,2", "a", "1-", "1.5", "2-x"]:
        with pytest.raises(ca.UsageError):
            parse_seeds(bad)


def test_expand_template_fills_demo_options_and_literal_braces():
    values = {"demo": "linear", "seed": 3, "lr": 0.02, "every": 20, "max_iter": 1000, "fps": 5.0}
    assert expand_template("{demo}-{seed}-{lr}-{every}-{max_iter}-{fps}.gif", values) == "linear-3-0.02-20-1000-5.gif"
    assert expand_template("{{x}}-{seed}.gif", values) == "{x}-3.gif"
    jobs = seed_jobs("linear", [4], "out/{demo}/lr{lr}-{seed}.mp4")
    assert jobs[0].output == "out/linear/lr0.02-4.mp4"


@pytest.mark.parametrize(
    "template, text",
    [
        ("{seed.__class__}.gif", "{seed.__class__}"),
        ("{seed[0]}.gif", "{seed[0]}"),
        ("{foo}-{seed}.gif", "{foo}"),
        ("{}-{seed}.gif", "{}"),
        ("{seed!r}.gif", "{seed!r}"),
        ("{seed:03d}.gif", "{seed:03d}"),
        ("{seed.gif", "malformed"),
        ("out.gif", "does not contain {seed}"),
        ("out-{seed}", "not a known format"),
    ],
)
def test_bad_templates_fail_before_training(run, tmp_path, template, text):
    result = run("batch", "linear", "--seeds", "0-2", "-o", template)
    assert result.exit_code == 2, result.output
    assert text in result.output
    assert "Traceback" not in result.output
    assert sorted(os.listdir(tmp_path)) == []


@pytest.mark.parametrize(
    "args, code, text",
    [
        (["--seeds", "5-1"], 2, "runs backwards; write 1-5"),
        (["--seeds", "-2"], 2, "non-negative"),
        (["--seeds", ""], 2, "no seeds"),
        (["--seeds", "1", "--jobs", "2", "--scheduler", "tcp://127.0.0.1:1"], 2, "--jobs sets local processes"),
        (["--seeds", "1", "--jobs", "0"], 2, "0 is not in the range x>=1"),
        (["--seeds", "1", "--grid", "g.png"], 2, "not a known format"),
    ],
)
def test_bad_options(run, tmp_path, args, code, text):
    result = run("batch", "linear", *args)
    assert result.exit_code == code, result.output
    assert text in result.output
    assert "Traceback" not in result.output


def test_unknown_demo_and_colliding_outputs():
    with pytest.raises(ca.UsageError, match="unknown demo 'nope'"):
        BatchJob("nope", 1, "a.gif")
    with pytest.raises(ca.UsageError, match="would both write"):
        render_batch([BatchJob("linear", 1, "same.gif"), BatchJob("linear", 2, "same.gif")])
    with pytest.raises(ca.UsageError, match="render has no option 'colour'"):
        render_batch([BatchJob("linear", 1, "a.gif", render_options={"colour": "red"})])


# -- a local batch: outputs, manifest, grid, resume, force ---------------------------------------


def test_batch_outputs_manifest_grid_resume_and_force(run, tmp_path):
    args = ["batch", "linear", "--seeds", "2-4", "--jobs", "1", "-o", "out/{demo}/seed-{seed}.gif",
            "--grid", "out/grid.gif", "--grid-cols", "2", *SMALL]
    result = run(*args)
    assert result.exit_code == 0, result.output
    assert "3 seeds: 3 rendered, 0 up to date, 0 failed." in result.output
    manifest_path = tmp_path / "out" / "batch.json"  # the outputs' common folder
    entries = _by_seed(_manifest(manifest_path))
    assert sorted(entries) == [2, 3, 4]
    lengths = {}
    for seed, entry in entries.items():
        path = tmp_path / "out" / "linear" / f"seed-{seed}.gif"
        frames = iio.imread(path, index=None)
        assert frames.shape[1:] == (240, 320, 3)
        last = entry["iterations"] - 1  # captures every 20 iterations, and the last one
        assert len(frames) == entry["frames"] == last // 20 + 1 + (last % 20 != 0)
        assert entry["output"] == f"linear/seed-{seed}.gif"
        assert entry["status"] == "ok" and entry["error"] is None and entry["converged"] is True
        assert entry["final_loss"] < 1 and entry["diverged_at"] is None and entry["skipped"] is False
        assert entry["bytes"] == path.stat().st_size and entry["sha256"] == _sha(path)
        assert entry["settings"] == {"demo": "linear", "seed": seed, "lr": 0.02, "every": 20, "max_iter": 1000,
                                     "fps": 5.0, "render_options": {"size": [320, 240]}, "version": ca.__version__}
        assert red_pixels(frames[-1]) > 300
        lengths[seed] = len(frames)
    assert len(set(lengths.values())) > 1  # the seeds stop at different iterations

    # The grid: 2 columns, 2 rows of 200x160 cells, as long as the longest seed; shorter ones hold.
    grid = iio.imread(tmp_path / "out" / "grid.gif", index=None)
    assert grid.shape == (max(lengths.values()), 320, 400, 3)
    shortest = min(lengths, key=lengths.get)
    row, col = divmod(sorted(lengths).index(shortest), 2)
    cell = np.s_[row * 160 : (row + 1) * 160, col * 200 : (col + 1) * 200]
    held = [grid[t][cell] for t in range(lengths[shortest] - 1, len(grid))]
    assert all(np.array_equal(held[0], frame) for frame in held)
    assert not np.array_equal(grid[0][cell], held[0])
    assert red_pixels(grid[-1][cell]) > 50 and blue_pixels(grid[-1][cell]) > 20
    assert np.all(grid[-1][160:, 200:] == grid[-1][0, 0])  # the empty fourth place is background
    grid_entry = _manifest(manifest_path)["grids"][0]
    assert grid_entry["output"] == "grid.gif" and grid_entry["status"] == "ok"
    assert grid_entry["sha256"] == _sha(tmp_path / "out" / "grid.gif")

    # Rerun: everything up to date, nothing rewritten.
    files = sorted((tmp_path / "out").rglob("*.gif"))
    mtimes = {p: p.stat().st_mtime_ns for p in files}
    result = run(*args)
    assert result.exit_code == 0, result.output
    assert "3 seeds: 0 rendered, 3 up to date, 0 failed." in result.output
    assert {p: p.stat().st_mtime_ns for p in files} == mtimes
    assert all(e["skipped"] for e in _manifest(manifest_path)["seeds"])

    # A damaged file no longer matches its hash: only that seed is rendered again (and the grid not).
    damaged = tmp_path / "out" / "linear" / "seed-3.gif"
    good = damaged.read_bytes()
    damaged.write_bytes(good[:-10])
    result = run(*args)
    assert "1 rendered, 2 up to date" in result.output
    assert damaged.read_bytes() == good
    assert (tmp_path / "out" / "grid.gif").stat().st_mtime_ns == mtimes[tmp_path / "out" / "grid.gif"]

    # --force renders everything again, to the same bytes.
    before = {p: p.read_bytes() for p in files}
    result = run(*args, "--force")
    assert result.exit_code == 0 and "3 rendered, 0 up to date" in result.output
    assert all(p.stat().st_mtime_ns != mtimes[p] for p in files)
    assert {p: p.read_bytes() for p in files} == before

    # Changed settings make an output out of date.
    result = run("batch", "linear", "--seeds", "3", "--jobs", "1", "-o", "out/{demo}/seed-{seed}.gif", "--size", "322x240")
    assert "1 rendered, 0 up to date" in result.output
    assert iio.imread(damaged, index=0).shape == (240, 322, 3)
    assert not list(tmp_path.rglob("*.part*"))


# -- failures and divergence -----------------------------------------------------------------------


@pytest.fixture
def flaky_demo(monkeypatch):
    """A demo that is the linear one, except that seed 1 raises."""
    linear = DEMOS["linear"]

    def train(**kwargs):
        if kwargs["seed"] == 1:
            raise RuntimeError("the data loader broke")
        return linear.train(**kwargs)

    monkeypatch.setitem(DEMOS, "flaky", dataclasses.replace(linear, name="flaky", train=train))


def test_a_failing_seed_is_recorded_and_the_others_go_on(run, tmp_path, flaky_demo):
    args = ["batch", "flaky", "--seeds", "0-2", "--jobs", "1", "-o", "f-{seed}.gif", "--grid", "grid.gif", *SMALL]
    result = run(*args)
    assert result.exit_code == 1, result.output
    assert "seed 1 failed: RuntimeError: the data loader broke" in result.output
    assert "1 of 3 seeds failed: seed 1" in result.output
    assert "Traceback" not in result.output
    entries = _by_seed(_manifest(tmp_path / "batch.json"))
    assert entries[1]["status"] == "failed" and entries[1]["error"] == "RuntimeError: the data loader broke"
    assert entries[1]["sha256"] is None and not (tmp_path / "f-1.gif").exists()
    for seed in (0, 2):
        assert entries[seed]["status"] == "ok"
        assert len(iio.imread(tmp_path / f"f-{seed}.gif", index=None)) == entries[seed]["frames"]
    # The failed seed's cell is there, without a plot.
    grid = iio.imread(tmp_path / "grid.gif", index=None)
    cells = [grid[-1][:160, 0:200], grid[-1][:160, 200:400]]
    assert red_pixels(cells[0]) > 50 and blue_pixels(cells[1]) < 5

    # A rerun retries the failed seed only.
    result = run(*args)
    assert result.exit_code == 1
    assert "0 rendered, 2 up to date, 1 failed" in result.output


def test_a_diverging_seed_is_rendered_and_counted_as_diverged(run, tmp_path):
    result = run("batch", "linear", "--seeds", "0", "--lr", "0.1", "--every", "5", *SMALL)
    assert result.exit_code == 0, result.output
    assert "Diverged (rendered, see the frames): seed 0" in result.output
    entry = _manifest(tmp_path / "outputs" / "batch.json")["seeds"][0]
    assert entry["status"] == "diverged" and entry["converged"] is False
    assert isinstance(entry["diverged_at"], int) and entry["final_loss"] is None
    frames = iio.imread(tmp_path / "outputs" / "linear-seed0.gif", index=None)  # the default name
    assert len(frames) == entry["frames"]
    assert all(red_pixels(f) > 100 for f in frames)


def test_interrupt_keeps_finished_seeds_and_no_partial_files(tmp_path):
    jobs = seed_jobs("linear", [0, 1, 2], str(tmp_path / "i-{seed}.gif"), render_options={"size": [320, 240]})

    def stop_after_first(stage, done, total):
        if stage == "seeds" and done == 1:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        render_batch(jobs, workers=1, progress=stop_after_first)
    entries = _manifest(tmp_path / "batch.json")["seeds"]
    assert [e["seed"] for e in entries] == [0]
    assert entries[0]["sha256"] == _sha(tmp_path / "i-0.gif")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["batch.json", "i-0.gif"]

    result = render_batch(jobs, workers=1)  # resumes
    assert [e["skipped"] for e in result.entries] == [True, False, False]


# -- shared scale --------------------------------------------------------------------------------


def _spread_train(*, seed, lr, every, max_iter, record):
    """Points on y = 2x + 1 for x in [0, seed]: each seed has its own axis limits."""
    import torch

    x = torch.linspace(0, seed, 10)
    rec = ca.Recorder(ca.scenes.LineFit(x, 2 * x + 1), every=1)
    for step in range(3):
        rec.capture(step, loss=seed / (step + 1), w=float(step), b=1.0)
    return DemoRun(rec.trace, {}, 3)


def _points_width(frame):
    r, g, b = (frame[..., i].astype(int) for i in range(3))
    cols = np.flatnonzero(((abs(r - 31) < 25) & (abs(g - 119) < 25) & (abs(b - 180) < 25)).any(axis=0))
    return cols[-1] - cols[0]


def test_shared_scale_gives_every_seed_the_union_of_the_limits(run, tmp_path, monkeypatch):
    monkeypatch.setitem(DEMOS, "spread", dataclasses.replace(DEMOS["linear"], name="spread", train=_spread_train))
    result = run("batch", "spread", "--seeds", "1,4", "--jobs", "1", "-o", "own-{seed}.gif", *SMALL)
    assert result.exit_code == 0, result.output
    result = run("batch", "spread", "--seeds", "1,4", "--jobs", "1", "-o", "shared-{seed}.gif", "--shared-scale",
                 "--grid", "grid.mp4", *SMALL)
    assert result.exit_code == 0, result.output
    entries = [e for e in _manifest(tmp_path / "batch.json")["seeds"] if e["output"].startswith("shared")]
    for entry in entries:
        # finite_range pads by 10%: x in [0, 1] and [0, 4], y = 2x + 1 in [1, 3] and [1, 9].
        assert entry["settings"]["shared_scale"] == {
            "xlim": pytest.approx([-0.4, 4.4]), "ylim": pytest.approx([0.2, 9.8]),
            "loss": pytest.approx([1 / 3, 4.0]),  # seed 1's losses 1..1/3, seed 4's 4..4/3
        }
    # Frame 0: the line is flat (w = 0), so it hides none of the points measured.
    own = iio.imread(tmp_path / "own-1.gif", index=0)
    shared = iio.imread(tmp_path / "shared-1.gif", index=0)
    assert _points_width(shared) < 0.4 * _points_width(own)  # seed 1's points now fill a quarter of the x range
    wide = iio.imread(tmp_path / "shared-4.gif", index=0)
    assert _points_width(wide) > 3 * _points_width(shared)
    grid = iio.imread(tmp_path / "grid.mp4", index=None)  # two 200x160 cells side by side, 3 frames
    assert grid.shape == (3, 160, 400, 3)
    assert all(grid[-1][:, x : x + 200].std() > 20 for x in (0, 200))  # both cells drawn


def test_shared_scale_shares_the_loss_panel_range(run, tmp_path, monkeypatch):
    import convergence_anim._render as rendering

    monkeypatch.setitem(DEMOS, "spread", dataclasses.replace(DEMOS["linear"], name="spread", train=_spread_train))
    seen = {}
    real = rendering.render

    @functools.wraps(real)  # batch checks options against render's signature
    def spy(trace, path, **kwargs):
        seen[os.path.basename(str(path))] = kwargs
        return real(trace, path, **kwargs)

    monkeypatch.setattr(rendering, "render", spy)
    result = run("batch", "spread", "--seeds", "1,4", "--jobs", "1", "-o", "s-{seed}.gif", "--shared-scale", "--log-loss", *SMALL)
    assert result.exit_code == 0, result.output
    for name in ("s-1.gif", "s-4.gif"):
        assert seen[name]["loss_panel"] and seen[name]["log_loss"]
        assert seen[name]["loss_range"] == pytest.approx((1 / 3, 4.0))
    assert iio.imread(tmp_path / "s-1.gif", index=0).shape == (240, 320, 3)


# -- byte-identical everywhere: alone, local processes, Dask -------------------------------------


@pytest.fixture(scope="module")
def alone(tmp_path_factory):
    """Seed 3 of linear rendered by ``convergence-anim demo``, as GIF and MP4."""
    folder = tmp_path_factory.mktemp("alone")
    for suffix in ("gif", "mp4"):
        result = CliRunner().invoke(main, ["demo", "linear", "--seed", "3", "-q", "-o", str(folder / f"a.{suffix}")])
        assert result.exit_code == 0, result.output
    return {suffix: (folder / f"a.{suffix}").read_bytes() for suffix in ("gif", "mp4")}


def test_local_processes_write_the_same_bytes_as_the_demo_command(run, tmp_path, alone):
    for suffix in ("gif", "mp4"):
        result = run("batch", "linear", "--seeds", "2,3", "--jobs", "2", "-o", f"{{demo}}-{{seed}}.{suffix}", "-q")
        assert result.exit_code == 0, result.output
        assert (tmp_path / f"linear-3.{suffix}").read_bytes() == alone[suffix]
    assert len(iio.imread(tmp_path / "linear-2.mp4", index=None)) == _by_seed(_manifest(tmp_path / "batch.json"))[2]["frames"]


@pytest.fixture(scope="module")
def scheduler():
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=False, protocol="tcp",
                                  host="127.0.0.1", dashboard_address=None) as cluster:
        yield cluster.scheduler_address


def test_dask_writes_the_same_bytes(run, tmp_path, alone, scheduler):
    assert scheduler.startswith("tcp://127.0.0.1:")
    result = run("batch", "linear", "--seeds", "1,3", "--scheduler", scheduler, "-o", "outputs/{demo}-{seed}.mp4")
    assert result.exit_code == 0, result.output
    assert "2 seeds: 2 rendered" in result.output
    assert (tmp_path / "outputs" / "linear-3.mp4").read_bytes() == alone["mp4"]

    jobs = seed_jobs("linear", [3], str(tmp_path / "py-{seed}.gif"))
    with dask_executor(scheduler) as executor:
        outcome = render_batch(jobs, executor)
    assert outcome.ok and (tmp_path / "py-3.gif").read_bytes() == alone["gif"]


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
        fast, full = CellRenderer(trace, "seed 1"), CellRenderer(trace, "seed 1", blit=False)
        for i in sorted({0, len(trace) // 2, len(trace) - 1}):
            frame = fast.render_rgba(i)
            assert frame.shape == (160, 200, 4)
            assert np.array_equal(frame, full.render_rgba(i))
