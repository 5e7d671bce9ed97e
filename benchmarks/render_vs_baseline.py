"""Render speed of this checkout against another (say, main before a refactor), measured in one run.

    python benchmarks/render_vs_baseline.py --baseline /path/to/checkout-of-main            # from the repository root
    python benchmarks/render_vs_baseline.py --baseline ... --frames 300 --repeats 7

The linear demo's trace (``run_demo("linear", lr=0.004, every=1, max_iter=FRAMES)``, as in
``benchmarks/render.py``) is saved once; then, ``--repeats`` times, each checkout renders it in a
fresh process (GIF and MP4, 640x480, one process: ``jobs=1``, so the number is drawing and encoding
and not how many cores happen to be free), the two checkouts taking turns and alternating which goes
first, so a slow patch of a shared machine hits both. Reported: the median seconds of each, every
run, and the ratio of the medians (this / baseline: above 1 is slower).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from gallery_identical import SITECUSTOMIZE  # noqa: E402 - the same way of choosing a checkout

CHILD = """
import sys, time
import convergence_anim as ca
assert ca.__file__.startswith(sys.argv[1]), ca.__file__
trace = ca.Trace.load(sys.argv[2])
started = time.perf_counter()
ca.render(trace, sys.argv[3], jobs=1)
print(time.perf_counter() - started)
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", required=True, type=Path, help="the checkout to compare against")
    parser.add_argument("--frames", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=5)
    options = parser.parse_args()
    sides = {"baseline": options.baseline.resolve(), "this": HERE.parent}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        (work / "sitecustomize.py").write_text(SITECUSTOMIZE)
        from convergence_anim.demos import run_demo

        trace_path = run_demo("linear", lr=0.004, every=1, max_iter=options.frames).trace.save(work / "trace.npz")
        seconds: dict[tuple[str, str], list[float]] = {}
        for repeat in range(options.repeats):
            order = list(sides.items()) if repeat % 2 == 0 else list(sides.items())[::-1]
            for suffix in ("gif", "mp4"):
                for side, package in order:
                    out = work / f"{side}.{suffix}"
                    done = subprocess.run([sys.executable, "-c", CHILD, str(package), str(trace_path), str(out)],
                                          env={"PYTHONPATH": f"{package}:{work}", "PATH": "/usr/bin:/bin",
                                               "MPLBACKEND": "Agg", "HOME": tmp},
                                          cwd=work, capture_output=True, text=True, check=True)
                    seconds.setdefault((suffix, side), []).append(float(done.stdout.strip().splitlines()[-1]))
        print(f"{options.frames} frames, 640x480, jobs=1, {options.repeats} repeats (seconds per render)")
        for suffix in ("gif", "mp4"):
            base, this = (statistics.median(seconds[(suffix, side)]) for side in sides)
            runs = {side: ", ".join(f"{s:.2f}" for s in seconds[(suffix, side)]) for side in sides}
            print(f"{suffix}: baseline median {base:.2f} s [{runs['baseline']}]")
            print(f"{suffix}: this     median {this:.2f} s [{runs['this']}]")
            print(f"{suffix}: this / baseline = {this / base:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
