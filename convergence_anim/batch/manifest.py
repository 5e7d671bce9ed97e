"""The manifest: ``batch.json`` (every run, the grids, the summary) and the same runs as ``batch.csv``.

One entry per run, keyed by its output (or, for a run drawn only into a grid or summary, by its
function, parameters and seed). Entries of runs from earlier batches that this batch does not touch
are kept, so one folder can collect several sweeps. Both files are written atomically after every
run, so an interrupted batch keeps what finished, and under a lock (``locked``) after reading the
manifest again and merging, so two batches sharing one manifest keep each other's runs.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
from pathlib import Path
from typing import Any, Iterable, Iterator, Mapping

from .._atomic import atomic_output, remove_stale_temporary_files, remove_temporary, temporary_files
from .._exceptions import ConvergenceAnimError, OutputError
from .task import sha256

__all__ = [
    "CSV_COLUMNS",
    "MANIFEST_FORMAT",
    "MANIFEST_NAME",
    "entry_key",
    "load_manifest",
    "locked",
    "merge_manifest",
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
        _check_entries(data)
    except (OSError, ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise ConvergenceAnimError(f"cannot read the manifest {str(path)!r} ({exc}); move it away to start afresh") from None
    return data


_NUMBER = (int, float)
#: What each field of an entry may hold (None aside): what the batch reads back from an old manifest.
_RUN_FIELDS = {"function": str, "params": dict, "seed": int, "output": str, "settings": dict, "status": str,
               "error": str, "scene": str, "iterations": int, "frames": int, "final_loss": _NUMBER,
               "best_loss": _NUMBER, "diverged_at": int, "bytes": int, "sha256": str, "seconds": _NUMBER,
               "curve": dict, "trace": str}
_GRID_FIELDS = {"output": str, "settings": dict, "status": str, "error": str, "frames": int, "failed_cells": list,
                "bytes": int, "sha256": str, "seconds": _NUMBER}
_SUMMARY_FIELDS = {"output": str, "status": str, "error": str, "runs": int, "bytes": int, "sha256": str}


def _check_entries(data: Mapping[str, Any]) -> None:
    """Raise ValueError naming the first entry that is not what this version writes (say, edited by hand)."""
    for group, fields in (("runs", _RUN_FIELDS), ("grids", _GRID_FIELDS), ("summaries", _SUMMARY_FIELDS)):
        for k, entry in enumerate(data[group]):
            where = f"{group}[{k}]"
            if not isinstance(entry, dict):
                raise ValueError(f"{where} is not an object")
            for name, kind in fields.items():
                value = entry.get(name)
                if value is not None and (isinstance(value, bool) or not isinstance(value, kind)):
                    raise ValueError(f"{where} has {name} = {_short(value)}")
            if group != "runs" and not isinstance(entry.get("output"), str):
                raise ValueError(f"{where} has no output")
            if group == "runs":
                _check_run(where, entry)


def _check_run(where: str, entry: Mapping[str, Any]) -> None:
    if not isinstance(entry.get("seed"), int) or isinstance(entry["seed"], bool) or entry["seed"] < 0:
        raise ValueError(f"{where} has seed = {_short(entry.get('seed'))}")
    for name, value in (entry.get("params") or {}).items():
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            raise ValueError(f"{where} has parameter {name} = {_short(value)}")
    curve = entry.get("curve")
    if curve is not None:
        steps, losses = curve.get("steps"), curve.get("losses")
        if (not isinstance(steps, list) or not isinstance(losses, list) or len(steps) != len(losses)
                or not all(isinstance(s, int) and not isinstance(s, bool) for s in steps)
                or not all(v is None or (isinstance(v, _NUMBER) and not isinstance(v, bool)) for v in losses)):
            raise ValueError(f"{where} has a curve that is not steps and losses of one length")


def _short(value: Any) -> str:
    text = json.dumps(value)
    return text if len(text) <= 40 else text[:37] + "..."


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


@contextlib.contextmanager
def locked(path: Path) -> Iterator[None]:
    """Hold the lock of the manifest at ``path`` (``flock`` of ``.NAME.lock`` beside it) while writing it.

    The lock file stays: removing it would let a batch lock a file another has just unlinked. Where
    there is no ``fcntl`` (Windows), there is no lock; merging still keeps most runs.
    """
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        yield
        return
    try:
        fd = os.open(path.with_name(f".{path.name}.lock"), os.O_RDWR | os.O_CREAT, 0o666)
    except OSError as exc:
        raise OutputError(f"cannot lock the manifest {str(path)!r}: {exc.strerror}") from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock


def merge_manifest(current: Mapping[str, Any], ours: Mapping[str, Any], tool: str) -> dict[str, Any]:
    """``current`` (as another batch may have left it) with ``ours``' runs, grids and summaries put in by key."""

    def merged(group: str, key) -> list:
        mine = {key(e): e for e in ours[group]}
        return [e for e in current[group] if key(e) not in mine] + list(mine.values())

    return {"format": MANIFEST_FORMAT, "tool": tool, "runs": merged("runs", entry_key),
            "grids": sorted(merged("grids", lambda e: e["output"]), key=lambda e: e["output"]),
            "summaries": sorted(merged("summaries", lambda e: e["output"]), key=lambda e: e["output"])}


def write_manifest(path: Path, data: Mapping[str, Any]) -> None:
    """Write ``data`` to ``path`` (JSON) and its runs to the ``.csv`` beside it, each atomically (hold ``locked``)."""
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


def remove_partial_files(outputs: Iterable[Path], *, stale_only: bool) -> list[Path]:
    """Remove the temporary files that killed runs left beside ``outputs``; return what was removed.

    Only names ``atomic_output`` gives its temporary files for exactly these outputs are touched
    (its process id and a random part), so other files in the folders are safe. ``stale_only``:
    only those whose process is gone and that nobody wrote to for a minute (``remove_stale_temporary_files``),
    as at the start of a batch, when another may be writing; else all, as when this batch's runs have ended.
    """
    removed = []
    for output in outputs:
        if stale_only:
            removed += remove_stale_temporary_files(output)
            continue
        for path in temporary_files(output):
            remove_temporary(path)
            if not path.exists():
                removed.append(path)
    return removed
