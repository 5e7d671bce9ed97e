"""What watching a run live costs its training (issue 13), in a real Jupyter kernel.

Run it from the repository root:

    python benchmarks/live.py            # 7 interleaved pairs + one blog-style run (~3 min)
    python benchmarks/live.py --quick    # 3 pairs, no blog-style run

A kernel is started through nbclient (as a notebook would run), and each run is one cell:

- ``run_demo("moons")`` with ``live=False`` and with ``live=True``, interleaved (off, on, off, on, ...)
  after one warm-up run of each. *train* is the wall time of the ``run_demo`` call measured inside
  the kernel: what the training loop costs (recording included in both). *cell* is the wall time of
  the whole cell seen from outside, which with ``live=True`` also holds the wait for the last frame
  (drawn when the cell ends). Target: median train(live) / median train(off) <= 1.3.
- The blog's way, once: the same moons run, where every capture redraws the figure with pyplot
  (decision boundary and points), ``clear_output(wait=True)``, ``plt.show()`` and ``plt.pause(0.5)``.

torch runs with one thread (``--threads``), as the tests do: on a shared 2-core machine its thread
pool makes tiny loops' times swing by 10x, which would hide what is measured here.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET = 1.3

SETUP = """
import sys, time, json
sys.path.insert(0, {root!r})
import torch
torch.set_num_threads({threads})
from convergence_anim.demos import run_demo
"""

RUN = """
start = time.perf_counter()
run = run_demo("moons", live={live})
print(json.dumps({{"train": time.perf_counter() - start, "iterations": run.iterations, "frames": len(run.trace)}}))
"""

BLOG = """
import math
import numpy as np
import matplotlib.pyplot as plt
from IPython.display import clear_output
from convergence_anim.demos import _moons_data, mlp, classification_loss

torch.manual_seed(0)
points, labels = _moons_data(torch)
model = mlp(2, (16, 16), 1, dropout=0.05)
optimizer = torch.optim.Adam(model.parameters(), lr=0.005)
xs, ys = np.linspace(-1.6, 2.6, 150), np.linspace(-1.2, 1.7, 150)
grid = torch.tensor(np.column_stack([a.ravel() for a in np.meshgrid(xs, ys)]), dtype=torch.float32)
start = time.perf_counter()
for iteration in range(1000):
    optimizer.zero_grad()
    loss = classification_loss(model(points), labels)
    loss.backward()
    optimizer.step()
    value = loss.item()
    done = value < 0.03 or iteration == 999
    if iteration % 4 == 0 or done:
        # The blog's way: redraw everything, show it, sleep half a second.
        model.eval()
        with torch.no_grad():
            p = torch.sigmoid(model(grid)).reshape(150, 150).numpy()
        model.train()
        plt.clf()
        plt.imshow(p, origin="lower", extent=(xs[0], xs[-1], ys[0], ys[-1]), cmap="RdBu", alpha=0.6, aspect="auto")
        plt.scatter(points[:, 0], points[:, 1], c=labels, cmap="RdBu", edgecolors="white")
        plt.title(f"Iteration:{{iteration}}  Loss={{value:.4f}}")
        clear_output(wait=True)
        plt.show()
        plt.pause(0.5)
    if done:
        break
print(json.dumps({{"train": time.perf_counter() - start, "iterations": iteration + 1}}))
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 pairs and no blog-style run")
    parser.add_argument("--repeats", type=int, default=None, help="interleaved off/on pairs (default 7)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads in the kernel (default 1)")
    args = parser.parse_args()
    repeats = args.repeats or (3 if args.quick else 7)

    import nbformat
    from nbclient import NotebookClient

    print(f"machine: {os.cpu_count()} cores, load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    cells = [SETUP.format(root=str(ROOT), threads=args.threads), RUN.format(live=False), RUN.format(live=True)]
    cells += [RUN.format(live=live) for _ in range(repeats) for live in (False, True)]
    if not args.quick:
        cells.append(BLOG.format())
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(source) for source in cells]
    client = NotebookClient(notebook, timeout=1800, kernel_name="python3")
    results: list[tuple[str, float, dict]] = []
    with client.setup_kernel():
        for index, cell in enumerate(notebook.cells):
            start = time.perf_counter()
            client.execute_cell(cell, index)
            wall = time.perf_counter() - start
            text = "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream").strip().splitlines()
            pictures = sum("image/png" in o.get("data", {}) for o in cell.outputs)
            if index == 0:
                continue
            kind = "blog" if index == len(cells) - 1 and not args.quick else ("on" if "live=True" in cell.source else "off")
            info = json.loads(text[-1])
            info["pictures"] = pictures
            results.append((kind if index > 2 else "warm-up " + kind, wall, info))

    print(f"moons demo in a Jupyter kernel (nbclient), torch threads {args.threads}; {repeats} interleaved pairs")
    print(f"{'run':<12} {'train s':>8} {'cell s':>8} {'iterations':>10} {'frames':>6} {'pictures':>8}")
    for kind, wall, info in results:
        print(f"{kind:<12} {info['train']:8.3f} {wall:8.3f} {info['iterations']:10d} {info.get('frames', '-'):>6} {info['pictures']:8d}")
    off = [info["train"] for kind, _, info in results if kind == "off"]
    on = [info["train"] for kind, _, info in results if kind == "on"]
    off_cell = [wall for kind, wall, _ in results if kind == "off"]
    on_cell = [wall for kind, wall, _ in results if kind == "on"]
    ratio = statistics.median(on) / statistics.median(off)
    paired = [a / b for a, b in zip(on, off)]
    print(f"train, median: live=False {statistics.median(off):.3f} s, live=True {statistics.median(on):.3f} s, "
          f"ratio {ratio:.2f} (paired {' '.join(f'{p:.2f}' for p in paired)})")
    print(f"cell (until the last frame is shown), median: live=False {statistics.median(off_cell):.3f} s, "
          f"live=True {statistics.median(on_cell):.3f} s, ratio {statistics.median(on_cell) / statistics.median(off_cell):.2f}")
    blog = [info["train"] for kind, _, info in results if kind == "blog"]
    if blog:
        print(f"blog's plt.pause(0.5) pattern: {blog[0]:.2f} s, ratio {blog[0] / statistics.median(off):.1f} to live=False")
    print(f"{'PASS' if ratio <= TARGET else 'FAIL'}: live=True trains at {ratio:.2f}x the time of live=False (target <= {TARGET})")
    print(f"machine after: load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0 if ratio <= TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
