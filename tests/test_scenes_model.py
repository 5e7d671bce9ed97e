"""DecisionBoundary, CurveFit and the demos that use them."""

import numpy as np
import pytest
import torch
from torch import nn

import convergence_anim as ca
from convergence_anim.demos import DEMOS, run_demo
from convergence_anim.frames import FrameRenderer

DECODE = ca.scenes.DecisionBoundary.decode
NEW_DEMOS = ["blobs", "moons", "circles", "xor", "spiral", "spiral3", "blobs3", "poly", "sine"]


def _grid_inputs(scene):
    xs, ys = scene.grid
    gx, gy = np.meshgrid(xs, ys)
    return torch.tensor(np.column_stack([gx.ravel(), gy.ravel()]), dtype=torch.float32)


def _captured_and_outputs(scene, model):
    """What one capture of ``model`` recorded for ``scene``, and the model's own outputs on the scene's grid."""
    rec = ca.Recorder(scene)
    rec.capture(0, model=model)
    with torch.no_grad():
        outputs = model(_grid_inputs(scene))
    return rec.trace.state, outputs


def _mlp(inputs, outputs, seed=0, dropout=0.0):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(inputs, 8), nn.Tanh(), nn.Dropout(dropout), nn.Linear(8, outputs))


class ThirdsByX(nn.Module):
    """Three classes by x alone: class 0 left of -0.5, class 1 in the middle, class 2 right of 0.5."""

    def forward(self, points):
        x = points[:, :1]
        return -10 * (x - torch.tensor([-1.0, 0.0, 1.0])) ** 2


def _train_trace(scene, model, steps=9, every=3, loss=None, nan_at_end=False):
    """Record a few steps of Adam on a throwaway loss, so frames differ from each other."""
    optimizer = torch.optim.Adam(model.parameters(), lr=0.1)
    rec = ca.Recorder(scene, every=every)
    for step in range(steps):
        optimizer.zero_grad()
        value = sum((p - 1).square().mean() for p in model.parameters())
        value.backward()
        optimizer.step()
        rec.capture(step, loss=value if loss is None else loss, model=model)
    if nan_at_end:
        with torch.no_grad():
            next(model.parameters()).fill_(float("nan"))
        rec.capture(steps, loss=float("nan"), model=model, force=True)
    return rec.trace


@pytest.fixture(scope="module")
def points_two():
    torch.manual_seed(3)
    points = torch.randn(30, 2)
    return points, (points[:, 0] + points[:, 1] > 0).long()


@pytest.fixture(scope="module")
def boundary2_trace(points_two):
    scene = ca.scenes.DecisionBoundary(*points_two, resolution=40)
    return _train_trace(scene, _mlp(2, 1), nan_at_end=True)


@pytest.fixture(scope="module")
def boundary3_trace():
    torch.manual_seed(4)
    points = torch.rand(30, 2) * 3 - 1.5
    labels = (points[:, 0] > -0.5).long() + (points[:, 0] > 0.5).long()
    scene = ca.scenes.DecisionBoundary(points, labels, class_names=["left", "middle", "right"], resolution=40)
    return _train_trace(scene, _mlp(2, 3))


@pytest.fixture(scope="module")
def curve_trace():
    torch.manual_seed(5)
    x = torch.rand(25, 1) * 4 - 2
    scene = ca.scenes.CurveFit(x, torch.sin(x), xlabel="x", ylabel="sin x", resolution=40)
    return _train_trace(scene, _mlp(1, 1))


# -- capture: the model's own outputs on the grid ----------------------------------------------------


def test_two_class_capture_is_the_sigmoid_of_the_models_logit_on_the_grid(points_two):
    scene = ca.scenes.DecisionBoundary(*points_two, resolution=40)
    state, logits = _captured_and_outputs(scene, _mlp(2, 1))
    expected = torch.sigmoid(logits).numpy().reshape(40, 40)
    codes = state["probability"][0]
    assert codes.shape == (40, 40) and codes.dtype == np.uint8  # one byte per cell
    probability = ca.scenes.DecisionBoundary.decode(codes)
    np.testing.assert_allclose(probability, expected, atol=0.005)
    # Always in the model's band of 0.1 (the colour drawn) and close near band edges (where lines are drawn).
    np.testing.assert_array_equal(np.floor(probability * 10), np.floor(expected * 10))
    near_edge = abs(expected * 10 - np.round(expected * 10)) < 0.03
    assert near_edge.sum() > 20
    np.testing.assert_allclose(probability[near_edge], expected[near_edge], atol=0.0012)
    assert probability.min() < 0.5 < probability.max()  # the grid covers both sides of the boundary
    assert state["grid_finite"][0] == 1.0


def test_two_class_capture_takes_the_softmax_of_two_scores(points_two):
    scene = ca.scenes.DecisionBoundary(*points_two, resolution=20)
    state, scores = _captured_and_outputs(scene, _mlp(2, 2))
    expected = torch.softmax(scores, dim=1)[:, 1].numpy().reshape(20, 20)
    np.testing.assert_allclose(DECODE(state["probability"][0]), expected, atol=0.005)


def test_models_that_output_probabilities_are_not_squashed_twice(points_two):
    scene = ca.scenes.DecisionBoundary(*points_two, resolution=20, outputs="probabilities")
    state, probabilities = _captured_and_outputs(scene, nn.Sequential(_mlp(2, 1), nn.Sigmoid()))
    expected = probabilities.numpy().reshape(20, 20)
    np.testing.assert_allclose(DECODE(state["probability"][0]), expected, atol=0.005)


def test_k_class_regions_and_margins_follow_the_model():
    points = np.array([[-1.0, 0.0], [0.0, 0.0], [1.0, 0.0]])
    # A grid that never lands exactly on the boundaries at x = -0.5 and 0.5.
    scene = ca.scenes.DecisionBoundary(points, [0, 1, 2], xlim=(-1.5, 1.55), ylim=(-1, 1), resolution=40)
    rec = ca.Recorder(scene)
    rec.capture(0, model=ThirdsByX())
    region, margin = rec.trace.state["region"][0], rec.trace.state["margin"][0]
    xs, _ = scene.grid
    expected = np.where(xs < -0.5, 0, np.where(xs < 0.5, 1, 2))
    assert region.dtype == np.uint8 and margin.dtype == np.uint8
    np.testing.assert_array_equal(region, np.broadcast_to(expected, (40, 40)))
    with torch.no_grad():
        p = torch.softmax(ThirdsByX()(_grid_inputs(scene)), dim=1).numpy()
    top_two = np.sort(p, axis=1)[:, -2:]
    margin = DECODE(margin)
    np.testing.assert_allclose(margin.ravel(), top_two[:, 1] - top_two[:, 0], atol=0.005)
    assert margin[:, np.argmin(abs(xs + 0.5))].max() < 0.5 < margin[:, np.argmin(abs(xs + 1))].min()


def test_k_class_frame_paints_each_region_in_its_class_colour():
    points = np.array([[-1.0, 0.9], [0.0, 0.9], [1.0, 0.9]])
    scene = ca.scenes.DecisionBoundary(points, [0, 1, 2], xlim=(-1.5, 1.55), ylim=(-1, 1), resolution=40)
    rec = ca.Recorder(scene)
    rec.capture(0, model=ThirdsByX())
    frame = FrameRenderer(rec.trace).render(0).astype(int)
    height, width, _ = frame.shape
    row = frame[height // 2]
    # The axes span 12.5%..90% of the width; the regions split them at x = -0.5 and 0.5.
    left, middle, right = (row[int(width * f)] for f in (0.2, 0.5, 0.82))
    assert left[2] > left[0]  # C0: blue
    assert middle[0] > middle[2]  # C1: orange
    assert right[1] > right[0] and right[1] > right[2]  # C2: green


def test_curve_fit_capture_is_the_models_output_on_the_x_grid(curve_trace):
    x = np.linspace(-2, 2, 10)
    scene = ca.scenes.CurveFit(x, x**2, resolution=30)
    model = _mlp(1, 1)
    rec = ca.Recorder(scene)
    rec.capture(0, model=model)
    with torch.no_grad():
        expected = model(torch.tensor(scene.grid[:, None], dtype=torch.float32)).numpy().ravel()
    assert scene.grid[0] < -2 and scene.grid[-1] > 2  # the curve spans the whole x axis
    np.testing.assert_allclose(rec.trace.state["prediction"][0], expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("training", [True, False])
def test_capture_restores_each_modules_mode_and_leaves_the_rng_alone(points_two, training):
    model = _mlp(2, 1, dropout=0.5)
    model.train(training)
    rec = ca.Recorder(ca.scenes.DecisionBoundary(*points_two, resolution=20))
    rng = torch.get_rng_state()
    rec.capture(0, model=model)
    rec.capture(1, model=model)
    assert all(m.training == training for m in model.modules())
    assert torch.equal(torch.get_rng_state(), rng)
    # Evaluated in eval mode: dropout is off, so two captures of the same weights agree exactly.
    np.testing.assert_array_equal(rec.trace.state["probability"][0], rec.trace.state["probability"][1])


def test_curve_fit_capture_restores_mode():
    model = _mlp(1, 1, dropout=0.5)
    rec = ca.Recorder(ca.scenes.CurveFit([0.0, 1.0], [0.0, 1.0], resolution=10))
    rec.capture(0, model=model)
    assert all(m.training for m in model.modules())


@pytest.mark.parametrize(
    "make, text",
    [
        (lambda p, l: ca.scenes.DecisionBoundary(p, l).capture({"model": _mlp(2, 3)}), "1 or 2 outputs, got 3"),
        (lambda p, l: ca.scenes.DecisionBoundary(p, l, classes=3).capture({"model": _mlp(2, 2)}), "3 outputs, got 2"),
        (lambda p, l: ca.scenes.DecisionBoundary(p, l).capture({"w": 1.0, "b": 0.0}), "captures (model=)"),
        (lambda p, l: ca.scenes.DecisionBoundary(p, l).capture({"model": lambda t: t}), "must be a torch.nn.Module"),
        (lambda p, l: ca.scenes.CurveFit([0.0, 1.0], [0.0, 1.0]).capture({"model": _mlp(1, 2)}), "one output per input"),
    ],
)
def test_capture_errors_say_what_the_scene_needs(points_two, make, text):
    with pytest.raises(ca.CaptureError) as info:
        make(*points_two)
    assert text in str(info.value)


@pytest.mark.parametrize(
    "kwargs, text",
    [
        ({"labels": [0.5, 1, 0]}, "class numbers 0, 1, 2"),
        ({"labels": [0, 0, 0]}, "classes must be an integer from 2 to 10"),
        ({"labels": [0, 1, 11]}, "from 2 to 10"),
        ({"labels": [0, 1, 2], "classes": 2}, "beyond the 2 classes"),
        ({"labels": [0, 1]}, "one value per point"),
        ({"labels": [0, 1, 1], "class_names": ["a"]}, "name the 2 classes"),
        ({"labels": [0, 1, 1], "resolution": 1}, "resolution must be"),
        ({"labels": [0, 1, 1], "aspect": "square"}, "aspect must be"),
        ({"labels": [0, 1, 1], "outputs": "scores"}, "outputs must be"),
        ({"labels": [0, 1, 1], "xlim": (1, 0)}, "xlim must be finite"),
    ],
)
def test_decision_boundary_refuses_bad_arguments(kwargs, text):
    with pytest.raises(ca.UsageError, match=text):
        ca.scenes.DecisionBoundary([[0, 0], [1, 1], [2, 0]], **kwargs)


def test_equal_aspect_widens_the_default_limits_to_four_by_three():
    scene = ca.scenes.DecisionBoundary([[0, 0], [1, 1]], [0, 1], aspect="equal")
    (x0, x1), (y0, y1) = scene.xlim, scene.ylim
    assert (x1 - x0) / (y1 - y0) == pytest.approx(4 / 3)
    assert x0 < 0 and x1 > 1 and y0 < 0 and y1 > 1


# -- drawing -----------------------------------------------------------------------------------


@pytest.mark.parametrize("fixture", ["boundary2_trace", "boundary3_trace", "curve_trace"])
def test_blitted_frames_are_pixel_identical_to_full_redraws(fixture, request):
    trace = request.getfixturevalue(fixture)
    fast, full = FrameRenderer(trace, blit=True), FrameRenderer(trace, blit=False)
    for index in range(len(trace)):
        np.testing.assert_array_equal(fast.render(index), full.render(index), err_msg=f"frame {index}")


@pytest.mark.parametrize("fixture", ["boundary2_trace", "boundary3_trace"])
def test_points_stamped_as_markers_look_like_the_scatter_they_replace(fixture, request, monkeypatch):
    from matplotlib.collections import PathCollection

    from convergence_anim.scenes import model, scene_from_trace

    trace = request.getfixturevalue(fixture)
    scene = scene_from_trace(trace)
    stamped = FrameRenderer(trace)
    dots = [line for line in stamped.figure.axes[0].lines if line.get_marker() == "o"]
    assert len(dots) == len(np.unique(scene.labels))  # one marker line per class
    monkeypatch.setattr(model, "_STAMPED_DOT_PIXELS", np.inf)  # every dot a scatter, as before
    scattered = FrameRenderer(trace)
    assert not any(line.get_marker() == "o" for line in scattered.figure.axes[0].lines)
    assert any(isinstance(c, PathCollection) for c in scattered.figure.axes[0].collections)
    ours, theirs = stamped.render(len(trace) - 2), scattered.render(len(trace) - 2)
    for colour in scene._class_colors():
        rgb = np.round(colour * 255).astype(int)
        count = [int((np.abs(f[..., :3].astype(int) - rgb).max(axis=2) <= 8).sum()) for f in (ours, theirs)]
        assert count[1] > 100 and abs(count[0] - count[1]) <= 0.15 * count[1], count  # the same dots, the same size
    assert (ours != theirs).any(axis=2).mean() < 0.03  # moved by half a pixel at most, nothing else


def test_dots_under_six_pixels_stay_a_scatter(boundary2_trace):
    renderer = FrameRenderer(boundary2_trace, size=(160, 120))  # a small frame draws at a quarter of the dpi
    assert not any(line.get_marker() == "o" for line in renderer.figure.axes[0].lines)


@pytest.mark.parametrize("fixture", ["boundary2_trace", "boundary3_trace", "curve_trace"])
def test_frames_change_as_the_model_learns(fixture, request):
    trace = request.getfixturevalue(fixture)
    renderer = FrameRenderer(trace)
    assert (renderer.render(0) != renderer.render(2)).any(axis=2).sum() > 500


def test_a_diverged_capture_shows_the_last_finite_regions_faded(boundary2_trace):
    assert boundary2_trace.diverged_at == boundary2_trace.steps[-1]
    renderer = FrameRenderer(boundary2_trace)
    last_finite, diverged = renderer.render(len(boundary2_trace) - 2), renderer.render(len(boundary2_trace) - 1)
    assert diverged.mean() > last_finite.mean()  # faded towards the white background, not blank or black
    assert (diverged != 255).any(axis=2).sum() > 10000


@pytest.mark.parametrize("classes", [2, 3])
def test_a_run_not_finite_from_the_first_capture_still_draws_the_points(classes):
    model = _mlp(2, 1 if classes == 2 else classes)
    with torch.no_grad():
        model[0].weight.fill_(float("nan"))
    rec = ca.Recorder(ca.scenes.DecisionBoundary([[0, 0], [1, 1], [2, 0]], [0, 1, classes - 1], resolution=20))
    rec.capture(0, loss=float("nan"), model=model)
    assert rec.trace.diverged_at == 0
    frame = FrameRenderer(rec.trace).render(0)
    assert (frame != 255).any(axis=2).sum() > 1000


@pytest.mark.parametrize("fixture", ["boundary2_trace", "boundary3_trace", "curve_trace"])
def test_save_load_round_trip_renders_identical_frames(fixture, request, tmp_path):
    trace = request.getfixturevalue(fixture)
    loaded = ca.Trace.load(trace.save(tmp_path / "run.npz"))
    assert loaded.scene == trace.scene and loaded.options == trace.options
    for key in trace.state:
        np.testing.assert_array_equal(loaded.state[key], trace.state[key])
        assert loaded.state[key].dtype == trace.state[key].dtype
    live, again = FrameRenderer(trace), FrameRenderer(loaded)
    for index in range(len(trace)):
        np.testing.assert_array_equal(live.render(index), again.render(index))


def test_curve_fit_y_limits_ignore_a_wild_early_frame():
    """One capture predicting 1e6 must not squash the plot: the line at y=0.5 stays mid-frame."""
    x = np.linspace(0, 1, 11)
    model = nn.Linear(1, 1)
    rec = ca.Recorder(ca.scenes.CurveFit(x, x, resolution=20))
    with torch.no_grad():
        model.weight.zero_()
        model.bias.fill_(1e6)
        rec.capture(0, model=model)
        model.bias.fill_(0.5)
        rec.capture(1, model=model)
    frame = FrameRenderer(rec.trace).render(1).astype(int)
    red = (frame[..., 0] > 200) & (frame[..., 1] < 60) & (frame[..., 2] < 60)
    rows = np.flatnonzero(red.any(axis=1))
    assert rows.size and 0.3 < rows.mean() / frame.shape[0] < 0.7


# -- demos -------------------------------------------------------------------------------------


def test_every_new_demo_is_listed():
    assert set(NEW_DEMOS) <= set(DEMOS)


@pytest.mark.parametrize("name", NEW_DEMOS)
def test_new_demos_train_and_record(name):
    run = run_demo(name, max_iter=9, every=4)
    trace = run.trace
    assert list(trace.steps) == [0, 4, 8]
    assert trace.scene == ("curve_fit" if name in ("poly", "sine") else "decision_boundary")
    assert trace.meta == {"demo": name, "seed": DEMOS[name].seed, "lr": DEMOS[name].lr, "every": 4, "max_iter": 9,
                          "optimizer": "adam", "capture_every": 4}  # the last written by the recorder
    assert np.isfinite(trace.losses).all() and trace.diverged_at is None
    assert run.params and all(isinstance(v, torch.Tensor) for v in run.params.values())
    if name in ("spiral3", "blobs3"):
        assert trace.options["classes"] == 3


@pytest.mark.parametrize("name", ["moons", "sine"])  # moons trains an MLP with dropout
def test_recording_never_changes_training(name):
    with_rec = run_demo(name, max_iter=40, every=7)
    without = run_demo(name, max_iter=40, record=False)
    assert with_rec.iterations == without.iterations == 40 and without.trace is None
    assert with_rec.params.keys() == without.params.keys()
    for key, value in without.params.items():
        assert torch.equal(with_rec.params[key], value), key


@pytest.mark.parametrize("name", [n for n in NEW_DEMOS if n != "blobs3"])
def test_new_demos_converge_before_their_iteration_cap(name):
    run = run_demo(name, record=False)
    assert run.iterations < DEMOS[name].max_iter


def test_demos_stop_at_a_non_finite_loss_and_capture_that_step():
    run = run_demo("sine", lr=1e30, every=50)
    assert run.iterations < DEMOS["sine"].max_iter
    assert run.trace.steps[-1] == run.iterations - 1
    assert not np.isfinite(run.trace.losses[-1])
