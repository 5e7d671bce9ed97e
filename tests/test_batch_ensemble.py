"""``batch ... --ensemble``: every seed of a setting in one animation, drawn from the runs' saved traces."""

import json

import imageio.v3 as iio
import numpy as np

from tests.pixels import band_heights

# batch_experiment.quadratic: the same five points for every seed, a loss scale * (seed + 1) / (step + 1),
# so the seeds' losses spread apart by a factor that shrinks step by step.
FUNCTION = "tests.batch_experiment:quadratic"


def _batch(run, *extra):
    return run("batch", FUNCTION, "--seeds", "0-5", "--param", "scale=1,3", "--ensemble", "ens-s{scale}.gif",
               "--size", "480x200", "--workers", "2", *extra)


def test_each_setting_is_one_ensemble_redrawn_from_its_traces(run, tmp_path):
    result = _batch(run)
    assert result.exit_code == 0, result.output
    assert "Ensemble: ens-s1.gif (3 frames)" in result.output and "Ensemble: ens-s3.gif (3 frames)" in result.output
    frames = iio.imread(tmp_path / "ens-s3.gif")
    assert frames.shape == (3, 200, 480, 3)
    heights = band_heights(frames[-1])
    columns = np.flatnonzero(heights > 4)
    assert np.median(heights[columns[:5]]) > 2 * np.median(heights[columns[-5:]])  # the seeds' losses converge
    manifest = json.loads((tmp_path / "batch.json").read_text())
    assert sorted(e["trace"] for e in manifest["runs"])[0] == "traces/scale1-seed0.npz"
    assert [g["kind"] for g in manifest["grids"]] == ["ensemble", "ensemble"]

    # Drawn again from the traces, without training: the runs stay up to date, their traces untouched.
    traces = {p: p.stat().st_mtime_ns for p in (tmp_path / "traces").iterdir()}
    (tmp_path / "ens-s1.gif").unlink()
    result = _batch(run)
    assert result.exit_code == 0, result.output
    assert "12 runs: 0 rendered, 12 up to date" in result.output and "Ensemble: ens-s1.gif (3 frames)" in result.output
    assert "Ensemble: ens-s3.gif (up to date)" in result.output
    assert {p: p.stat().st_mtime_ns for p in (tmp_path / "traces").iterdir()} == traces
    assert iio.imread(tmp_path / "ens-s1.gif").shape == (3, 200, 480, 3)


def test_bad_ensemble_templates_exit_2_in_one_line(run):
    for template, text in (("e-{seed}.gif", "uses {seed}"), ("e.gif", "put {scale} in it"), ("e", "suffix")):
        result = run("batch", FUNCTION, "--seeds", "0-1", "--param", "scale=1,2", "--ensemble", template)
        assert result.exit_code == 2 and text in result.output, result.output
        assert len(result.output.strip().splitlines()) == 1


def test_runs_on_other_data_per_seed_fail_the_ensemble_in_one_line(run):
    result = run("batch", "moons", "--seeds", "0-1", "--param", "max_iter=5", "--ensemble", "m.gif", "--workers", "2")
    assert result.exit_code == 1
    assert "an ensemble overlays runs on the same data" in result.output and "seed only the weights" in result.output
