"""What recording costs a training loop (issue 3).

Run it from the repository root:

    /work/venv/bin/python benchmarks/recorder.py            # full run (~1 min)
    /work/venv/bin/python benchmarks/recorder.py --quick    # smoke test

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
"""

from __future__ import annotations

import argparse
import math
import statistics
import time
import timeit

import torch

import convergence_anim as ca

LR = 0.004
EVERY = 20
OVERHEAD_TARGET = 0.10
SKIP_TARGET_US = 2.0


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--iterations", type=int, default=2000, help="training steps per loop run (default 2000)")
    parser.add_argument("--repeats", type=int, default=11, help="interleaved runs with and without recording (default 11)")
    parser.add_argument("--quick", action="store_true", help="smoke test: 500 iterations, 3 repeats, fewer timeit calls")
    args = parser.parse_args()
    number, batches = 200_000, 7
    if args.quick:
        args.iterations, args.repeats, number, batches = 500, 3, 20_000, 3
    print(f"{time.strftime('%Y-%m-%d %H:%M')}  torch {torch.__version__}, {torch.get_num_threads()} threads")
    results = [loop_overhead(args.iterations, args.repeats), skipped_step(number, batches)]
    print("Summary:", "PASS" if all(results) else "FAIL", f"({sum(results)}/{len(results)} targets met)")


if __name__ == "__main__":
    main()
