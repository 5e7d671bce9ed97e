"""``Recorder``: the one line added to a training loop."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ._exceptions import CaptureError, UsageError
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
    live:
        Show the captures while training runs: True, or a ``convergence_anim.live.LiveView`` with
        options (updates per second, theme, size). In a notebook one picture updates in place, in a
        script a window opens; with no display, one line on standard error says it is off.

    Raises
    ------
    UsageError
        If ``every`` is not a positive integer, or ``live`` is not a bool or a ``LiveView``.

    Notes
    -----
    Recording never changes training: values are copied out (``detach().cpu()``), no reference to a
    live tensor is kept, ``.grad``, the autograd graph, RNG state and a module's train/eval mode are
    left as they were.
    """

    def __init__(self, scene: Any, every: int = 1, *, meta: dict[str, Any] | None = None, live: Any = False) -> None:
        if isinstance(every, bool) or not isinstance(every, (int, np.integer)) or every <= 0:
            raise UsageError(f"every must be a positive integer, got {every!r}")
        self._scene = scene
        self._every = int(every)
        self._meta = dict(meta or {})
        self._steps: list[int] = []
        self._losses: list[tuple[float, float]] = []
        self._states: list[dict[str, np.ndarray]] = []
        self._trace: Trace | None = None
        self._live = None
        if live:
            from .live import start_live_view  # matplotlib and a thread only for those who ask

            self._live = start_live_view(live, scene, self._meta)

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
        losses = (_loss_to_float(loss, "loss"), _loss_to_float(test_loss, "test_loss"))
        if self._steps and step == self._steps[-1]:
            self._losses[-1], self._states[-1] = losses, values
        else:
            self._steps.append(step)
            self._losses.append(losses)
            self._states.append(values)
        self._trace = None
        if self._live is not None:
            self._live.captured(step, losses[0], losses[1], values, last=force)
        return True

    @property
    def trace(self) -> Trace:
        """The captures so far as a ``Trace`` (a snapshot: later captures do not change it)."""
        if self._trace is None:
            data, options = self._scene.to_data()
            names = self._states[0].keys() if self._states else ()
            state = {name: np.stack([s[name] for s in self._states]) for name in names}
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
