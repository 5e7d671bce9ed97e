"""Log an animation to TensorBoard: ``log_animation(writer, rec.trace)``.

Needs TensorBoard (``pip install 'convergence-anim[tensorboard]'``); not moviepy. TensorBoard shows
a video as an image summary holding an animated GIF, which is what ``SummaryWriter.add_video``
writes too; but ``add_video`` needs moviepy's old ``moviepy.editor`` (gone in moviepy 2) and, without
it, prints a line and logs nothing. Our renderer already makes the GIF, so this module writes that
summary itself, with TensorBoard's own event writer, into the writer's log folder.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from .._exceptions import UsageError
from ._common import animation_file, require

require("tensorboard", "tensorboard", "convergence_anim.integrations.tensorboard")

__all__ = ["log_animation"]


def log_animation(writer: Any, animation: Any, *, tag: str = "convergence_anim", step: int = 0,
                  **options: Any) -> Path:
    """Log ``animation`` to TensorBoard's Images tab, where it plays, under ``tag`` at ``step``.

    Parameters
    ----------
    writer:
        Where the run's TensorBoard events go: a ``torch.utils.tensorboard.SummaryWriter`` (or
        tensorboardX's), a Lightning ``TensorBoardLogger``, or the log folder itself. The animation
        is written to a new event file in that folder, beside the writer's own.
    animation:
        A ``Trace`` (``rec.trace``) or ``Recorder``, rendered to a GIF for this, or the path of a
        rendered ``.gif``.
    tag:
        The name it is shown under.
    step:
        The training step it belongs to.
    **options:
        For a trace: options of ``render`` (``fps``, ``size``, ``theme``, ...). A small ``size``
        keeps the event file small: TensorBoard keeps the whole GIF in it.

    Returns
    -------
    pathlib.Path
        The log folder, which now holds the animation in an event file of its own.

    Raises
    ------
    UsageError
        If ``writer`` is not one of the above, ``animation`` is neither a trace nor a GIF file, or
        an option is bad.
    """
    from PIL import Image
    from tensorboard.compat.proto.event_pb2 import Event
    from tensorboard.compat.proto.summary_pb2 import Summary
    from tensorboard.summary.writer.event_file_writer import EventFileWriter

    folder = _log_folder(writer)
    with animation_file(animation, (".gif",), "tensorboard.log_animation", **options) as path:
        data = path.read_bytes()
        with Image.open(path) as image:
            width, height = image.size
    image = Summary.Image(height=height, width=width, colorspace=3, encoded_image_string=data)
    event = Event(wall_time=time.time(), step=int(step), summary=Summary(value=[Summary.Value(tag=tag, image=image)]))
    folder.mkdir(parents=True, exist_ok=True)
    events = EventFileWriter(str(folder), filename_suffix=".convergence_anim")
    try:
        events.add_event(event)
    finally:
        events.close()
    return folder


def _log_folder(writer: Any) -> Path:
    if isinstance(writer, (str, os.PathLike)):
        return Path(writer)
    for owner in (writer, getattr(writer, "experiment", None)):  # a Lightning logger's writer is .experiment
        get_logdir = getattr(owner, "get_logdir", None)
        if callable(get_logdir):
            return Path(get_logdir())
    log_dir = getattr(writer, "log_dir", None)
    if isinstance(log_dir, (str, os.PathLike)):
        return Path(log_dir)
    raise UsageError(f"log_animation writes to a TensorBoard SummaryWriter, a Lightning TensorBoardLogger or a log "
                     f"folder, got {type(writer).__name__}")
