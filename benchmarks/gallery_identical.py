"""Render every gallery animation with two checkouts of convergence_anim and compare the decoded frames.

    python benchmarks/gallery_identical.py --baseline /path/to/checkout-of-main   # from the repository root
    python benchmarks/gallery_identical.py --baseline ... --only linear,race-moons --keep outputs/gallery-cmp

Each case is the command (or the code) the docs show for one file of ``docs/gallery/``, plus a few
cases the gallery does not cover (other themes, panels, a still, a race of saved traces). Each runs
twice in a fresh process, once importing the package from ``--baseline`` and once from this checkout
(``PYTHONPATH`` first), and the two outputs are decoded with imageio and compared frame by frame:
same count, same size, same pixels. A refactor that must not change the pictures passes with every
case ``identical``; anything else prints which frames differ and by how many pixels, and with
``--keep`` leaves both files to look at.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent.parent

# The docs' own complete Plot example (docs/your-own-plot.md), writing to OUT.
_PAGE = (HERE / "docs" / "your-own-plot.md").read_text()
PLOT_BLOG = (_PAGE[_PAGE.index("## A complete example"):].split("```python\n", 1)[1].split("\n```\n", 1)[0]
             .replace('ca.render(rec.trace, "outputs/fit_line.gif", fps=5)', "ca.render(rec.trace, OUT, fps=5, **OPTIONS)"))

POLYNOMIAL = """
import math
import torch
import convergence_anim as ca

x = torch.linspace(-math.pi, math.pi, 2000)
y = torch.sin(x)
torch.manual_seed(0)
a, b, c, d = (torch.randn((), requires_grad=True) for _ in range(4))
rec = ca.Recorder(ca.scenes.CurveFit(x, y), every=20)
for t in range(2000):
    y_pred = a + b * x + c * x ** 2 + d * x ** 3
    loss = (y_pred - y).pow(2).sum()
    rec.capture(t, loss=loss, y_pred=y_pred)
    loss.backward()
    with torch.no_grad():
        for p in (a, b, c, d):
            p -= 1e-6 * p.grad
            p.grad = None
ca.render(rec.trace, OUT, fps=10, **OPTIONS)
"""

KMEANS = """
import runpy, sys
sys.path.insert(0, EXAMPLES)
import kmeans_scene as k
import convergence_anim as ca
data = k.blobs()
rec = ca.Recorder(k.KMeans(data, k=3))
k.train(data, recorder=rec)
ca.render(rec.trace, OUT, fps=8, hold=1.5, **OPTIONS)
"""

# A race of a DecisionBoundary on more than two features and a shared scale of Plot runs are the
# two bugs of issue 19: expected to differ (they are fixed), so they are not listed here.
CASES: dict[str, list[str] | str] = {
    "linear": ["demo", "linear"],
    "diverge": ["demo", "linear", "--lr", "0.1", "--every", "2", "--fps", "8", "--hold", "1.5", "--log-loss"],
    "logistic": ["demo", "logistic", "--size", "320x240", "--max-frames", "30", "--fps", "8", "--hold", "1"],
    "moons": ["demo", "moons", "--size", "320x240", "--max-frames", "30", "--fps", "8", "--hold", "1"],
    "spiral3": ["demo", "spiral3", "--size", "320x240", "--max-frames", "30", "--fps", "8", "--hold", "1"],
    "sine": ["demo", "sine", "--size", "320x240", "--max-frames", "30", "--fps", "8", "--hold", "1"],
    "grid": ["batch", "moons", "--seeds", "0-7", "--param", "every=30", "--fps", "5", "--grid", "{out}",
             "--grid-cols", "4"],
    "many-runs-grid": ["batch", "{docs}/examples/experiment.py:train", "--seeds", "0-3", "--param",
                       "lr=0.005,0.05,0.5", "--grid", "{out}", "--fps", "8"],
    "linear-landscape": ["demo", "linear", "--landscape"],
    "moons-landscape": ["demo", "moons", "--landscape"],
    "race-linear": ["race", "linear", "--optimizers", "sgd,momentum,adam", "--loss-panel", "--landscape"],
    "race-moons": ["race", "moons", "--optimizers", "sgd,momentum,adam", "--landscape"],
    "plot-blog": PLOT_BLOG,
    "polynomial": POLYNOMIAL,
    "kmeans": KMEANS,
    # Beyond the gallery: other themes, both panels, a still and a filmstrip, MP4, a shared-scale grid.
    "moons-slides-panel": ["demo", "moons", "--theme", "slides", "--loss-panel", "--max-frames", "12"],
    "linear-dark-both": ["demo", "linear", "--theme", "dark", "--loss-panel", "--landscape", "--size", "480x360"],
    "sine-mp4": ["demo", "sine", "--max-frames", "20", "--format", "mp4", "--loss-panel"],
    "spiral3-log": ["demo", "spiral3", "--max-frames", "16", "--spacing", "log", "--log-loss", "--theme", "dark"],
    "race-sine": ["race", "sine", "--optimizers", "sgd,adam", "--loss-panel", "--max-frames", "20"],
    "race-logistic": ["race", "logistic", "--optimizers", "sgd,adam", "--theme", "slides", "--landscape"],
    "shared-linear": ["batch", "linear", "--seeds", "0-3", "--shared-scale", "--loss-panel", "--grid", "{out}"],
    # Differs from before issue 19, on purpose: a Plot's own title (two lines here) was measured before
    # draw had set it, so a fitted layout (any panel) cut it off at the top; the caption is now made
    # after the scene has drawn, and the layout leaves room for it (the axes are a little shorter).
    "plot-blog-panel": PLOT_BLOG.replace("**OPTIONS", "loss_panel=True, theme='dark'"),
}


# An editable install puts a finder ahead of PYTHONPATH; this sitecustomize (run after the .pth files,
# in every process, workers included) takes it out, so the package comes from the checkout asked for.
SITECUSTOMIZE = """
import sys
sys.meta_path[:] = [f for f in sys.meta_path if not getattr(f, "__module__", "").startswith("__editable__")]
"""


def run(case: str, spec, package: Path, out: Path, shim: Path) -> float:
    """Write ``out`` with the package at ``package``; return the seconds it took."""
    env = {"PYTHONPATH": f"{package}:{shim}", "PATH": "/usr/bin:/bin", "HOME": str(out.parent),
           "MPLBACKEND": "Agg", "PYTHONHASHSEED": "0"}
    started = time.perf_counter()
    if isinstance(spec, str):
        code = f"OUT = {str(out)!r}\nOPTIONS = {{}}\nEXAMPLES = {str(HERE / 'docs' / 'examples')!r}\n" + textwrap.dedent(spec)
        command = [sys.executable, "-c", code]
    else:
        args = [a.format(out=out, docs=HERE / "docs") for a in spec]
        command = [sys.executable, "-m", "convergence_anim.cli", *args]
        if "{out}" not in spec:
            command += ["-o", str(out)]
    done = subprocess.run(command, env=env, cwd=out.parent, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{case} with {package} failed ({done.returncode}):\n{done.stderr[-2000:]}")
    return time.perf_counter() - started


def frames(path: Path) -> list[np.ndarray]:
    import imageio.v3 as iio

    return [np.asarray(f) for f in iio.imiter(path)]


def compare(a: Path, b: Path) -> str:
    fa, fb = frames(a), frames(b)
    if len(fa) != len(fb):
        return f"DIFFERENT: {len(fa)} frames against {len(fb)}"
    diffs = []
    for i, (x, y) in enumerate(zip(fa, fb)):
        if x.shape != y.shape:
            return f"DIFFERENT: frame {i} is {x.shape} against {y.shape}"
        changed = int(np.any(x != y, axis=-1).sum()) if x.ndim == 3 else int((x != y).sum())
        if changed:
            diffs.append(f"{i}:{changed}px")
    if diffs:
        return f"DIFFERENT in {len(diffs)} of {len(fa)} frames ({', '.join(diffs[:8])}{' ...' if len(diffs) > 8 else ''})"
    return f"identical ({len(fa)} frames, {fa[0].shape[1]}x{fa[0].shape[0]})"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", required=True, type=Path, help="a checkout of the code to compare against")
    parser.add_argument("--candidate", type=Path, default=HERE,
                        help="the checkout to compare (default: this one; a committed copy keeps edits out of a long run)")
    parser.add_argument("--only", help="comma-separated case names")
    parser.add_argument("--keep", type=Path, help="keep both outputs of every case in this folder")
    options = parser.parse_args()
    names = options.only.split(",") if options.only else list(CASES)
    work = Path(tempfile.mkdtemp(prefix="gallery-cmp-"))
    shim = work / "shim"
    shim.mkdir()
    (shim / "sitecustomize.py").write_text(SITECUSTOMIZE)
    sides = (("baseline", options.baseline.resolve()), ("this", options.candidate.resolve()))
    for side, package in sides:
        where = subprocess.run([sys.executable, "-c", "import convergence_anim; print(convergence_anim.__file__)"],
                               env={"PYTHONPATH": f"{package}:{shim}"}, cwd=work, capture_output=True, text=True,
                               check=True)
        if not where.stdout.startswith(str(package)):
            raise SystemExit(f"the {side} package comes from {where.stdout.strip()}, not {package}")
    failed = 0
    try:
        for name in names:
            spec = CASES[name]
            suffix = ".mp4" if "mp4" in name else ".gif"
            outs = []
            seconds = []
            for side, package in sides:
                folder = work / side / name
                folder.mkdir(parents=True)
                out = folder / f"{name}{suffix}"
                seconds.append(run(name, spec, package, out, shim))
                outs.append(out)
            verdict = compare(*outs)
            failed += not verdict.startswith("identical")
            print(f"{name:20s} {verdict}  [{seconds[0]:.1f}s / {seconds[1]:.1f}s]", flush=True)
            if options.keep:
                for side, out in zip(("baseline", "this"), outs):
                    target = options.keep / f"{name}-{side}{out.suffix}"
                    target.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copy(out, target)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print("all identical" if not failed else f"{failed} case(s) differ")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
