"""The manifest: ``batch.json`` (every run, the grids, the summary) and the same runs as ``batch.csv``.

One entry per run, keyed by its output (or, for a run drawn only into a grid or summary, by its
function, parameters and seed). Entries of runs from earlier batches that this batch does not touch
are kept, so one folder can collect several sweeps. Both files are written atomically after every
run, so an interrupted batch keeps what finished.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
from pathlib import Path
from typing import Any, Iterable, Mapping

from .._atomic import atomic_output
from .._exceptions import ConvergenceAnimError
from .task import sha256

__all__ = [
    "CSV_COLUMNS",
    "MANIFEST_FORMAT",
    "MANIFEST_NAME",
    "entry_key",
    "load_manifest",
    "remove_partial_files",
    "up_to_date",
    "write_manifest",
]

#: File name of the manifest written beside the outputs; the CSV has the same stem.
MANIFEST_NAME = "batch.json"
#: Layout version of ``batch.json``: 2 has runs of any function with parameters (1 had demo seeds).
MANIFEST_FORMAT = 2
#: The CSV's columns; the run's parameters come after ``function``, one column each.
CSV_COLUMNS = ("function", "seed", "status", "error", "iterations", "frames", "final_loss", "best_loss",
               "diverged_at", "output", "bytes", "sha256", "seconds")
_RENDERED = ("rendered", "diverged", "up to date")


def empty_manifest() -> dict[str, Any]:
    """A manifest with no runs."""
    return {"format": MANIFEST_FORMAT, "runs": [], "grids": [], "summaries": []}


def load_manifest(path: Path) -> dict[str, Any]:
    """The manifest at ``path``; an empty one if there is none (or one of format 1, whose runs all rerun).

    Raises
    ------
    ConvergenceAnimError
        If the file is not a manifest or was written by a newer version.
    """
    if not path.exists():
        return empty_manifest()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(data, dict) or not isinstance(data.get("format"), int):
            raise ValueError("not a batch manifest")
        if data["format"] > MANIFEST_FORMAT:
            raise ValueError(f"written by a newer convergence_anim (format {data['format']})")
        if data["format"] < MANIFEST_FORMAT:
            return empty_manifest()
        if not all(isinstance(data.get(key), list) for key in ("runs", "grids", "summaries")):
            raise ValueError("not a batch manifest")
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        raise ConvergenceAnimError(f"cannot read the manifest {str(path)!r} ({exc}); move it away to start afresh") from None
    return data


def csv_text(runs: Iterable[Mapping[str, Any]]) -> str:
    """The runs as CSV: the fixed columns, with one column per parameter after ``function``."""
    runs = list(runs)
    params: dict[str, None] = {}
    for run in runs:
        params.update(dict.fromkeys(run.get("params") or {}))
    # A parameter named like a fixed column keeps its own column, prefixed.
    names = {p: (f"param_{p}" if p in CSV_COLUMNS else p) for p in params}
    header = ["function", *names.values(), *CSV_COLUMNS[1:]]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    for run in runs:
        row = [run.get("function")] + [(run.get("params") or {}).get(p, "") for p in params]
        row += ["" if run.get(c) is None else run.get(c) for c in CSV_COLUMNS[1:]]
        writer.writerow(row)
    return out.getvalue()


def write_manifest(path: Path, data: Mapping[str, Any]) -> None:
    """Write ``data`` to ``path`` (JSON) and its runs to the ``.csv`` beside it, each atomically."""
    text = json.dumps(data, indent=2, allow_nan=False) + "\n"
    with atomic_output(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    with atomic_output(path.with_suffix(".csv")) as tmp:
        tmp.write_text(csv_text(data["runs"]), encoding="utf-8")


def entry_key(entry: Mapping[str, Any]) -> tuple:
    """What identifies a run in the manifest: its output, else its function, parameters and seed."""
    if entry.get("output"):
        return (entry["output"],)
    return ("", entry.get("function") or "", json.dumps(entry.get("params") or {}, sort_keys=True), entry.get("seed") or 0)


def same(a: Any, b: Any) -> bool:
    """Whether two JSON values are equal as stored."""
    return json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)


def up_to_date(entry: "Mapping[str, Any] | None", settings: Mapping[str, Any], path: "Path | None") -> bool:
    """Whether ``path`` holds what ``settings`` would render, as the manifest ``entry`` recorded."""
    if entry is None or path is None or not path.is_file():
        return False
    if entry.get("status") not in _RENDERED or not same(entry.get("settings"), settings):
        return False
    try:
        return entry.get("bytes") == path.stat().st_size and entry.get("sha256") == sha256(path)
    except OSError:
        return False


def remove_partial_files(outputs: Iterable[Path]) -> list[Path]:
    """Remove the temporary files a killed batch left beside ``outputs``; return what was removed.

    Only names ``atomic_output`` gives its temporary files for exactly these outputs are touched
    (``.{stem}.XXXXXXXX.part{suffix}``), so other files in the folders are safe.
    """
    removed = []
    by_folder: dict[Path, set[tuple[str, str]]] = {}
    for path in outputs:
        by_folder.setdefault(path.parent, set()).add((path.stem, path.suffix))
    for folder, names in by_folder.items():
        try:
            listing = list(os.scandir(folder))
        except OSError:
            continue
        for item in listing:
            for stem, suffix in names:
                pattern = re.escape(f".{stem}.") + r"[A-Za-z0-9_]+" + re.escape(f".part{suffix}")
                if re.fullmatch(pattern, item.name):
                    try:
                        os.unlink(item.path)
                        removed.append(Path(item.path))
                    except OSError:
                        pass
                    break
    return removed
