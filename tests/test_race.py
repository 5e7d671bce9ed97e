import imageio.v3 as iio
import numpy as np
import pytest

import convergence_anim as ca
from convergence_anim.demos import run_demo
from convergence_anim.frames import FrameRenderer
from convergence_anim.race import RACE_COLORS, check_race, race_timeline
from tests.pixels import colour_pixels

X = np.linspace(0.0, 4.0, 9)
Y = 2 * X + 1


def _run(steps, ws, x=X, meta=None):
    rec = ca.Recorder(ca.scenes.LineFit(x, 2 * x + 1), every=1, meta=meta)
    for step, w in zip(steps, ws):
        rec.capture(step, loss=float((w - 2) ** 2), w=w, b=1.0)
    return rec.trace


def test_timeline_follows_every_run_and_holds_a_finished_one():
    a, b = _run([0, 10, 20], [0.0, 1.0, 2.0]), _run([0, 5, 10, 15, 30, 40], [0.0, 0.5, 1.0, 1.5, 1.8, 2.0])
    steps, indices, finished = race_timeline([a, b])
    assert list(steps) == [0, 5, 10, 15, 20, 30, 40]
    assert list(indices[:, 0]) == [0, 0, 1, 1, 2, 2, 2]
    assert list(indices[:, 1]) == [0, 1, 2, 3, 3, 4, 5]
    assert list(finished[:, 0]) == [False] * 5 + [True, True] and not finished[:, 1].any()


def test_runs_of_different_scenes_or_data_cannot_race(logistic_trace):
    a = _run([0, 1], [0.0, 1.0])
    with pytest.raises(ca.UsageError, match="different scenes.*'line_fit'.*'linear_boundary'"):
        check_race([a, logistic_trace])
    with pytest.raises(ca.UsageError, match="on different data cannot race: run 2 differs from run 1 in x, y"):
        check_race([a, _run([0, 1], [0.0, 1.0], x=X + 1)])
    with pytest.raises(ca.UsageError, match="labels must name each of the 2 runs"):
        check_race([a, a], ["only one"])


def test_default_labels_name_optimizer_and_rate():
    a = _run([0], [0.0], meta={"optimizer": "adam", "lr": 0.01})
    assert check_race([a, _run([0], [1.0])]) == ["adam lr=0.01", "run 2"]


def test_race_frames_draw_every_run_in_its_colour_and_keep_a_finished_one(tmp_path, memory_encoder):
    a, b = _run([0, 10, 20], [1.0, 1.5, 1.8]), _run([0, 10, 20, 30, 40], [2.6, 2.5, 2.4, 2.3, 2.2])
    ca.render([a, b], tmp_path / "race.frames", labels=["fast", "slow"], fps=5)
    frames = memory_encoder.last.frames
    assert len(frames) == 5  # the union of both runs' steps
    first, last = frames[0], frames[-1]
    for frame in (first, last):  # run a stopped at step 20 but is still drawn at step 40
        assert colour_pixels(frame, RACE_COLORS[0], 30) > 300 and colour_pixels(frame, RACE_COLORS[1], 30) > 300
    assert (first != last).any(axis=2).sum() > 500


def test_race_blitted_frames_match_full_redraws_with_both_panels():
    a, b = _run([0, 10, 20], [0.0, 1.0, 2.0]), _run([0, 5, 10, 30], [3.0, 2.5, 2.2, 2.0])
    fast = FrameRenderer([a, b], loss_panel=True, landscape=True)
    full = FrameRenderer([a, b], loss_panel=True, landscape=True, blit=False)
    assert len(fast) == 5
    for index in range(len(fast)):
        np.testing.assert_array_equal(fast.render(index), full.render(index), err_msg=f"frame {index}")


def test_landscape_panel_frames_match_full_redraws_and_show_the_path(linear_trace):
    fast, full = FrameRenderer(linear_trace, landscape=True), FrameRenderer(linear_trace, landscape=True, blit=False)
    plain = FrameRenderer(linear_trace)
    assert fast.size[0] > plain.size[0]  # the panel widens the frame
    for index in range(len(linear_trace)):
        np.testing.assert_array_equal(fast.render(index), full.render(index), err_msg=f"frame {index}")
    # The path grows: the last frame has more of the line's red on the landscape side than the first.
    right = slice(fast.size[0] // 2, None)
    first, last = fast.render(0)[:, right], fast.render(len(linear_trace) - 1)[:, right]
    assert colour_pixels(last, "#ff0000", 60) > colour_pixels(first, "#ff0000", 60) + 100


def test_model_races_share_one_plane():
    from convergence_anim.landscape import landscape_of, share_landscape

    runs = [run_demo("blobs", optimizer=name, max_iter=12, every=3, landscape=True) for name in ("sgd", "adam")]
    assert not np.array_equal(runs[0].trace.data["landscape_directions"], runs[1].trace.data["landscape_directions"])
    shared = share_landscape([r.trace for r in runs], *runs[0].problem, resolution=5)
    np.testing.assert_array_equal(shared[0].data["landscape_loss"], shared[1].data["landscape_loss"])
    view = landscape_of(shared)
    assert len(view.paths) == 2 and view.paths[1].shape == (len(shared[1]), 2)
    # Both runs start from the same weights (same seed), so their first points nearly coincide.
    assert np.abs(view.paths[0][0] - view.paths[1][0]).max() < 0.5


# -- command line -----------------------------------------------------------------------------------


def test_compare_races_saved_traces(run, tmp_path):
    _run([0, 10, 20], [0.0, 1.0, 2.0]).save(tmp_path / "a.npz")
    _run([0, 10, 20, 30], [3.0, 2.5, 2.2, 2.0]).save(tmp_path / "b.npz")
    result = run("compare", "a.npz", "b.npz", "--labels", "a,b", "-o", "race.gif", "--landscape", "--loss-panel", "-q")
    assert result.exit_code == 0, result.output
    frames = iio.imread(tmp_path / "race.gif", index=None)
    assert frames.shape[0] == 4


def test_compare_refuses_runs_of_different_scenes_with_exit_2(run, tmp_path, logistic_trace):
    _run([0, 1], [0.0, 1.0]).save(tmp_path / "a.npz")
    logistic_trace.save(tmp_path / "b.npz")
    result = run("compare", "a.npz", "b.npz", "-o", "race.gif")
    assert result.exit_code == 2
    assert "runs of different scenes cannot race" in result.output
    assert not (tmp_path / "race.gif").exists()


def test_race_command_trains_each_optimizer_and_renders_one_animation(run, tmp_path):
    result = run("race", "linear", "--optimizers", "sgd,momentum:0.01,adam", "--max-iter", "40",
                 "--loss-panel", "--landscape", "-o", "race.gif", "--still", "race.png")
    assert result.exit_code == 0, result.output
    assert "3 runs" in result.output
    frames = iio.imread(tmp_path / "race.gif", index=None)
    assert frames.shape[0] >= 4 and frames.shape[2] > 1000  # two panels beside the plot
    still = iio.imread(tmp_path / "race.png")
    for colour in RACE_COLORS[:3]:
        assert colour_pixels(still, colour, 30) > 100, colour


@pytest.mark.parametrize("spec, message", [("sgd,lbfgs", "unknown optimizer 'lbfgs'"),
                                           ("sgd:-1", "must be a positive number"),
                                           ("adam,adam", "may race once")])
def test_race_refuses_a_bad_optimizer_list(run, spec, message):
    result = run("race", "linear", "--optimizers", spec)
    assert result.exit_code == 2 and message in result.output


def test_demo_takes_an_optimizer_and_a_landscape(run, tmp_path):
    result = run("demo", "linear", "--optimizer", "momentum", "--landscape", "--save-trace", "t.npz", "-o", "d.gif", "-q")
    assert result.exit_code == 0, result.output
    assert ca.Trace.load(tmp_path / "t.npz").meta["optimizer"] == "momentum"
    frame = iio.imread(tmp_path / "d.gif", index=0)
    assert frame.shape[1] > 900  # the landscape panel widened the frame


def test_render_landscape_of_a_model_trace_without_one_says_how_to_record_it(run, tmp_path):
    run_demo("blobs", max_iter=4, every=2).trace.save(tmp_path / "t.npz")
    result = run("render", "t.npz", "-o", "x.gif", "--landscape")
    assert result.exit_code == 1
    message = result.output.strip().splitlines()[-1]
    assert "no loss landscape" in message and "add_landscape" in message and "--landscape" in message
    assert not (tmp_path / "x.gif").exists()


@pytest.mark.parametrize("demo", ["blobs", "poly"])  # a boundary, a curve
def test_model_scenes_race_each_run_in_its_colour(demo, tmp_path, memory_encoder):
    runs = [run_demo(demo, optimizer=name, max_iter=9, every=4).trace for name in ("sgd", "adam")]
    ca.render(runs, tmp_path / "race.frames", fps=5)
    last = memory_encoder.last.frames[-1]
    for colour in RACE_COLORS[:2]:
        assert colour_pixels(last, colour, 30) > 200, colour


def test_race_command_refused_leaves_no_outputs_folder(run, tmp_path):
    result = run("race", "linear", "--optimizers", "sgd,adam", "--fps", "500")
    assert result.exit_code == 2 and "at most 50 fps" in result.output
    assert list(tmp_path.iterdir()) == []
    (tmp_path / "outputs").write_text("a file where the folder would go")
    result = run("race", "linear", "--optimizers", "sgd,adam", "--max-iter", "5")
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert result.output.strip().splitlines()[-1].startswith("Error: ")


def test_a_race_of_boundaries_on_more_than_two_features_draws_the_points_where_each_run_draws_them():
    # Three features on very different scales: the picture is the plane of principal components, and
    # the points must be drawn projected onto it (raw, they would all fall outside the axes).
    rng = np.random.default_rng(0)
    points = rng.normal(size=(60, 3)) * [1.0, 10.0, 100.0] + [0.0, 50.0, 500.0]
    labels = (points[:, 0] > 0).astype(int)
    runs = []
    for sign in (1.0, -1.0):
        rec = ca.Recorder(ca.scenes.DecisionBoundary(points, labels, resolution=16), every=1)
        for step in range(2):
            rec.capture(step, loss=1.0 / (step + 1), predict=lambda x, s=sign * (step + 1): s * x[:, :1])
        runs.append(rec.trace)
    from matplotlib import colormaps

    class_colours = ["#%02x%02x%02x" % tuple(int(255 * c) for c in colormaps["RdBu"](v)[:3]) for v in (0.1, 0.9)]
    alone = FrameRenderer(runs[0]).render(1)
    race = FrameRenderer(runs).render(1)
    for colour in class_colours:
        assert colour_pixels(race, colour, 20) > 0.5 * colour_pixels(alone, colour, 20) > 100, colour


def test_race_demo_is_the_python_entry_point_of_the_race_command():
    from convergence_anim.demos import race_demo

    traces = race_demo("linear", [("sgd", None), ("adam", 0.05)], max_iter=12)
    assert [t.meta["optimizer"] for t in traces] == ["sgd", "adam"]
    alone = run_demo("linear", optimizer="adam", lr=0.05, every=5, max_iter=12).trace  # every: a quarter of 20
    np.testing.assert_array_equal(traces[1].losses, alone.losses)
    np.testing.assert_array_equal(traces[1].state["w"], alone.state["w"])
    assert check_race(traces)[1] == "adam lr=0.05"
    with pytest.raises(ca.UsageError, match="unknown optimizer 'lbfgs'"):
        race_demo("linear", [("lbfgs", None)])
    with pytest.raises(ca.UsageError, match="may race once"):
        race_demo("linear", [("sgd", None), ("sgd", None)])
