"""Record a Hugging Face ``transformers.Trainer`` run: ``Trainer(..., callbacks=[AnimationCallback(scene)])``.

Needs transformers and accelerate (``pip install 'convergence-anim[huggingface]'``). The two lines a
script gains:

    from convergence_anim.integrations.huggingface import AnimationCallback
    trainer = Trainer(model=model, args=args, train_dataset=data, callbacks=[AnimationCallback(scene, every=10)])

**The loss of each step.** A ``TrainerCallback`` is not given the step's loss: the Trainer logs
only every ``logging_steps`` steps, averaged, and after ``on_step_end``. The Trainer takes the loss
from the model's output (``outputs["loss"]``, or the first element of a tuple), so the callback reads
it there too: a forward hook on the model, active while training, keeps each training forward's
loss (detached; the output is passed on untouched), and a step's loss is the mean over its
gradient-accumulation micro-batches. A loss the Trainer computes outside the model (an overridden
``compute_loss``, ``compute_loss_func``, label smoothing) is not seen: those captures have no loss
and the loss panel stays empty.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ._common import CallbackRecording, check_targets, log_to_targets, loss_in, require

transformers = require("transformers", "huggingface", "convergence_anim.integrations.huggingface")

__all__ = ["AnimationCallback"]


class AnimationCallback(transformers.TrainerCallback):
    """Capture the model every ``every`` optimizer steps; render the animation when training ends.

    Step ``k`` is the state after ``k + 1`` optimizer steps (``state.global_step - 1``), as the loop of
    a plain script counts iterations. On the interval, ``on_step_end`` captures the step's loss
    (see the module notes) and the model, evaluated through its ``logits`` (or the first element of
    a tuple output, or a tensor output): its ``forward`` must take the scene's inputs as its first
    argument. ``on_train_end`` captures the last step too, renders to ``path`` and, with
    ``log_to``, logs the animation. Recording changes no weight: the model is evaluated in eval mode
    without gradients, its modes restored after. With several processes only the main one
    (``state.is_world_process_zero``) records.

    Parameters
    ----------
    scene:
        What to draw, e.g. ``scenes.DecisionBoundary(x, y)``.
    every:
        Capture every this many optimizer steps (a positive integer).
    path:
        The animation file, in any format ``render`` writes (``.gif``, ``.mp4``, ``.webm``, ...); by
        default ``convergence.gif`` in the
        ``TrainingArguments``' ``output_dir``. Its folder is created if missing.
    capture:
        Optional ``capture(model) -> dict`` of the values a capture records, for scenes that draw
        something other than the model's outputs.
    log_to:
        Where to log the rendered animation at the end: None (the default), or a list of targets:
        ``"wandb"`` (the active W&B run, which ``report_to="wandb"`` starts), a W&B run, a
        TensorBoard ``SummaryWriter`` or log folder.
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
                 capture: Any = None, log_to: Any = None, meta: Any = None, max_captures: Any = 2000,
                 **render_options: Any) -> None:
        from ..settings import RenderSettings

        RenderSettings.build(None, **render_options)  # an unknown option fails now, not after training
        self._recording = CallbackRecording(scene, every, meta, max_captures, capture)
        self._path = None if path is None else Path(path)
        self._log_to = check_targets(log_to, ())
        self._options = render_options
        self._hook: Any = None
        self._loss_sum: Any = None
        self._loss_count = 0
        self.animation: "Path | None" = None

    @property
    def trace(self) -> Any:
        """The captures so far, as a ``Trace`` (in the main process)."""
        return self._recording.recorder.trace

    def on_train_begin(self, args: Any, state: Any, control: Any, model: Any = None, **kwargs: Any) -> None:
        """Start a new recording; in the main process, hook the model to see each training loss."""
        self._recording.start()
        self._loss_sum, self._loss_count = None, 0
        if state.is_world_process_zero and model is not None:
            self._hook = model.register_forward_hook(self._keep_loss)

    def _keep_loss(self, module: Any, inputs: Any, output: Any) -> None:
        import torch

        # Only training forwards: evaluation runs in eval mode, and the scene's own under no_grad.
        if not (module.training and torch.is_grad_enabled()):
            return
        loss = loss_in(output)
        if loss is None and isinstance(output, (tuple, list)) and output and getattr(output[0], "ndim", None) == 0:
            loss = output[0]
        if loss is not None:
            loss = loss.detach()
            self._loss_sum = loss if self._loss_sum is None else self._loss_sum + loss
            self._loss_count += 1

    def on_step_end(self, args: Any, state: Any, control: Any, model: Any = None, **kwargs: Any) -> None:
        """In the main process: capture the step (``global_step - 1``) if it is on the interval."""
        if not state.is_world_process_zero:
            return
        loss = None if self._loss_sum is None else self._loss_sum / self._loss_count
        self._loss_sum, self._loss_count = None, 0
        self._recording.record(state.global_step - 1, loss, model)

    def on_train_end(self, args: Any, state: Any, control: Any, model: Any = None, **kwargs: Any) -> None:
        """Unhook the model; in the main process capture the last step, render to ``path``, log to ``log_to``."""
        if self._hook is not None:
            self._hook.remove()
            self._hook = None
        if not state.is_world_process_zero:
            return
        trace, self.animation = self._recording.finish_and_render(self._path, Path(args.output_dir), self._options)
        log_to_targets(trace, self.animation, self._options, self._log_to, step=state.global_step,
                       tag="convergence_anim")
