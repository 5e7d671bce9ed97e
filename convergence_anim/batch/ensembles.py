"""``batch ... --ensemble out.gif``: the runs of each parameter setting in one animation, from saved traces.

Each run of a batch asked for ensembles saves its trace (``traces/<params>-seed<seed>.npz`` beside the
manifest, recorded in its entry as ``trace``); when the runs are done, the batch loads the traces of
each setting and renders them with ``render(traces, path, ensemble=True, loss_panel=True)`` in this
process. So an ensemble is drawn from the manifest's traces, never by training again: a rerun whose
runs are up to date and whose traces are there only draws the ensembles that changed. The ensembles'
entries stand in the manifest's ``grids`` list (``"kind": "ensemble"``), beside the grid.
"""

from __future__ import annotations

import os
from pathlib import Path, PurePath
from typing import Any, Mapping, Sequence

from .._exceptions import UsageError
from .runs import format_value
from .templates import expand_template, parse_template

__all__ = ["ensemble_outputs", "ensemble_settings", "trace_path", "write_ensemble"]

#: The folder, beside the manifest, where a batch with ensembles keeps its runs' traces.
TRACES_FOLDER = "traces"


def ensemble_outputs(template: str, combos: Sequence[Mapping[str, Any]]) -> list[str]:
    """The ensemble file of every parameter combination, from ``template`` (fields: the swept names).

    Raises
    ------
    UsageError
        If the template is invalid, names ``{seed}`` (an ensemble holds every seed), lacks a format's
        suffix, or gives two settings one file (the message names the field to add).
    """
    names = list(combos[0]) if combos else []
    if "{seed}" in template:
        raise UsageError(f"ensemble template {template!r} uses {{seed}}; an ensemble draws every seed of a setting")
    pairs = parse_template(template, names)
    tail = pairs[-1][0] if pairs and pairs[-1][1] is None else ""
    if not PurePath("x" + tail).suffix:
        from ..encoders import ENCODERS

        raise UsageError(f"ensemble template {template!r} must end in a format's suffix: {', '.join(ENCODERS)}")
    outputs: list[str] = []
    for combo in combos:
        path = expand_template(template, dict(combo))
        if path in outputs:
            differ = [n for n in names if combo[n] != combos[outputs.index(path)][n]]
            raise UsageError(f"ensemble template {template!r} gives several settings the file {path!r}; put "
                             + " and ".join("{" + n + "}" for n in differ) + " in it")
        outputs.append(path)
    return outputs


def trace_path(folder: Path, params: Mapping[str, Any], seed: int) -> Path:
    """Where the run of ``params`` and ``seed`` keeps its trace, under ``folder`` (the manifest's)."""
    parts = [f"{name}{format_value(value)}" for name, value in params.items()]
    name = "-".join([*parts, f"seed{seed}"]).replace(os.sep, "_").replace("/", "_")
    return folder / TRACES_FOLDER / f"{name}.npz"


def ensemble_settings(render: Mapping[str, Any], members: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """What an ensemble's entry records as its settings: how it is drawn, and each member run with its trace's hash."""
    return {"kind": "ensemble", "render": dict(render), "runs": [dict(m) for m in members]}


def write_ensemble(trace_files: Sequence[Path], output: Path, settings: Any, progress: Any = None) -> int:
    """Render the traces in ``trace_files`` as one ensemble at ``output``; return the number of frames.

    Raises
    ------
    ConvergenceAnimError
        If a trace cannot be read, the runs cannot be overlaid (another scene or other data) or the
        file cannot be written.
    """
    from .._render import render
    from ..race import race_timeline
    from ..settings import RenderSettings
    from ..trace import Trace

    traces = [Trace.load(path) for path in trace_files]
    settings = RenderSettings.build(settings, ensemble=True, loss_panel=True)
    render(traces, output, settings, progress=progress)
    steps = len(race_timeline(traces)[0])
    return steps if settings.max_frames is None else min(steps, settings.max_frames)
