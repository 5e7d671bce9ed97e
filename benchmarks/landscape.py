"""Cost of the landscape panel (issue 12): rendering with ``landscape=True`` against without.

Run it from the repository root:

    /work/main/.venv/bin/python benchmarks/landscape.py            # 300 frames, 5 repeats
    /work/main/.venv/bin/python benchmarks/landscape.py --quick    # 60 frames, 2 repeats

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
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("OMP_NUM_THREADS", "1")


def _timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="60 frames, 2 repeats")
    parser.add_argument("--frames", type=int, default=None)
    parser.add_argument("--repeats", type=int, default=None)
    args = parser.parse_args()
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
