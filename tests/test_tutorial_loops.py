"""Loops written as well-known tutorials write them, each recorded by adding two lines (issue 23).

d2l.ai's linear regression from scratch (a ``data_iter`` generator, hand-written SGD), the PyTorch
tutorial's ``train_loop(dataloader, model, loss_fn, optimizer)`` called once per epoch, and a
classifier of 64 features in the style of scikit-learn's digits (synthetic here: scikit-learn is not a
dependency). The lines marked ``# added`` are the only ones a user writes for the recording; the
tutorials' own functions are in ``tests/tutorials.py``.
"""

import random

import numpy as np
import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

import convergence_anim as ca
from convergence_anim.scenes import Plot
from tests.tutorials import data_iter, linreg, sgd, squared_loss, synthetic_data, train_loop


# -- d2l: linear regression from scratch ------------------------------------------------------------


def draw_weights(ax, frame):
    """The path of (w1, w2) so far, heading for the true weights (2, -3.4)."""
    path = frame.history("w").reshape(-1, 2)
    ax.plot(path[:, 0], path[:, 1], "-", color="C0", lw=2)
    ax.plot(path[-1, 0], path[-1, 1], "o", color="C0", ms=8)
    ax.plot(2, -3.4, "*", color="C3", ms=16)
    ax.set_xlim(-0.5, 2.5)
    ax.set_ylim(-4, 0.5)
    ax.set_xlabel("w1")
    ax.set_ylabel("w2")
    ax.set_title(f"Iteration:{frame.step}  b={frame['b'].item():.2f}")


def d2l_linear_regression(record=True):
    random.seed(0)
    torch.manual_seed(0)
    true_w = torch.tensor([2, -3.4])
    true_b = 4.2
    features, labels = synthetic_data(true_w, true_b, 1000)
    batch_size = 10
    w = torch.normal(0, 0.01, size=(2, 1), requires_grad=True)
    b = torch.zeros(1, requires_grad=True)
    lr = 0.03
    num_epochs = 3
    net = linreg
    loss = squared_loss

    rec = ca.Recorder(Plot(draw_weights), every=10) if record else None  # added line 1
    for epoch in range(num_epochs):
        for X, y in data_iter(batch_size, features, labels):
            l = loss(net(X, w, b), y)
            l.sum().backward()
            sgd([w, b], lr, batch_size)
            if record:
                rec.capture(loss=l.mean(), w=w, b=b)  # added line 2
        with torch.no_grad():
            train_l = loss(net(features, w, b), labels)
    return rec, w, b, float(train_l.mean())


def test_d2l_linear_regression_records_with_two_lines_and_trains_the_same(tmp_path, memory_encoder):
    rec, w, b, final = d2l_linear_regression()
    _, plain_w, plain_b, plain_final = d2l_linear_regression(record=False)
    assert torch.equal(w, plain_w) and torch.equal(b, plain_b) and final == plain_final < 1e-3
    trace = rec.trace
    assert len(trace) == 30 and list(trace.steps[:3]) == [0, 10, 20] and trace.steps[-1] == 290  # 3 x 100 batches
    np.testing.assert_allclose(trace.state["w"][-1].ravel(), [2, -3.4], atol=0.01)
    ca.render(trace, tmp_path / "d2l.frames", max_frames=2, size=(320, 240), jobs=1)
    last = memory_encoder.last.frames[-1]
    assert last.shape[:2] == (240, 320) and (last != last[0, 0]).any(axis=2).sum() > 2000  # a path is drawn


# -- the PyTorch tutorial's train_loop, a DataLoader and Adam ------------------------------------


def make_moons(n, noise, seed):
    generator = torch.Generator().manual_seed(seed)
    t = torch.rand(n, generator=generator) * torch.pi
    upper = torch.rand(n, generator=generator) < 0.5
    x = torch.where(upper, torch.cos(t), 1 - torch.cos(t))
    y = torch.where(upper, torch.sin(t), 0.5 - torch.sin(t))
    points = torch.stack([x, y], 1) + noise * torch.randn(n, 2, generator=generator)
    return points, (~upper).long()


class NeuralNetwork(nn.Module):
    def __init__(self):
        super().__init__()
        self.linear_relu_stack = nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 16), nn.ReLU(),
                                               nn.Linear(16, 2))

    def forward(self, x):
        return self.linear_relu_stack(x)


def pytorch_tutorial_classifier(record=True):
    torch.manual_seed(0)
    points, labels = make_moons(200, 0.15, seed=1)
    train_dataloader = DataLoader(TensorDataset(points, labels), batch_size=20, shuffle=True)
    model = NeuralNetwork()
    loss_fn = nn.CrossEntropyLoss()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    epochs = 6

    rec = ca.Recorder(ca.scenes.DecisionBoundary(points, labels, resolution=40), every=5) if record else None  # added 1
    for t in range(epochs):
        train_loop(train_dataloader, model, loss_fn, optimizer, rec)
    return rec, model


def test_the_pytorch_tutorial_loop_records_with_two_lines_across_epochs(tmp_path, memory_encoder):
    rec, model = pytorch_tutorial_classifier()
    _, plain = pytorch_tutorial_classifier(record=False)
    for (name, value), expected in zip(model.state_dict().items(), plain.state_dict().values()):
        assert torch.equal(value, expected), name
    trace = rec.trace
    assert list(trace.steps) == list(range(0, 60, 5))  # 6 epochs x 10 batches, counted across epochs
    assert trace.losses[-1] < trace.losses[0] / 2
    ca.render(trace, tmp_path / "moons.frames", max_frames=2, size=(320, 240), loss_panel=True, smooth=0.6, jobs=1)
    first, last = memory_encoder.last.frames
    assert (first != last).any(axis=2).sum() > 2000  # the regions moved


def test_a_batch_index_passed_as_the_step_goes_backwards_and_says_so():
    rec = ca.Recorder(ca.scenes.LineFit([0.0, 1.0], [0.0, 1.0]), every=1)
    for epoch in range(2):
        for batch in range(3):
            if epoch == 1 and batch == 0:
                with pytest.raises(ca.CaptureError, match="capture step 0 is before the last captured step 2"):
                    rec.capture(batch, loss=1.0, w=1.0, b=0.0)
                return
            rec.capture(batch, loss=1.0, w=1.0, b=0.0)


# -- 64 features, ten classes: a digits-style classifier ---------------------------------------------


def digits_like(n=300, seed=0):
    """Ten classes of 64 features in 0..16, like scikit-learn's 8x8 digits."""
    generator = np.random.default_rng(seed)
    centres = generator.uniform(0, 16, (10, 64))
    target = generator.integers(0, 10, n)
    data = np.clip(centres[target] + generator.normal(0, 3, (n, 64)), 0, 16)
    return data.astype(np.float32), target


def test_a_digits_style_classifier_of_64_features_records_with_two_lines(tmp_path, memory_encoder):
    data, target = digits_like()
    X = torch.tensor(data / 16.0)
    y = torch.tensor(target)
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 10))
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    criterion = nn.CrossEntropyLoss()

    rec = ca.Recorder(ca.scenes.DecisionBoundary(X, y, resolution=40), every=10)  # added line 1
    for epoch in range(60):
        optimizer.zero_grad()
        outputs = model(X)
        loss = criterion(outputs, y)
        loss.backward()
        optimizer.step()
        rec.capture(loss=loss, model=model)  # added line 2
    rec.finish(loss=loss, model=model)  # the last epoch (59) too

    trace = rec.trace
    assert list(trace.steps) == [0, 10, 20, 30, 40, 50, 59]
    ca.render(trace, tmp_path / "digits.frames", max_frames=2, size=(320, 240), jobs=1)
    first, last = memory_encoder.last.frames
    assert (first != last).any(axis=2).sum() > 2000
