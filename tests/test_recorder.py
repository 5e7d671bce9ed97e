import random
import warnings

import numpy as np
import pytest
import torch

import convergence_anim as ca
from convergence_anim.demos import run_demo
from tests.tutorials import train_loop


@pytest.mark.parametrize("demo", ["linear", "logistic"])
def test_recording_never_changes_training(demo):
    with_rec = run_demo(demo, max_iter=300)
    without = run_demo(demo, max_iter=300, record=False)
    assert with_rec.iterations == without.iterations
    for name, value in without.params.items():
        assert torch.equal(with_rec.params[name], value), name
    assert without.trace is None and len(with_rec.trace) > 1


def _line_scene():
    return ca.scenes.LineFit(torch.arange(5.0), torch.arange(5.0) * 2)


def test_capture_only_on_multiples_of_every_and_forced_steps():
    rec = ca.Recorder(_line_scene(), every=10)
    recorded = [rec.capture(step, loss=float(step), w=1.0, b=0.0) for step in range(25)]
    assert recorded == [step % 10 == 0 for step in range(25)]
    assert rec.capture(24, loss=24.0, w=3.0, b=0.0, force=True)
    trace = rec.trace
    assert list(trace.steps) == [0, 10, 20, 24]
    assert list(trace.losses) == [0.0, 10.0, 20.0, 24.0]
    assert trace.state["w"][-1] == 3.0


def test_forcing_a_step_already_captured_keeps_one_frame_with_the_newer_values():
    rec = ca.Recorder(_line_scene(), every=5)
    rec.capture(5, loss=1.0, w=1.0, b=0.0)
    rec.capture(5, loss=0.5, w=2.0, b=0.0, force=True)
    assert list(rec.trace.steps) == [5]
    assert rec.trace.losses[0] == 0.5 and rec.trace.state["w"][0] == 2.0


def test_capture_copies_values_out_and_leaves_tensors_alone():
    w = torch.tensor([1.5], requires_grad=True)
    b = torch.zeros(1, requires_grad=True)
    (w * 3 + b).sum().backward()
    grad_before = w.grad.clone()
    rng_before = torch.get_rng_state()
    rec = ca.Recorder(_line_scene(), every=1)
    rec.capture(0, loss=(w * 2).sum(), w=w, b=b)
    with torch.no_grad():
        w += 10  # a later in-place update must not reach the recorded value
    assert rec.trace.state["w"][0] == 1.5
    assert torch.equal(w.grad, grad_before) and b.grad is not None
    assert torch.equal(torch.get_rng_state(), rng_before)
    assert rec.trace.losses[0] == 3.0


def test_trace_is_a_snapshot():
    rec = ca.Recorder(_line_scene(), every=1)
    rec.capture(0, w=1.0, b=0.0)
    first = rec.trace
    rec.capture(1, w=2.0, b=0.0)
    assert len(first) == 1 and len(rec.trace) == 2


@pytest.mark.parametrize("training", [True, False])
def test_model_capture_reads_the_line_and_restores_mode(training):
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(1, 1), torch.nn.Dropout(0.5))
    model.train(training)
    rec = ca.Recorder(_line_scene(), every=1)
    rng_before = torch.get_rng_state()
    rec.capture(0, model=model)
    assert [m.training for m in model.modules()] == [training, training, training]
    assert torch.equal(torch.get_rng_state(), rng_before)
    linear = model[0]
    assert rec.trace.state["w"][0] == pytest.approx(linear.weight.item(), abs=1e-6)
    assert rec.trace.state["b"][0] == pytest.approx(linear.bias.item(), abs=1e-6)


def test_linear_boundary_from_a_model_matches_its_zero_logit_line():
    model = torch.nn.Linear(2, 1)
    with torch.no_grad():
        model.weight.copy_(torch.tensor([[2.0, -4.0]]))
        model.bias.copy_(torch.tensor([1.0]))
    scene = ca.scenes.LinearBoundary(torch.randn(10, 2), torch.arange(10) % 2)
    rec = ca.Recorder(scene, every=1)
    rec.capture(0, model=model)
    # 2x - 4y + 1 = 0  <=>  y = 0.5x + 0.25
    assert rec.trace.state["w"][0] == pytest.approx(0.5)
    assert rec.trace.state["b"][0] == pytest.approx(0.25)


@pytest.mark.parametrize("every", [0, -3, 1.5, True, "2"])
def test_every_must_be_a_positive_integer(every):
    with pytest.raises(ca.UsageError, match="every must be a positive integer"):
        ca.Recorder(_line_scene(), every=every)


def test_wrong_shape_names_the_value_and_shape():
    rec = ca.Recorder(_line_scene(), every=1)
    with pytest.raises(ca.CaptureError, match=r"'w' must hold one number, got shape \(2, 3\)"):
        rec.capture(0, w=torch.zeros(2, 3), b=0.0)


def test_wrong_names_say_what_the_scene_captures():
    rec = ca.Recorder(_line_scene(), every=1)
    with pytest.raises(ca.CaptureError, match=r"LineFit captures \(w=, b=\) or \(model=\); got b, weight"):
        rec.capture(0, weight=1.0, b=0.0)


def test_steps_must_not_go_backwards():
    rec = ca.Recorder(_line_scene(), every=1)
    rec.capture(5, w=1.0, b=0.0)
    with pytest.raises(ca.CaptureError, match="step 3 is before the last captured step 5"):
        rec.capture(3, w=1.0, b=0.0)


def test_losses_are_nan_when_not_given_and_not_divergence():
    rec = ca.Recorder(_line_scene(), every=1)
    rec.capture(0, w=1.0, b=0.0)
    rec.capture(1, w=1.0, b=0.0)
    assert np.isnan(rec.trace.losses).all()
    assert rec.trace.diverged_at is None


def test_diverged_at_is_the_first_non_finite_capture():
    run = run_demo("linear", lr=0.1, every=5)
    trace = run.trace
    assert trace.diverged_at is not None
    first_bad = int(np.flatnonzero(~np.isfinite(trace.losses))[0])
    assert trace.diverged_at == trace.steps[first_bad]
    assert np.isfinite(trace.losses[:first_bad]).all()


def test_model_is_evaluated_on_its_own_device_and_dtype_and_only_outputs_come_back():
    class Checked(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.linear = torch.nn.Linear(1, 1).double()
            self.seen = []

        def forward(self, x):
            self.seen.append((x.device, x.dtype))
            return self.linear(x)

    model = Checked()
    rec = ca.Recorder(_line_scene(), every=1)
    rec.capture(0, model=model)
    param = next(model.parameters())
    # The grid went to where the parameters live, in their dtype (no GPU here: the same code path
    # moves it to cuda for a model on cuda); what the trace keeps is a plain CPU array.
    assert model.seen == [(param.device, torch.float64)]
    assert isinstance(rec.trace.state["w"], np.ndarray)
    assert rec.trace.state["w"][0] == pytest.approx(model.linear.weight.item())


# -- the capture budget -----------------------------------------------------------------------------


def _record(steps, max_captures, every=1, force_last=True):
    rec = ca.Recorder(_line_scene(), every=every, max_captures=max_captures)
    for step in range(steps):
        rec.capture(step, loss=float(step), w=float(step), b=0.0, force=force_last and step == steps - 1)
    return rec


def test_reaching_the_budget_thins_to_every_other_capture_and_doubles_the_interval():
    with pytest.warns(UserWarning, match=r"Recorder kept 6 of 11 captures \(max_captures=10\) and now captures every 2 steps"):
        rec = _record(11, max_captures=10)
    assert list(rec.trace.steps) == [0, 2, 4, 6, 8, 10]
    assert rec.every == 2 and rec.trace.meta["capture_every"] == 2
    # Each kept capture still holds its own values.
    assert list(rec.trace.losses) == [0, 2, 4, 6, 8, 10] and list(rec.trace.state["w"]) == [0, 2, 4, 6, 8, 10]


def test_a_long_run_stays_within_budget_evenly_spread_with_first_and_last_kept():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        rec = _record(10_001, max_captures=100, every=3)
    steps = rec.trace.steps
    assert len(steps) <= 100
    assert steps[0] == 0 and steps[-1] == 10_000  # the start, and the forced last step
    every = rec.trace.meta["capture_every"]
    assert every == 3 * 2**6  # the first doubling of 3 that fits 10,000 steps in 100 captures
    np.testing.assert_array_equal(np.diff(steps[:-1]), every)  # evenly spread up to the forced last step
    assert steps[-2] > 10_000 - every  # and over the whole run
    assert len([w for w in caught if "Recorder kept" in str(w.message)]) == 1  # said once


def test_thinning_drops_forced_steps_off_the_interval_but_never_the_newest():
    rec = ca.Recorder(_line_scene(), every=4, max_captures=4)
    for step in (0, 3, 4, 8):
        rec.capture(step, w=1.0, b=0.0, force=True)
    with pytest.warns(UserWarning):
        rec.capture(9, w=1.0, b=0.0, force=True)  # off every interval, but newest: kept
    assert list(rec.trace.steps) == [0, 8, 9]
    rec.capture(16, w=1.0, b=0.0)
    assert list(rec.trace.steps) == [0, 8, 9, 16]


def test_captures_within_budget_are_all_kept_without_a_warning():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        rec = _record(10, max_captures=10)
    assert list(rec.trace.steps) == list(range(10)) and rec.trace.meta["capture_every"] == 1


def test_no_budget_keeps_every_capture():
    rec = _record(3000, max_captures=None)
    assert len(rec.trace) == 3000 and rec.every == 1


def test_the_default_budget_is_2000_captures():
    rec = ca.Recorder(_line_scene())
    assert rec.max_captures == 2000


@pytest.mark.parametrize("max_captures", [0, 1, 2.5, True, "100"])
def test_max_captures_must_be_none_or_at_least_two(max_captures):
    with pytest.raises(ca.UsageError, match="max_captures must be None or an integer of at least 2"):
        ca.Recorder(_line_scene(), max_captures=max_captures)


def test_capture_every_is_a_reserved_meta_key():
    with pytest.raises(ca.UsageError, match="'capture_every' is reserved"):
        ca.Recorder(_line_scene(), meta={"capture_every": 5})
    assert ca.Recorder(_line_scene(), every=5, meta={"every": 5}).trace.meta == {"every": 5, "capture_every": 5}


def test_a_trace_stays_a_snapshot_through_thinning_and_overwrites():
    rec = ca.Recorder(_line_scene(), every=1, max_captures=4)
    for step in range(4):
        rec.capture(step, w=float(step), b=0.0)
    before = rec.trace
    rec.capture(3, w=30.0, b=0.0, force=True)  # overwrites the newest capture
    with pytest.warns(UserWarning):
        rec.capture(4, w=4.0, b=0.0)  # thins
    assert list(before.steps) == [0, 1, 2, 3] and list(before.state["w"]) == [0.0, 1.0, 2.0, 3.0]
    assert list(rec.trace.steps) == [0, 2, 4] and list(rec.trace.state["w"]) == [0.0, 2.0, 4.0]


class _Sized(ca.scenes.Scene):
    """A scene whose capture is as long as asked: ``capture(step, n=...)``."""

    name = "sized_for_test"

    def capture(self, state):
        return {"v": np.zeros(int(state["n"]))}

    def to_data(self):
        return {}, {}


def test_capture_values_must_keep_their_shape():
    rec = ca.Recorder(_Sized(), every=1)
    rec.capture(0, n=3)
    with pytest.raises(ca.CaptureError, match=r"'v' has shape \(4,\), earlier captures had \(3,\)"):
        rec.capture(1, n=4)
    assert len(rec) == 1 and rec.trace.state["v"].shape == (1, 3)


def _train_mlp(steps, rec):
    """A small MLP with dropout: training that consumes the RNG on every step."""
    torch.manual_seed(0)
    points = torch.randn(64, 2)
    labels = (points[:, 0] * points[:, 1] > 0).long()
    model = torch.nn.Sequential(torch.nn.Linear(2, 16), torch.nn.Tanh(), torch.nn.Dropout(0.2), torch.nn.Linear(16, 2))
    optimizer = torch.optim.Adam(model.parameters(), lr=0.05)
    for step in range(steps):
        optimizer.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(points), labels)
        loss.backward()
        optimizer.step()
        if rec is not None:
            rec.capture(step, loss=loss, model=model, force=step == steps - 1)
    return model.state_dict(), points, labels


def test_recording_with_thinning_never_changes_training():
    without, points, labels = _train_mlp(150, None)
    rec = ca.Recorder(ca.scenes.DecisionBoundary(points, labels, resolution=20), every=1, max_captures=16)
    with pytest.warns(UserWarning, match="Recorder kept"):
        with_rec, _, _ = _train_mlp(150, rec)
    assert rec.every > 1 and len(rec) <= 16 and rec.trace.steps[-1] == 149
    for name, value in without.items():
        assert torch.equal(with_rec[name], value), name


def test_grid_captures_are_small_on_disk(tmp_path):
    # 400 captures of a 200x200 grid from a model that learns (a boundary that sharpens and moves): under
    # 25 KB a capture on disk, so 2,000 of them stay under 50 MB (benchmarks/recorder.py measures memory).
    torch.manual_seed(1)
    points = torch.randn(200, 2)
    labels = (points[:, 0] + 0.5 * points[:, 1] ** 2 > 0.2).long()
    scene = ca.scenes.DecisionBoundary(points, labels)
    model = torch.nn.Sequential(torch.nn.Linear(2, 16), torch.nn.Tanh(), torch.nn.Linear(16, 1))
    rec = ca.Recorder(scene, every=1)
    with torch.no_grad():
        for step in range(400):
            for p in model.parameters():
                p.mul_(1.0015).add_(torch.randn_like(p) * 0.01)  # a random walk that grows: sharper and moving
            rec.capture(step, loss=1.0 / (step + 1), model=model)
    trace = rec.trace
    assert len(trace) == 400 and trace.state["probability"].shape == (400, 200, 200)
    path = trace.save(tmp_path / "long.npz")
    size = path.stat().st_size
    assert size < 400 * 25e3, f"{size / 400 / 1e3:.1f} KB a capture"
    loaded = ca.Trace.load(path)
    np.testing.assert_array_equal(loaded.state["probability"], trace.state["probability"])


# -- deferred grid evaluation -------------------------------------------------------------------------


def _classifier():
    """2 -> 16 -> 2 with batch norm (buffers that change each step) and dropout (draws in training)."""
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(2, 16), torch.nn.BatchNorm1d(16), torch.nn.Tanh(),
                               torch.nn.Dropout(0.3), torch.nn.Linear(16, 2))


def _train_recorded(model, scene, steps, *, max_captures=8, expected=None):
    """Adam on a two-class problem, captured every step: the recorder and how many captures it recorded.

    ``expected[step]`` is set to ``scene.evaluate(model)`` at each step: what an immediate capture stores.
    """
    torch.manual_seed(1)
    points = torch.randn(64, 2)
    labels = (points[:, 0] * points[:, 1] > 0).long()
    optimizer = torch.optim.Adam(model.parameters(), lr=0.05)
    rec = ca.Recorder(scene, every=1, max_captures=max_captures)
    recorded = 0
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Recorder kept")
        for step in range(steps):
            optimizer.zero_grad()
            out = model(points)
            loss = torch.nn.functional.cross_entropy(out, labels) if out.shape[1] == 2 else out.square().mean()
            loss.backward()
            optimizer.step()
            if expected is not None:
                expected[step] = scene.evaluate(model)
            recorded += rec.capture(step, loss=loss, model=model, force=step == steps - 1)
    return rec, recorded


class _GridCounter:
    """Counts the forward passes of ``model`` on ``cells`` inputs (grid evaluations, not training steps)."""

    def __init__(self, model, cells):
        self.count = 0
        model.register_forward_hook(lambda module, inputs, out: self._seen(inputs[0], cells))

    def _seen(self, inputs, cells):
        self.count += inputs.shape[0] == cells


@pytest.mark.parametrize("scene_kind", ["boundary", "curve"])
def test_deferred_captures_draw_what_an_evaluation_at_their_step_draws(scene_kind):
    points = torch.randn(30, 2)
    if scene_kind == "boundary":  # 592 bytes of parameters and buffers, 900 of capture: deferred
        model, scene = _classifier(), ca.scenes.DecisionBoundary(points, (points[:, 0] > 0).long(), resolution=30)
    else:  # 1 -> 1 through an MLP with batch norm: 236 bytes of parameters and buffers, 800 of capture
        torch.manual_seed(0)
        model = torch.nn.Sequential(torch.nn.Linear(1, 8), torch.nn.BatchNorm1d(8), torch.nn.Tanh(),
                                    torch.nn.Dropout(0.3), torch.nn.Linear(8, 1))
        model = _FirstFeature(model)
        scene = ca.scenes.CurveFit(points[:, 0], points[:, 1])
    expected = {}
    rec, recorded = _train_recorded(model, scene, 40, expected=expected)
    trace = rec.trace
    assert len(trace) < recorded and trace.steps[0] == 0 and trace.steps[-1] == 39
    for i, step in enumerate(trace.steps):
        for name, value in expected[int(step)].items():
            np.testing.assert_array_equal(trace.state[name][i], value, err_msg=f"{name} at step {step}")
    # The run really changes what is drawn, so equal arrays are not equal by accident.
    first, last = (next(iter(trace.state.values()))[i] for i in (0, -1))
    assert not np.array_equal(first, last)


class _FirstFeature(torch.nn.Module):
    """Trains on 2-feature points but maps one x to one y, as CurveFit evaluates it."""

    def __init__(self, inner):
        super().__init__()
        self.inner = inner

    def forward(self, x):
        return self.inner(x[:, :1])


def test_only_the_captures_the_trace_keeps_are_evaluated():
    model = _classifier()
    counter = _GridCounter(model, 900)
    scene = ca.scenes.DecisionBoundary(torch.randn(30, 2), torch.arange(30) % 2, resolution=30)
    rec, recorded = _train_recorded(model, scene, 40)
    assert counter.count == 1  # the first capture, at once; the others wait for the trace
    trace = rec.trace
    assert len(trace) < recorded and counter.count == len(trace)  # thinning dropped the others unevaluated
    rec.trace
    assert counter.count == len(trace)  # evaluated once


def test_a_model_larger_than_the_grid_is_evaluated_at_each_capture():
    model = _classifier()  # 592 bytes, more than a capture of the 10 x 10 grid (100 bytes)
    counter = _GridCounter(model, 100)
    expected = {}
    scene = ca.scenes.DecisionBoundary(torch.randn(30, 2), torch.arange(30) % 2, resolution=10)
    rec, recorded = _train_recorded(model, scene, 40, expected=expected)
    # 40 evaluations by the test itself (expected), one per capture, none when the trace is built.
    assert counter.count == 40 + recorded
    trace = rec.trace
    assert counter.count == 40 + recorded and len(trace) < recorded
    for i, step in enumerate(trace.steps):
        np.testing.assert_array_equal(trace.state["probability"][i], expected[int(step)]["probability"])


def test_building_the_trace_leaves_the_model_and_rng_as_they_were():
    model = _classifier()
    rec, _ = _train_recorded(model, ca.scenes.DecisionBoundary(torch.randn(30, 2), torch.arange(30) % 2, resolution=30), 12)
    model[1].eval()  # mixed modes must survive as they are
    modes = [m.training for m in model.modules()]
    tensors = {name: t.clone() for name, t in [*model.named_parameters(), *model.named_buffers()]}
    grads = {name: p.grad.clone() for name, p in model.named_parameters()}
    rng = torch.get_rng_state()
    assert len(rec.trace) == 7
    assert [m.training for m in model.modules()] == modes
    assert torch.equal(torch.get_rng_state(), rng)
    for name, t in [*model.named_parameters(), *model.named_buffers()]:
        assert torch.equal(t, tensors[name]), name
    for name, p in model.named_parameters():
        assert torch.equal(p.grad, grads[name]), name


def test_the_recorder_holds_the_model_only_until_the_trace_is_built():
    import gc
    import weakref

    model = _classifier()
    rec, _ = _train_recorded(model, ca.scenes.DecisionBoundary(torch.randn(30, 2), torch.arange(30) % 2, resolution=30), 12)
    alive = weakref.ref(model)
    del model
    gc.collect()
    assert alive() is not None  # pending captures still need it
    trace = rec.trace
    gc.collect()
    assert alive() is None and len(trace) == 7


def test_predict_captures_are_evaluated_at_once():
    w = torch.zeros(1)
    rec = ca.Recorder(ca.scenes.CurveFit([0.0, 1.0], [0.0, 1.0], resolution=5), every=1)
    for step in range(3):
        w.fill_(float(step))  # the callable closes over a tensor that training changes in place
        rec.capture(step, predict=lambda x: x[:, 0] * w)
    grid = np.linspace(-0.1, 1.1, 5, dtype=np.float32)
    np.testing.assert_allclose(rec.trace.state["prediction"], [grid * 0, grid * 1, grid * 2], rtol=1e-6)


def test_a_deferred_capture_that_fails_names_its_step():
    class Breaks(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.linear = torch.nn.Linear(1, 1)
            self.broken = False

        def forward(self, x):
            if self.broken:
                raise RuntimeError("broken on purpose")
            return self.linear(x)

    model = Breaks()
    rec = ca.Recorder(ca.scenes.CurveFit([0.0, 1.0], [0.0, 1.0]), every=1)
    rec.capture(0, model=model)
    rec.capture(1, model=model)
    model.broken = True  # the trace evaluates the module as it is when it is built
    with pytest.raises(ca.CaptureError, match="capture of step 1.*broken on purpose"):
        rec.trace


def test_a_deferred_capture_of_the_same_step_keeps_the_newer_parameters():
    model = torch.nn.Linear(1, 1)
    scene = ca.scenes.CurveFit([0.0, 1.0], [0.0, 1.0], resolution=5)
    rec = ca.Recorder(scene, every=1)
    rec.capture(0, model=model)
    with torch.no_grad():
        model.weight.fill_(1.0), model.bias.fill_(0.0)
        rec.capture(1, model=model)
        model.weight.fill_(2.0)
        rec.capture(1, model=model, force=True)
        model.weight.fill_(3.0)  # after the last capture: not drawn
    grid = np.linspace(-0.1, 1.1, 5, dtype=np.float32)
    assert len(rec.trace) == 2
    np.testing.assert_allclose(rec.trace.state["prediction"][1], 2 * grid, rtol=1e-6)


def test_a_value_captured_later_as_a_wider_kind_widens_and_is_not_cut(tmp_path):
    import math

    def draw(ax, frame):
        ax.plot([0, 1], [0, float(frame["margin"])])

    rec = ca.Recorder(ca.scenes.Plot(draw), every=1)
    rec.capture(0, loss=1.0, margin=0, acc=np.float32(0.5), flag=True)
    before = rec.trace
    rec.capture(1, loss=1.0, margin=0.7, acc=0.123456789, flag=False)
    rec.capture(2, loss=1.0, margin=float("nan"), acc=1e40, flag=3)
    state = rec.trace.state
    np.testing.assert_array_equal(state["margin"][:2], [0.0, 0.7])
    assert math.isnan(state["margin"][2]) and rec.trace.diverged_at == 2
    assert state["acc"].dtype == np.float64 and state["acc"][1] == 0.123456789 and state["acc"][2] == 1e40
    assert state["flag"].dtype.kind == "i" and list(state["flag"]) == [1, 0, 3]
    assert before.state["margin"].dtype.kind == "i" and list(before.state["margin"]) == [0]  # a snapshot


# -- a forward that draws random numbers in eval mode ---------------------------------------------------


class _NoisyNet(torch.nn.Module):
    """Draws random numbers in every forward, eval mode or not: F.dropout's default training=True,
    injected noise (torch and numpy) and Python's random, as a VAE's sampling or a noise layer would."""

    def __init__(self, inputs, outputs):
        super().__init__()
        self.hidden, self.out = torch.nn.Linear(inputs, 8), torch.nn.Linear(8, outputs)

    def forward(self, x):
        h = torch.nn.functional.dropout(torch.tanh(self.hidden(x)), 0.2)  # training=True by default
        h = h + 0.01 * torch.randn_like(h) + 0.01 * float(np.random.randn()) + 0.01 * random.random()
        return self.out(h)


def _noisy_training(scene_kind, record, *, read_trace_midway=False):
    """A loop whose batches (torch), noise (numpy) and augmentation (random) all use global generators."""
    torch.manual_seed(0)
    np.random.seed(0)
    random.seed(0)
    # Both models are smaller than a capture, so the recorder defers their grid evaluation.
    model = _NoisyNet(2, 2) if scene_kind == "boundary" else _FirstFeature(_NoisyNet(1, 1))
    points = torch.randn(64, 2)
    labels = (points[:, 0] > 0).long()
    if scene_kind == "boundary":
        scene = ca.scenes.DecisionBoundary(points, labels, resolution=16)
    else:
        scene = ca.scenes.CurveFit(points[:, 0], points[:, 1], resolution=32)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    rec = ca.Recorder(scene, every=2) if record else None
    for step in range(12):
        batch = torch.randint(0, 64, (16,))
        out = model(points[batch] + 0.01 * torch.from_numpy(np.random.randn(16, 2)).float())
        target = labels[batch] if scene_kind == "boundary" else points[batch, 1:]
        loss = (torch.nn.functional.cross_entropy(out, target) if scene_kind == "boundary"
                else (out - target).square().mean()) * (1 + 0.01 * random.random())
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if rec is not None:
            rec.capture(step, loss=loss, model=model)
            if read_trace_midway and step == 6:
                assert len(rec.trace) == 4  # evaluates the deferred captures now, mid-training
    if rec is not None:
        assert len(rec.trace) == 6
    return [p.detach().clone() for p in model.parameters()]


@pytest.mark.parametrize("scene_kind", ["boundary", "curve"])
@pytest.mark.parametrize("read_trace_midway", [False, True])
def test_a_model_drawing_random_numbers_in_eval_mode_trains_the_same_recorded(scene_kind, read_trace_midway):
    plain = _noisy_training(scene_kind, record=False)
    recorded = _noisy_training(scene_kind, record=True, read_trace_midway=read_trace_midway)
    for a, b in zip(plain, recorded):
        assert torch.equal(a, b)  # bit for bit


# -- steps counted by the recorder, finish, and Python traps ---------------------------------------


def test_capture_without_a_step_counts_its_calls():
    rec = ca.Recorder(_line_scene(), every=3)
    recorded = [rec.capture(loss=float(i), w=float(i), b=0.0) for i in range(8)]
    assert recorded == [i % 3 == 0 for i in range(8)]
    assert list(rec.trace.steps) == [0, 3, 6]
    assert list(rec.trace.losses) == [0.0, 3.0, 6.0]


def test_an_explicit_step_wins_and_the_count_goes_on_from_it():
    rec = ca.Recorder(_line_scene(), every=1)
    rec.capture(loss=0.0, w=0.0, b=0.0)
    rec.capture(10, loss=1.0, w=1.0, b=0.0)
    rec.capture(loss=2.0, w=2.0, b=0.0)
    assert list(rec.trace.steps) == [0, 10, 11]


def test_finish_records_the_last_step_seen_once():
    rec = ca.Recorder(_line_scene(), every=3)
    for i in range(8):  # steps 0..7: 7 is not a multiple of 3
        rec.capture(loss=float(i), w=float(i), b=0.0)
    assert rec.finish(loss=7.0, w=7.5, b=0.0)
    assert list(rec.trace.steps) == [0, 3, 6, 7] and rec.trace.state["w"][-1] == 7.5
    assert not rec.finish(loss=7.0, w=9.0, b=0.0)  # already recorded: nothing changes
    assert list(rec.trace.steps) == [0, 3, 6, 7] and rec.trace.state["w"][-1] == 7.5


def test_finish_after_a_captured_last_step_does_nothing():
    rec = ca.Recorder(_line_scene(), every=2)
    for i in range(7):  # the last step, 6, is captured
        rec.capture(loss=float(i), w=float(i), b=0.0)
    assert not rec.finish(loss=6.0, w=100.0, b=0.0)
    assert list(rec.trace.steps) == [0, 2, 4, 6] and rec.trace.state["w"][-1] == 6.0


def test_a_loss_passed_where_the_step_goes_says_to_name_it():
    rec = ca.Recorder(_line_scene(), every=1)
    with pytest.raises(ca.CaptureError, match=r"step must be an integer, got Tensor; .* rec.capture\(loss=loss"):
        rec.capture(torch.tensor(0.5), w=1.0, b=0.0)


def test_a_scene_class_not_made_into_a_scene_is_refused_in_one_line():
    with pytest.raises(ca.UsageError, match=r"^Recorder takes a scene, not the class LineFit: make one first, "
                                            r"such as Recorder\(LineFit\(x, y\)\)$"):
        ca.Recorder(ca.scenes.LineFit)
    with pytest.raises(ca.UsageError, match="Recorder takes a scene such as scenes.LineFit"):
        ca.Recorder(torch.zeros(3))


def test_a_recorder_is_true_before_its_first_capture():
    rec = ca.Recorder(_line_scene(), every=1)
    assert len(rec) == 0 and bool(rec)
    if rec:
        rec.capture(loss=1.0, w=1.0, b=0.0)
    assert len(rec) == 1


def _nested_loop(record: bool):
    """A DataLoader + Adam + nn.Module loop, epochs x batches, as users write it (the PyTorch tutorial's
    ``train_loop`` each epoch); two lines record it."""
    from torch.utils.data import DataLoader, TensorDataset

    torch.manual_seed(0)
    points = torch.randn(40, 2)
    labels = (points[:, 0] * points[:, 1] > 0).long()
    loader = DataLoader(TensorDataset(points, labels), batch_size=8, shuffle=True)
    model = torch.nn.Sequential(torch.nn.Linear(2, 8), torch.nn.Tanh(), torch.nn.Linear(8, 2))
    optimizer = torch.optim.Adam(model.parameters(), lr=0.05)
    loss_fn = torch.nn.CrossEntropyLoss()

    rec = ca.Recorder(ca.scenes.DecisionBoundary(points, labels, resolution=20), every=4) if record else None
    for epoch in range(3):
        train_loop(loader, model, loss_fn, optimizer, rec)
    return model, rec


def test_a_nested_dataloader_loop_records_with_two_lines_and_trains_the_same():
    model, rec = _nested_loop(record=True)
    plain, _ = _nested_loop(record=False)
    for (name, value), (_, expected) in zip(model.state_dict().items(), plain.state_dict().items()):
        assert torch.equal(value, expected), name
    assert list(rec.trace.steps) == [0, 4, 8, 12]  # 3 epochs x 5 batches: steps 0..14
    assert rec.finish(loss=0.0, model=model)
    assert list(rec.trace.steps) == [0, 4, 8, 12, 14]
