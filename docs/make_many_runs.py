"""Regenerate the images of docs/many-runs.md: the summary figure and the grid of a learning-rate sweep.

    python docs/make_many_runs.py      # from the repository root; ~2 min on 2 cores

It runs exactly the command the page shows, on docs/examples/experiment.py, into a temporary folder,
and copies the summary and the grid to docs/gallery/.
"""

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

DOCS = Path(__file__).resolve().parent

if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(
            [sys.executable, "-m", "convergence_anim.cli", "batch", "examples/experiment.py:train",
             "--seeds", "0-3", "--param", "lr=0.005,0.05,0.5", "--grid", f"{tmp}/grid.gif",
             "--summary", f"{tmp}/summary.png", "--fps", "8"],
            check=True, cwd=DOCS,
        )
        for name in ("grid.gif", "summary.png"):
            shutil.copy(Path(tmp) / name, DOCS / "gallery" / f"many-runs-{name}")
            print(f"docs/gallery/many-runs-{name}: {(DOCS / 'gallery' / f'many-runs-{name}').stat().st_size / 1024:.0f} KiB")
