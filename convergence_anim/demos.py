"""Built-in training runs: the blog's two, written as the blog wrote them, and small models on toy data.

Each demo is a plain function: seeded data, a loop, ``rec.capture(...)``. Passing ``record=False``
runs the very same loop without a recorder, which is how the tests prove that recording never
changes training. ``linear`` and ``logistic`` are the blog's hand-written loops; the others train an
``nn.Module`` with Adam (classifiers drawn with ``DecisionBoundary``, regressions with ``CurveFit``).
Every demo also trains with any optimizer of ``OPTIMIZERS`` (``optimizer="momentum"``), each with a
default learning rate that suits the demo.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Sequence

from ._checks import integer, number
from ._exceptions import UsageError
from .training import MODELS, OPTIMIZERS, TrainingRun, classification_loss, make_optimizer, mlp, split, train_model

if TYPE_CHECKING:  # pragma: no cover
    from .trace import Trace  # imported lazily: the command line reads DEMOS before --help

__all__ = ["DEMOS", "MODELS", "OPTIMIZERS", "Demo", "DemoRun", "make_optimizer", "race_demo", "run_demo"]

#: What a demo run produced (``training.TrainingRun``).
DemoRun = TrainingRun

#: Default learning rates of the optimizers for the model demos, when the demo lists none of its own:
#: full-batch SGD on these small nets needs a large step, momentum a tenth of it, the adaptive ones
#: the demo's own Adam rate.
_MODEL_LRS = {"sgd": 0.5, "momentum": 0.05}


@dataclass(frozen=True)
class Demo:
    """A built-in training run and its defaults.

    ``optimizer`` is the one it trains with by default (None: the blog's hand-written gradient step)
    and ``lr`` that optimizer's learning rate; ``lrs`` gives other optimizers' default rates.
    ``test_fraction`` is the share of the data it holds out as a test set by default (None: none).
    """

    name: str
    summary: str
    train: Callable[..., "DemoRun"]
    seed: int
    lr: float
    every: int
    max_iter: int
    fps: float
    optimizer: "str | None" = "adam"
    lrs: "tuple[tuple[str, float], ...]" = ()
    test_fraction: "float | None" = None

    def default_lr(self, optimizer: "str | None") -> float:
        """The learning rate this demo uses with ``optimizer`` when none is given."""
        if optimizer == self.optimizer:
            return self.lr
        given = dict(self.lrs)
        if optimizer in given:
            return given[optimizer]
        if optimizer is None:
            raise UsageError(f"demo {self.name!r} has no hand-written step; choose an optimizer from {', '.join(OPTIMIZERS)}")
        return _MODEL_LRS.get(optimizer, self.lr)


def _linear(*, seed: int, lr: float, every: int, max_iter: int, record: bool, optimizer: "str | None" = None,
            landscape: bool = False, live: Any = False) -> DemoRun:
    import torch

    from .recorder import Recorder
    from .scenes import LineFit

    torch.manual_seed(seed)
    x = torch.rand(20, 1) * 10
    y = 2 * x + (5 + torch.randn(20, 1))
    w = torch.randn((1), requires_grad=True)
    b = torch.zeros((1), requires_grad=True)
    meta = {"demo": "linear", "seed": seed, "lr": lr, "every": every, "max_iter": max_iter, **_named(optimizer)}
    rec = Recorder(LineFit(x, y, xlim=(1.5, 10), ylim=(8, 28)), every=every, meta=meta, live=live) if record else None

    def loss() -> Any:
        y_pred = w * x + b
        return (0.5 * (y - y_pred) ** 2).mean()

    return _blog_loop(loss, w, b, _gradient_step([b, w], lr, optimizer), rec, max_iter, converged_below=1)


def _logistic(*, seed: int, lr: float, every: int, max_iter: int, record: bool, optimizer: "str | None" = None,
              landscape: bool = False, live: Any = False) -> DemoRun:
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
    meta = {"demo": "logistic", "seed": seed, "lr": lr, "every": every, "max_iter": max_iter, **_named(optimizer)}
    scene = LinearBoundary(points, c, xlim=(-4, 4), ylim=(-4, 4), loss="squared_sigmoid")
    rec = Recorder(scene, every=every, meta=meta, live=live) if record else None

    def loss() -> Any:
        return ((torch.sigmoid(x * w + b - y) - c) ** 2).mean()

    return _blog_loop(loss, w, b, _gradient_step([w, b], lr, optimizer), rec, max_iter, converged_below=0.01)


def _blog_loop(loss_of: Callable[[], Any], w: Any, b: Any, step: Callable[[], None], rec: Any, max_iter: int,
               converged_below: float) -> DemoRun:
    """The blog's loop over ``w`` and ``b``: a ``step`` each iteration, ``w`` and ``b`` captured on ``rec``'s
    interval, until the loss falls under ``converged_below``, blows up, or ``max_iter`` iterations are done."""
    iteration = 0
    for iteration in range(max_iter):
        loss = loss_of()
        loss.backward()
        step()
        value = loss.item()
        # Stop at convergence, at the end, or once the run has blown up (nothing left to watch).
        done = value < converged_below or not math.isfinite(value) or iteration == max_iter - 1
        if rec is not None:
            rec.capture(iteration, loss=loss, w=w, b=b, force=done)
        if done:
            break
    return DemoRun(rec.trace if rec else None, {"w": w.detach().clone(), "b": b.detach().clone()}, iteration + 1)


def _named(optimizer: "str | None") -> dict[str, str]:
    return {"optimizer": optimizer} if optimizer is not None else {}


def _gradient_step(params: list, lr: float, optimizer: "str | None") -> Callable[[], None]:
    """One update of ``params`` from their gradients, then the gradients zeroed.

    None is the blog's hand-written step ``p -= lr * p.grad``, in the blog's order of ``params``.
    """
    import torch

    if optimizer is not None:
        opt = make_optimizer(optimizer, params, lr)

        def step() -> None:
            opt.step()
            opt.zero_grad(set_to_none=False)

        return step

    def blog_step() -> None:
        with torch.no_grad():
            for p in params:
                p -= lr * p.grad
        # The blog never zeroes the gradients, so they accumulate; true gradient descent zeroes them.
        for p in params:
            p.grad.zero_()

    return blog_step


# -- models on toy data ---------------------------------------------------------------------------


def _model_demo(name: str, make_data: Callable, make_model: Callable, make_scene: Callable, loss: Callable,
                target_loss: float = 0.0, patience: "int | None" = None) -> Callable[..., DemoRun]:
    """A demo function: seeded ``make_data(torch) -> (inputs, targets)``, ``make_model(targets)``, the
    scene ``make_scene(inputs, targets)`` and the loss function ``loss()``, trained by ``train_model``."""

    def train(*, seed: int, lr: float, every: int, max_iter: int, record: bool, optimizer: str = "adam",
              landscape: bool = False, live: Any = False, test_fraction: "float | None" = None,
              lr_drops: "Sequence[int]" = (), neurons: bool = False) -> DemoRun:
        import torch

        torch.manual_seed(seed)
        inputs, targets = make_data(torch)
        model = make_model(targets)
        meta = {"demo": name, "seed": seed, "lr": lr, "every": every, "max_iter": max_iter, "optimizer": optimizer}
        test = None
        if test_fraction is not None:
            meta["test_fraction"] = test_fraction
            kept, held = split(len(targets), test_fraction, seed)
            inputs, targets, test = inputs[kept], targets[kept], (inputs[held], targets[held])
        if lr_drops:
            meta["lr_drops"] = list(lr_drops)
        scene = make_scene(inputs, targets, test, neurons=neurons)
        return train_model(model, inputs, targets, loss(), scene, lr=lr, every=every,
                           max_iter=max_iter, record=record, meta=meta, target_loss=target_loss, patience=patience,
                           optimizer=optimizer, landscape=landscape, live=live, test=test, lr_drops=lr_drops)

    train.__name__ = train.__qualname__ = f"_{name}"
    return train


def _classify(name: str, make_data: Callable, make_model: Callable, **stop: Any) -> Callable[..., DemoRun]:
    """A classifier demo: ``make_model(classes)``, cross-entropy, drawn by ``DecisionBoundary``."""

    def scene(points: Any, labels: Any, test: Any = None, neurons: bool = False) -> Any:
        from .scenes import DecisionBoundary

        # A 150x150 grid: half the cost of the default 200x200 per capture, and it looks the same.
        return DecisionBoundary(points, labels, aspect="equal", resolution=150, test=test, neurons=neurons)

    return _model_demo(name, make_data, lambda labels: make_model(int(labels.max()) + 1), scene,
                       lambda: classification_loss, **stop)


def _regress(name: str, make_data: Callable, make_model: Callable, **stop: Any) -> Callable[..., DemoRun]:
    """A regression demo: ``make_data`` gives x and y of shape (n, 1), ``make_model()``, MSE, drawn by ``CurveFit``."""

    def scene(x: Any, y: Any, test: Any = None, neurons: bool = False) -> Any:
        from .scenes import CurveFit

        if neurons:
            raise UsageError(f"neurons draws a classifier's hidden units; demo {name!r} is a regression")
        return CurveFit(x, y, test=test)

    def mse() -> Callable:
        from torch.nn import functional as F

        return F.mse_loss

    return _model_demo(name, make_data, lambda y: make_model(), scene, mse, **stop)


def _clouds(torch, centers, n: int, spread: float):
    """``n`` Gaussian points around each centre, labelled by centre."""
    centers = torch.tensor(centers, dtype=torch.float32)
    points = torch.cat([torch.randn(n, 2) * spread + c for c in centers])
    labels = torch.arange(len(centers)).repeat_interleave(n)
    return points, labels


def _blobs_data(torch):
    return _clouds(torch, [(-1.0, -0.7), (1.0, 0.7)], 100, 0.8)


def _blobs3_data(torch):
    angles = torch.tensor([90.0, 210.0, 330.0]) * math.pi / 180
    centers = torch.stack([torch.cos(angles), torch.sin(angles)], 1) * 1.6
    return _clouds(torch, centers.tolist(), 80, 0.65)


def _moons_data(torch, n: int = 100, noise: float = 0.12):
    t0, t1 = torch.rand(n) * math.pi, torch.rand(n) * math.pi
    upper = torch.stack([torch.cos(t0), torch.sin(t0)], 1)
    lower = torch.stack([1 - torch.cos(t1), 0.5 - torch.sin(t1)], 1)
    points = torch.cat([upper, lower]) + torch.randn(2 * n, 2) * noise
    return points, torch.arange(2).repeat_interleave(n)


def _circles_data(torch, n: int = 100, noise: float = 0.08):
    angle = torch.rand(2 * n) * 2 * math.pi
    radius = torch.tensor([1.0, 0.45]).repeat_interleave(n)
    points = torch.stack([torch.cos(angle), torch.sin(angle)], 1) * radius[:, None] + torch.randn(2 * n, 2) * noise
    return points, torch.arange(2).repeat_interleave(n)


def _xor_data(torch, n: int = 50, spread: float = 0.4):
    centers = torch.tensor([(-1.0, -1.0), (1.0, 1.0), (-1.0, 1.0), (1.0, -1.0)])
    points = torch.cat([torch.randn(n, 2) * spread + c for c in centers])
    return points, torch.tensor([0, 0, 1, 1]).repeat_interleave(n)


def _spiral_data(torch, classes: int, n: int, turns: float, noise: float):
    """``classes`` interleaved spiral arms of ``n`` points each, ``turns`` turns long."""
    radius = torch.linspace(0.15, 1.0, n).repeat(classes)
    arm = torch.arange(classes).repeat_interleave(n)
    angle = radius * turns * 2 * math.pi + arm * (2 * math.pi / classes) + torch.randn(classes * n) * noise
    points = torch.stack([radius * torch.cos(angle), radius * torch.sin(angle)], 1)
    return points, arm


def _cubic_model():
    import torch
    from torch import nn

    class Cubic(nn.Module):
        """``y = c0 + c1*x + c2*x**2 + c3*x**3`` with four learned coefficients."""

        def __init__(self) -> None:
            super().__init__()
            self.coefficients = nn.Parameter(torch.randn(4) * 0.1)

        def forward(self, x):
            powers = torch.arange(4, dtype=x.dtype, device=x.device)
            return x**powers @ self.coefficients[:, None]  # (n, 1) ** (4,) -> (n, 4) features

    return Cubic()


def _poly_data(torch, n: int = 40):
    x = torch.rand(n, 1) * 4 - 2
    y = 0.5 * x**3 - 0.4 * x**2 - 1.5 * x + 1 + torch.randn(n, 1) * 0.3
    return x, y


def _sine_data(torch, n: int = 80):
    x = torch.rand(n, 1) * 6 - 3
    y = torch.sin(2 * x) + torch.randn(n, 1) * 0.1
    return x, y


_blobs = _classify("blobs", _blobs_data, lambda k: mlp(2, (), 1), target_loss=0.175)
_moons = _classify("moons", _moons_data, lambda k: mlp(2, (16, 16), 1, dropout=0.05), target_loss=0.03)
_circles = _classify("circles", _circles_data, lambda k: mlp(2, (16, 16), 1), target_loss=0.02)
_xor = _classify("xor", _xor_data, lambda k: mlp(2, (8, 8), 1), target_loss=0.03)
_spiral = _classify("spiral", lambda torch: _spiral_data(torch, 2, 150, 1.5, 0.1), lambda k: mlp(2, (32, 32), 1),
                    target_loss=0.03)
_spiral3 = _classify("spiral3", lambda torch: _spiral_data(torch, 3, 100, 1.0, 0.1), lambda k: mlp(2, (32, 32), k),
                     target_loss=0.05)
_blobs3 = _classify("blobs3", _blobs3_data, lambda k: mlp(2, (), k), patience=50)
_overfit = _classify("overfit", lambda torch: _moons_data(torch, 40, 0.35), lambda k: mlp(2, (128, 128), 1))
_poly = _regress("poly", _poly_data, _cubic_model, patience=50)
_sine = _regress("sine", _sine_data, lambda: mlp(1, (32, 32), 1), target_loss=0.012)


DEMOS: dict[str, Demo] = {
    demo.name: demo
    for demo in (
        Demo("linear", "the blog's linear regression: a red line fitting 20 blue points", _linear, 10, 0.02, 20, 1000, 5,
             None, (("sgd", 0.02), ("momentum", 0.005), ("adam", 0.5), ("rmsprop", 0.05))),
        Demo("logistic", "the blog's two-class logistic regression with a straight boundary", _logistic, 1, 0.02, 3, 3000, 20,
             None, (("sgd", 0.02), ("momentum", 0.02), ("adam", 0.05), ("rmsprop", 0.01))),
        Demo("blobs", "logistic regression (a linear layer) on two overlapping Gaussian blobs", _blobs, 0, 0.03, 2, 400, 20),
        Demo("moons", "a 16-16 tanh MLP with dropout separating two interleaved half moons", _moons, 0, 0.005, 4, 1000, 20),
        Demo("circles", "a 16-16 tanh MLP separating a ring from the disc inside it", _circles, 0, 0.003, 3, 1000, 20),
        Demo("xor", "an 8-8 tanh MLP learning XOR: four clouds, opposite corners alike", _xor, 0, 0.01, 5, 1000, 20),
        Demo("spiral", "a 32-32 tanh MLP untangling two interleaved spirals", _spiral, 0, 0.005, 3, 1000, 20),
        Demo("spiral3", "a 32-32 tanh MLP with softmax untangling three spiral arms", _spiral3, 0, 0.005, 2, 1000, 20),
        Demo("blobs3", "softmax regression (a linear layer) on three Gaussian blobs", _blobs3, 0, 0.02, 3, 300, 20),
        Demo("overfit", "a wide 128-128 tanh MLP on 40 noisy moons points: train loss falls, test loss rises", _overfit,
             0, 0.001, 8, 800, 20, test_fraction=0.5),
        Demo("poly", "a cubic polynomial's four coefficients fitted to noisy points", _poly, 0, 0.01, 4, 1000, 20),
        Demo("sine", "a 32-32 tanh MLP fitting a noisy sine wave", _sine, 0, 0.01, 3, 1000, 20),
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
    optimizer: "str | None" = None,
    landscape: bool = False,
    live: Any = False,
    test_fraction: "float | None" = None,
    lr_drops: "Sequence[int] | None" = None,
    neurons: bool = False,
) -> DemoRun:
    """Train demo ``name``; None options take the demo's defaults.

    ``optimizer`` is one of ``OPTIMIZERS`` (None: the demo's own, the hand-written step for
    ``linear`` and ``logistic``); without ``lr`` it trains at that optimizer's default rate for the
    demo. ``landscape`` records what a model demo's loss landscape needs (the two blog demos need
    nothing: their ``(w, b)`` landscape is computed from the trace).

    ``live`` shows the run while it trains, as ``Recorder(..., live=...)`` does: True or a
    ``convergence_anim.live.LiveView``. ``neurons`` records a classifier demo's hidden units
    (``DecisionBoundary(neurons=True)``; a demo without hidden layers fails in one line).

    ``test_fraction`` (between 0 and 1) holds that share of the data out, split by ``seed``: the
    test points are drawn hollow and their loss beside the training loss (``overfit`` holds out
    half by default). ``lr_drops`` are iterations after which the learning rate is divided by 10,
    recorded and marked on the loss panel. Both are for the model demos, not the blog's
    hand-written ``linear`` and ``logistic`` loops.

    Raises
    ------
    UsageError
        If the demo is unknown, an option is out of range, ``live`` is asked without ``record``, or
        ``test_fraction`` or ``lr_drops`` is given to ``linear`` or ``logistic``.
    """
    try:
        demo = DEMOS[name]
    except KeyError:
        raise UsageError(f"unknown demo {name!r}; choose from {', '.join(DEMOS)}") from None
    if optimizer is not None and optimizer not in OPTIMIZERS:
        raise UsageError(f"unknown optimizer {optimizer!r}; choose from {', '.join(OPTIMIZERS)}")
    optimizer = demo.optimizer if optimizer is None else optimizer
    seed = demo.seed if seed is None else seed
    lr = demo.default_lr(optimizer) if lr is None else lr
    every = demo.every if every is None else every
    max_iter = demo.max_iter if max_iter is None else max_iter
    lr = number("lr", lr, positive=True)
    every, max_iter = integer("every", every, low=1), integer("max_iter", max_iter, low=1)
    seed = integer("seed", seed, low=0)
    if not isinstance(landscape, bool):
        raise UsageError(f"landscape must be True or False, got {landscape!r}")
    if live and not record:
        raise UsageError("live shows what is recorded; it needs record=True")
    if (test_fraction is not None or lr_drops) and demo.train in (_linear, _logistic):
        raise UsageError(f"a test fraction and lr drops are for the model demos; {name!r} is the blog's hand-written "
                         f"loop (try moons, sine or overfit)")
    test_fraction = demo.test_fraction if test_fraction is None else test_fraction
    lr_drops = sorted({integer("lr_drops", d, low=0) for d in (lr_drops or ())})
    # Only what differs from the defaults is passed on, so a train function written before these
    # options (a user's Demo, a test's) still runs unchanged.
    extra: dict[str, Any] = {}
    if optimizer != demo.optimizer:
        extra["optimizer"] = optimizer
    if landscape:
        extra["landscape"] = True
    if live:
        extra["live"] = live
    if test_fraction is not None:
        extra["test_fraction"] = test_fraction
    if lr_drops:
        extra["lr_drops"] = lr_drops
    if not isinstance(neurons, bool):
        raise UsageError(f"neurons must be True or False, got {neurons!r}")
    if neurons:
        extra["neurons"] = True
    return demo.train(seed=seed, lr=float(lr), every=every, max_iter=max_iter, record=record, **extra)


def race_demo(
    name: str,
    optimizers: "Sequence[tuple[str, float | None]]",
    *,
    seed: "int | None" = None,
    every: "int | None" = None,
    max_iter: "int | None" = None,
    landscape: bool = False,
    progress: bool = False,
) -> "list[Trace]":
    """Train demo ``name`` once per ``(optimizer, lr)``, from the same data and weights; return the traces.

    ``render(race_demo("linear", [("sgd", None), ("adam", 0.05)]), "race.gif")`` is what
    ``convergence-anim race linear --optimizers sgd,adam:0.05`` makes. ``lr`` None is the demo's
    default rate for that optimizer; ``every`` defaults to a quarter of the demo's, so quick runs
    still move. The other options are ``run_demo``'s.

    Raises
    ------
    UsageError
        If the demo or an optimizer is unknown, or an option is out of range.
    """
    from .training import race

    if name not in DEMOS:
        raise UsageError(f"unknown demo {name!r}; choose from {', '.join(DEMOS)}")
    every = every or max(1, DEMOS[name].every // 4)
    return race(lambda optimizer, lr: run_demo(name, seed=seed, lr=lr, every=every, max_iter=max_iter,
                                               optimizer=optimizer, landscape=landscape),
                optimizers, landscape=landscape, progress=progress)
