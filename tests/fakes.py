"""Test doubles that go through the public seams instead of private attributes."""

from __future__ import annotations

import functools
import os
import time

import numpy as np

from convergence_anim.encoders import Encoder

#: The suffix the in-memory encoder is registered under by the ``memory_encoder`` fixture.
SUFFIX = ".frames"


class MemoryEncoder(Encoder):
    """Keeps every frame it is given, with the process that prepared it, instead of writing a file.

    The newest instance is ``MemoryEncoder.last``. ``slow_parent`` (seconds) makes frames prepared in
    the process that created the encoder that much slower, so worker processes get frames to draw.
    """

    suffix = SUFFIX
    max_fps = 1000.0
    needs_samples = False
    last: "MemoryEncoder | None" = None
    slow_parent = 0.0

    def __init__(self, path, *, size, fps, loop=0, samples=()) -> None:
        super().__init__(path, size=size, fps=fps, loop=loop, samples=samples)
        self.frames: list[np.ndarray] = []
        self.repeats: list[int] = []
        self.pids: list[int] = []
        self.closed = self.aborted = False
        type(self).last = self

    def preparer(self):
        return functools.partial(_tag_with_pid, os.getpid(), type(self).slow_parent)

    def write_prepared(self, payload, repeat: int = 1) -> None:
        pid, frame = payload
        self.frames.append(frame)
        self.repeats.append(repeat)
        self.pids.append(pid)
        self.frames_written += 1

    def close(self) -> None:
        self.closed = True

    def abort(self) -> None:
        self.aborted = True


def _tag_with_pid(parent: int, slow: float, frame: np.ndarray) -> tuple[int, np.ndarray]:
    if slow and os.getpid() == parent:
        time.sleep(slow)
    return os.getpid(), frame
