"""Frames per second of ``Plot`` against ``FuncAnimation`` doing the same drawing, in the same run (issue 10).

Run it from the repository root:

    /work/main/.venv/bin/python benchmarks/plot.py              # 300 frames, 3 repeats
    /work/main/.venv/bin/python benchmarks/plot.py --frames 60 --repeats 1

Both sides draw every frame from scratch with the blog's plotting lines (``blog_draw`` of
``tests/plot_draws.py``, the one ``Plot``'s tests draw: scatter, plot, text, limits, title) on a cleared
640x480 axes and write a GIF:

- baseline: ``FuncAnimation(fig, update)`` whose ``update`` clears the axes and calls ``draw``, saved
  with ``anim.save(path, writer=PillowWriter(fps))``, as matplotlib's docs teach;
- ``Plot``: ``render(trace, path, scene=Plot(draw))`` with the default jobs (worker processes on
  every core for long animations) and, for information, with ``jobs=1``.

``Plot`` redraws everything each frame too, so its edge comes only from streaming frames to the
encoder and from drawing them in worker processes. fps = frames / wall time of the whole call
(worker start-up and palette included). Each repeat runs baseline, Plot, Plot jobs=1 back to back;
medians are reported with every run, with the load average before and after (the machine is shared).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
# Worker processes import tests.plot_draws by name, so they need the repository on their path too.
os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))

TARGET = 3.0  # x the fps of FuncAnimation + PillowWriter, on 2 cores at 300 frames
FPS = 20


def make_trace(frames: int):
    import numpy as np

    import convergence_anim as ca
    from convergence_anim.scenes import Plot
    from tests.plot_draws import blog_draw as draw

    rec = ca.Recorder(Plot(draw), max_captures=None)
    for step in range(frames):
        rec.capture(step, loss=10.0 / (1 + step), w=np.array([0.5 + 1.5 * step / frames]), b=np.array([3.0 * step / frames]))
    return rec.trace


def baseline(trace, path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.animation import FuncAnimation, PillowWriter

    from convergence_anim.scenes import Frame
    from tests.plot_draws import blog_draw as draw

    fig, ax = plt.subplots()  # 640x480 at 100 dpi

    def update(i):
        ax.cla()
        draw(ax, Frame(trace, i))

    anim = FuncAnimation(fig, update, frames=len(trace), interval=1000 / FPS)
    anim.save(path, writer=PillowWriter(fps=FPS))
    plt.close(fig)


def ours(trace, path: str, jobs) -> None:
    import convergence_anim as ca
    from convergence_anim.scenes import Plot
    from tests.plot_draws import blog_draw as draw

    ca.render(trace, path, scene=Plot(draw), fps=FPS, jobs=jobs)


def timed(fn, *args) -> float:
    start = time.perf_counter()
    fn(*args)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--frames", type=int, default=300)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    from convergence_anim._processes import available_cores

    trace = make_trace(args.frames)
    print(f"{args.frames} frames, 640x480 GIF, {available_cores()} cores, load average before: "
          f"{' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    runs: dict[str, list[float]] = {"FuncAnimation + PillowWriter": [], "Plot (jobs auto)": [], "Plot (jobs=1)": []}
    sizes: dict[str, int] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for repeat in range(args.repeats):
            for name, fn, extra in (("FuncAnimation + PillowWriter", baseline, ()), ("Plot (jobs auto)", ours, (None,)),
                                    ("Plot (jobs=1)", ours, (1,))):
                path = os.path.join(tmp, f"{len(sizes)}-{repeat}.gif")
                seconds = timed(fn, trace, path, *extra)
                runs[name].append(args.frames / seconds)
                sizes[name] = os.path.getsize(path)
                print(f"  repeat {repeat + 1} {name:30s} {args.frames / seconds:7.1f} fps  ({seconds:.1f} s)", flush=True)
    print(f"load average after: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    base = statistics.median(runs["FuncAnimation + PillowWriter"])
    print(f"\n{'method':30s} {'median fps':>10s} {'x baseline':>10s} {'GIF KiB':>8s}   runs")
    for name, values in runs.items():
        median = statistics.median(values)
        print(f"{name:30s} {median:10.1f} {median / base:10.2f} {sizes[name] / 1024:8.0f}   "
              + ", ".join(f"{v:.1f}" for v in values))
    ratio = statistics.median(runs["Plot (jobs auto)"]) / base
    print(f"\nPlot (jobs auto) vs FuncAnimation: {ratio:.2f}x (target {TARGET:.0f}x) "
          f"{'PASS' if ratio >= TARGET else 'FAIL'}")


if __name__ == "__main__":
    main()
