import numpy as np
import pytest
import torch

import convergence_anim as ca
from convergence_anim import landscape as L
from convergence_anim.demos import run_demo


def _direct_half_mse(x, y, w, b):
    return 0.5 * np.mean((y - (w * x + b)) ** 2)


def test_line_fit_grid_is_the_exact_loss_at_every_point(linear_trace):
    ls = L.landscape_of([linear_trace])
    x, y = linear_trace.data["x"], linear_trace.data["y"]
    for j, i in [(0, 0), (5, 17), (40, 40), (80, 3), (ls.loss.shape[0] - 1, ls.loss.shape[1] - 1)]:
        assert ls.loss[j, i] == pytest.approx(_direct_half_mse(x, y, ls.xs[i], ls.ys[j]), rel=1e-12)


def test_linear_boundary_losses_match_the_blogs_formulas(logistic_trace):
    data = logistic_trace.data
    px, py, c = data["points"][:, 0], data["points"][:, 1], data["labels"]
    for w, b in [(1.0, 0.0), (-0.7, 0.3), (3.0, -2.0)]:
        p = 1 / (1 + np.exp(-(w * px + b - py)))
        blog = np.mean((p - c) ** 2)
        cross_entropy = -np.mean(c * np.log(p) + (1 - c) * np.log(1 - p))
        got = L.two_parameter_loss("linear_boundary", data, "squared_sigmoid", w, b)
        assert got == pytest.approx(blog, rel=1e-12)
        assert L.two_parameter_loss("linear_boundary", data, "cross_entropy", w, b) == pytest.approx(cross_entropy, rel=1e-9)
    # The logistic demo names the blog's loss, so its landscape is the loss it trained on.
    assert logistic_trace.options["loss"] == "squared_sigmoid"
    assert L.landscape_of([logistic_trace]).title.endswith("squared sigmoid")


def test_window_covers_the_path_with_a_margin(linear_trace):
    ls = L.landscape_of([linear_trace])
    w, b = linear_trace.state["w"], linear_trace.state["b"]
    assert ls.xs[0] < w.min() and ls.xs[-1] > w.max() and ls.ys[0] < b.min() and ls.ys[-1] > b.max()
    span = b.max() - b.min()  # the longer side: b moves further than w in this run
    assert ls.ys[0] == pytest.approx(b.min() - 0.25 * span) and ls.ys[-1] == pytest.approx(b.max() + 0.25 * span)
    assert ls.xs[-1] - ls.xs[0] == pytest.approx(0.5 * (ls.ys[-1] - ls.ys[0]))  # the short side widened


def test_levels_are_log_spaced_only_when_the_loss_spans_decades():
    levels, log = L.contour_levels(np.array([[0.01, 1.0], [10.0, 100.0]]), count=5)
    assert log and np.allclose(np.diff(np.log(levels)), np.log(levels[1] / levels[0]))
    assert 0.01 < levels[0] < levels[-1] == 100.0
    levels, log = L.contour_levels(np.array([[1.0, 2.0], [3.0, 4.0]]), count=3)
    assert not log and list(levels) == [1.75, 2.5, 3.25]


def test_unknown_loss_is_a_usage_error():
    with pytest.raises(ca.UsageError, match="loss must be one of half_mse, mse, mae"):
        ca.scenes.LineFit([1.0, 2.0], [1.0, 2.0], loss="hinge")


def test_pca_plane_of_a_path_in_a_plane_recovers_it_and_ends_at_the_final_point():
    rng = np.random.default_rng(0)
    basis = np.linalg.qr(rng.normal(size=(6, 2)))[0].T  # two orthonormal directions in 6-D
    coords = np.column_stack([np.linspace(3, 0, 20), np.sin(np.linspace(0, 3, 20))])
    path = 5.0 + coords @ basis
    plane = L.pca_plane([path])
    projected = plane.project(path)
    np.testing.assert_allclose(projected[-1], [0.0, 0.0], atol=1e-12)
    np.testing.assert_allclose(plane.directions @ plane.directions.T, np.eye(2), atol=1e-12)
    # Distances within the path are kept: the path lies in the plane.
    np.testing.assert_allclose(np.linalg.norm(projected - projected[0], axis=1),
                               np.linalg.norm(path - path[0], axis=1), atol=1e-10)


def test_a_straight_path_still_gets_a_plane_and_a_still_one_is_refused():
    path = np.outer(np.linspace(0, 1, 5), [1.0, 2.0, 0.0])
    plane = L.pca_plane([path])
    assert plane.explained[1] == 0 and abs(plane.directions[0] @ plane.directions[1]) < 1e-12
    with pytest.raises(ca.UsageError, match="never moved"):
        L.pca_plane([np.ones((4, 3))])


class _Net(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.layer = torch.nn.Linear(2, 4)
        self.drop = torch.nn.Dropout(0.5)
        self.out = torch.nn.Linear(4, 1)

    def forward(self, x):
        return self.out(self.drop(torch.tanh(self.layer(x))))


def _train_recorded(params: bool):
    torch.manual_seed(0)
    x, y = torch.randn(32, 2), torch.randn(32, 1)
    net = _Net()
    opt = torch.optim.SGD(net.parameters(), lr=0.1)
    scene = ca.scenes.CurveFit(np.zeros(2), np.zeros(2), resolution=4)  # any model scene; its picture is not tested
    rec = ca.Recorder(scene, every=2, params=params)
    loss_fn = torch.nn.functional.mse_loss
    for step in range(12):
        opt.zero_grad()
        loss = loss_fn(net(x), y)
        loss.backward()
        opt.step()
        rec.capture(step, loss=loss, model=_first_input(net), force=step == 11)
    return net, rec, loss_fn, x, y


class _first_input(torch.nn.Module):
    """Feeds CurveFit's (m, 1) grid to a 2-input net; shares the net's parameters."""

    def __init__(self, net):
        super().__init__()
        self.net = net

    def forward(self, x):
        return self.net(torch.cat([x, x], dim=1))


def test_parameter_recording_never_changes_training():
    with_params, _, _, _, _ = _train_recorded(True)
    without, _, _, _, _ = _train_recorded(False)
    for a, b in zip(with_params.parameters(), without.parameters()):
        assert torch.equal(a, b)


def test_add_landscape_leaves_the_model_exactly_as_it_was_and_ends_the_path_at_the_final_parameters():
    net, rec, loss_fn, x, y = _train_recorded(True)
    net.train()
    net.drop.eval()  # a mix of modes, which must come back as it was
    before = [p.detach().clone() for p in net.parameters()]
    grads = [p.grad.clone() for p in net.parameters()]
    rng = torch.get_rng_state()
    rec.add_landscape(net, loss_fn, x, y, resolution=7)
    assert all(torch.equal(a, b) for a, b in zip(before, net.parameters()))
    assert all(torch.equal(a, p.grad) for a, p in zip(grads, net.parameters()))
    assert net.training and net.layer.training and not net.drop.training
    assert torch.equal(rng, torch.get_rng_state())
    trace = rec.trace
    final = torch.cat([p.detach().reshape(-1) for p in net.parameters()]).double().numpy()
    np.testing.assert_array_equal(trace.state["parameters"][-1], final)
    np.testing.assert_allclose(trace.state["landscape_path"][-1], [0.0, 0.0], atol=1e-12)
    # A grid value is the loss (in eval mode) at that point of the plane.
    loss, xs, ys = trace.data["landscape_loss"], trace.data["landscape_x"], trace.data["landscape_y"]
    plane = L.Plane(trace.data["landscape_origin"], trace.data["landscape_directions"], trace.data["landscape_explained"])
    vector = torch.as_tensor(plane.point(xs[2], ys[5]), dtype=torch.float32)
    probe = _Net().eval()
    torch.nn.utils.vector_to_parameters(vector, probe.parameters())
    with torch.no_grad():
        assert loss[5, 2] == pytest.approx(float(loss_fn(probe(x), y)), rel=1e-5)


def _plane_and_grid(net, x):
    vectors = np.stack([L.model_parameters(net) + 0.3 * k * np.linspace(-1, 1, 17) for k in (0, 1, 2)])
    vectors[2, ::3] += 0.5  # the path bends: two real directions
    plane = L.pca_plane([vectors])
    return plane, np.linspace(-2, 2, 5), np.linspace(-1, 1, 4)


def _one_point_at_a_time(net, loss_fn, x, y, plane, xs, ys):
    """The landscape as written in the docstring: the loss with each grid point's parameters, in eval mode."""
    probe = _Net().eval()
    out = np.empty((len(ys), len(xs)))
    for j, b in enumerate(ys):
        for i, a in enumerate(xs):
            torch.nn.utils.vector_to_parameters(torch.as_tensor(plane.point(a, b), dtype=torch.float32),
                                                probe.parameters())
            with torch.no_grad():
                out[j, i] = float(loss_fn(probe(x), y))
    return out


def test_batched_landscape_matches_the_loss_at_each_point_and_so_does_an_unbatchable_loss():
    torch.manual_seed(1)
    net, x, y = _Net(), torch.randn(40, 2), torch.randn(40, 1)
    plane, xs, ys = _plane_and_grid(net, x)
    expected = _one_point_at_a_time(net, torch.nn.functional.mse_loss, x, y, plane, xs, ys)
    batched = L.evaluate_on_plane(net, torch.nn.functional.mse_loss, x, y, plane, xs, ys)
    np.testing.assert_allclose(batched, expected, rtol=1e-5)

    def python_float_loss(out, target):  # .item() cannot run inside a batched forward pass
        return torch.tensor(torch.nn.functional.mse_loss(out, target).item())

    np.testing.assert_allclose(L.evaluate_on_plane(net, python_float_loss, x, y, plane, xs, ys), expected, rtol=1e-5)


def test_a_model_that_fails_on_the_plane_is_one_usage_error_naming_the_cause():
    net, x, y = _Net(), torch.randn(8, 2), torch.randn(8, 1)
    plane, xs, ys = _plane_and_grid(net, x)
    with pytest.raises(ca.UsageError, match="landscape plane failed: .*shapes cannot be multiplied"):
        L.evaluate_on_plane(net, torch.nn.functional.mse_loss, torch.randn(8, 3), y, plane, xs, ys)


def test_add_landscape_reports_progress_to_a_callback_and_a_terminal_but_not_to_a_log(monkeypatch):
    import io

    net, rec, loss_fn, x, y = _train_recorded(True)
    seen = []
    rec.add_landscape(net, loss_fn, x, y, resolution=9, progress=lambda done, total: seen.append((done, total)))
    assert seen[-1] == (81, 81) and all(a[0] < b[0] for a, b in zip(seen, seen[1:]))

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    monkeypatch.setattr(L, "PROGRESS_AFTER", 0.0)  # as if the work were long
    for stream, shown in ((Terminal(), True), (io.StringIO(), False)):
        monkeypatch.setattr("sys.stderr", stream)
        rec.add_landscape(net, loss_fn, x, y, resolution=9)
        text = stream.getvalue()
        assert (text.startswith("\rloss landscape: ") and text.endswith(" s\n") and "81/81 points in " in text) == shown
        assert text == "" or shown
    with pytest.raises(ca.UsageError, match="progress must be True, False or a function"):
        rec.add_landscape(net, loss_fn, x, y, resolution=9, progress="yes")


def test_landscape_survives_save_and_load(tmp_path):
    net, rec, loss_fn, x, y = _train_recorded(True)
    rec.add_landscape(net, loss_fn, x, y, resolution=5)
    loaded = ca.Trace.load(rec.trace.save(tmp_path / "t.npz"))
    ls = L.landscape_of([loaded])
    assert ls.loss.shape == (5, 5) and ls.paths[0].shape == (len(loaded), 2)
    np.testing.assert_array_equal(ls.loss, rec.trace.data["landscape_loss"])


def test_add_landscape_needs_params_and_says_so():
    rec = ca.Recorder(ca.scenes.LineFit([0.0, 1.0], [0.0, 1.0]))
    with pytest.raises(ca.UsageError, match=r"Recorder\(scene, params=True\)"):
        rec.add_landscape(torch.nn.Linear(1, 1), torch.nn.functional.mse_loss, torch.zeros(2, 1), torch.zeros(2, 1))
    rec = ca.Recorder(ca.scenes.LineFit([0.0, 1.0], [0.0, 1.0]), params=True)
    with pytest.raises(ca.CaptureError, match="capture with model="):
        rec.capture(0, w=1.0, b=0.0)


def test_model_trace_without_landscape_says_how_to_record_one():
    trace = run_demo("blobs", max_iter=4, every=2).trace
    with pytest.raises(ca.TraceError, match="add_landscape"):
        L.landscape_of([trace])


@pytest.mark.parametrize("optimizer", ["sgd", "momentum", "adam", "rmsprop"])
def test_every_optimizer_trains_the_blog_demos_and_a_model_demo(optimizer):
    run = run_demo("linear", optimizer=optimizer, max_iter=40)
    assert run.trace.meta["optimizer"] == optimizer and run.trace.losses[-1] < run.trace.losses[0]
    run = run_demo("blobs", optimizer=optimizer, max_iter=30, every=10)
    assert run.trace.meta["optimizer"] == optimizer and run.trace.losses[-1] < run.trace.losses[0]


def test_sgd_is_the_blogs_step_and_the_blogs_step_stays_the_default():
    blog, sgd = run_demo("linear", max_iter=50, record=False), run_demo("linear", optimizer="sgd", max_iter=50, record=False)
    for name in ("w", "b"):
        # Same update; torch's SGD fuses lr * grad into one add, so the last bits may differ.
        torch.testing.assert_close(blog.params[name], sgd.params[name], rtol=1e-5, atol=0)
    assert "optimizer" not in run_demo("linear", max_iter=2).trace.meta
    with pytest.raises(ca.UsageError, match="unknown optimizer 'lbfgs'"):
        run_demo("linear", optimizer="lbfgs")
