"""What the views of issue 21 cost: a ``neurons`` capture, and an ensemble of 20 runs.

Run it from the repository root (about 30 s):

    python benchmarks/neurons_ensemble.py

1. A neurons capture. The 2 -> 16 tanh -> 16 tanh -> 1 MLP of the moons demo, ``DecisionBoundary`` at
   its default 200x200 grid: ``rec.capture(model=model)`` then ``rec.trace`` (the grid evaluated), with
   ``neurons=True`` against without, on fresh recorders, batches of 10 captures, interleaved, median
   per capture over 7 batches. Target: at most 2x the plain boundary capture.

2. An ensemble render. 20 runs of ``LineFit`` (30 captures each, the lines fanning in) rendered with
   ``render(traces, path, ensemble=True, loss_panel=True)`` to a GIF, against one of them rendered alone
   with ``loss_panel=True``; ``jobs=1`` both, median of 3 renders each, interleaved. Target: at most 2x.

Torch runs on one thread, as batch workers do: on a shared 2-core machine it keeps the ratios steady.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import convergence_anim as ca  # noqa: E402
from convergence_anim.scenes import DecisionBoundary, LineFit  # noqa: E402


def capture_seconds(neurons: bool, model, x, y, n: int = 10) -> float:
    rec = ca.Recorder(DecisionBoundary(x, y, neurons=neurons), every=1)
    start = time.perf_counter()
    for step in range(n):
        rec.capture(step, loss=1.0, model=model)
    rec.trace  # the deferred grids are evaluated here
    return (time.perf_counter() - start) / n


def ensemble_traces(runs: int = 20, captures: int = 30) -> list:
    rng = np.random.default_rng(0)
    x = np.linspace(0, 1, 20)
    y = 2 * x + 1 + 0.1 * rng.standard_normal(20)
    traces = []
    for _ in range(runs):
        rec = ca.Recorder(LineFit(x, y))
        z = rng.standard_normal()
        for t in range(captures):
            s = 1 - t / (captures - 1)
            rec.capture(loss=0.1 + s * (1 + 0.3 * z), w=2 + s * z, b=1 - 0.3 * s * z)
        traces.append(rec.trace)
    return traces


def render_seconds(traces, path: Path, **options) -> float:
    start = time.perf_counter()
    ca.render(traces, path, jobs=1, loss_panel=True, **options)
    return time.perf_counter() - start


def main() -> None:
    torch.set_num_threads(1)
    torch.manual_seed(0)
    x = torch.randn(200, 2)
    y = (x[:, 0] * x[:, 1] > 0).float()
    model = nn.Sequential(nn.Linear(2, 16), nn.Tanh(), nn.Linear(16, 16), nn.Tanh(), nn.Linear(16, 1))
    capture_seconds(True, model, x, y, 2)  # warm-up: imports, lookup tables
    plain, neurons = [], []
    for _ in range(7):
        plain.append(capture_seconds(False, model, x, y))
        neurons.append(capture_seconds(True, model, x, y))
    p, q = statistics.median(plain), statistics.median(neurons)
    print(f"capture, plain boundary : {1000 * p:7.2f} ms")
    print(f"capture, neurons=True   : {1000 * q:7.2f} ms   ratio {q / p:.2f}x (target <= 2x)")

    traces = ensemble_traces()
    with tempfile.TemporaryDirectory() as tmp:
        render_seconds(traces[0], Path(tmp) / "warm.gif")
        one, many = [], []
        for i in range(3):
            one.append(render_seconds(traces[0], Path(tmp) / f"one{i}.gif"))
            many.append(render_seconds(traces, Path(tmp) / f"many{i}.gif", ensemble=True))
    a, b = statistics.median(one), statistics.median(many)
    print(f"render, one run         : {a:7.2f} s  ({len(traces[0])} frames)")
    print(f"render, ensemble of {len(traces)}  : {b:7.2f} s   ratio {b / a:.2f}x (target <= 2x)")


if __name__ == "__main__":
    main()
