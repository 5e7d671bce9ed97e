"""Regression against several features: predicted against actual, and 1-D predictions that cannot be a curve."""

import random

import numpy as np
import pytest
import torch

import convergence_anim as ca
from convergence_anim.frames import FrameRenderer
from convergence_anim.scenes import CurveFit
from tests.pixels import blue_pixels
from tests.tutorials import data_iter, linreg, sgd, squared_loss, synthetic_data


def d2l_linear_regression(capture=None, n=200, epochs=8):
    """d2l.ai's linear regression from scratch (true_w = [2, -3.4], b = 4.2), as the tutorial writes it."""
    torch.manual_seed(0)
    random.seed(0)
    features, labels = synthetic_data(torch.tensor([2, -3.4]), 4.2, n)
    w = torch.normal(0, 0.01, size=(2, 1), requires_grad=True)
    b = torch.zeros(1, requires_grad=True)
    model = torch.nn.Linear(2, 1)  # for the model= capture: shares w and b
    rec = ca.Recorder(CurveFit(features, labels), every=8) if capture else None  # added line 1
    step = 0
    for _ in range(epochs):
        for X, y in data_iter(10, features, labels):
            loss = squared_loss(linreg(X, w, b), y)
            if capture == "y_pred":
                rec.capture(step, loss=loss.mean(), y_pred=linreg(features, w, b))  # added line 2
            elif capture == "predict":
                rec.capture(step, loss=loss.mean(), predict=lambda X: linreg(X, w, b))
            elif capture == "model":
                with torch.no_grad():
                    model.weight.copy_(w.T)
                    model.bias.copy_(b)
                rec.capture(step, loss=loss.mean(), model=model)
            step += 1
            loss.sum().backward()
            sgd([w, b], 0.03, 10)
    return rec, features, labels, (w, b)


@pytest.mark.parametrize("capture", ["y_pred", "predict", "model"])
def test_d2l_regression_records_the_predictions_at_the_data_and_training_is_unchanged(capture):
    rec, features, labels, (w, b) = d2l_linear_regression(capture)
    _, _, _, (w0, b0) = d2l_linear_regression()
    assert torch.equal(w, w0) and torch.equal(b, b0)
    trace = rec.trace
    assert set(trace.state) == {"y_pred"} and trace.state["y_pred"].shape == (len(trace), 200)
    assert trace.state["y_pred"].dtype == np.float32
    if capture == "predict":  # the same predictions as the loop's own y_pred, evaluated on the data
        by_y_pred = d2l_linear_regression("y_pred")[0].trace.state["y_pred"]
        np.testing.assert_allclose(trace.state["y_pred"], by_y_pred, rtol=1e-6, atol=1e-6)
    error = np.abs(trace.state["y_pred"] - labels.numpy().ravel()).mean(axis=1)
    assert error[0] > 2.0 and error[-1] < 0.2 * error[0]


def _distance_to_diagonal(frame, renderer):
    """Mean distance in pixels of the blue (point) pixels inside the axes from the drawn y = x line."""
    ax = renderer.figure.axes[0]
    height = frame.shape[0]
    (x0, y0), (x1, y1) = ax.transData.transform([[-5.0, -5.0], [10.0, 10.0]])
    box = ax.get_window_extent()
    mask = np.zeros(frame.shape[:2], dtype=bool)
    mask[int(height - box.y1) + 2 : int(height - box.y0) - 2, int(box.x0) + 2 : int(box.x1) - 2] = True
    r, g, bl = (frame[..., i].astype(int) for i in range(3))
    blue = mask & (abs(r - 31) < 25) & (abs(g - 119) < 25) & (abs(bl - 180) < 25)
    rows, cols = np.nonzero(blue)
    px, py = cols.astype(float), height - rows.astype(float)
    distance = np.abs((y1 - y0) * px - (x1 - x0) * py + x1 * y0 - y1 * x0) / np.hypot(y1 - y0, x1 - x0)
    return blue.sum(), distance.mean()


def test_points_move_onto_the_diagonal_and_the_residuals_shrink(memory_encoder, tmp_path):
    rec, _, _, _ = d2l_linear_regression("y_pred")
    trace = rec.trace
    renderer = FrameRenderer(trace, size=(480, 360))
    first, last = renderer.render_rgba(0)[..., :3], renderer.render_rgba(len(trace) - 1)[..., :3]
    (count0, far), (count1, near) = _distance_to_diagonal(first, renderer), _distance_to_diagonal(last, renderer)
    assert count0 > 300 and count1 > 300  # the points are drawn in both
    assert far > 15 and near < 3, (far, near)  # from scattered about y = 0 to on the line
    r, g, b = (first[..., i].astype(int) for i in range(3))
    residual = (r > 200) & (g < 200) & (abs(g - b) < 40)  # red segments, some faint (pink)
    residual[:40] = False  # not the loss label above the axes
    r, g, b = (last[..., i].astype(int) for i in range(3))
    residual_last = (r > 200) & (g < 200) & (abs(g - b) < 40)
    residual_last[:40] = False
    assert residual.sum() > 10 * max(residual_last.sum(), 100), (residual.sum(), residual_last.sum())
    texts = [t.get_text() for t in renderer.figure.axes[0].texts]
    assert "R\u00b2 = 1.000" in texts and renderer.figure.axes[0].get_xlabel() == "actual y"


def test_predicted_against_actual_survives_save_and_load(tmp_path, memory_encoder):
    rec, _, _, _ = d2l_linear_regression("predict", epochs=2)
    ca.render(rec.trace, tmp_path / "a.frames", jobs=1, size=(320, 240))
    live = memory_encoder.last.frames
    loaded = ca.Trace.load(rec.trace.save(tmp_path / "t.npz"))
    assert loaded.data["x"].shape == (200, 2)
    ca.render(loaded, tmp_path / "b.frames", jobs=1, size=(320, 240))
    assert len(live) == len(loaded) and all(np.array_equal(a, b) for a, b in zip(live, memory_encoder.last.frames))
    assert blue_pixels(live[-1]) > 30


def test_a_race_of_two_learning_rates_shows_both_clouds(tmp_path, memory_encoder):
    traces = []
    for scale in (1.0, 0.2):
        x = np.random.default_rng(0).normal(size=(50, 3))
        y = x @ np.array([1.0, -2.0, 0.5])
        rec = ca.Recorder(CurveFit(x, y))
        for step in range(5):
            rec.capture(step, loss=1.0, y_pred=y * (1 - np.exp(-scale * step)))
        traces.append(rec.trace)
    ca.render(traces, tmp_path / "race.frames", jobs=1, size=(320, 240))
    assert len(memory_encoder.last.frames) == 5


def _curve_fit_capture(x, y, **state):
    with pytest.raises(ca.CaptureError) as info:
        ca.Recorder(CurveFit(x, y)).capture(0, **state)
    assert "\n" not in str(info.value)
    return str(info.value)


def test_one_feature_curve_refuses_the_predictions_of_a_model_of_several_features():
    _, features, labels, _ = d2l_linear_regression()
    x, y = features[:, 0], labels
    full = features @ torch.tensor([[2.0], [-3.4]]) + 4.2  # in data order, depends on both columns
    message = _curve_fit_capture(x, y, y_pred=full)
    assert message.startswith("y_pred zig-zags in order of x") and "CurveFit(X, y)" in message
    message = _curve_fit_capture(x, y, y_pred=full[:150])
    assert message.startswith("y_pred has 150 values but x has 200 points") and "CurveFit(X, y)" in message
    assert _curve_fit_capture(x, y, y_pred=torch.zeros(200, 2)).startswith("y_pred has 400 values but x has 200 points")
    message = _curve_fit_capture(x, y, model=torch.nn.Linear(2, 1))
    assert "evaluating the model on 200 points failed" in message and "CurveFit(X, y)" in message
    # Whole-number x repeats: two different predictions at one x are certainly not a curve over x.
    steps = torch.arange(40.0) % 4
    message = _curve_fit_capture(steps, steps, y_pred=steps + torch.arange(40.0))
    assert message.startswith("y_pred differs at the same x (x = 0: 0 and 4)")


def test_one_feature_curves_that_bend_or_come_in_any_order_are_accepted():
    x = torch.rand(500) * 6  # not sorted
    for y_pred in (torch.sin(3 * x), torch.sin(3 * x) + 1e-7 * torch.randn(500), 0.3 + 1e-8 * torch.randn(500), x**2):
        rec = ca.Recorder(CurveFit(x, torch.sin(3 * x)))
        rec.capture(0, y_pred=y_pred)
        assert rec.trace.state["y_pred"].shape == (1, 500)


def test_several_features_refuse_one_feature_options():
    with pytest.raises(ca.UsageError, match=r"xlim is for one feature; x has 2 features, so the axes show actual"):
        CurveFit(np.zeros((5, 2)), np.zeros(5), xlim=(0, 1))
