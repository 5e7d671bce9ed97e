"""What recording costs a training loop (issues 3 and 15).

Run it from the repository root:

    python benchmarks/recorder.py            # full run (~3 min, of which ~2 the long loop and its render)
    python benchmarks/recorder.py --quick    # smoke test (long loop of 2,000 steps)

1. Loop overhead. The blog's linear-regression loop, written exactly as ``convergence_anim/demos.py``
   ``_linear`` writes it (seed 10, 20 points, lr 0.004), run for a fixed number of iterations
   (default 2000) with no early stop, once without a recorder and once with
   ``rec.capture(i, loss=loss, w=w, b=b, force=done)`` at ``every=20``. The two are interleaved,
   repeated (default 11 times), and the medians compared: overhead = with / without - 1.
   Target: at most 10 %.

2. A skipped step. ``rec.capture(1, loss=loss, w=w, b=b)`` on a recorder with ``every=1000`` (1 is not
   a multiple, so nothing is recorded), timed with ``timeit``: median per call over several batches.
   Target: under 2 microseconds. For scale, the same call to an empty Python function, and the cost of
   a step that is recorded, are printed too.

3. A grid capture. The MLP below (2 -> 16 tanh -> 1), ``DecisionBoundary`` at its default 200x200
   grid: ``rec.capture(step, model=model)`` followed by ``rec.trace`` (``every=1``; the model is small,
   so the capture copies its parameters and the trace evaluates the grid) against a bare
   ``model(grid)`` of the same 40,000 points (a float32 tensor built once) under ``torch.no_grad()``,
   batches of 20 calls of each, interleaved, median per call. Target: capture and evaluation at most
   1.3x the bare forward pass. The capture alone (what a capture that thinning later drops costs) is
   printed too.

4. A long loop. Full-batch Adam (lr 0.01) on 200 points (seed 0, two classes split by x*y > 0) for
   20,000 steps, with ``rec.capture(i, loss=loss, model=model, force=last)`` at ``every=1`` and the
   default budget, and the same loop without a recorder, each in a fresh process (``--child``). Peak
   RSS (``ru_maxrss``) of each; targets: with the recorder at most 300 MB above without, and the
   recorded loop at most 3x the time of the plain one. The recorded trace is then rendered to a GIF
   (``render(trace, path)``, default options) to show that it does, with its time and file size.

All timings run torch on one thread (``torch.set_num_threads(1)``), as batch workers do: on a shared
2-core machine it keeps the ratios steady.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import timeit
import warnings
from pathlib import Path

import numpy as np
import torch

import convergence_anim as ca

LR = 0.004
EVERY = 20
OVERHEAD_TARGET = 0.10
SKIP_TARGET_US = 2.0
GRID_TARGET = 1.3
LONG_STEPS = 20_000
LONG_RSS_TARGET_MB = 300
LONG_TIME_TARGET = 3.0


def linear_loop(iterations: int, record: bool) -> tuple[float, int]:
    """The blog's linear loop for exactly ``iterations`` steps; returns (seconds in the loop, frames)."""
    torch.manual_seed(10)
    x = torch.rand(20, 1) * 10
    y = 2 * x + (5 + torch.randn(20, 1))
    w = torch.randn((1), requires_grad=True)
    b = torch.zeros((1), requires_grad=True)
    rec = ca.Recorder(ca.scenes.LineFit(x, y, xlim=(1.5, 10), ylim=(8, 28)), every=EVERY) if record else None
    lr = LR
    start = time.perf_counter()
    for iteration in range(iterations):
        y_pred = w * x + b
        loss = (0.5 * (y - y_pred) ** 2).mean()
        loss.backward()
        with torch.no_grad():
            b -= lr * b.grad
            w -= lr * w.grad
        w.grad.zero_()
        b.grad.zero_()
        value = loss.item()
        # Same bookkeeping as the demo, but no early stop: every run does the same work.
        done = not math.isfinite(value) or iteration == iterations - 1
        if rec is not None:
            rec.capture(iteration, loss=loss, w=w, b=b, force=done)
    elapsed = time.perf_counter() - start
    return elapsed, len(rec) if rec is not None else 0


def loop_overhead(iterations: int, repeats: int) -> bool:
    linear_loop(200, True)  # warm-up: imports, torch's first-call costs
    linear_loop(200, False)
    without, with_rec = [], []
    frames = 0
    for _ in range(repeats):
        without.append(linear_loop(iterations, False)[0])
        seconds, frames = linear_loop(iterations, True)
        with_rec.append(seconds)
    base, rec = statistics.median(without), statistics.median(with_rec)
    overhead = rec / base - 1
    paired = [a / b - 1 for a, b in zip(with_rec, without)]
    ok = overhead <= OVERHEAD_TARGET
    print(f"Linear loop, {iterations} iterations, lr {LR}, capture every {EVERY} ({frames} frames); medians of {repeats}, interleaved")
    print(f"  {'without recorder':<18} {base * 1000:8.1f} ms  ({base / iterations * 1e6:.1f} us/step)   runs: {' '.join(f'{s * 1000:.0f}' for s in without)} ms")
    print(f"  {'with recorder':<18} {rec * 1000:8.1f} ms  ({rec / iterations * 1e6:.1f} us/step)   runs: {' '.join(f'{s * 1000:.0f}' for s in with_rec)} ms")
    print(f"  overhead {overhead:+.1%} (paired per repeat: {' '.join(f'{p:+.1%}' for p in paired)}; median {statistics.median(paired):+.1%})"
          f"   target <= {OVERHEAD_TARGET:.0%}  {'PASS' if ok else 'FAIL'}")
    return ok


def _empty(step, loss=None, *, force=False, **state):
    return False


def skipped_step(number: int, batches: int) -> bool:
    torch.manual_seed(10)
    x = torch.rand(20, 1) * 10
    y = 2 * x + (5 + torch.randn(20, 1))
    w = torch.randn((1), requires_grad=True)
    b = torch.zeros((1), requires_grad=True)
    loss = (0.5 * (y - (w * x + b)) ** 2).mean()
    rec = ca.Recorder(ca.scenes.LineFit(x, y), every=1000)
    assert rec.capture(1, loss=loss, w=w, b=b) is False
    names = {"rec": rec, "loss": loss, "w": w, "b": b, "empty": _empty}

    def per_call_us(statement: str, n: int = number) -> list[float]:
        timer = timeit.Timer(statement, globals=names)
        return [t / n * 1e6 for t in timer.repeat(repeat=batches, number=n)]

    skipped = per_call_us("rec.capture(1, loss=loss, w=w, b=b)")
    empty = per_call_us("empty(1, loss=loss, w=w, b=b)")
    recording = ca.Recorder(ca.scenes.LineFit(x, y), every=1)
    names["recording"] = recording
    counter = iter(range(10**9))
    names["counter"] = counter
    recorded = per_call_us("recording.capture(next(counter), loss=loss, w=w, b=b)", n=max(1, number // 100))
    median = statistics.median(skipped)
    ok = median < SKIP_TARGET_US
    print(f"Skipped step: rec.capture(1, loss=loss, w=w, b=b) with every=1000; median of {batches} batches of {number} calls")
    print(f"  skipped capture      {median:6.3f} us/call   (batches: {' '.join(f'{v:.3f}' for v in skipped)})   target < {SKIP_TARGET_US:g} us  {'PASS' if ok else 'FAIL'}")
    print(f"  empty function call  {statistics.median(empty):6.3f} us/call   (same arguments, for scale)")
    print(f"  recorded capture     {statistics.median(recorded):6.3f} us/call   (every=1: copies w, b and the loss out)")
    return ok


def mlp_problem():
    """The issue's setting: a 16-unit MLP and 200 points of two classes (seeded)."""
    torch.manual_seed(0)
    points = torch.randn(200, 2)
    labels = (points[:, 0] * points[:, 1] > 0).long()
    model = torch.nn.Sequential(torch.nn.Linear(2, 16), torch.nn.Tanh(), torch.nn.Linear(16, 1))
    return model, points, labels


def grid_capture(batches: int, per_batch: int = 20) -> bool:
    model, points, labels = mlp_problem()
    scene = ca.scenes.DecisionBoundary(points, labels)
    gx, gy = np.meshgrid(*scene.grid)
    grid = torch.tensor(np.column_stack([gx.ravel(), gy.ravel()]), dtype=torch.float32)
    rec = ca.Recorder(scene, every=1, max_captures=None)
    step = iter(range(10**9))

    def bare() -> None:
        with torch.no_grad():
            model(grid)

    def capture() -> None:
        rec.capture(next(step), model=model)
        rec.trace  # evaluates the grid for this capture

    def capture_only() -> None:
        only.capture(next(step), model=model)

    only = ca.Recorder(scene, every=1, max_captures=None)
    bare(), capture(), capture_only()  # warm-up: first-call costs, the grid tensor
    bare_ms, capture_ms, only_ms = [], [], []
    for _ in range(batches):
        for fn, out in ((bare, bare_ms), (capture, capture_ms), (capture_only, only_ms)):
            start = time.perf_counter()
            for _ in range(per_batch):
                fn()
            out.append((time.perf_counter() - start) / per_batch * 1000)
    b, c = statistics.median(bare_ms), statistics.median(capture_ms)
    ok = c / b <= GRID_TARGET
    print(f"Grid capture: DecisionBoundary 200x200 ({grid.shape[0]} points), 2-16-1 MLP; median of {batches} batches of {per_batch}")
    print(f"  bare model(grid), no_grad  {b:6.2f} ms/call   (batches: {' '.join(f'{v:.2f}' for v in bare_ms)})")
    print(f"  rec.capture + rec.trace    {c:6.2f} ms/call   (batches: {' '.join(f'{v:.2f}' for v in capture_ms)})")
    print(f"  rec.capture alone          {statistics.median(only_ms):6.2f} ms/call   "
          f"(batches: {' '.join(f'{v:.2f}' for v in only_ms)}; copies the parameters, evaluates nothing yet)")
    print(f"  ratio {c / b:.2f}x   target <= {GRID_TARGET}x  {'PASS' if ok else 'FAIL'}   "
          f"(stored per capture: {rec.trace.state['probability'][0].nbytes} bytes)")
    return ok


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return math.nan


def long_loop_child(steps: int, record: bool) -> None:
    """One long loop in this (fresh) process; prints a JSON line of what it measured."""
    model, points, labels = mlp_problem()
    target = labels.float()
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    scene = ca.scenes.DecisionBoundary(points, labels)
    rec = ca.Recorder(scene, every=1) if record else None
    result: dict = {"rss_before_mb": _rss_mb()}
    start = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for step in range(steps):
            optimizer.zero_grad()
            loss = torch.nn.functional.binary_cross_entropy_with_logits(model(points)[:, 0], target)
            loss.backward()
            optimizer.step()
            if rec is not None:
                rec.capture(step, loss=loss, model=model, force=step == steps - 1)
        trace = rec.trace if rec is not None else None
    result["seconds"] = time.perf_counter() - start
    result["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    result["rss_after_mb"] = _rss_mb()
    result["final_weight_sum"] = float(sum(p.double().sum() for p in model.parameters()))
    if trace is not None:
        result["frames"] = len(trace)
        result["capture_every"] = trace.meta["capture_every"]
        result["warnings"] = [str(w.message) for w in caught]
        result["state_mb"] = sum(v.nbytes for v in trace.state.values()) / 1e6
        with tempfile.TemporaryDirectory() as tmp:
            size = trace.save(Path(tmp) / "long.npz").stat().st_size
            result["npz_mb"] = size / 1e6
            start = time.perf_counter()
            ca.render(trace, Path(tmp) / "long.gif")
            result["render_seconds"] = time.perf_counter() - start
            result["gif_mb"] = (Path(tmp) / "long.gif").stat().st_size / 1e6
    print(json.dumps(result))


def long_loop(steps: int) -> bool:
    def child(record: bool) -> dict:
        cmd = [sys.executable, __file__, "--child", "record" if record else "plain", "--long-steps", str(steps)]
        out = subprocess.run(cmd, check=True, capture_output=True, text=True, env=os.environ).stdout
        return json.loads(out.strip().splitlines()[-1])

    plain, recorded = child(False), child(True)
    rise = recorded["peak_mb"] - plain["peak_mb"]
    ratio = recorded["seconds"] / plain["seconds"]
    ok_rss, ok_time = rise <= LONG_RSS_TARGET_MB, ratio <= LONG_TIME_TARGET
    same = recorded["final_weight_sum"] == plain["final_weight_sum"]
    print(f"Long loop: {steps} steps, every=1, default budget; one fresh process each")
    for name, r in (("without recorder", plain), ("with recorder", recorded)):
        print(f"  {name:<17} {r['seconds']:7.1f} s ({r['seconds'] / steps * 1e6:.0f} us/step)   peak RSS {r['peak_mb']:6.1f} MB"
              f"   (RSS before the loop {r['rss_before_mb']:.1f} MB, after {r['rss_after_mb']:.1f} MB)")
    print(f"  peak RSS +{rise:.1f} MB   target <= +{LONG_RSS_TARGET_MB} MB  {'PASS' if ok_rss else 'FAIL'}")
    print(f"  time {ratio:.2f}x   target <= {LONG_TIME_TARGET}x  {'PASS' if ok_time else 'FAIL'}")
    print(f"  trace: {recorded['frames']} frames, capture_every={recorded['capture_every']}, state {recorded['state_mb']:.1f} MB in memory, "
          f".npz {recorded['npz_mb']:.1f} MB; final weights identical to the plain loop's: {same}")
    print(f"  warnings: {recorded['warnings']}")
    print(f"  render to GIF (default options): {recorded['render_seconds']:.1f} s, {recorded['gif_mb']:.1f} MB")
    return ok_rss and ok_time and same


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--iterations", type=int, default=2000, help="training steps per loop run (default 2000)")
    parser.add_argument("--repeats", type=int, default=11, help="interleaved runs with and without recording (default 11)")
    parser.add_argument("--quick", action="store_true", help="smoke test: 500 iterations, 3 repeats, fewer timeit calls, 2,000-step long loop")
    parser.add_argument("--long-steps", type=int, default=LONG_STEPS, help=f"steps of the long loop (default {LONG_STEPS})")
    parser.add_argument("--skip-long", action="store_true", help="skip the long loop")
    parser.add_argument("--child", choices=["plain", "record"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    torch.set_num_threads(1)
    if args.child:
        long_loop_child(args.long_steps, args.child == "record")
        return
    number, batches = 200_000, 7
    if args.quick:
        args.iterations, args.repeats, number, batches, args.long_steps = 500, 3, 20_000, 3, 2000
    print(f"{time.strftime('%Y-%m-%d %H:%M')}  torch {torch.__version__}, {torch.get_num_threads()} threads")
    results = [loop_overhead(args.iterations, args.repeats), skipped_step(number, batches), grid_capture(batches)]
    if not args.skip_long:
        results.append(long_loop(args.long_steps))
    print("Summary:", "PASS" if all(results) else "FAIL", f"({sum(results)}/{len(results)} targets met)")


if __name__ == "__main__":
    main()
