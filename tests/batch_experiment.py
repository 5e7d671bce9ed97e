"""Training functions the batch tests import by module name, as a user's package would be."""

import os
import time

import convergence_anim as ca


def quadratic(seed, scale=1.0):
    """Three captures of a loss ``scale * (seed + 1) / (step + 1)``: the value follows the parameter exactly."""
    import torch

    x = torch.linspace(0, 1, 5)
    rec = ca.Recorder(ca.scenes.LineFit(x, x), every=1)
    for step in range(3):
        rec.capture(step, loss=scale * (seed + 1) / (step + 1), w=float(step), b=0.0)
    return rec.trace


def slow(seed, marks):
    """``quadratic``, after leaving a mark ``seed-PID-time`` and taking a second: long enough to kill its worker."""
    with open(os.path.join(marks, f"{seed}-{os.getpid()}-{time.monotonic_ns()}"), "w"):
        pass
    time.sleep(1.0)
    return quadratic(seed)


class Experiment:
    """A user's experiment as a class; its bound ``train`` is the training function."""

    def __init__(self, scale):
        self.scale = scale

    def train(self, seed):
        return quadratic(seed, self.scale)


def hostile(seed, how="none"):
    """``quadratic``, except that seed 1 ends its process, crashes, calls sys.exit or hangs, as ``how`` says."""
    if seed == 1:
        if how == "os_exit":
            os._exit(3)
        if how == "segfault":
            import ctypes

            ctypes.string_at(0)  # reads address 0
        if how == "sys_exit":
            import sys

            sys.exit(4)
        if how == "hang":
            while True:  # a Python loop, not one long sleep: a Dask worker's thread can be stopped in it
                time.sleep(0.02)
    return quadratic(seed)


def sleeper(seed, marks):
    """Leave a mark ``seed-PID-time``, then sleep for a minute: a worker that stays busy."""
    with open(os.path.join(marks, f"{seed}-{os.getpid()}-{time.monotonic_ns()}"), "w"):
        pass
    for _ in range(600):
        time.sleep(0.1)
    return quadratic(seed)


def every_step(seed, captures=305):
    """A run captured at every step (the Recorder's default), more captures than the default frame budget draws."""
    rec = ca.Recorder(ca.scenes.LineFit([0.0, 1.0, 2.0], [0.0, 1.0, 2.0]))
    for step in range(captures):
        rec.capture(loss=1.0 / (step + 1 + seed), w=1.0, b=0.0)
    return rec.trace
