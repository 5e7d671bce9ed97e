"""Cost of loss landscapes: evaluating one (issue 23) and drawing the panel (issue 12).

Run it from the repository root:

    /work/main/.venv/bin/python benchmarks/landscape.py                    # both parts
    /work/main/.venv/bin/python benchmarks/landscape.py --quick            # 60 frames, 2 repeats
    /work/main/.venv/bin/python benchmarks/landscape.py --evaluation-only  # the first part (~1 min)

**Evaluating** (``Recorder.add_landscape``): a user's DataLoader + Adam loop training a 2-64-64-2
ReLU MLP (4,482 parameters) on 300 points, recorded with ``params=True``; then the 41x41 landscape
on its path's plane, by ``add_landscape`` (batched grid points) and by the baseline, the algorithm
before issue 23 (one ``functional_call`` per grid point, copied below), alternately in each
repeat. Each is measured in two fresh processes: pinned to one core (torch then runs one thread)
and with every core (torch's default thread pool, which on a busy machine waits for its threads
at each of the baseline's ~15,000 small operations). Target: ``add_landscape`` <= 3 s on one
core. Also checked: both give the same losses (relative difference printed).

The same run is rendered with and without the landscape, back to back in each repeat (so slow
patches of a shared machine hit both), in one process (``jobs=1``: the drawing cost itself, not how
well workers hide it):

- ``linear``: the blog's demo captured on every step (``lr=0.004``), exact ``(w, b)`` landscape;
- ``moons``: the 16-16 MLP with a recorded landscape (41x41 plane, ``add_landscape``).

For each: median seconds of a whole GIF render at each setting's default frame size (the landscape
widens the frame, so GIF encoding has more pixels), and of drawing the frames alone at one shared
size (``FrameRenderer.render_rgba`` over every frame): the second isolates what the panel costs to
draw. Target: landscape within 1.5x of plain. Also reported: the one-off cost of ``add_landscape``
and the load average, since the machine is shared.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
if "--child" not in sys.argv:  # the evaluation children choose their own threads
    os.environ.setdefault("OMP_NUM_THREADS", "1")


def _timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def baseline_evaluate_on_plane(model, loss_fn, inputs, targets, plane, xs, ys):
    """``convergence_anim.landscape.evaluate_on_plane`` before issue 23: one grid point at a time."""
    import numpy as np
    import torch
    from torch.func import functional_call

    named = list(model.named_parameters())
    sizes = [p.numel() for _, p in named]
    device = named[0][1].device
    modes = [(module, module.training) for module in model.modules()]
    out = np.full((len(ys), len(xs)), np.nan)
    try:
        model.eval()
        with torch.random.fork_rng(devices=[]), torch.no_grad():
            for j, b in enumerate(ys):
                for i, a in enumerate(xs):
                    vector = plane.point(float(a), float(b))
                    params, offset = {}, 0
                    for (name, p), n in zip(named, sizes):
                        chunk = torch.as_tensor(vector[offset : offset + n], dtype=p.dtype, device=device)
                        params[name] = chunk.reshape(p.shape)
                        offset += n
                    value = float(loss_fn(functional_call(model, params, (inputs,)), targets))
                    out[j, i] = value if np.isfinite(value) else np.nan
    finally:
        for module, training in modes:
            module.training = training
    return out


def _users_loop():
    """A DataLoader + Adam loop on 300 points (the PyTorch tutorial's ``train_loop`` each epoch), recorded with two
    added lines; returns what add_landscape needs."""
    import torch
    from torch import nn
    from torch.utils.data import DataLoader, TensorDataset

    import convergence_anim as ca
    from tests.tutorials import train_loop

    torch.manual_seed(0)
    angle = torch.rand(300) * 3.1416
    label = torch.randint(0, 2, (300,))
    X = torch.stack([torch.cos(angle) + label, torch.sin(angle) * (1 - 2 * label) + 0.5 * label], 1)
    X += 0.1 * torch.randn_like(X)
    model = nn.Sequential(nn.Linear(2, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 2))
    loss_fn = nn.CrossEntropyLoss()
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    loader = DataLoader(TensorDataset(X, label), batch_size=32, shuffle=True)
    rec = ca.Recorder(ca.scenes.DecisionBoundary(X, label, resolution=40), every=10, params=True)
    for _ in range(20):
        train_loop(loader, model, loss_fn, opt, rec)
    return rec, model, loss_fn, X, label


def evaluation_child(repeats: int) -> None:
    """Time add_landscape and the baseline in this process; print one line of results."""
    import numpy as np
    import torch

    from convergence_anim import landscape as L

    rec, model, loss_fn, X, label = _users_loop()
    path = rec.trace.state["parameters"]
    plane = L.pca_plane([path])
    every = plane.project(path)
    xrange, yrange = L.path_window(every[:, 0], every[:, 1], min_aspect=L.MIN_ASPECT)
    xs, ys = np.linspace(*xrange, 41), np.linspace(*yrange, 41)
    new_s, old_s = [], []
    for _ in range(repeats):
        new_s.append(_timed(lambda: rec.add_landscape(model, loss_fn, X, label, progress=False)))
        old_s.append(_timed(lambda: baseline_evaluate_on_plane(model, loss_fn, X, label, plane, xs, ys)))
    new = rec.trace.data["landscape_loss"]
    old = baseline_evaluate_on_plane(model, loss_fn, X, label, plane, xs, ys)
    difference = float(np.nanmax(np.abs(new - old) / np.abs(old)))
    params = sum(p.numel() for p in model.parameters())
    print(f"{params} {torch.get_num_threads()} {statistics.median(new_s):.3f} {statistics.median(old_s):.3f} "
          f"{difference:.2e} {' '.join(f'{v:.2f}' for v in new_s)} | {' '.join(f'{v:.2f}' for v in old_s)}")


def evaluation(repeats: int) -> None:
    """Run the evaluation timing in a process pinned to one core and in one with every core."""
    print(f"add_landscape against the baseline (one grid point at a time), 41x41 grid, medians of {repeats}")
    print(f"load average before: {os.getloadavg()}")
    env = {k: v for k, v in os.environ.items() if k != "OMP_NUM_THREADS"}
    cores = sorted(os.sched_getaffinity(0))
    for name, pin in (("one core", [cores[0]]), (f"all {len(cores)} cores", None)):
        command = [sys.executable, __file__, "--child", str(repeats)]
        if pin is not None:
            command = ["taskset", "-c", ",".join(map(str, pin))] + command
        line = subprocess.run(command, env=env, check=True, capture_output=True, text=True).stdout.split("\n")[-2]
        params, threads, new, old, difference, runs = line.split(" ", 5)
        ratio = float(old) / float(new)
        verdict = ("PASS" if float(new) <= 3.0 else "FAIL") if pin is not None else "info"
        print(f"  {name} ({threads} torch threads): add_landscape {new} s, baseline {old} s, {ratio:.1f}x faster "
              f"(target <= 3 s on one core: {verdict}); largest relative difference {difference}")
        print(f"    runs add_landscape | baseline: {runs}")
    print(f"load average after: {os.getloadavg()}\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="60 frames, 2 repeats")
    parser.add_argument("--frames", type=int, default=None)
    parser.add_argument("--repeats", type=int, default=None)
    parser.add_argument("--evaluation-only", action="store_true", help="only time add_landscape against its baseline")
    parser.add_argument("--child", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        evaluation_child(args.child)
        return
    evaluation(args.repeats or (3 if args.quick else 5))
    if args.evaluation_only:
        return
    frames = args.frames or (60 if args.quick else 300)
    repeats = args.repeats or (2 if args.quick else 5)

    import convergence_anim as ca
    from convergence_anim.demos import run_demo
    from convergence_anim.frames import FrameRenderer

    print(f"load average before: {os.getloadavg()}")
    linear = run_demo("linear", lr=0.004, every=1, max_iter=frames).trace
    start = time.perf_counter()
    moons_run = run_demo("moons", every=max(1, 1000 // frames), landscape=True)
    moons_total = time.perf_counter() - start
    plain_moons = time.perf_counter()
    run_demo("moons", every=max(1, 1000 // frames))
    plain_moons = time.perf_counter() - plain_moons
    moons = moons_run.trace
    print(f"moons: training with landscape recording {moons_total:.2f} s, without {plain_moons:.2f} s "
          f"(add_landscape and parameter recording cost {moons_total - plain_moons:+.2f} s, one-off)")

    with tempfile.TemporaryDirectory() as tmp:
        for name, trace in (("linear", linear), ("moons", moons)):
            render_s = {False: [], True: []}
            draw_s = {False: [], True: []}
            size = FrameRenderer(trace, landscape=True).size
            for _ in range(repeats):
                for landscape in (False, True):
                    path = Path(tmp) / f"{name}-{landscape}.gif"
                    render_s[landscape].append(_timed(lambda: ca.render(trace, path, fps=20, jobs=1, landscape=landscape)))
                    renderer = FrameRenderer(trace, landscape=landscape, size=size)
                    draw_s[landscape].append(_timed(lambda: [renderer.render_rgba(i) for i in range(len(trace))]))
                    renderer.close()
            print(f"\n{name}: {len(trace)} frames, {repeats} repeats, jobs=1")
            for label, values in (("whole GIF render, default sizes", render_s), (f"drawing only, both at {size[0]}x{size[1]}", draw_s)):
                plain, with_landscape = statistics.median(values[False]), statistics.median(values[True])
                ratio = with_landscape / plain
                verdict = "PASS" if ratio <= 1.5 else "FAIL"
                print(f"  {label}: plain {plain:.2f} s, landscape {with_landscape:.2f} s, ratio {ratio:.2f} "
                      f"(target <= 1.5: {verdict})")
                print(f"    runs plain {[round(v, 2) for v in values[False]]}, landscape {[round(v, 2) for v in values[True]]}")
    print(f"\nload average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
