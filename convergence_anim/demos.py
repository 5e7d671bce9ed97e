"""The blog's two training runs, written as the blog wrote them, plus the two recorder lines.

Each demo is a plain function: seeded data, a hand-written loop, ``rec.capture(...)``. Passing
``record=False`` runs the very same loop without a recorder, which is how the tests prove that
recording never changes training.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable

from ._exceptions import UsageError
from .trace import Trace

__all__ = ["DEMOS", "Demo", "DemoRun", "run_demo"]


@dataclass(frozen=True)
class Demo:
    """A built-in training run and its defaults."""

    name: str
    summary: str
    train: Callable[..., "DemoRun"]
    seed: int
    lr: float
    every: int
    max_iter: int
    fps: float


@dataclass
class DemoRun:
    """What a demo run produced: the trace (None without recording) and the final parameters."""

    trace: "Trace | None"
    params: dict[str, Any]
    iterations: int


def _linear(*, seed: int, lr: float, every: int, max_iter: int, record: bool) -> DemoRun:
    import torch

    from .recorder import Recorder
    from .scenes import LineFit

    torch.manual_seed(seed)
    x = torch.rand(20, 1) * 10
    y = 2 * x + (5 + torch.randn(20, 1))
    w = torch.randn((1), requires_grad=True)
    b = torch.zeros((1), requires_grad=True)
    meta = {"demo": "linear", "seed": seed, "lr": lr, "every": every, "max_iter": max_iter}
    rec = Recorder(LineFit(x, y, xlim=(1.5, 10), ylim=(8, 28)), every=every, meta=meta) if record else None
    iteration = 0
    for iteration in range(max_iter):
        y_pred = w * x + b
        loss = (0.5 * (y - y_pred) ** 2).mean()
        loss.backward()
        with torch.no_grad():
            b -= lr * b.grad
            w -= lr * w.grad
        # The blog never zeroes the gradients, so they accumulate; true gradient descent zeroes them.
        w.grad.zero_()
        b.grad.zero_()
        value = loss.item()
        # Stop at convergence, at the end, or once the run has blown up (nothing left to watch).
        done = value < 1 or not math.isfinite(value) or iteration == max_iter - 1
        if rec is not None:
            rec.capture(iteration, loss=loss, w=w, b=b, force=done)
        if done:
            break
    return DemoRun(rec.trace if rec else None, {"w": w.detach().clone(), "b": b.detach().clone()}, iteration + 1)


def _logistic(*, seed: int, lr: float, every: int, max_iter: int, record: bool) -> DemoRun:
    import torch

    from .recorder import Recorder
    from .scenes import LinearBoundary

    torch.manual_seed(seed)
    n = 100
    class0 = torch.randn(n, 2) + 2
    class1 = torch.randn(n, 2) - 2
    points = torch.cat([class0, class1])
    c = torch.cat([torch.zeros(n), torch.ones(n)])
    x, y = points[:, 0], points[:, 1]
    w = torch.ones((1), requires_grad=True)
    b = torch.zeros((1), requires_grad=True)
    meta = {"demo": "logistic", "seed": seed, "lr": lr, "every": every, "max_iter": max_iter}
    scene = LinearBoundary(points, c, xlim=(-4, 4), ylim=(-4, 4))
    rec = Recorder(scene, every=every, meta=meta) if record else None
    iteration = 0
    for iteration in range(max_iter):
        loss = ((torch.sigmoid(x * w + b - y) - c) ** 2).mean()
        loss.backward()
        with torch.no_grad():
            w -= lr * w.grad
            b -= lr * b.grad
        w.grad.zero_()
        b.grad.zero_()
        value = loss.item()
        done = value < 0.01 or not math.isfinite(value) or iteration == max_iter - 1
        if rec is not None:
            rec.capture(iteration, loss=loss, w=w, b=b, force=done)
        if done:
            break
    return DemoRun(rec.trace if rec else None, {"w": w.detach().clone(), "b": b.detach().clone()}, iteration + 1)


DEMOS: dict[str, Demo] = {
    demo.name: demo
    for demo in (
        Demo("linear", "the blog's linear regression: a red line fitting 20 blue points", _linear, 10, 0.02, 20, 1000, 5),
        Demo("logistic", "the blog's two-class logistic regression with a straight boundary", _logistic, 1, 0.02, 3, 3000, 20),
    )
}


def run_demo(
    name: str,
    *,
    seed: "int | None" = None,
    lr: "float | None" = None,
    every: "int | None" = None,
    max_iter: "int | None" = None,
    record: bool = True,
) -> DemoRun:
    """Train demo ``name``; None options take the demo's defaults.

    Raises
    ------
    UsageError
        If the demo is unknown or an option is out of range.
    """
    try:
        demo = DEMOS[name]
    except KeyError:
        raise UsageError(f"unknown demo {name!r}; choose from {', '.join(DEMOS)}") from None
    seed = demo.seed if seed is None else seed
    lr = demo.lr if lr is None else lr
    every = demo.every if every is None else every
    max_iter = demo.max_iter if max_iter is None else max_iter
    if not (isinstance(lr, (int, float)) and lr > 0 and lr < float("inf")):
        raise UsageError(f"lr must be a positive number, got {lr!r}")
    if isinstance(every, bool) or not isinstance(every, int) or every <= 0:
        raise UsageError(f"every must be a positive integer, got {every!r}")
    if isinstance(max_iter, bool) or not isinstance(max_iter, int) or max_iter <= 0:
        raise UsageError(f"max_iter must be a positive integer, got {max_iter!r}")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise UsageError(f"seed must be a non-negative integer, got {seed!r}")
    return demo.train(seed=seed, lr=float(lr), every=every, max_iter=max_iter, record=record)
