"""Issue 21: a test set (hollow points, the test loss beside the training loss) and the schedule on the timeline
(the learning rate per capture, labelled events), from a user's own loop, in Python and on the command line."""

import numpy as np
import pytest
import torch

import convergence_anim as ca
from convergence_anim import CaptureError, UsageError
from convergence_anim.frames import FrameRenderer
from convergence_anim.demos import race_demo, run_demo
from convergence_anim.race import RACE_COLORS
from convergence_anim.style import get_theme


def _moons(n, seed):
    generator = torch.Generator().manual_seed(seed)
    t = torch.rand(n, generator=generator) * np.pi
    labels = torch.arange(n) % 2
    points = torch.stack([torch.cos(t) + labels, torch.sin(t) * (1 - 2 * labels) + 0.5 * labels], 1)
    return points + 0.1 * torch.randn(n, 2, generator=generator), labels


def _user_loop(record, test=True):
    """A loop as a user writes it: torch.optim, a DataLoader, epochs x batches, a scheduler; two added lines."""
    from torch.utils.data import DataLoader, TensorDataset

    torch.manual_seed(0)
    x, y = _moons(48, 1)
    x_test, y_test = _moons(32, 2)
    model = torch.nn.Sequential(torch.nn.Linear(2, 16), torch.nn.Tanh(), torch.nn.Linear(16, 2))
    opt = torch.optim.SGD(model.parameters(), lr=0.5)
    schedule = torch.optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.1)
    loader = DataLoader(TensorDataset(x, y), batch_size=16, shuffle=True)
    scene = ca.scenes.DecisionBoundary(x, y, resolution=24, test=(x_test, y_test) if test else None)
    rec = ca.Recorder(scene, every=2, events={3: "warm-up over"}) if record else None
    for epoch in range(3):
        for xb, yb in loader:
            opt.zero_grad()
            loss = torch.nn.functional.cross_entropy(model(xb), yb)
            loss.backward()
            opt.step()
            if rec:
                rec.capture(loss=loss, model=model, optimizer=opt)
        schedule.step()
        if rec and epoch == 1:
            rec.mark(None, "lr divided by 10")
    if rec:
        rec.finish(loss=loss, model=model, optimizer=opt)
    return rec, model, (x_test, y_test)


@pytest.fixture(scope="module")
def loop():
    return _user_loop(record=True)


def test_a_user_loop_records_test_loss_learning_rates_and_events_without_changing_training(loop, tmp_path):
    rec, model, (x_test, y_test) = loop
    trace = rec.trace
    assert list(trace.steps) == [0, 2, 4, 6, 8]
    # The test loss is the model's cross-entropy on the test set at each capture; the last one checks it.
    with torch.no_grad():
        expected = torch.nn.functional.cross_entropy(model(x_test), y_test).item()
    assert np.isfinite(trace.test_losses).all()
    assert trace.test_losses[-1] == pytest.approx(expected, rel=1e-5)
    # Three batches an epoch, the rate divided by 10 after each two epochs: read, never changed.
    assert np.allclose(trace.learning_rates, [0.5, 0.5, 0.5, 0.05, 0.05])
    assert list(trace.event_steps) == [3, 5] and list(trace.event_labels) == ["warm-up over", "lr divided by 10"]
    # Recording never changes training: the same final weights bit for bit.
    _, plain, _ = _user_loop(record=False)
    for a, b in zip(model.parameters(), plain.parameters()):
        assert torch.equal(a, b)
    # Everything new survives a save and a load (which never unpickles).
    loaded = ca.Trace.load(trace.save(tmp_path / "run.npz"))
    assert np.array_equal(loaded.test_losses, trace.test_losses)
    assert np.array_equal(loaded.learning_rates, trace.learning_rates)
    assert list(loaded.event_labels) == list(trace.event_labels) and list(loaded.event_steps) == [3, 5]
    assert np.array_equal(loaded.data["test_points"], x_test.numpy().astype(np.float64))
    with np.load(tmp_path / "run.npz", allow_pickle=False) as npz:
        assert npz["event_labels"].dtype.kind == "U"


def test_a_trace_without_schedule_or_test_set_writes_no_new_arrays(linear_trace, tmp_path):
    with np.load(linear_trace.save(tmp_path / "plain.npz"), allow_pickle=False) as npz:
        assert not {"learning_rates", "event_steps", "event_labels"} & set(npz.files)


def _panel_box(renderer, name_index=1):
    """The pixel rows and columns (top, bottom, left, right) of an axes of the renderer's figure."""
    ax = renderer.figure.axes[name_index]
    height = renderer.size[1]
    x0, y0, x1, y1 = ax.get_window_extent().extents
    return ax, (int(height - y1) + 2, int(height - y0) - 2, int(x0) + 2, int(x1) - 2)


def _colour_pixels(frame, colour, tolerance=40):
    from matplotlib.colors import to_rgb

    target = np.array(to_rgb(colour)) * 255
    return (np.abs(frame[..., :3].astype(int) - target).max(axis=-1) < tolerance)


@pytest.mark.parametrize("theme", ["light", "dark", "slides"])
def test_the_loss_panel_draws_the_test_curve_and_marks_the_events_where_they_happened(loop, theme):
    trace = loop[0].trace
    look = get_theme(theme)
    renderer = FrameRenderer(trace, theme=theme, loss_panel=True, size=(640, 300))
    frame = renderer.render(len(renderer) - 1)
    ax, (top, bottom, left, right) = _panel_box(renderer)
    panel = frame[top:bottom, left:right]
    assert _colour_pixels(panel, look.test_loss_color).sum() > 60  # the second (dashed) curve
    assert _colour_pixels(panel, look.loss_color).sum() > 60
    # Each event's dashed line stands at its step: a column inked over much of the panel's height
    # (the curves cross a column in a few pixels), where the axes' data-to-pixel mapping puts the step.
    background = panel[panel.shape[0] // 2, -3].astype(int)
    ink = (np.abs(panel.astype(int) - background).max(axis=-1) > 25).sum(axis=0)
    lines = set(np.flatnonzero(ink > 0.3 * panel.shape[0]).tolist())
    for step in (3, 5):
        expected = ax.transData.transform((step, 0))[0] - left
        assert lines & {int(expected) - 1, int(expected), int(expected) + 1}, (step, expected, sorted(lines))
    # and nowhere else, but at the rate change (step 6) and the frame's edge
    expected = {int(ax.transData.transform((s, 0))[0] - left) for s in (3, 5, 6)}
    assert all(min(abs(c - e) for e in expected) <= 1 for c in lines if 2 < c < panel.shape[1] - 3), sorted(lines)
    renderer.close()


def test_the_title_shows_the_learning_rate_and_the_panel_writes_its_changes(loop):
    renderer = FrameRenderer(loop[0].trace, loss_panel=True, size=(640, 300))
    renderer.render(0)
    texts = [t.get_text() for ax in renderer.figure.axes for t in ax.texts] + [renderer.figure.axes[0].get_title()]
    assert any("lr=0.5" in t for t in texts)
    assert any("lr 0.05" in t for t in texts) and any("lr 0.5" in t for t in texts)
    renderer.render(len(renderer) - 1)
    assert "lr=0.05" in renderer.figure.axes[0].get_title()
    renderer.close()


def test_test_points_are_drawn_hollow_inside_the_axes():
    x = np.linspace(0, 10, 20)
    scene = ca.scenes.LineFit(x, 2 * x, test=([2.0, 8.0], [15.0, 3.0]), xlim=(0, 10), ylim=(-2, 22))
    rec = ca.Recorder(scene)
    rec.capture(loss=1.0, w=2.0, b=0.0)
    renderer = FrameRenderer(rec.trace, size=(400, 300))
    frame = renderer.render(0)
    ax = renderer.figure.axes[0]
    blue = _colour_pixels(frame, get_theme("light").point_color)
    for point in ((2.0, 15.0), (8.0, 3.0)):
        px, py = ax.transData.transform(point)
        column, row = int(round(px)), int(round(300 - py))
        assert not blue[row, column]  # hollow: the centre is background
        assert blue[row - 6 : row + 7, column - 6 : column + 7].sum() > 12  # the ring around it
    # The test loss is the scene's loss (half the mean squared error) of each captured line on the test set.
    assert rec.trace.test_losses[0] == pytest.approx(0.5 * ((15 - 4) ** 2 + (3 - 16) ** 2) / 2)
    renderer.close()


def test_curve_fit_computes_the_test_mse_and_a_given_test_loss_wins():
    x = np.linspace(-1, 1, 30)
    scene = ca.scenes.CurveFit(x, x**2, test=([0.5, 2.0], [0.0, 1.0]), resolution=20)
    rec = ca.Recorder(scene)
    rec.capture(predict=lambda t: 2 * t)
    rec.capture(predict=lambda t: 2 * t, test_loss=7.0)
    assert rec.trace.test_losses[0] == pytest.approx(((1.0 - 0.0) ** 2 + (4.0 - 1.0) ** 2) / 2, rel=1e-6)
    assert rec.trace.test_losses[1] == 7.0
    assert "test_loss" not in rec.trace.state


def test_a_projected_view_projects_the_test_points_too():
    generator = np.random.default_rng(0)
    points = generator.normal(size=(40, 4))
    labels = (points[:, 0] > 0).astype(int)
    test = generator.normal(size=(10, 4)) * 3
    scene = ca.scenes.DecisionBoundary(points, labels, test=(test, (test[:, 0] > 0).astype(int)), resolution=20)
    alone = ca.scenes.DecisionBoundary(np.concatenate([points, test]), np.zeros(50), classes=2, resolution=20)
    origin, to_view, _ = scene.plane
    assert np.allclose(scene.shown_test_points, (test - origin) @ to_view)
    shown = scene.shown_test_points
    assert (shown[:, 0] >= scene.xlim[0]).all() and (shown[:, 0] <= scene.xlim[1]).all()
    assert not np.allclose(scene.plane[1], alone.plane[1])  # the plane is the training points' own


def test_a_race_draws_each_runs_test_loss_dashed_in_its_colour(tmp_path, memory_encoder):
    traces = race_demo("overfit", [("adam", None), ("sgd", None)], max_iter=40, every=10)
    assert all(np.isfinite(t.test_losses).all() for t in traces)
    ca.render(traces, tmp_path / "race.frames", loss_panel=True, size=(480, 240), max_frames=3)
    frame = memory_encoder.last.frames[-1]
    right = frame[:, frame.shape[1] // 2 :]
    for colour in RACE_COLORS[:2]:
        assert _colour_pixels(right, colour, tolerance=30).sum() > 100


def test_bad_input_is_one_clear_error():
    rec = ca.Recorder(ca.scenes.LineFit([0, 1], [0, 1]))
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)
    with pytest.raises(CaptureError, match="not both"):
        rec.capture(loss=1.0, w=1, b=0, lr=0.1, optimizer=opt)
    with pytest.raises(CaptureError, match="optimizer= must be a torch.optim optimizer"):
        rec.capture(loss=1.0, w=1, b=0, optimizer="adam")
    with pytest.raises(UsageError, match="needs a text"):
        rec.mark(3, "  ")
    with pytest.raises(UsageError, match="events must be a dict"):
        ca.Recorder(ca.scenes.LineFit([0, 1], [0, 1]), events=[(3, "x")])
    with pytest.raises(UsageError, match="test set: points have 3 features, the training points 2"):
        ca.scenes.DecisionBoundary(np.zeros((4, 2)), [0, 1, 0, 1], test=(np.zeros((2, 3)), [0, 1]))
    with pytest.raises(UsageError, match="test must be a pair"):
        ca.scenes.CurveFit([0, 1], [0, 1], test=[1, 2, 3])
    with pytest.raises(UsageError, match="hand-written loop"):
        run_demo("linear", test_fraction=0.3)
    with pytest.raises(UsageError, match="test_fraction must be"):
        run_demo("sine", test_fraction=1.0, max_iter=2)


def test_the_overfit_demo_overfits():
    trace = run_demo("overfit", every=40).trace
    test, train = trace.test_losses, trace.losses
    low = int(np.argmin(test))
    assert 0 < low < len(test) - 1
    assert test[-1] > 1.5 * test[low]  # the test loss rises after its minimum ...
    assert train[-1] < train[low] < train[0]  # ... while the training loss keeps falling
    assert len(trace.data["test_points"]) == 40  # half of the 80 points held out
    # Evaluating the test loss at each capture changes no training.
    recorded = run_demo("overfit", every=40, max_iter=60).params
    plain = run_demo("overfit", every=40, max_iter=60, record=False).params
    assert all(torch.equal(recorded[name], plain[name]) for name in plain)


def test_a_race_marks_each_runs_rate_changes_in_its_colour():
    from matplotlib.colors import to_hex

    traces = [run_demo("sine", lr=lr, lr_drops=[10], max_iter=30, every=5).trace for lr in (0.01, 0.02)]
    renderer = FrameRenderer(traces, loss_panel=True, size=(480, 240))
    renderer.render(len(renderer) - 1)
    texts = {(t.get_text().strip(), to_hex(t.get_color())) for t in renderer.figure.axes[1].texts}
    assert {("lr 0.001", RACE_COLORS[0]), ("lr 0.002", RACE_COLORS[1]), ("lr / 10", to_hex("#333333"))} <= texts
    renderer.close()


def test_cli_demo_with_a_test_set_and_lr_drops_writes_an_mp4_and_refuses_a_bad_fraction(run, tmp_path):
    import imageio.v3 as iio

    result = run("demo", "sine", "--test-fraction", "0.25", "--lr-drops", "20", "--max-iter", "40", "--every", "10",
                 "--size", "320x160", "-o", "sine.mp4", "--save-trace", "sine.npz", "-q")
    assert result.exit_code == 0, result.output
    frames = iio.imread(tmp_path / "sine.mp4", index=None)
    assert frames.shape[0] == 5 and frames.shape[1:3] == (320, 640)  # MP4 stores each pixel as 2x2 (sharp colour)
    trace = ca.Trace.load(tmp_path / "sine.npz")
    assert np.isfinite(trace.test_losses).all() and len(trace.data["test_x"]) == 20
    assert list(trace.event_steps) == [20] and np.allclose(trace.learning_rates, [0.01] * 2 + [0.001] * 3)
    for bad in ("0", "1", "-0.5"):
        result = run("demo", "sine", "--test-fraction", bad, "-o", "x.gif")
        assert result.exit_code == 2 and "--test-fraction" in result.output
    result = run("demo", "logistic", "--lr-drops", "10", "-o", "x.gif")
    assert result.exit_code == 2 and "hand-written loop" in result.output
    assert run("demo", "sine", "--lr-drops", "ten", "-o", "x.gif").exit_code == 2


def test_cli_fit_holds_out_rows_of_a_csv(run, tmp_path):
    from pathlib import Path

    data = Path(__file__).parent / "data" / "iris_like.csv"
    result = run("fit", data, "--task", "classify", "--label-column", "species", "--features", "all",
                 "--test-fraction", "0.3", "--max-iter", "20", "--every", "10", "--size", "480x200",
                 "-o", "iris.gif", "--save-trace", "iris.npz", "-q")
    assert result.exit_code == 0, result.output
    import imageio.v3 as iio

    frames = iio.imread(tmp_path / "iris.gif", index=None)
    assert frames.shape[:3] == (3, 200, 480)  # steps 0, 10 and the last, 19
    trace = ca.Trace.load(tmp_path / "iris.npz")
    total = len(trace.data["points"]) + len(trace.data["test_points"])
    assert len(trace.data["test_points"]) == round(0.3 * total)
    assert np.isfinite(trace.test_losses).all()


def test_predicted_against_actual_draws_the_test_points_at_their_predictions():
    generator = np.random.default_rng(1)
    x, x_test = generator.normal(size=(30, 3)), generator.normal(size=(8, 3))
    weights = np.array([1.0, -2.0, 0.5])
    scene = ca.scenes.CurveFit(x, x @ weights, test=(x_test, x_test @ weights))
    rec = ca.Recorder(scene)
    for scale in (0.0, 0.5, 1.0):
        rec.capture(loss=1 - scale, predict=lambda t, s=scale: t @ torch.tensor(weights, dtype=t.dtype) * s)
    trace = rec.trace
    assert trace.state["test_y_pred"].shape == (3, 8)
    assert np.allclose(trace.test_losses, [np.mean((x_test @ weights * (1 - s)) ** 2) for s in (0.0, 0.5, 1.0)],
                       rtol=1e-5)
    renderer = FrameRenderer(trace, size=(400, 300))
    ax = renderer.figure.axes[0]
    lonely = int(np.argmax(np.min(np.abs((x_test @ weights)[:, None] - x @ weights), axis=1)))  # far from the others
    px, py = ax.transData.transform((x_test[lonely] @ weights,) * 2)  # a perfect model: on the diagonal
    column, row = int(round(px)), int(round(300 - py))

    def ring(index):
        blue = _colour_pixels(renderer.render(index), get_theme("light").point_color)
        return int(blue[row - 6 : row + 7, column - 6 : column + 7].sum())

    assert ring(0) == 0 and ring(2) > 6  # the test point moved onto the diagonal as the model learned
    assert "train R\u00b2 = 1.000" in [t.get_text() for t in ax.texts]
    renderer.close()
