"""What the integrations share: importing a framework or saying what to install, the recording the
callbacks do, rendering a trace for a logger, and sending the animation to its destinations."""

from __future__ import annotations

import contextlib
import importlib
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Iterator

from .._exceptions import MissingDependencyError, UsageError

__all__ = ["CallbackRecording", "animation_file", "check_targets", "log_to_targets", "loss_in", "require"]


def require(module: str, extra: str, what: str) -> Any:
    """Import ``module``, or raise MissingDependencyError naming the extra that installs it."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        # Only the framework itself being absent is "not installed"; a broken install says what broke.
        missing = getattr(exc, "name", None)
        if missing is not None and module.split(".")[0] != missing.split(".")[0]:
            raise MissingDependencyError(
                f"{what} needs {module}, which failed to import ({exc}); reinstall it with "
                f"pip install 'convergence-anim[{extra}]'") from None
        raise MissingDependencyError(
            f"{what} needs {module.split('.')[0]}, which is not installed: pip install 'convergence-anim[{extra}]'"
        ) from None


def loss_in(output: Any) -> Any:
    """The loss a training step or forward pass returned, or None: a tensor, ``["loss"]``, or None."""
    if isinstance(output, Mapping):
        return output.get("loss")
    if hasattr(output, "detach") and getattr(output, "ndim", None) == 0:
        return output
    return None


class CallbackRecording:
    """The recording both callbacks do: a Recorder on the main process, the last step kept for the end.

    Parameters
    ----------
    scene, every, meta, max_captures:
        As for ``Recorder``.
    capture:
        ``capture(model) -> dict`` of the values a capture records; by default ``{"model": scores}``
        where ``scores`` is the model seen through ``ScoresOf``.
    """

    def __init__(self, scene: Any, every: int, meta: Any, max_captures: Any, capture: Any) -> None:
        if capture is not None and not callable(capture):
            raise UsageError(f"capture must be a function of the model returning the values to record, got "
                             f"{type(capture).__name__}")
        self._arguments = (scene, every, meta, max_captures)
        # One made now, so a bad scene or interval fails when the callback is made, not after training.
        self.recorder = self._new_recorder()
        self._capture = capture
        self._scores: Any = None
        self._last: "tuple[int, Any, Any] | None" = None

    def _new_recorder(self) -> Any:
        from ..recorder import Recorder

        scene, every, meta, max_captures = self._arguments
        return Recorder(scene, every, meta=meta, max_captures=max_captures)

    def start(self) -> None:
        """A new recording for a new run of training (a second ``fit`` starts from step 0 again)."""
        if len(self.recorder):
            self.recorder = self._new_recorder()
        self._last = None

    def record(self, step: int, loss: Any, model: Any) -> None:
        """Capture ``step`` if it falls on the interval; remember it, so the end can force it."""
        # The loss is kept detached (never a float here: .item() would wait for a GPU every step).
        loss = loss.detach() if hasattr(loss, "detach") else loss
        self._last = (step, loss, model)
        if step % self.recorder.every == 0:
            self.recorder.capture(step, loss=loss, **self._values(model))

    def finish(self) -> Any:
        """Capture the last step (forced, so the last frame is the trained model); return the trace."""
        if self._last is not None:
            step, loss, model = self._last
            self._last = None
            self.recorder.capture(step, loss=loss, force=True, **self._values(model))
        return self.recorder.trace

    def finish_and_render(self, path: "Path | None", default_folder: Path,
                          options: Mapping[str, Any]) -> tuple[Any, Path]:
        """``finish``, then render the trace to ``path`` (``convergence.gif`` in ``default_folder`` if None).

        The file's folder is created if missing. Returns the trace and the animation's path.
        """
        from .._render import render

        trace = self.finish()
        path = path if path is not None else default_folder / "convergence.gif"
        path.parent.mkdir(parents=True, exist_ok=True)
        return trace, render(trace, path, **options)

    def _values(self, model: Any) -> dict[str, Any]:
        if self._capture is not None:
            values = self._capture(model)
            if not isinstance(values, Mapping):
                raise UsageError(f"capture must return a dict of named values, got {type(values).__name__}")
            return dict(values)
        if self._scores is None or self._scores.model is not model:
            from ._scores import ScoresOf

            self._scores = ScoresOf(model)
        return {"model": self._scores}


@contextlib.contextmanager
def animation_file(animation: Any, suffixes: tuple[str, ...], what: str, **options: Any) -> Iterator[Path]:
    """The animation as a file with one of ``suffixes``: the file given, or a trace rendered to a temporary one.

    ``animation`` is a ``Trace``, a ``Recorder``, or the path of a rendered file; ``options`` go to
    ``render`` for a trace (and are refused for a file, which is already rendered).
    """
    from ..recorder import Recorder
    from ..trace import Trace

    if isinstance(animation, (Trace, Recorder)):
        from .._render import render

        with tempfile.TemporaryDirectory(prefix="convergence_anim-") as folder:
            yield Path(render(animation, Path(folder) / f"animation{suffixes[0]}", **options))
        return
    if not isinstance(animation, (str, os.PathLike)):
        raise UsageError(f"{what} takes a Trace, a Recorder or the path of a rendered file, got "
                         f"{type(animation).__name__}")
    if options:
        raise UsageError(f"{what}: render options ({', '.join(sorted(options))}) apply to a trace, not to a "
                         f"file already rendered")
    path = Path(animation)
    if path.suffix.lower() not in suffixes:
        raise UsageError(f"{what} takes {' or '.join(suffixes)} files, got {path.name!r}; pass the trace to "
                         f"render one")
    if not path.is_file():
        raise UsageError(f"{what}: no file at {str(path)!r}")
    yield path


def log_to_targets(trace: Any, path: Path, options: Mapping[str, Any], targets: Any, *, step: int,
                   tag: str) -> None:
    """Send the animation rendered at ``path`` from ``trace`` to each target: ``"wandb"`` (the active
    run), a W&B run, or a TensorBoard ``SummaryWriter`` or log folder. A target that cannot show the
    file's format (TensorBoard plays GIFs only; W&B GIF, MP4 and WebM) gets the trace rendered again
    as a GIF, with the same ``options``."""
    for target in targets:
        if target == "wandb" or type(target).__module__.split(".")[0] == "wandb":
            from .wandb import SUFFIXES, log_animation as to_wandb

            run = None if target == "wandb" else target
            if path.suffix.lower() in SUFFIXES:
                to_wandb(path, run=run, key=tag, step=step)
            else:
                to_wandb(trace, run=run, key=tag, step=step, **options)
        else:
            from .tensorboard import log_animation as to_tensorboard

            if path.suffix.lower() == ".gif":
                to_tensorboard(target, path, tag=tag, step=step)
            else:
                to_tensorboard(target, trace, tag=tag, step=step, **options)


def check_targets(log_to: Any, allowed_words: tuple[str, ...]) -> Any:
    """``log_to`` as a tuple of targets (a lone target is one), or a word from ``allowed_words``; UsageError else."""
    if isinstance(log_to, str) and log_to in allowed_words:
        return log_to
    if log_to is None:
        return ()
    if isinstance(log_to, (str, os.PathLike)) or not isinstance(log_to, (list, tuple)):
        return (log_to,)
    return tuple(log_to)

