"""convergence_anim: turn a PyTorch training run into an animation (GIF or MP4).

    rec = convergence_anim.Recorder(convergence_anim.scenes.LineFit(x, y), every=20)
    for step in range(1000):
        ...                                   # forward, backward, update
        rec.capture(step, loss=loss, w=w, b=b)
    convergence_anim.render(rec.trace, "outputs/linear.gif", fps=5)

Names are imported lazily, so ``import convergence_anim`` (and the command line's ``--help``) stays
fast: torch and matplotlib load only when something needs them.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

__all__ = [
    "BatchJob",
    "BatchResult",
    "CaptureError",
    "ConvergenceAnimError",
    "EmptyTraceError",
    "EncoderError",
    "LiveView",
    "MissingDependencyError",
    "OutputError",
    "Recorder",
    "RenderError",
    "RenderSettings",
    "Trace",
    "TraceError",
    "TraceFormatError",
    "UsageError",
    "render",
    "render_batch",
    "scenes",
]

_LAZY = {
    "Recorder": ".recorder",
    "Trace": ".trace",
    "render": "._render",
    "LiveView": ".live",
    "RenderSettings": ".settings",
    "render_batch": ".batch",
    "BatchJob": ".batch",
    "BatchResult": ".batch",
    "scenes": ".scenes",
    **{name: "._exceptions" for name in __all__ if name.endswith("Error")},
}

if TYPE_CHECKING:  # pragma: no cover
    from . import scenes
    from .batch import BatchJob, BatchResult, render_batch
    from ._exceptions import (
        CaptureError,
        ConvergenceAnimError,
        EmptyTraceError,
        EncoderError,
        MissingDependencyError,
        OutputError,
        RenderError,
        TraceError,
        TraceFormatError,
        UsageError,
    )
    from .live import LiveView
    from .recorder import Recorder
    from ._render import render
    from .settings import RenderSettings
    from .trace import Trace


def __getattr__(name: str) -> Any:
    try:
        module_name = _LAZY[name]
    except KeyError:
        raise AttributeError(f"module 'convergence_anim' has no attribute {name!r}") from None
    module = importlib.import_module(module_name, __name__)
    value = module if name == "scenes" else getattr(module, name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
