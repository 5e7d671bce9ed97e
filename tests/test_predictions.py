"""Capturing what the loop already computes: ``y_pred=``, and ``predict=`` for models that are not modules."""

import gc
import math
import weakref

import numpy as np
import pytest
import torch

import convergence_anim as ca
from convergence_anim.scenes import CurveFit, DecisionBoundary


def polynomial_tutorial(steps=2000, capture=None):
    """PyTorch's "polynomial with tensors" tutorial: fit y = sin(x) with a + b x + c x^2 + d x^3."""
    torch.manual_seed(0)
    x = torch.linspace(-math.pi, math.pi, 2000)
    y = torch.sin(x)
    a, b, c, d = (torch.randn((), requires_grad=True) for _ in range(4))
    rec = None
    if capture is not None:
        rec = ca.Recorder(CurveFit(x, y), every=20)  # the first added line
    for t in range(steps):
        y_pred = a + b * x + c * x**2 + d * x**3
        loss = (y_pred - y).pow(2).sum()
        if capture == "y_pred":
            rec.capture(t, loss=loss, y_pred=y_pred)  # the second added line
        elif capture == "predict":
            rec.capture(t, loss=loss, predict=lambda s: a + b * s + c * s**2 + d * s**3)
        loss.backward()
        with torch.no_grad():
            for p in (a, b, c, d):
                p -= 1e-6 * p.grad
                p.grad = None
    return rec, (a, b, c, d)


@pytest.mark.parametrize("capture", ["y_pred", "predict"])
def test_the_tutorial_loop_records_with_two_lines_and_trains_bit_for_bit_the_same(capture):
    rec, params = polynomial_tutorial(capture=capture)
    _, alone = polynomial_tutorial()
    assert all(torch.equal(p, q) for p, q in zip(params, alone))
    trace = rec.trace
    name = "y_pred" if capture == "y_pred" else "prediction"
    xs = trace.data["x"] if capture == "y_pred" else CurveFit(trace.data["x"], trace.data["y"]).grid
    inside = np.abs(xs) <= math.pi
    error = [np.abs(trace.state[name][i][inside] - np.sin(xs[inside])).max() for i in (0, -1)]
    assert error[0] > 1.0 and error[-1] < 0.25  # from a random cubic to one hugging the sine


def test_y_pred_is_drawn_as_a_curve_that_bends_towards_the_sine(tmp_path, memory_encoder):
    rec, _ = polynomial_tutorial(capture="y_pred")
    ca.render(rec.trace, tmp_path / "poly.frames", jobs=1)
    last = memory_encoder.last.frames[-1][..., :3]
    red = (last[..., 0] > 200) & (last[..., 1] < 60) & (last[..., 2] < 60)
    red[:60] = False  # not the "Loss=" label above the axes
    rows, cols = np.nonzero(red)
    assert red.sum() > 1500
    # Like the sine, the red curve falls to a low a quarter of the way across, rises to a high three
    # quarters across and falls again (image rows grow downwards): it bends, it is not a line.
    span = cols.min(), cols.max()
    at = [rows[np.abs(cols - (span[0] + f * (span[1] - span[0]))) < 4].mean() for f in (0.03, 0.25, 0.5, 0.75, 0.97)]
    assert at[1] > at[0] + 30 and at[1] > at[2] + 50 and at[2] > at[3] + 50 and at[4] > at[3] + 30, at


def test_predict_is_evaluated_on_the_dense_grid_and_never_kept():
    a, b = torch.tensor(0.5, requires_grad=True), torch.tensor(2.0, requires_grad=True)

    def line(s):
        return a + b * s

    scene = CurveFit([0.0, 1.0, 2.0], [0.0, 2.0, 4.0], resolution=50)
    rec = ca.Recorder(scene)
    rec.capture(0, predict=line)
    np.testing.assert_allclose(rec.trace.state["prediction"][0], 0.5 + 2.0 * scene.grid, rtol=1e-6)
    assert a.grad is None and b.grad is None
    gone = weakref.ref(line)
    del line
    gc.collect()
    assert gone() is None  # neither the scene, the recorder nor the trace holds the function


def test_decision_boundary_with_a_plain_tensor_classifier():
    torch.manual_seed(0)
    X = torch.cat([torch.randn(50, 2) + 2, torch.randn(50, 2) - 2])
    labels = torch.cat([torch.zeros(50), torch.ones(50)]).long()

    def train(record):
        torch.manual_seed(1)
        W = torch.randn(2, 2, requires_grad=True)
        b = torch.zeros(2, requires_grad=True)
        rec = ca.Recorder(DecisionBoundary(X, labels, resolution=30)) if record else None
        for step in range(30):
            logits = X @ W + b
            loss = torch.nn.functional.cross_entropy(logits, labels)
            if record:
                rec.capture(step, loss=loss, predict=lambda P: P @ W + b)
            loss.backward()
            with torch.no_grad():
                W -= 0.1 * W.grad
                b -= 0.1 * b.grad
                W.grad = None
                b.grad = None
        return rec, W, b

    rec, W, b = train(True)
    _, W2, b2 = train(False)
    assert torch.equal(W, W2) and torch.equal(b, b2)
    p = DecisionBoundary.decode(rec.trace.state["probability"][-1])
    # Class 1 (around (-2, -2)) at the lower left, class 0 at the upper right.
    assert p[0, 0] > 0.9 and p[-1, -1] < 0.1


@pytest.mark.parametrize("scene, state, message", [
    (CurveFit([0.0, 1.0], [0.0, 1.0]), {"predict": lambda s: s[:, 0] * float("nan") + undefined_name},  # noqa: F821
     "predict=<lambda>: evaluating the model on 200 points failed: name 'undefined_name' is not defined"),
    (CurveFit([0.0, 1.0], [0.0, 1.0]), {"predict": lambda s: torch.cat([s, s], 1)},
     "predict=<lambda>: CurveFit needs a model with one output per input, got shape (200, 2)"),
    (CurveFit([0.0, 1.0], [0.0, 1.0]), {"predict": 3.0}, "predict must be a function of an input tensor, got float"),
    (CurveFit([0.0, 1.0, 2.0], [0.0, 1.0, 2.0]), {"y_pred": torch.zeros(3, 2)},
     "y_pred has 6 values but x has 3 points; give one prediction per point, shape (3,) or (3, 1)"),
    (CurveFit([0.0, 1.0], [0.0, 1.0]), {"y_pred": 1.0, "model": None}, "captures (model=) or (y_pred=) or (predict=)"),
    (DecisionBoundary([[0.0, 0.0], [1.0, 1.0]], [0, 1], resolution=10), {"predict": lambda P: P @ torch.ones(3, 1)},
     "predict=<lambda>: evaluating the model on 100 points failed"),
    (DecisionBoundary([[0.0, 0.0], [1.0, 1.0]], [0, 1], resolution=10), {"predict": lambda P: torch.ones(100, 5)},
     "predict=<lambda>: DecisionBoundary with 2 classes needs a model with 1 or 2 outputs, got 5"),
])
def test_bad_predictions_are_one_clear_capture_error(scene, state, message):
    with pytest.raises(ca.CaptureError) as info:
        ca.Recorder(scene).capture(0, **state)
    assert message in str(info.value) and "\n" not in str(info.value)


def test_one_run_captures_one_kind_of_prediction():
    rec = ca.Recorder(CurveFit([0.0, 1.0], [0.0, 1.0]))
    rec.capture(0, y_pred=[0.0, 1.0])
    with pytest.raises(ca.CaptureError, match=r"capture gave values \['prediction'\], earlier captures gave \['y_pred'\]"):
        rec.capture(1, predict=lambda s: s)
