"""Log an animation to Weights & Biases: ``log_animation(rec.trace)`` into the active run.

Needs wandb (``pip install 'convergence-anim[wandb]'``). The file goes to ``wandb.Video`` as a
path (GIF, MP4 or WebM), which needs no moviepy (``wandb.Video`` of an array does).
"""

from __future__ import annotations

from typing import Any

from .._exceptions import UsageError
from ._common import animation_file, require

wandb = require("wandb", "wandb", "convergence_anim.integrations.wandb")

__all__ = ["SUFFIXES", "log_animation"]

#: The formats W&B plays, of those convergence_anim renders.
SUFFIXES = (".gif", ".mp4", ".webm")


def log_animation(animation: Any, *, run: Any = None, key: str = "convergence_anim", step: "int | None" = None,
                  **options: Any) -> None:
    """Log ``animation`` to a W&B run as a ``wandb.Video`` under ``key``.

    Parameters
    ----------
    animation:
        A ``Trace`` (``rec.trace``) or ``Recorder``, rendered to a GIF for this, or the path of a
        rendered ``.gif``, ``.mp4`` or ``.webm``.
    run:
        The run to log to; by default the active one (``wandb.run``, what ``wandb.init()`` started).
    key:
        The name it is shown under.
    step:
        The run's step to log it at; by default W&B's current step.
    **options:
        For a trace: options of ``render`` (``fps``, ``size``, ``theme``, ...).

    Raises
    ------
    UsageError
        If no run is active and none is given, ``animation`` is neither a trace nor a GIF, MP4 or
        WebM file, or an option is bad.
    """
    run = wandb.run if run is None else run
    if run is None:
        raise UsageError("no W&B run is active: call wandb.init() first, or pass run=")
    with animation_file(animation, SUFFIXES, "wandb.log_animation", **options) as path:
        # Logging copies the file into the run's media folder, so a temporary rendering may go after.
        video = wandb.Video(str(path), format=path.suffix.lower().lstrip("."))
        run.log({key: video}, step=step)
