import numpy as np
import pytest
import torch

import convergence_anim as ca
from convergence_anim.demos import run_demo


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
