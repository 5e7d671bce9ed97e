"""The summary figure: every run's loss curve and every run's final loss, grouped by parameter combination.

Left, the loss curves over the steps, coloured by combination, thin, with each combination's median
drawn thick (a run that stopped early holds its last loss, as it holds its last frame in a grid;
diverged values are left out). Right, on the same loss axis, the final loss of every run as a strip
plot per combination; a diverged run is an ``x`` at the top edge. The loss axis is logarithmic when
the finite losses span more than two decades.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from .._atomic import atomic_output
from .._exceptions import UsageError
from .runs import format_params

__all__ = ["SUMMARY_SUFFIXES", "write_summary"]

SUMMARY_SUFFIXES = (".png", ".svg", ".pdf")
#: Log scale when the largest finite positive loss is more than this many times the smallest.
LOG_SPAN = 100.0


def check_summary_path(path: "str | os.PathLike[str]") -> Path:
    """``path`` as a Path if its suffix is one a summary can be saved as."""
    path = Path(path)
    if path.suffix.lower() not in SUMMARY_SUFFIXES:
        raise UsageError(f"the summary must end in {', '.join(SUMMARY_SUFFIXES)}, got {str(path)!r}")
    return path


def _held(steps: np.ndarray, losses: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """``losses`` at every step of ``grid``: the latest capture at or before it, the last one after the end."""
    index = np.searchsorted(steps, grid, side="right") - 1
    out = losses[np.clip(index, 0, len(losses) - 1)].astype(float)
    out[index < 0] = np.nan
    return out


def write_summary(runs: Sequence[Mapping[str, Any]], path: "str | os.PathLike[str]", *, title: str = "",
                  theme: Any = "light") -> Path:
    """Draw the summary figure of ``runs`` to ``path`` (``.png``, ``.svg`` or ``.pdf``), atomically.

    Parameters
    ----------
    runs:
        Manifest entries with ``params``, ``seed``, ``status``, ``diverged_at`` and ``curve``
        (``{"steps": [...], "losses": [...]}``, None for a non-finite loss). Failed runs and runs
        without a curve are left out and counted in the title.
    path:
        The file to write; its folder must exist.
    title:
        Shown above the plots, followed by the number of runs.
    theme:
        Theme name or ``Theme`` (its colours and font settings).

    Returns
    -------
    Path
        ``path``.

    Raises
    ------
    UsageError
        If the suffix is not one of ``SUMMARY_SUFFIXES`` or no run has a loss curve.
    OutputError
        If the file cannot be written.
    """
    import matplotlib
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D

    from ..style import get_theme

    path = check_summary_path(path)
    shown = [r for r in runs if r.get("status") != "failed" and r.get("curve")]
    if not shown:
        raise UsageError("no run has a loss curve to summarise")
    combos: dict[str, list[Mapping[str, Any]]] = {}
    for run in shown:
        combos.setdefault(format_params(run.get("params") or {}), []).append(run)
    theme = get_theme(theme)
    finite = np.concatenate([np.array([np.nan if v is None else v for v in r["curve"]["losses"]], float) for r in shown])
    finite = finite[np.isfinite(finite)]
    positive = finite[finite > 0]
    log = bool(positive.size and positive.size == finite.size and positive.max() > LOG_SPAN * positive.min())

    with matplotlib.rc_context(theme.rc):
        fig = Figure(figsize=(10, 4.2), dpi=100, layout="constrained")
        FigureCanvasAgg(fig)
        curves_ax, strip_ax = fig.subplots(1, 2, sharey=True, gridspec_kw={"width_ratios": [2.2, 1]})
        colors = matplotlib.rcParams["axes.prop_cycle"].by_key()["color"]
        rng = np.random.default_rng(0)  # fixed jitter: the same figure every time
        diverged_y = None
        if finite.size:
            top = finite.max()
            diverged_y = top * 1.6 if log else top + 0.08 * (top - finite.min() or 1.0)
        handles = []
        for k, (label, members) in enumerate(combos.items()):
            color = colors[k % len(colors)]
            curves = []
            for run in members:
                steps = np.asarray(run["curve"]["steps"], float)
                losses = np.array([np.nan if v is None else v for v in run["curve"]["losses"]], float)
                curves_ax.plot(steps, losses, color=color, lw=0.8, alpha=0.35)
                curves.append((steps, losses))
            grid = np.unique(np.concatenate([s for s, _ in curves]))
            with np.errstate(all="ignore"):
                held = np.vstack([_held(s, v, grid) for s, v in curves])
                counted = np.isfinite(held).any(axis=0)
                median = np.full(len(grid), np.nan)
                median[counted] = np.nanmedian(held[:, counted], axis=0)
            curves_ax.plot(grid, median, color=color, lw=2.6)
            handles.append(Line2D([], [], color=color, lw=2.6, label=f"{label or 'all runs'} ({len(members)} runs, median thick)"))

            finals = [r.get("final_loss") for r in members]
            x = k + rng.uniform(-0.18, 0.18, len(members))
            ok = np.array([f is not None and r.get("diverged_at") is None for f, r in zip(finals, members)])
            if ok.any():
                strip_ax.scatter(x[ok], [f for f, good in zip(finals, ok) if good], color=color, s=22, alpha=0.8,
                                 edgecolors="none")
                strip_ax.hlines(np.median([f for f, good in zip(finals, ok) if good]), k - 0.3, k + 0.3, color=color, lw=2)
            if (~ok).any() and diverged_y is not None:
                strip_ax.scatter(x[~ok], np.full((~ok).sum(), diverged_y), marker="x", color="#d62728", s=40, lw=1.8)
        if diverged_y is not None and any(r.get("diverged_at") is not None or r.get("final_loss") is None for r in shown):
            strip_ax.annotate("diverged", (1.0, diverged_y), xycoords=("axes fraction", "data"), xytext=(3, 0),
                              textcoords="offset points", va="center", ha="left", color="#d62728", fontsize=9)
        if log:
            curves_ax.set_yscale("log")
        curves_ax.set_xlabel("step")
        curves_ax.set_ylabel("loss" + (" (log scale)" if log else ""))
        curves_ax.set_title("loss curves")
        curves_ax.grid(alpha=0.25)
        strip_ax.set_title("final loss per run")
        strip_ax.set_xticks(range(len(combos)))
        strip_ax.set_xticklabels([label.replace(", ", "\n") or "all runs" for label in combos], fontsize=8)
        strip_ax.set_xlim(-0.6, len(combos) - 0.4)
        strip_ax.grid(axis="y", alpha=0.25)
        curves_ax.legend(handles=handles, fontsize=8, loc="best", frameon=False)
        left_out = len(runs) - len(shown)
        heading = f"{title + ': ' if title else ''}{len(shown)} runs" + (f" ({left_out} failed, not shown)" if left_out else "")
        fig.suptitle(heading)
        with atomic_output(path) as tmp:
            fig.savefig(tmp, format=path.suffix.lower()[1:], metadata=_no_dates(path.suffix.lower()))
    fig.clear()
    return path


def _no_dates(suffix: str) -> dict[str, Any]:
    # Without dates and the software version, the same runs give the same bytes (resume, hashes).
    if suffix == ".png":
        return {"Software": None}
    if suffix == ".svg":
        return {"Date": None, "Creator": None}
    return {"CreationDate": None, "Creator": None, "Producer": None}
