"""Every error convergence_anim raises on purpose, in one tree.

    ConvergenceAnimError            base of everything below
    ├── UsageError (ValueError)     a bad argument: every <= 0, fps <= 0, unknown suffix or theme, ...
    │   └── CaptureError            a bad Recorder.capture call: wrong shape, steps going backwards
    ├── TraceError                  a trace that cannot be used
    │   ├── TraceFormatError        a file that is not a trace, is corrupt, too large or too new
    │   └── EmptyTraceError         a trace with no captures to draw
    ├── RenderError                 drawing frames failed (e.g. a frame worker process died)
    ├── MissingDependencyError (ImportError)  an optional framework (Lightning, W&B, ...) is not installed
    └── OutputError (OSError)       the output cannot be written: directory, permissions, full disk
        └── EncoderError            the encoder failed or is missing (e.g. no ffmpeg binary)

The command line maps ``UsageError`` to exit code 2 and every other error here to exit code 1, each
printed as one line.
"""

from __future__ import annotations

__all__ = [
    "CaptureError",
    "ConvergenceAnimError",
    "EmptyTraceError",
    "EncoderError",
    "MissingDependencyError",
    "OutputError",
    "RenderError",
    "TraceError",
    "TraceFormatError",
    "UsageError",
    "one_line",
]


class ConvergenceAnimError(Exception):
    """Base class of every error convergence_anim raises on purpose."""


class UsageError(ConvergenceAnimError, ValueError):
    """An argument has a value that cannot work."""


class CaptureError(UsageError):
    """``Recorder.capture`` was called with values the scene cannot record."""


class TraceError(ConvergenceAnimError):
    """A trace cannot be used."""


class TraceFormatError(TraceError):
    """A file is not a valid trace (wrong kind of file, corrupt, oversized, or a newer format)."""


class EmptyTraceError(TraceError):
    """A trace holds no captures, so there is nothing to draw."""


class RenderError(ConvergenceAnimError):
    """Drawing the frames failed for a reason other than the trace or the output."""


class MissingDependencyError(ConvergenceAnimError, ImportError):
    """An optional package an integration needs is not installed; the message names the extra to install."""


class OutputError(ConvergenceAnimError, OSError):
    """An output file cannot be written."""


class EncoderError(OutputError):
    """An encoder failed, or its backend (such as the ffmpeg binary) is missing."""


def one_line(exc: BaseException) -> str:
    """An exception as one line: the project's own messages as they are, others after their type.

    For messages that quote someone else's error (a user's ``draw``, a training function, a scene
    package): whitespace and line breaks are folded, so the command line's error stays one line.
    """
    text = " ".join(str(exc).split())
    if isinstance(exc, ConvergenceAnimError):
        return text or type(exc).__name__
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
