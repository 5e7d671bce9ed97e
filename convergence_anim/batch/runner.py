"""``render_batch``: the runs of a sweep, on any executor, each recorded in the manifest as it finishes."""

from __future__ import annotations

import concurrent.futures
import math
import os
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Sequence

from .. import __version__
from .._checks import integer, number, optional
from .._exceptions import ConvergenceAnimError, OutputError, UsageError, one_line
from .._processes import available_cores
from .._timing import budget_note
from ..encoders import encoder_for
from ..settings import DEFAULT_FPS, DEFAULT_MAX_FRAMES, RenderSettings
from . import manifest as mf
from .executors import batch_pool, warm_batch_pool
from .pool import RunPool
from .runs import BatchJob, TrainingFunction, check_function, format_value, parse_seeds, sweep
from .task import check_in_worker, run_task, sha256
from .ensembles import ensemble_outputs, trace_path
from .templates import template_outputs
from .views import same_view, union_view

__all__ = ["BatchResult", "Progress", "render_batch"]


@dataclass(frozen=True)
class BatchResult:
    """What ``render_batch`` did: one manifest entry per run, in run order, and those of the grid and summary.

    Each entry is a dict, as written to ``batch.json``: ``function``, ``params``, ``seed``,
    ``settings``, ``status`` (``"rendered"``; ``"diverged"``: rendered, but the loss or weights stopped
    being finite; ``"failed"``: see ``error``; ``"up to date"``: the output already matched and was
    kept), ``error``, ``scene``, ``iterations`` (last captured step + 1), ``frames``, ``final_loss``,
    ``best_loss``, ``diverged_at``, ``output``, ``bytes``, ``sha256``, ``seconds`` and ``curve`` (the
    loss at every captured step, None where it was not finite).

    ``cut_by_budget`` holds, for each run rendered now whose captures the default frame budget
    (``settings.max_frames``, 300) cut, ``(captures, captured at every step)``; ``render_batch``
    warns of them once, in one line.
    """

    entries: list[dict[str, Any]]
    grid: "dict[str, Any] | None"
    summary: "dict[str, Any] | None"
    manifest: Path
    cut_by_budget: "tuple[tuple[int, bool], ...]" = ()
    #: The entries of the ensembles (``ensemble=``), one per parameter setting, in sweep order.
    ensembles: list = field(default_factory=list)

    def budget_note(self, keep_all: str = "max_frames=None in the settings") -> "str | None":
        """One line on the runs the default frame budget cut (None if none): how many, and ``keep_all`` to draw every frame."""
        if not self.cut_by_budget:
            return None
        runs = len(self.cut_by_budget)
        most = max(n for n, _ in self.cut_by_budget)
        return budget_note(f"{runs} run{'s' * (runs > 1)} drew {DEFAULT_MAX_FRAMES} of up to {most} frames", keep_all,
                           any(every for _, every in self.cut_by_budget))

    @property
    def csv(self) -> Path:
        """The manifest's runs as CSV, beside it."""
        return self.manifest.with_suffix(".csv")

    @property
    def failed(self) -> list[dict[str, Any]]:
        """Entries of the runs that failed."""
        return [e for e in self.entries if e["status"] == "failed"]

    @property
    def diverged(self) -> list[dict[str, Any]]:
        """Entries of the runs whose training diverged (their animations show it), rendered now or before."""
        return [e for e in self.entries if e["status"] != "failed" and e.get("diverged_at") is not None]

    @property
    def skipped(self) -> list[dict[str, Any]]:
        """Entries whose output was already up to date and was not rendered again."""
        return [e for e in self.entries if e["status"] == "up to date"]

    @property
    def ok(self) -> bool:
        """True if no run failed and the grid and summary (if asked for) were written."""
        extras = [x for x in (self.grid, self.summary, *self.ensembles) if x is not None]
        return not self.failed and all(x["status"] in ("rendered", "up to date") for x in extras)


#: Called as ``progress(stage, done, total)``: stage ``"measure"`` (shared scale: training every run to
#: find the limits), ``"runs"``, ``"grid"`` (frames of the grid) or ``"ensemble"`` (each ensemble drawn); first with ``done=0``.
Progress = Callable[[str, int, int], None]


def render_batch(
    function: "str | Callable[..., Any]",
    seeds: "str | Iterable[int]",
    params: "Mapping[str, Sequence[Any]] | None" = None,
    *,
    output: "str | None" = None,
    executor: "concurrent.futures.Executor | None" = None,
    workers: "int | None" = None,
    settings: "RenderSettings | None" = None,
    shared_scale: bool = False,
    grid: "str | os.PathLike[str] | None" = None,
    grid_cols: "int | None" = None,
    cell_size: "tuple[int, int] | None" = None,
    summary: "str | os.PathLike[str] | None" = None,
    ensemble: "str | os.PathLike[str] | None" = None,
    manifest: "str | os.PathLike[str] | None" = None,
    force: bool = False,
    timeout: "float | None" = None,
    progress: "Progress | None" = None,
) -> BatchResult:
    """Call a training function for every seed and parameter combination, render each run, record it.

    ``function(seed=s, **combination)`` is called once per run and must return a ``Trace`` or the
    ``Recorder`` holding it. A run that fails (raises, or returns something else) is recorded with
    its error and the others go on; so is a run that ends its process (``sys.exit``, ``os._exit``,
    a crash, the out-of-memory killer: named by its exit code or signal) or runs past ``timeout``.
    The manifest (``batch.json`` in the outputs' common folder unless
    ``manifest`` is given, and the same runs as ``batch.csv``) is rewritten after every run, so an
    interruption keeps what finished; a rerun skips runs whose output exists and matches the manifest's
    settings, the function's file and the SHA-256 (``force=True`` renders them again), and removes
    temporary files a killed batch left beside the outputs. The same run gives byte-identical files
    alone, in a local batch or on Dask.

    Parameters
    ----------
    function:
        A callable, ``"path/to/experiment.py:train"``, ``"package.module:train"`` or a built-in demo's
        name (``"moons"``).
    seeds:
        The seeds, as integers or a spec like ``"0-19"`` or ``"1,2,5-9"``.
    params:
        ``{name: [values]}``: every combination of values (numbers or text) is run with every seed,
        passed as keyword arguments.
    output:
        Template of each run's animation (``.gif`` or ``.mp4``) with ``{seed}`` and the parameters'
        names as fields, e.g. ``"runs/lr{lr}-s{seed}.mp4"``; None to render no animations (then give
        ``grid`` or ``summary``). Folders are created.
    executor:
        Any ``concurrent.futures.Executor``, e.g. ``dask.distributed.Client(...).get_executor()``; the
        function is then sent by value (cloudpickle) when it comes from a file. None (the default)
        uses a local process pool of ``workers`` processes started by forkserver, which needs the
        usual ``if __name__ == "__main__":`` guard in a script.
    workers:
        Local processes when ``executor`` is None, one run each at a time: every core by default.
        Even ``workers=1`` runs in a process of its own, so a run that ends its process does not
        end this one.
    settings:
        How each animation is drawn (``RenderSettings``); a demo's own fps if None. ``still`` and
        ``filmstrip`` are refused (every run would write the same file); ``jobs`` is set to 1.
    shared_scale:
        Draw every run with the same axis limits (the union of each run's own), so the clips compare
        side by side. Every run is trained first to find them.
    grid:
        Also write one synchronised animation of all runs to this ``.gif`` or ``.mp4``, one
        cell each labelled with its seed and the parameters that vary (not those given one
        value); a run that stopped early holds its last frame. Every run must return a trace of
        the same scene.
    grid_cols:
        Columns of the grid; by default one row per parameter combination and one column per seed
        (near-square when nothing is swept).
    cell_size:
        ``(width, height)`` of a grid cell in pixels; 200x160 if None.
    summary:
        Also draw every run's loss curve and final loss in one figure (``.png``, ``.svg``, ``.pdf``).
    ensemble:
        Also draw the runs of each parameter setting (every seed) as one ensemble animation
        (``render(..., ensemble=True)``: each run thin and translucent, the loss panel's median and
        10-90% band): a path, or with ``params`` a template of their names (``"ens-lr{lr}.gif"``).
        Each run then saves its trace beside the manifest (``traces/``; its entry's ``trace``) and the
        ensembles are drawn from those files, in this process, after the runs: a rerun draws them
        again without training. The runs of a setting must share their data (seed only the weights).
    manifest:
        Where to keep the manifest (the CSV goes beside it).
    force:
        Render everything again, up to date or not.
    timeout:
        Seconds a run may take (training, rendering, and in a fresh local worker loading the
        function's file); a run still going then is stopped and recorded as failed, ``"timed out after N s"``,
        and the others go on. A local worker is killed and replaced; on Dask, the run's thread is
        stopped (its worker restarted if it will not stop; there, imports and loading the function
        do not count).
        None (the default): no limit.
    progress:
        See ``Progress``: called as work finishes, for progress bars.

    Returns
    -------
    BatchResult
        The manifest entries of these runs, the grid and the summary.

    Raises
    ------
    UsageError
        Before any run starts: the file, module or function cannot be found, the function does not
        take ``seed`` or a parameter, a value list is empty or repeats, the template is invalid or
        gives two runs one file, there is nothing to write, or an option is out of range.
    OutputError
        If an output folder or the manifest cannot be written.
    KeyboardInterrupt
        After Ctrl-C: running runs are stopped (their temporary files removed) and the manifest keeps
        the runs that finished.
    """
    from ..encoders import check_fps
    from ..grid import CELL_SIZE, check_cell_size, grid_shape
    from .summary import check_summary_path

    fn = function if isinstance(function, TrainingFunction) else TrainingFunction(function)
    seeds = parse_seeds(seeds) if isinstance(seeds, str) else list(seeds)
    params = dict(params or {})
    runs = sweep(seeds, params)
    if executor is not None and workers is not None:
        raise UsageError("give workers (local processes) or an executor, not both")
    optional(integer, "workers", workers, low=1)
    timeout = optional(number, "timeout", timeout, positive=True)

    settings = RenderSettings.build(settings)
    if settings.still is not None or settings.filmstrip is not None:
        raise UsageError("a batch cannot write a still or filmstrip: every run would write the same file")
    if settings.fps is None and settings.duration is None:
        settings = RenderSettings.build(settings, fps=fn.default_fps or DEFAULT_FPS)
    settings = RenderSettings.build(settings, jobs=1)  # the parallelism is across runs

    outputs = [None] * len(runs) if output is None else [Path(os.path.abspath(p)) for p in template_outputs(os.fspath(output), runs)]
    for path in {p.suffix.lower(): p for p in outputs if p is not None}.values():
        encoder = encoder_for(path)
        if settings.fps is not None:
            check_fps(settings.fps, encoder.max_fps, encoder.suffix)
    grid_path = None if grid is None else Path(os.path.abspath(grid))
    # What a cell's label shows: the parameters with more than one value (params may hold iterators, used up).
    varying = [name for name in params if len({format_value(combo[name]) for combo, _ in runs}) > 1]
    if cell_size is None:
        # Wide enough that the longest label ("lr=0.05 hidden=16 s3": bold 12 px, 7.3 px a character
        # measured, 7.5 counted) clears the loss on its right ("loss 0.0007373": 86 px) and the margins.
        longest = max(len(_cell_label(BatchJob(seed, combo, None), varying)) for combo, seed in runs)
        cell_size = (min(400, max(CELL_SIZE[0], 2 * math.ceil((7.5 * longest + 110) / 2))), CELL_SIZE[1])
    cell_size = check_cell_size(cell_size)
    combos = len(runs) // len(seeds)
    if grid_cols is None and combos > 1:
        grid_cols = len(seeds)  # one row per combination: a sweep reads as a table
    grid_fps = settings.fps or DEFAULT_FPS
    if grid_path is not None:
        encoder = encoder_for(grid_path)
        check_fps(grid_fps, encoder.max_fps, encoder.suffix)
        grid_shape(len(runs), grid_cols)
    summary_path = None if summary is None else Path(os.path.abspath(check_summary_path(summary)))
    combinations: list[dict[str, Any]] = []
    for combo, _ in runs:
        if dict(combo) not in combinations:
            combinations.append(dict(combo))
    ensemble_paths = [] if ensemble is None else [Path(os.path.abspath(p)) for p in ensemble_outputs(os.fspath(ensemble), combinations)]
    members = [[i for i, (combo, _) in enumerate(runs) if dict(combo) == c] for c in combinations]
    for path in {p.suffix.lower(): p for p in ensemble_paths}.values():
        encoder = encoder_for(path)
        if settings.fps is not None:
            check_fps(settings.fps, encoder.max_fps, encoder.suffix)
    named = [p for p in outputs if p is not None] + [p for p in (grid_path, summary_path) if p is not None]
    named += ensemble_paths
    if not named:
        raise UsageError("nothing to write: give an output template, a grid or a summary")
    seen = set(p for p in outputs if p is not None)
    if grid_path is not None and grid_path in seen:
        raise UsageError(f"the grid {str(grid_path)!r} is also a run's output")
    for path in ensemble_paths:
        if path in seen or path in (grid_path, summary_path):
            raise UsageError(f"the ensemble {str(path)!r} is also another output")
    manifest_path = Path(os.path.abspath(manifest)) if manifest is not None else (
        Path(os.path.commonpath([str(p.parent) for p in named])) / mf.MANIFEST_NAME
    )
    if manifest_path.suffix.lower() != ".json":
        raise UsageError(f"the manifest must end in .json, got {str(manifest_path)!r}")
    if {manifest_path, manifest_path.with_suffix(".csv")} & (seen | {grid_path, summary_path}):
        raise UsageError(f"the manifest {str(manifest_path)!r} (or its .csv) is also an output")
    trace_files = ([trace_path(manifest_path.parent, combo, seed) for combo, seed in runs] if ensemble_paths
                   else [None] * len(runs))
    # A beamer .tex comes with its frames folder, built under a temporary name of its own.
    animations = [p for p in outputs if p is not None] + [p for p in (grid_path,) if p is not None] + ensemble_paths
    companions = [c for p in animations for c in encoder_for(p).companion_paths(p)]
    everything = (named + companions + [manifest_path, manifest_path.with_suffix(".csv")]
                  + [t for t in trace_files if t is not None])
    kept = {"ensembles": list(zip(ensemble_paths, members)), "traces": trace_files}

    jobs = [BatchJob(seed, combo, None if out is None else str(out)) for (combo, seed), out in zip(runs, outputs)]
    if not force and not shared_scale and (fn.loaded or fn.path is not None):
        # A resume: when the manifest says every output is up to date (the file's hash stands for its
        # code, read without loading it), no pool starts and neither the file nor torch is imported.
        state = _Batch(fn, fn.code_sha256, jobs, outputs, settings, manifest_path, progress, varying, timeout, **kept)
        if state.nothing_to_render(grid_path, grid_cols, cell_size, grid_fps):
            with mf.locked(manifest_path):  # another batch writes its manifest's temporary files only under it
                mf.remove_partial_files(everything, stale_only=True)  # left by a batch that was killed
            state.run(None, None, {}, shared_scale=False, grid_path=grid_path, grid_cols=grid_cols,
                      cell_size=cell_size, grid_fps=grid_fps, force=False)
            if summary_path is not None:
                state.write_summary(summary_path)
            return state.result()
    if executor is None:
        warm_batch_pool()  # its imports overlap with the checks below
    owned = None
    if executor is None:
        # Even one worker is a process of its own: a run that ends its process must not end the batch.
        executor = owned = batch_pool(min(available_cores() if workers is None else workers, len(jobs)))
    by_value = owned is None  # a foreign executor may run on machines without the user's file
    started = False
    try:
        code = _check_function(fn, list(params), owned)
        shipped = fn.shipped(by_value=by_value)  # refused (cannot be sent) before anything is written
        for folder in sorted({p.parent for p in named} | {manifest_path.parent}
                             | {t.parent for t in trace_files if t is not None}):
            try:
                folder.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise OutputError(f"cannot create the output folder {str(folder)!r}: {exc.strerror}") from None
        checked = set()
        for path in [p for p in outputs if p is not None] + ([grid_path] if grid_path else []) + ensemble_paths:
            if path.suffix.lower() not in checked:  # the encoder can run (e.g. ffmpeg is there) before any training
                checked.add(path.suffix.lower())
                RenderSettings.build(settings, fps=grid_fps if path == grid_path else settings.fps).check_output(path)
        with mf.locked(manifest_path):  # another batch writes its manifest's temporary files only under it
            mf.remove_partial_files(everything, stale_only=True)  # left by a batch that was killed
        started = True

        state = _Batch(fn, code, jobs, outputs, settings, manifest_path, progress, varying, timeout, **kept)
        state.run(executor, owned, shipped, shared_scale=shared_scale, grid_path=grid_path,
                  grid_cols=grid_cols, cell_size=cell_size, grid_fps=grid_fps, force=force)
        if summary_path is not None:
            state.write_summary(summary_path)
    finally:
        if owned is not None:
            owned.shutdown(wait=True, cancel_futures=True)
        if started:
            with mf.locked(manifest_path):
                mf.remove_partial_files(everything, stale_only=False)  # of runs killed in this batch
    result = state.result()
    note = result.budget_note()
    if note is not None:
        warnings.warn(f"render_batch: {note}", UserWarning, stacklevel=2)
    return result


def _check_function(fn: TrainingFunction, params: list[str], pool: "RunPool | None") -> "str | None":
    """Load and check the training function before any run starts; the SHA-256 of its code.

    With a local ``pool``, a worker loads it (and keeps the module for the runs it gets): this
    process never imports the user's code, nor torch, which saves it seconds and hundreds of megabytes.

    Raises
    ------
    UsageError
        If it cannot be loaded or does not take ``seed`` and ``params``.
    """
    if pool is None or fn.loaded:
        outcome = check_function(fn, params)
    else:
        future = pool.submit(check_in_worker, fn, params)
        try:
            outcome = future.result()
        except ConvergenceAnimError:  # the file ended the worker's process as it loaded
            hint = "the file ends its process as it loads, or it ran out of memory"
            if _main_is_a_users_script():
                hint = f"in a script, call render_batch under `if __name__ == \"__main__\":`; else {hint}"
            raise UsageError(f"a worker process ended while loading {fn.ref}: {hint}") from None
        except BaseException:
            pool.interrupt()
            raise
    if outcome["error"] is not None:
        raise UsageError(outcome["error"])
    return outcome["code_sha256"]


def _main_is_a_users_script() -> bool:
    """Whether this process runs a script of the user's, which the pool's workers import again."""
    import sys

    main = sys.modules.get("__main__")
    path = getattr(main, "__file__", None)
    if path is None or getattr(getattr(main, "__spec__", None), "name", "").startswith("convergence_anim."):
        return False
    return Path(path).name != "convergence-anim"  # the installed command's own script is guarded


class _Batch:
    """The state of one ``render_batch`` call: entries, manifest, futures."""

    def __init__(self, fn: TrainingFunction, code: "str | None", jobs: list[BatchJob], outputs, settings: RenderSettings,
                 manifest_path: Path, progress, varying: list[str], timeout: "float | None", *,
                 ensembles: "Sequence[tuple[Path, list[int]]]" = (), traces: "Sequence[Path | None] | None" = None) -> None:
        self.fn, self.code, self.jobs, self.outputs, self.settings = fn, code, jobs, outputs, settings
        self.timeout = timeout
        self.varying = varying
        self.manifest_path, self.progress = manifest_path, progress
        self.manifest = mf.load_manifest(manifest_path)
        self.entries: list["dict[str, Any] | None"] = [None] * len(jobs)
        self.grid_entry: "dict[str, Any] | None" = None
        self.summary_entry: "dict[str, Any] | None" = None
        self.cells: list["list[bytes] | None"] = [None] * len(jobs)
        self.cut_by_budget: list[tuple[int, bool]] = []
        self.ensembles = list(ensembles)
        self.traces = list(traces) if traces is not None else [None] * len(jobs)
        self.ensemble_entries: list[dict[str, Any]] = []

    # - bookkeeping

    def _relative(self, path: "Path | None") -> "str | None":
        if path is None:
            return None
        return Path(os.path.relpath(path, self.manifest_path.parent)).as_posix()

    def _identity(self, i: int) -> dict[str, Any]:
        job = self.jobs[i]
        return {"function": self.fn.ref, "params": dict(job.params), "seed": job.seed, "output": self._relative(self.outputs[i])}

    def _old_entry(self, i: int) -> "dict[str, Any] | None":
        key = mf.entry_key(self._identity(i))
        return next((e for e in self.manifest["runs"] if mf.entry_key(e) == key), None)

    def _entry(self, i: int, settings: Mapping[str, Any], result: Mapping[str, Any]) -> dict[str, Any]:
        entry = {**self._identity(i), "settings": dict(settings), "status": result["status"], "error": result.get("error")}
        for name in ("scene", "iterations", "frames", "final_loss", "best_loss", "diverged_at", "bytes", "sha256",
                     "seconds", "curve"):
            entry[name] = result.get(name)
        if result.get("trace") is not None:
            entry["trace"] = self._relative(Path(result["trace"]))
        if self.outputs[i] is None or entry["status"] == "failed":
            entry["bytes"] = entry["sha256"] = None
        return {**{k: v for k, v in entry.items() if k != "output"}, "output": entry["output"]}

    def _save(self) -> None:
        ours = {"runs": [e for e in self.entries if e is not None],
                "grids": ([self.grid_entry] if self.grid_entry is not None else []) + self.ensemble_entries,
                "summaries": [self.summary_entry] if self.summary_entry is not None else []}
        # Read again under the lock: another batch writing to the same manifest keeps its runs.
        with mf.locked(self.manifest_path):
            current = mf.load_manifest(self.manifest_path)
            self.manifest = mf.merge_manifest(current, ours, tool=f"convergence-anim {__version__}")
            mf.write_manifest(self.manifest_path, self.manifest)

    def _tick(self, stage: str, done: int, total: int) -> None:
        if self.progress is not None:
            self.progress(stage, done, total)

    # - running

    def _map(self, executor, owned, stage: str, tasks: dict, on_result: Callable[[int, dict], None], already: int = 0) -> None:
        """Run ``tasks`` (run index -> task), calling ``on_result`` as each finishes, in any order."""
        total = len(tasks) + already
        done = already
        self._tick(stage, done, total)
        futures: dict[concurrent.futures.Future, int] = {}
        try:
            for i, task in tasks.items():
                if isinstance(executor, RunPool):  # the pool kills a worker past the time
                    future = executor.submit_with_timeout(self.timeout, run_task, task)
                else:  # elsewhere the task watches its own time
                    future = executor.submit(run_task, {**task, "timeout": self.timeout} if self.timeout else task)
                futures[future] = i
            for future in concurrent.futures.as_completed(list(futures)):
                i = futures.pop(future)
                result = _result_of(future)
                worker = result.pop("restart_worker", None)
                if worker is not None and hasattr(executor, "restart_worker"):
                    executor.restart_worker(worker)  # of a timed-out run: see task._run_with_timeout
                on_result(i, result)
                done += 1
                self._tick(stage, done, total)
        except BaseException:
            for future in futures:
                future.cancel()
            if owned is not None:
                owned.interrupt()
                owned.shutdown(wait=True, cancel_futures=True)
            for future, i in futures.items():  # runs that finished while we were stopping
                if future.done() and not future.cancelled() and future.exception() is None:
                    on_result(i, future.result())
            raise

    def _run_settings(self) -> list[dict[str, Any]]:
        """What each run's entry records as its settings, before any shared scale is measured."""
        base = {"render": self.settings.to_dict(), "code": self.code, "version": __version__}
        return [dict(base) for _ in self.jobs]

    def _grid_settings(self, settings: list, grid_cols, cell_size, grid_fps: float) -> dict[str, Any]:
        return {"cols": grid_cols, "cell_size": list(cell_size), "fps": grid_fps,
                "cells": [{**self._identity(i), "settings": settings[i]} for i in range(len(self.jobs))]}

    def _old_grid(self, grid_path: Path) -> "dict[str, Any] | None":
        return next((g for g in self.manifest["grids"] if g.get("output") == self._relative(grid_path)), None)

    def _kept(self, i: int, settings: Mapping[str, Any]) -> bool:
        """Whether run ``i`` need not run again: its output (or, without one, its entry) is up to date."""
        old = self._old_entry(i)
        if self.outputs[i] is None:
            return old is not None and old.get("status") != "failed" and mf.same(old.get("settings"), settings)
        return mf.up_to_date(old, settings, self.outputs[i])

    def nothing_to_render(self, grid_path: "Path | None", grid_cols, cell_size, grid_fps: float) -> bool:
        """Whether the manifest says every run and the grid are up to date (no shared scale, no force)."""
        settings = self._run_settings()
        if not all(self._kept(i, settings[i]) for i in range(len(self.jobs))):
            return False
        if not all(self._trace_kept(i) for i in range(len(self.jobs))) or not all(
                mf.up_to_date(self._old_grid(path), self._ensemble_settings(k, settings), path)
                for k, (path, _) in enumerate(self.ensembles)):
            return False
        if grid_path is None:
            return True
        old = self._old_grid(grid_path)
        grid_settings = self._grid_settings(settings, grid_cols, cell_size, grid_fps)
        return mf.up_to_date(old, grid_settings, grid_path) and not old.get("failed_cells")

    def run(self, executor, owned, shipped: dict, *, shared_scale: bool, grid_path: "Path | None", grid_cols,
            cell_size, grid_fps: float, force: bool) -> None:
        jobs, n = self.jobs, len(self.jobs)
        settings = self._run_settings()
        render_dict = self.settings.to_dict()

        def task(i: int, **extra) -> dict[str, Any]:
            return {"function": shipped, "seed": jobs[i].seed, "params": dict(jobs[i].params), "settings": render_dict,
                    "output": None, **extra}

        failed_early: dict[int, dict] = {}
        views: list["dict | None"] = [None] * n
        try:
            if shared_scale:
                measured: dict[int, dict] = {}

                def measured_one(i: int, result: dict) -> None:
                    if result["status"] == "failed":
                        failed_early[i] = result
                    else:
                        measured[i] = result["view"]

                self._map(executor, owned, "measure", {i: task(i, measure=True) for i in range(n)}, measured_one)
                if measured:
                    shared = union_view(measured.values())
                    for i, own in measured.items():
                        # A run already drawn at the shared limits renders exactly as it would alone.
                        views[i] = None if same_view(own, shared) else shared
                        settings[i]["shared_scale"] = shared
            for i, result in failed_early.items():
                self.entries[i] = self._entry(i, settings[i], result)

            grid_settings = None
            grid_needed = False
            if grid_path is not None:
                grid_settings = self._grid_settings(settings, grid_cols, cell_size, grid_fps)
                old = self._old_grid(grid_path)
                grid_needed = bool(force or failed_early or not mf.up_to_date(old, grid_settings, grid_path)
                                   or old.get("failed_cells"))
                if not grid_needed:
                    self.grid_entry = {**old, "status": "up to date"}

            tasks = {}
            theme = render_dict["theme"]
            for i in range(n):
                if i in failed_early:
                    continue
                render_output = force or not self._kept(i, settings[i])
                if not render_output:
                    self.entries[i] = {**self._old_entry(i), "status": "up to date"}
                # An ensemble is drawn from the runs' saved traces: a run kept without one trains again to save it.
                trace_needed = self.traces[i] is not None and (render_output or not self._trace_kept(i))
                if render_output or grid_needed or trace_needed:
                    cell = {"label": _cell_label(jobs[i], self.varying), "size": list(cell_size), "theme": theme} if grid_needed else None
                    tasks[i] = task(i, output=str(self.outputs[i]) if render_output and self.outputs[i] else None,
                                    view=views[i], cell=cell, trace=str(self.traces[i]) if trace_needed else None)

            def finished(i: int, result: dict) -> None:
                self.cells[i] = result.pop("cell", None)
                if result.get("budget"):
                    self.cut_by_budget.append((int(result["budget"][0]), bool(result["budget"][1])))
                if self.entries[i] is None:  # a kept run drawn again only for the grid keeps its entry
                    self.entries[i] = self._entry(i, settings[i], result)
                elif result.get("trace") is not None and result["status"] != "failed":  # ... and gains its trace
                    self.entries[i]["trace"] = self._relative(Path(result["trace"]))
                self._save()

            already = sum(1 for i in range(n) if i not in failed_early and i not in tasks)
            self._map(executor, owned, "runs", tasks, finished, already=already)
            if grid_needed:
                self._check_scenes()
                self._write_grid(grid_path, grid_settings, grid_cols, cell_size, grid_fps, theme)
            for k in range(len(self.ensembles)):
                self._write_ensemble(k, settings, force)
        finally:
            self._save()

    def _check_scenes(self) -> None:
        """A grid shows one scene: a run whose trace has another than the first run's is failed."""
        scenes = [(i, e.get("scene")) for i, e in enumerate(self.entries) if e is not None and e["status"] != "failed"]
        if not scenes:
            return
        first, scene = scenes[0]
        for i, other in scenes[1:]:
            if other is not None and other != scene:
                self.entries[i] = {**self.entries[i], "status": "failed", "error":
                                   f"returned a trace of scene {other!r}, but {self.jobs[first].label} returned {scene!r}; "
                                   "a grid shows one scene"}
                self.cells[i] = None

    def _write_grid(self, grid_path: Path, grid_settings: dict, cols, cell_size, fps: float, theme: str) -> None:
        from ..grid import message_cell, write_grid

        failed = []
        cells = []
        for i, job in enumerate(self.jobs):
            cell = self.cells[i]
            if cell is None:
                failed.append(_cell_label(job, self.varying))
                cell = message_cell(_cell_label(job, self.varying), "failed", size=cell_size, theme=theme)
            cells.append(cell)
        n_frames = max(len(c) for c in cells)
        entry = {"output": self._relative(grid_path), "settings": grid_settings, "status": "failed", "error": None,
                 "frames": n_frames, "failed_cells": failed, "bytes": None, "sha256": None}
        self.cells = [None] * len(self.jobs)  # the frames are in cells now: let these go
        if len(failed) == len(self.jobs):  # a grid of "failed" labels shows nothing the manifest does not
            self.grid_entry = {**entry, "frames": 0, "error": "every run failed", "seconds": 0.0}
            return
        started = time.perf_counter()
        try:
            self._tick("grid", 0, n_frames)
            done = [0]

            def tick(k: int) -> None:
                done[0] += k
                self._tick("grid", done[0], n_frames)

            write_grid(cells, grid_path, cell_size=cell_size, cols=cols, fps=fps, progress=tick)
            entry.update(status="rendered", bytes=grid_path.stat().st_size, sha256=sha256(grid_path))
        except ConvergenceAnimError as exc:
            entry["error"] = one_line(exc)
        entry["seconds"] = round(time.perf_counter() - started, 3)
        self.grid_entry = entry

    def _trace_kept(self, i: int) -> bool:
        """Whether run ``i``'s trace, if an ensemble needs it, is on disk as its manifest entry says."""
        if self.traces[i] is None:
            return True
        old = self._old_entry(i)
        return old is not None and old.get("trace") == self._relative(self.traces[i]) and self.traces[i].is_file()

    def _ensemble_settings(self, k: int, settings: list) -> dict[str, Any]:
        from .ensembles import ensemble_settings

        members = []
        for i in self.ensembles[k][1]:
            path = self.traces[i]
            members.append({**self._identity(i), "settings": settings[i],
                            "trace_sha256": sha256(path) if path is not None and path.is_file() else None})
        return ensemble_settings(self.settings.to_dict(), members)

    def _write_ensemble(self, k: int, settings: list, force: bool) -> None:
        """Draw ensemble ``k`` from its runs' traces, unless it is up to date; record its entry."""
        from .ensembles import write_ensemble

        path, members = self.ensembles[k]
        ensemble_settings = self._ensemble_settings(k, settings)
        old = self._old_grid(path)
        if not force and mf.up_to_date(old, ensemble_settings, path):
            self.ensemble_entries.append({**old, "status": "up to date"})
            return
        entry = {"output": self._relative(path), "kind": "ensemble", "settings": ensemble_settings, "status": "failed",
                 "error": None, "frames": None, "failed_cells": [], "bytes": None, "sha256": None}
        started = time.perf_counter()
        ok = [i for i in members if self.entries[i] is not None and self.entries[i]["status"] != "failed"
              and self.traces[i] is not None and self.traces[i].is_file()]
        entry["failed_cells"] = [_cell_label(self.jobs[i], self.varying) for i in members if i not in ok]
        if not ok:
            entry["error"] = "every run of this setting failed"
        else:
            try:
                self._tick("ensemble", 0, 1)
                entry["frames"] = write_ensemble([self.traces[i] for i in ok], path, self.settings)
                entry.update(status="rendered", bytes=path.stat().st_size, sha256=sha256(path))
                self._tick("ensemble", 1, 1)
            except ConvergenceAnimError as exc:
                entry["error"] = one_line(exc)
        entry["seconds"] = round(time.perf_counter() - started, 3)
        self.ensemble_entries.append(entry)

    def write_summary(self, path: Path) -> None:
        from .summary import write_summary

        entry = {"output": self._relative(path), "status": "failed", "error": None, "runs": len(self.jobs),
                 "bytes": None, "sha256": None}
        try:
            write_summary([e for e in self.entries if e is not None], path, title=self.fn.ref,
                          theme=self.settings.theme)
            entry.update(status="rendered", bytes=path.stat().st_size, sha256=sha256(path))
        except ConvergenceAnimError as exc:
            entry["error"] = one_line(exc)
        self.summary_entry = entry
        self._save()

    def result(self) -> BatchResult:
        return BatchResult(entries=[dict(e) for e in self.entries if e is not None], grid=self.grid_entry,
                           summary=self.summary_entry, manifest=self.manifest_path,
                           cut_by_budget=tuple(self.cut_by_budget), ensembles=list(self.ensemble_entries))


def _result_of(future: concurrent.futures.Future) -> dict[str, Any]:
    """The task's result, or a failed result if the executor could not run it (e.g. every retry lost)."""
    try:
        return future.result()
    except Exception as exc:
        return {"status": "failed", "error": one_line(exc)}


def _cell_label(job: BatchJob, varying: Sequence[str]) -> str:
    """A grid cell's label: the seed and the parameters that differ between runs (not those given one value)."""
    params = " ".join(f"{name}={format_value(value)}" for name, value in job.params.items() if name in varying)
    return f"{params} s{job.seed}" if params else f"seed {job.seed}"

