"""Training loops shared by ``demo``, ``fit`` and ``race``: optimizers, full-batch training, races.

``train_model`` is the loop every model run uses (the toy-data demos, ``data.fit``); ``race`` runs
one training function once per optimizer and returns the traces, ready for ``render(traces, ...)``
(``demos.race_demo`` does it for a built-in demo). Nothing here imports torch until it trains.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Sequence

from ._exceptions import UsageError

if TYPE_CHECKING:  # pragma: no cover
    from .trace import Trace

__all__ = ["MODELS", "OPTIMIZERS", "TrainingRun", "classification_loss", "held_out_loss", "make_optimizer", "mlp", "race",
           "split", "train_model"]

#: The models ``data.fit`` (and ``convergence-anim fit --model``) can build: one linear layer or a tanh MLP.
MODELS = ("linear", "mlp")

#: The optimizers every demo can train with: what each is, in torch.
OPTIMIZERS = {
    "sgd": "plain gradient descent, torch.optim.SGD",
    "momentum": "gradient descent with momentum 0.9, torch.optim.SGD(momentum=0.9)",
    "adam": "torch.optim.Adam with its default betas",
    "rmsprop": "torch.optim.RMSprop with its default alpha",
}

def make_optimizer(name: str, params: Any, lr: float) -> Any:
    """The torch optimizer called ``name`` (see ``OPTIMIZERS``) over ``params`` with learning rate ``lr``.

    Raises
    ------
    UsageError
        If no optimizer has that name.
    """
    import torch

    if name == "sgd":
        return torch.optim.SGD(params, lr=lr)
    if name == "momentum":
        return torch.optim.SGD(params, lr=lr, momentum=0.9)
    if name == "adam":
        return torch.optim.Adam(params, lr=lr)
    if name == "rmsprop":
        return torch.optim.RMSprop(params, lr=lr)
    raise UsageError(f"unknown optimizer {name!r}; choose from {', '.join(OPTIMIZERS)}")



@dataclass
class TrainingRun:
    """What a training run produced: the trace (None without recording) and the final parameters.

    ``problem`` is ``(model, loss_fn, inputs, targets)`` of a model's run (None for the blog's two
    demos), so a landscape can be evaluated again later, e.g. on one plane shared by several runs.
    """

    trace: "Trace | None"
    params: dict[str, Any]
    iterations: int
    problem: "tuple[Any, Any, Any, Any] | None" = None



def train_model(
    model: Any,
    inputs: Any,
    targets: Any,
    loss_fn: Callable[[Any, Any], Any],
    scene: Any,
    *,
    lr: float,
    every: int,
    max_iter: int,
    record: bool,
    meta: dict[str, Any],
    target_loss: float = 0.0,
    patience: "int | None" = None,
    optimizer: str = "adam",
    landscape: bool = False,
    live: Any = False,
    test: "tuple[Any, Any] | None" = None,
    lr_drops: "Sequence[int]" = (),
) -> TrainingRun:
    """Full-batch training (Adam by default) on ``loss_fn(model(inputs), targets)``, captured with ``model=``.

    With ``landscape`` the parameters are recorded too and the loss landscape around their path is
    evaluated after training (``Recorder.add_landscape``).

    Stops after ``max_iter`` iterations, once the loss is below ``target_loss``, once it has not
    improved by 0.1% for ``patience`` iterations (a plateau: nothing left to watch), or once it is
    not finite; the last step is always captured. ``live`` is the recorder's. Shared by the toy-data
    demos and ``data.fit``.

    ``test`` is held-out ``(inputs, targets)``: at each capture their loss, ``loss_fn`` as for
    training, is evaluated with the model left untouched (eval mode, no grad, RNG restored) and
    recorded as ``test_loss=``. ``lr_drops`` are iterations after whose update every parameter
    group's rate is divided by 10; the rate is then recorded at each capture (``optimizer=``) and
    each drop marked ("lr / 10").
    """
    from .recorder import Recorder

    opt = make_optimizer(optimizer, model.parameters(), lr)
    rec = Recorder(scene, every=every, meta=meta, params=landscape, live=live) if record else None
    drops = set(lr_drops)
    iteration = best_iteration = 0
    best = math.inf
    for iteration in range(max_iter):
        opt.zero_grad()
        loss = loss_fn(model(inputs), targets)
        loss.backward()
        opt.step()
        if iteration in drops:
            for group in opt.param_groups:
                group["lr"] /= 10
            if rec is not None:
                rec.mark(iteration, "lr / 10")
        value = loss.item()
        if value < best * (1 - 1e-3):
            best, best_iteration = value, iteration
        plateau = patience is not None and iteration - best_iteration >= patience
        done = value < target_loss or plateau or not math.isfinite(value) or iteration == max_iter - 1
        if rec is not None and (done or iteration % rec.every == 0):
            test_loss = None if test is None else held_out_loss(model, loss_fn, *test)
            rec.capture(iteration, loss=loss, model=model, force=done, test_loss=test_loss,
                        optimizer=opt if drops else None)
        if done:
            break
    if rec is not None and landscape:
        rec.add_landscape(model, loss_fn, inputs, targets)
    params = {name: value.detach().clone() for name, value in model.state_dict().items()}
    return TrainingRun(rec.trace if rec else None, params, iteration + 1, (model, loss_fn, inputs, targets))


def held_out_loss(model: Any, loss_fn: Callable[[Any, Any], Any], inputs: Any, targets: Any) -> float:
    """``loss_fn(model(inputs), targets)`` as a float, leaving the model and torch as they were (``untouched``)."""
    from .scenes._base import untouched

    first = next(iter(model.parameters()), None)
    with untouched(model, None if first is None else first.device):
        return float(loss_fn(model(inputs), targets).item())


def split(count: int, fraction: float, seed: int) -> "tuple[Any, Any]":
    """Indices ``(train, test)`` of ``count`` samples, ``fraction`` of them (rounded, at least one) held out.

    Drawn from a generator of its own seeded with ``seed``, so the global random state, and with it
    the model's initial weights, is the same as without a split.

    Raises
    ------
    UsageError
        If ``fraction`` is not between 0 and 1, or leaves no sample on either side.
    """
    import torch

    if isinstance(fraction, bool) or not isinstance(fraction, (int, float)) or not 0 < fraction < 1:
        raise UsageError(f"test_fraction must be a number between 0 and 1 (exclusive), got {fraction!r}")
    held = max(1, round(count * fraction))
    if held >= count:
        raise UsageError(f"test_fraction {fraction:g} of {count} samples leaves none to train on")
    order = torch.randperm(count, generator=torch.Generator().manual_seed(int(seed)))
    return order[held:], order[:held]


def mlp(inputs: int, hidden: "tuple[int, ...]", outputs: int, dropout: float = 0.0) -> Any:
    """A tanh multilayer perceptron (``nn.Sequential``); tanh draws smooth boundaries and curves."""
    from torch import nn

    layers: list = []
    for width in hidden:
        layers += [nn.Linear(inputs, width), nn.Tanh()]
        if dropout:
            layers.append(nn.Dropout(dropout))
        inputs = width
    layers.append(nn.Linear(inputs, outputs))
    return nn.Sequential(*layers)


def classification_loss(scores: Any, labels: Any) -> Any:
    """Cross-entropy of class ``labels`` (integers): binary on one logit, softmax on k scores."""
    from torch.nn import functional as F

    if scores.shape[1] == 1:
        return F.binary_cross_entropy_with_logits(scores[:, 0], labels.to(scores.dtype))
    return F.cross_entropy(scores, labels)


def race(train: "Callable[[str, float | None], TrainingRun]", optimizers: "Sequence[tuple[str, float | None]]", *,
         landscape: bool = False, progress: bool = False) -> "list[Trace]":
    """Train once per ``(optimizer, lr)`` with ``train(optimizer, lr)``; return the traces, to race.

    Parameters
    ----------
    train:
        Trains one run from the same data and initial weights (seed it inside) and returns its
        ``TrainingRun``; ``lr`` None means the optimizer's default rate.
    optimizers:
        The runs: pairs of an optimizer name from ``OPTIMIZERS`` and a learning rate or None.
    landscape:
        The runs recorded their landscapes (``Recorder(params=True)``): for a model, draw every run
        on one plane, that of the principal components of all their parameter paths together.
    progress:
        Show the progress of a long shared landscape on stderr (``share_landscape``).

    Returns
    -------
    list of Trace
        One trace per run, in order: ``render(traces, "race.gif")`` races them.

    Raises
    ------
    UsageError
        If there is no run, a name is not an optimizer, or a run repeats.
    """
    optimizers = [(name, lr) for name, lr in optimizers]
    if not optimizers:
        raise UsageError("a race needs at least one optimizer")
    for name, _ in optimizers:
        if name not in OPTIMIZERS:
            raise UsageError(f"unknown optimizer {name!r}; choose from {', '.join(OPTIMIZERS)}")
    if len(set(optimizers)) != len(optimizers):
        raise UsageError("each optimizer and learning rate may race once")
    runs = [train(name, lr) for name, lr in optimizers]
    traces = [run.trace for run in runs]
    if landscape and runs[0].problem is not None:
        from .landscape import share_landscape

        traces = share_landscape(traces, *runs[0].problem, progress=progress)
    return traces
