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
