"""``Recorder``: the one line added to a training loop."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ._exceptions import CaptureError, UsageError
from .landscape import KEY_PARAMETERS, KEY_PATH, Plane, model_parameters
from .trace import Trace

__all__ = ["Recorder"]


class Recorder:
    """Capture what a scene needs to draw, every ``every`` steps of a training loop.

    Parameters
    ----------
    scene:
        What to draw, e.g. ``scenes.LineFit(x, y)``; it decides which values each capture keeps.
    every:
        Capture on steps that are multiples of this (a positive integer).
    meta:
        Optional JSON-serialisable facts stored with the trace (seed, learning rate, ...).
    params:
        Also keep the model's parameters, flattened into one vector, at each capture (as the
        trace's ``parameters`` state, shape ``(n, P)``): captures must then pass ``model=``. This is
        what ``add_landscape`` projects onto the plane of the loss landscape.

    Raises
    ------
    UsageError
        If ``every`` is not a positive integer.

    Notes
    -----
    Recording never changes training: values are copied out (``detach().cpu()``), no reference to a
    live tensor is kept, ``.grad``, the autograd graph, RNG state and a module's train/eval mode are
    left as they were.
    """

    def __init__(self, scene: Any, every: int = 1, *, meta: dict[str, Any] | None = None, params: bool = False) -> None:
        if isinstance(every, bool) or not isinstance(every, (int, np.integer)) or every <= 0:
            raise UsageError(f"every must be a positive integer, got {every!r}")
        if not isinstance(params, bool):
            raise UsageError(f"params must be True or False, got {params!r}")
        self._params = params
        self._landscape: dict[str, np.ndarray] | None = None
        self._scene = scene
        self._every = int(every)
        self._meta = dict(meta or {})
        self._steps: list[int] = []
        self._losses: list[tuple[float, float]] = []
        self._states: list[dict[str, np.ndarray]] = []
        self._trace: Trace | None = None

    @property
    def every(self) -> int:
        """Capture interval in steps."""
        return self._every

    def capture(self, step: int, loss: Any = None, *, test_loss: Any = None, force: bool = False, **state: Any) -> bool:
        """Record one frame if ``step`` is a multiple of ``every`` (or ``force`` is true).

        Parameters
        ----------
        step:
            The training step (iteration) number; must not go backwards between captures.
        loss:
            The loss at this step: a scalar tensor, array or number. Optional.
        test_loss:
            A held-out loss at this step, drawn beside the training loss in the loss panel. Optional.
        force:
            Record even if ``step`` is not a multiple of ``every``: use it on the step where the loop
            stops, so the last frame shows the final state. Capturing the same step twice keeps the
            newer values.
        **state:
            Named values the scene draws from: tensors, arrays or numbers (``w=w, b=b``), or
            ``model=<nn.Module>`` for scenes that evaluate a model.

        Returns
        -------
        bool
            True if a frame was recorded.

        Raises
        ------
        CaptureError
            If a value has the wrong shape for the scene, or ``step`` is smaller than the last one.
        """
        # The skip path must cost next to nothing: it runs on every training step.
        if step % self._every and not force:
            return False
        step = int(step)
        if self._steps and step < self._steps[-1]:
            raise CaptureError(
                f"capture step {step} is before the last captured step {self._steps[-1]}; steps must not go backwards"
            )
        values = self._scene.capture(state)
        if self._params:
            values = {**values, KEY_PARAMETERS: _parameters_of(state)}
        losses = (_loss_to_float(loss, "loss"), _loss_to_float(test_loss, "test_loss"))
        if self._steps and step == self._steps[-1]:
            self._losses[-1], self._states[-1] = losses, values
        else:
            self._steps.append(step)
            self._losses.append(losses)
            self._states.append(values)
        self._trace = None
        return True

    @property
    def trace(self) -> Trace:
        """The captures so far as a ``Trace`` (a snapshot: later captures do not change it)."""
        if self._trace is None:
            data, options = self._scene.to_data()
            names = self._states[0].keys() if self._states else ()
            state = {name: np.stack([s[name] for s in self._states]) for name in names}
            if self._landscape is not None:
                data = {**data, **self._landscape}
                plane = Plane(self._landscape["landscape_origin"], self._landscape["landscape_directions"],
                              self._landscape["landscape_explained"])
                state[KEY_PATH] = plane.project(state[KEY_PARAMETERS])
            losses = np.array(self._losses, dtype=np.float64).reshape(-1, 2)
            self._trace = Trace(
                scene=self._scene.name,
                data=data,
                options=options,
                steps=np.array(self._steps, dtype=np.int64),
                losses=losses[:, 0],
                state=state,
                meta=self._meta,
                test_losses=losses[:, 1],
            )
        return self._trace

    def __len__(self) -> int:
        return len(self._steps)

    def add_landscape(self, model: Any, loss_fn: Any, inputs: Any, targets: Any, *, resolution: int = 41) -> None:
        """Evaluate the loss landscape around the recorded path, once, after training.

        The plane passes through the last captured parameters and is spanned by the first two
        principal components of the recorded parameter path (Li et al., 2018); the loss
        ``loss_fn(model(inputs), targets)`` is evaluated on a ``resolution x resolution`` grid over
        it that covers the whole path with a margin. The trace then holds the grid
        (``landscape_loss``, ``landscape_x``, ``landscape_y``), the plane (``landscape_origin``,
        ``landscape_directions``, ``landscape_explained``) in its data and the path projected onto
        the plane (``landscape_path``, shape ``(n, 2)``) in its state; ``render(..., landscape=True)``
        draws them. The model is left exactly as it was: parameters, train/eval modes, ``.grad``
        and torch's RNG state.

        Parameters
        ----------
        model:
            The trained ``torch.nn.Module`` (the one captured with ``model=``).
        loss_fn:
            ``loss_fn(model(inputs), targets)`` -> a scalar tensor: the training loss.
        inputs, targets:
            The training data (the whole set, or a fixed batch of it).
        resolution:
            Grid cells per side, 3 to 201 (41 by default: 1681 evaluations of the loss).

        Raises
        ------
        UsageError
            If the recorder was not made with ``params=True``, fewer than two different parameter
            vectors were captured, or the model or loss fails on the plane.
        """
        from .landscape import model_landscape

        if not self._params:
            raise UsageError("add_landscape needs the parameter path: make the recorder with Recorder(scene, params=True)")
        if not self._states:
            raise UsageError("add_landscape needs captures: call it after training")
        path = np.stack([s[KEY_PARAMETERS] for s in self._states])
        self._landscape, _ = model_landscape([path], model, loss_fn, inputs, targets, resolution=resolution)
        self._trace = None


def _parameters_of(state: dict[str, Any]) -> np.ndarray:
    if "model" not in state:
        raise CaptureError("a Recorder made with params=True records a model's parameters: capture with model=...")
    try:
        return model_parameters(state["model"])
    except UsageError as exc:
        raise CaptureError(str(exc)) from None


def _loss_to_float(loss: Any, name: str) -> float:
    if loss is None:
        return math.nan
    if hasattr(loss, "detach"):
        loss = loss.detach()
        if loss.numel() != 1:
            raise CaptureError(f"{name} must be a single value, got a tensor of shape {tuple(loss.shape)}")
        return float(loss.cpu().item())
    try:
        array = np.asarray(loss, dtype=np.float64)
    except (TypeError, ValueError):
        raise CaptureError(f"{name} must be a number, got {type(loss).__name__}") from None
    if array.size != 1:
        raise CaptureError(f"{name} must be a single value, got shape {array.shape}")
    return float(array.reshape(()))
