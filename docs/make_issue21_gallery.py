"""Regenerate the neurons and ensemble animations of docs/teaching.md and docs/many-runs.md.

    python docs/make_issue21_gallery.py      # from the repository root; ~1 min on 2 cores

Both use the code the pages show: ``run_demo(..., neurons=True)`` and ``render(traces, ..., ensemble=True)``.
"""

from pathlib import Path

import convergence_anim as ca
from convergence_anim.demos import run_demo

GALLERY = Path(__file__).resolve().parent / "gallery"


def train(seed):
    """The ensemble page's loop: the same XOR data, a new seed for the weights."""
    import torch
    from torch import nn

    from convergence_anim.scenes import DecisionBoundary

    g = torch.Generator().manual_seed(0)
    x = torch.randn(200, 2, generator=g)
    y = (x[:, 0] * x[:, 1] > 0).float()
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Linear(2, 8), nn.Tanh(), nn.Linear(8, 1))
    opt = torch.optim.Adam(model.parameters(), lr=0.03)
    rec = ca.Recorder(DecisionBoundary(x, y, resolution=80), every=20)
    for step in range(300):
        loss = nn.functional.binary_cross_entropy_with_logits(model(x).squeeze(1), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        rec.capture(loss=loss, model=model)
    return rec.trace

if __name__ == "__main__":
    import sys

    if "--ensemble-only" not in sys.argv:
        run = run_demo("moons", max_iter=400, every=10, neurons=True)
        path = ca.render(run.trace, GALLERY / "neurons-moons.gif", size=(760, 300), max_frames=30, fps=8, hold=1.5)
        print(f"{path}: {path.stat().st_size / 1024:.0f} KiB")
    traces = [train(seed) for seed in range(20)]
    path = ca.render(traces, GALLERY / "ensemble-xor.gif", ensemble=True, loss_panel=True, size=(700, 280), fps=6,
                     hold=1.5)
    print(f"{path}: {path.stat().st_size / 1024:.0f} KiB")
