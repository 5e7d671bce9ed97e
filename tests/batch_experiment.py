"""Training functions the batch tests import by module name, as a user's package would be, and the
text of a file they write out and name by path (``EXPERIMENT``)."""

import os
import time

import convergence_anim as ca

# A researcher's own experiment: the blog's line fit, with a swept learning rate. It returns the
# Recorder (a Trace works too). lr 0.1 blows up; 0.01 and 0.001 do not.
EXPERIMENT = '''
import torch
import convergence_anim as ca


def train(seed, lr=0.01, steps=30):
    torch.manual_seed(seed)
    x = torch.rand(20, 1) * 10
    y = 2 * x + 5 + torch.randn(20, 1)
    w = torch.zeros(1, requires_grad=True)
    b = torch.zeros(1, requires_grad=True)
    rec = ca.Recorder(ca.scenes.LineFit(x, y, xlim=(0, 10), ylim=(0, 30)), every=10)
    for step in range(steps):
        loss = ((w * x + b - y) ** 2).mean()
        loss.backward()
        with torch.no_grad():
            w -= lr * w.grad
            b -= lr * b.grad
        w.grad.zero_()
        b.grad.zero_()
        rec.capture(step, loss=loss, w=w, b=b, force=step == steps - 1)
    return rec


def flaky(seed, lr=0.01):
    if seed == 1:
        raise RuntimeError("the data loader broke")
    return train(seed, lr).trace


def not_a_trace(seed):
    return {"loss": 1.0}


def no_seed(lr):
    return None


def spread(seed):
    """Points on y = 2x + 1 for x in [0, seed]: each seed has its own axis limits."""
    x = torch.linspace(0, seed, 10)
    rec = ca.Recorder(ca.scenes.LineFit(x, 2 * x + 1), every=1)
    for step in range(3):
        rec.capture(step, loss=seed / (step + 1), w=float(step), b=1.0)
    return rec.trace


def boundary(seed):
    rec = ca.Recorder(ca.scenes.LinearBoundary(torch.randn(10, 2), torch.arange(10) % 2), every=1)
    rec.capture(0, loss=1.0, w=1.0, b=0.0)
    return rec.trace


def mixed(seed):
    return spread(seed + 1) if seed == 0 else boundary(seed)
'''



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
