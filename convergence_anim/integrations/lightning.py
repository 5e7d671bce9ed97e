"""Record a Lightning training run: ``Trainer(callbacks=[AnimationCallback(scene, every=10)])``.

Needs Lightning (``pip install 'convergence-anim[lightning]'``). The two lines a script gains:

    from convergence_anim.integrations.lightning import AnimationCallback
    trainer = lightning.Trainer(max_epochs=20, callbacks=[AnimationCallback(DecisionBoundary(x, y), every=10)])
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ._common import CallbackRecording, check_targets, log_to_targets, loss_in, require

L = require("lightning.pytorch", "lightning", "convergence_anim.integrations.lightning")

__all__ = ["AnimationCallback"]


class AnimationCallback(L.Callback):
    """Capture the model every ``every`` training batches; render the animation when training ends.

    Each ``on_train_batch_end`` is one step (numbered from 0 across epochs, as the loop of a plain
    script counts iterations): on the interval it captures the loss that ``training_step``
    returned (a tensor, or the ``"loss"`` of a dict) and the ``LightningModule``, whose
    ``forward`` must map the scene's inputs to scores (as ``Recorder.capture(model=...)``).
    ``on_train_end`` captures the last step too, renders to ``path`` and, with ``log_to``, logs the
    animation. Recording changes no weight: the model is evaluated in eval mode without gradients,
    its modes restored after.

    With several devices only the process of global rank 0 records and renders; the others do
    nothing. The recorder lives in that process, so with ``strategy="ddp_spawn"`` read the
    animation from ``path``, not from ``callback.trace``.

    Parameters
    ----------
    scene:
        What to draw, e.g. ``scenes.DecisionBoundary(x, y)``.
    every:
        Capture every this many batches (a positive integer).
    path:
        The animation file, in any format ``render`` writes (``.gif``, ``.mp4``, ``.webm``, ...); by
        default ``convergence.gif`` in the
        trainer's ``default_root_dir``. Its folder is created if missing.
    capture:
        Optional ``capture(module) -> dict`` of the values a capture records, for scenes that draw
        something other than the model's outputs (``lambda m: {"w": m.w, "b": m.b}`` for
        ``LineFit``, any values for a ``Plot``).
    log_to:
        Where to log the rendered animation at the end: ``"loggers"`` (the default: each
        ``TensorBoardLogger`` and ``WandbLogger`` the trainer has), None, or a list of targets:
        ``"wandb"`` (the active W&B run), a W&B run, a TensorBoard ``SummaryWriter`` or log folder.
    meta, max_captures:
        As for ``Recorder``.
    **render_options:
        Passed to ``render``: ``fps``, ``duration``, ``theme``, ``loss_panel``, ...

    Raises
    ------
    UsageError
        If ``every``, ``capture``, ``meta``, ``max_captures``, ``log_to`` or a render option cannot work.
    """

    def __init__(self, scene: Any, every: int = 1, path: "str | os.PathLike[str] | None" = None, *,
                 capture: Any = None, log_to: Any = "loggers", meta: Any = None, max_captures: Any = 2000,
                 **render_options: Any) -> None:
        super().__init__()
        from ..settings import RenderSettings

        RenderSettings.build(None, **render_options)  # an unknown option fails now, not after training
        self._recording = CallbackRecording(scene, every, meta, max_captures, capture)
        self._path = None if path is None else Path(path)
        self._log_to = check_targets(log_to, ("loggers",))
        self._options = render_options
        self._step = 0
        self.animation: "Path | None" = None

    @property
    def trace(self) -> Any:
        """The captures so far, as a ``Trace`` (in the process of rank 0)."""
        return self._recording.recorder.trace

    def on_train_start(self, trainer: Any, pl_module: Any) -> None:
        """Start a new recording (a second ``fit`` counts from step 0 again)."""
        self._recording.start()
        self._step = 0

    def on_train_batch_end(self, trainer: Any, pl_module: Any, outputs: Any, batch: Any, batch_idx: int) -> None:
        """Count the step; on rank 0 capture it if it is on the interval."""
        step, self._step = self._step, self._step + 1
        if trainer.is_global_zero:
            self._recording.record(step, loss_in(outputs), pl_module)

    def on_train_end(self, trainer: Any, pl_module: Any) -> None:
        """On rank 0: capture the last step, render the animation to ``path``, log it to ``log_to``."""
        if not trainer.is_global_zero:
            return
        trace, self.animation = self._recording.finish_and_render(self._path, Path(trainer.default_root_dir),
                                                                  self._options)
        targets = self._logger_targets(trainer) if self._log_to == "loggers" else self._log_to
        log_to_targets(trace, self.animation, self._options, targets, step=trainer.global_step, tag="convergence_anim")

    @staticmethod
    def _logger_targets(trainer: Any) -> list[Any]:
        from lightning.pytorch.loggers import TensorBoardLogger, WandbLogger

        targets: list[Any] = []
        for logger in trainer.loggers:
            if isinstance(logger, TensorBoardLogger):
                targets.append(logger.log_dir)
            elif isinstance(logger, WandbLogger):
                targets.append(logger.experiment)
        return targets
