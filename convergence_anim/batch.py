"""``render_batch``: train and render one demo over many seeds, in parallel, resumably.

    jobs = [BatchJob("linear", seed, f"outputs/linear-{seed}.gif") for seed in range(20)]
    result = render_batch(jobs)                                 # every local core
    result = render_batch(jobs, client.get_executor())          # a dask.distributed cluster

Each seed is one task, ``_run_one(task)``: a top-level function taking and returning plain data, so
any ``concurrent.futures.Executor`` can run it, a local process pool or Dask workers alike. A task
trains the demo, renders the seed's animation (one process per seed: the parallelism is across
seeds) and, for a grid, draws the seed's grid cell. The parent only collects results, keeps the
manifest ``batch.json`` up to date after every seed, and composes the grid.

The default local pool starts its workers with ``forkserver`` (``spawn`` where that is missing), never
``fork``: the caller may have torch loaded, and forking a process with torch's threads running is
unsafe. Like any such pool, a Python script that calls ``render_batch`` without an ``executor`` needs
the usual ``if __name__ == "__main__":`` guard.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import dataclasses
import hashlib
import json
import math
import os
import re
import signal
import string
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Mapping, Sequence

import numpy as np

from . import __version__
from ._atomic import atomic_output
from ._exceptions import ConvergenceAnimError, UsageError
from ._processes import available_cores, local_pool
from .scenes import Scene, register_scene, scene_from_trace
from .settings import RenderSettings
from .trace import Trace

__all__ = [
    "MANIFEST_NAME",
    "TEMPLATE_FIELDS",
    "BatchJob",
    "BatchResult",
    "dask_executor",
    "expand_template",
    "parse_seeds",
    "parse_template",
    "render_batch",
    "seed_jobs",
]

#: File name of the manifest written beside the outputs.
MANIFEST_NAME = "batch.json"
#: Layout version of ``batch.json``.
MANIFEST_FORMAT = 1
#: The most seeds one spec may name: a typo like ``0-1000000000`` fails at once instead of later.
MAX_SEEDS = 100_000
#: Demo options an output template may use besides ``{demo}`` and ``{seed}``.
OPTION_FIELDS = ("lr", "every", "max_iter", "fps")
TEMPLATE_FIELDS = ("demo", "seed") + OPTION_FIELDS

# -- seeds and templates --------------------------------------------------------------------------

_SEED_ITEM = re.compile(r"(\d+)(?:\s*-\s*(\d+))?")


def parse_seeds(spec: str) -> list[int]:
    """Parse ``"0-99"`` or ``"1,2,5-9"`` into a list of seeds, in the order given, without repeats.

    Raises
    ------
    UsageError
        If an item is empty, negative, not a number or range, or a range runs backwards.
    """
    seeds: dict[int, None] = {}
    if not spec or not spec.strip():
        raise UsageError("no seeds given; write them like 0-99 or 1,2,5-9")
    for item in spec.split(","):
        item = item.strip()
        match = _SEED_ITEM.fullmatch(item)
        if not match:
            what = "an empty item" if not item else repr(item)
            raise UsageError(f"seeds {spec!r} hold {what}; write non-negative whole numbers and ranges like 0-99 or 1,2,5-9")
        start = int(match.group(1))
        end = start if match.group(2) is None else int(match.group(2))
        if end < start:
            raise UsageError(f"seed range {item!r} runs backwards; write {end}-{start}")
        if end - start + 1 + len(seeds) > MAX_SEEDS:
            raise UsageError(f"seeds {spec!r} name more than {MAX_SEEDS} seeds")
        seeds.update(dict.fromkeys(range(start, end + 1)))
    return list(seeds)


def parse_template(template: str) -> list[tuple[str, "str | None"]]:
    """Split an output template into ``(literal text, field name or None)`` pairs.

    Only plain ``{name}`` fields with a name from ``TEMPLATE_FIELDS`` are allowed; ``{{`` and ``}}``
    stand for literal braces. Conversions (``{seed!r}``), format specs (``{seed:03d}``), attribute or
    index access (``{seed.real}``, ``{seed[0]}``) and unknown names are refused: the template is
    user text and is never handed to ``str.format``.

    Raises
    ------
    UsageError
        If the template is malformed or uses anything but the allowed fields.
    """
    allowed = ", ".join("{" + name + "}" for name in TEMPLATE_FIELDS)
    try:
        parts = list(string.Formatter().parse(template))
    except ValueError as exc:
        raise UsageError(f"output template {template!r} is malformed ({exc}); write {{{{ and }}}} for literal braces") from None
    pairs: list[tuple[str, "str | None"]] = []
    for literal, name, spec, conversion in parts:
        if name is None:
            pairs.append((literal, None))
            continue
        shown = "{" + name + (f"!{conversion}" if conversion else "") + (f":{spec}" if spec else "") + "}"
        if name not in TEMPLATE_FIELDS:
            raise UsageError(f"output template {template!r} uses {shown}; only {allowed} are allowed")
        if conversion is not None or spec:
            raise UsageError(f"output template {template!r} uses {shown}; write plain {{{name}}} without ! or :")
        pairs.append((literal, name))
    return pairs


def _format_value(value: Any) -> str:
    if isinstance(value, float):
        text = repr(value)
        return text[:-2] if text.endswith(".0") else text
    return str(value)


def expand_template(template: str, values: Mapping[str, Any]) -> str:
    """Fill ``template``'s fields from ``values`` (validated with ``parse_template``)."""
    return "".join(literal + ("" if name is None else _format_value(values[name])) for literal, name in parse_template(template))


# -- jobs ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BatchJob:
    """One seed of one demo to train and render.

    Options left None take the demo's defaults; the job stores the resolved values.

    Parameters
    ----------
    demo:
        Name of a demo in ``convergence_anim.demos.DEMOS``.
    seed:
        The random seed (a non-negative integer).
    output:
        The animation to write (``.gif`` or ``.mp4``), or None to train only (e.g. for a grid).
    lr:
        The learning rate.
    every:
        Capture every N iterations.
    max_iter:
        Stop after this many iterations.
    fps:
        Frames per second of the animation.
    render_options:
        Further keyword arguments of ``render`` (``theme``, ``size``, ...), JSON-serialisable.

    Raises
    ------
    UsageError
        If the demo is unknown, an option is out of range or the output suffix is not a known format.
    """

    demo: str
    seed: int
    output: "str | None" = None
    lr: "float | None" = None
    every: "int | None" = None
    max_iter: "int | None" = None
    fps: "float | None" = None
    render_options: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        from .demos import DEMOS
        from .encoders import encoder_for
        from .encoders._base import check_fps

        try:
            spec = DEMOS[self.demo]
        except (KeyError, TypeError):
            raise UsageError(f"unknown demo {self.demo!r}; choose from {', '.join(DEMOS)}") from None
        if isinstance(self.seed, bool) or not isinstance(self.seed, (int, np.integer)) or not 0 <= self.seed < 2**63:
            raise UsageError(f"seed must be a non-negative integer, got {self.seed!r}")
        values = {
            "seed": int(self.seed),
            "lr": float(spec.lr if self.lr is None else self.lr),
            "every": spec.every if self.every is None else self.every,
            "max_iter": spec.max_iter if self.max_iter is None else self.max_iter,
            "fps": spec.fps if self.fps is None else self.fps,
        }
        if not (0 < values["lr"] < math.inf):
            raise UsageError(f"lr must be a positive number, got {self.lr!r}")
        for name in ("every", "max_iter"):
            if isinstance(values[name], bool) or not isinstance(values[name], (int, np.integer)) or values[name] <= 0:
                raise UsageError(f"{name} must be a positive integer, got {values[name]!r}")
            values[name] = int(values[name])
        output = None if self.output is None else os.fspath(self.output)
        if output is not None:
            encoder = encoder_for(output)
            values["fps"] = check_fps(values["fps"], encoder.max_fps, encoder.suffix)
        else:
            values["fps"] = check_fps(values["fps"], math.inf, "a grid")
        try:
            options = json.loads(json.dumps(dict(self.render_options), allow_nan=False))
        except (TypeError, ValueError) as exc:
            raise UsageError(f"render_options must be JSON-serialisable: {exc}") from None
        reserved = {"fps", "jobs", "progress"} & set(options)
        if reserved:
            raise UsageError(f"render_options cannot set {', '.join(sorted(reserved))}: a batch sets them itself")
        RenderSettings.from_dict(options)  # refuses what render would refuse, before any training
        for name, value in values.items():
            object.__setattr__(self, name, value)
        object.__setattr__(self, "output", output)
        object.__setattr__(self, "render_options", options)

    def settings(self) -> dict[str, Any]:
        """What decides the job's output bytes, as JSON data: recorded in the manifest."""
        return {
            "demo": self.demo,
            "seed": self.seed,
            "lr": self.lr,
            "every": self.every,
            "max_iter": self.max_iter,
            "fps": self.fps,
            "render_options": dict(self.render_options),
            "version": __version__,
        }


def seed_jobs(
    demo: str,
    seeds: Iterable[int],
    template: "str | None",
    *,
    lr: "float | None" = None,
    every: "int | None" = None,
    max_iter: "int | None" = None,
    fps: "float | None" = None,
    render_options: "Mapping[str, Any] | None" = None,
) -> list[BatchJob]:
    """One ``BatchJob`` per seed, outputs named by ``template`` (None: train only, for a grid).

    Raises
    ------
    UsageError
        If the template is invalid or does not contain ``{seed}`` (two seeds would write one file),
        or a job is invalid.
    """
    if template is not None:
        pairs = parse_template(template)
        if not any(name == "seed" for _, name in pairs):
            raise UsageError(f"output template {template!r} does not contain {{seed}}, so every seed would write the same file")
    jobs = []
    for seed in seeds:
        job = BatchJob(demo, seed, None, lr=lr, every=every, max_iter=max_iter, fps=fps, render_options=render_options or {})
        if template is not None:
            values = {"demo": job.demo, "seed": job.seed, **{name: getattr(job, name) for name in OPTION_FIELDS}}
            job = dataclasses.replace(job, output=expand_template(template, values))
        jobs.append(job)
    return jobs


# -- the task that runs on a worker ----------------------------------------------------------------


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    if isinstance(exc, ConvergenceAnimError):
        return text or type(exc).__name__
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _sha256(path: "str | os.PathLike[str]") -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _view_limits(trace: "Trace", theme: Any) -> dict[str, list[float]]:
    """The axis limits the trace's scene draws with, read back from matplotlib."""
    import matplotlib
    from matplotlib.figure import Figure

    from .scenes import scene_from_trace
    from .style import get_theme

    theme = get_theme(theme)
    with matplotlib.rc_context(theme.rc):
        fig = Figure()
        ax = fig.add_subplot()
        scene_from_trace(trace).setup(ax, trace, theme)
        limits = {"xlim": [float(v) for v in ax.get_xlim()], "ylim": [float(v) for v in ax.get_ylim()]}
    fig.clear()
    losses = np.concatenate([trace.losses, trace.test_losses])
    losses = losses[np.isfinite(losses)]
    if losses.size:  # the loss panel's range, shared like the axes
        limits["loss"] = [float(losses.min()), float(losses.max())]
    return limits


def _with_view(trace: "Trace", view: Mapping[str, Sequence[float]]) -> "Trace":
    """``trace`` drawn with the axis limits ``view``, through the ``fixed_view`` scene."""
    options = {"scene": trace.scene, "options": dict(trace.options), "xlim": list(view["xlim"]), "ylim": list(view["ylim"])}
    return dataclasses.replace(trace, scene=FixedView.name, options=options)


_in_task = False
_stopping = False


def _run_one(task: Mapping[str, Any]) -> dict[str, Any]:
    """Train one seed and render what ``task`` asks for; return plain data, never raise (but Ctrl-C).

    ``task`` holds ``job`` (``BatchJob`` fields), ``output`` (absolute path or None), ``view`` (shared
    axis limits or None), ``measure`` (return the scene's own axis limits) and ``cell`` (None, or
    the label, size and theme of the seed's grid cell).
    """
    global _in_task
    from .demos import run_demo

    if _stopping:  # Ctrl-C reached this worker: seeds already queued for it do not start
        raise KeyboardInterrupt
    import torch

    started = time.perf_counter()
    job = task["job"]
    result: dict[str, Any] = {"status": "failed", "error": None}
    # One thread per seed: the parallelism is across seeds, and torch's thread pools fighting over
    # shared cores make small models several times slower. The numbers do not depend on the thread
    # count (tested), so the files stay byte-identical to a run alone.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    _in_task = True
    try:
        run = run_demo(job["demo"], seed=job["seed"], lr=job["lr"], every=job["every"], max_iter=job["max_iter"])
        trace = run.trace
        trace.require_frames()
        finite = trace.losses[np.isfinite(trace.losses)]
        diverged_at = trace.diverged_at
        result.update(
            iterations=int(run.iterations),
            frames=len(trace),
            final_loss=float(trace.losses[-1]) if np.isfinite(trace.losses[-1]) else None,
            best_loss=float(finite.min()) if finite.size else None,
            diverged_at=diverged_at,
            converged=diverged_at is None and run.iterations < job["max_iter"],
        )
        theme = job["render_options"].get("theme", "light")
        if task.get("measure"):
            result["view"] = _view_limits(trace, theme)
        if task.get("view") is not None:
            trace = _with_view(trace, task["view"])
        if task.get("output") is not None:
            from ._render import render

            shared_loss = (task.get("view") or {}).get("loss")
            extra = {"loss_range": tuple(shared_loss)} if shared_loss else {}
            render(trace, task["output"], fps=job["fps"], jobs=1, **job["render_options"], **extra)
            result["bytes"] = os.path.getsize(task["output"])
            result["sha256"] = _sha256(task["output"])
        if task.get("cell") is not None:
            from .grid import cell_frames

            cell = task["cell"]
            result["cell"] = cell_frames(trace, cell["label"], size=tuple(cell["size"]), theme=cell["theme"])
        result["status"] = "diverged" if diverged_at is not None else "ok"
    except Exception as exc:  # one seed failing must not stop the others: report it as data
        result.update(status="failed", error=_one_line(exc))
    finally:
        _in_task = False
        torch.set_num_threads(threads)
    result["seconds"] = round(time.perf_counter() - started, 3)
    return result


def _worker_sigint(signum, frame) -> None:
    # In a pool worker, Ctrl-C interrupts the seed being drawn (its temporary file is removed) and
    # stops the worker from starting the seeds queued for it; between seeds it raises nothing, so idle
    # workers wait for the pool's orderly shutdown instead of dying with a traceback.
    global _stopping
    _stopping = True
    if _in_task:
        raise KeyboardInterrupt


def _init_worker() -> None:
    signal.signal(signal.SIGINT, _worker_sigint)


# -- the ``fixed_view`` scene ------------------------------------------------------------------------


def _inner_trace(trace: "Trace") -> "Trace":
    return dataclasses.replace(trace, scene=trace.options["scene"], options=trace.options["options"])


@register_scene
class FixedView(Scene):
    """Another scene, drawn unchanged, then shown with fixed axis limits (for a shared scale).

    Scenes may use their own limits for more than the view (``DecisionBoundary`` evaluates the model
    on a grid over them while training), so the shared limits are not swapped into the scene's
    options: the scene draws what it recorded, and only the axes are rescaled afterwards.
    """

    name = "fixed_view"

    def __init__(self, inner: Scene, xlim: Sequence[float], ylim: Sequence[float]) -> None:
        self.inner = inner
        self.xlim, self.ylim = tuple(xlim), tuple(ylim)

    @property
    def label_position(self) -> tuple[float, float]:  # type: ignore[override]
        return self.inner.label_position

    @classmethod
    def from_data(cls, data: Mapping[str, np.ndarray], options: Mapping[str, Any]) -> "FixedView":
        empty = Trace(scene=options["scene"], data=data, options=options["options"],
                      steps=np.zeros(0, dtype=np.int64), losses=np.zeros(0), state={})
        return cls(scene_from_trace(empty), options["xlim"], options["ylim"])

    def setup(self, ax, trace, theme):
        update = self.inner.setup(ax, _inner_trace(trace), theme)
        ax.set_xlim(self.xlim)
        ax.set_ylim(self.ylim)
        return update

    def title(self, trace, index: int) -> str:
        return self.inner.title(_inner_trace(trace), index)


# -- executors ---------------------------------------------------------------------------------------


def _local_pool(workers: int) -> concurrent.futures.ProcessPoolExecutor:
    return local_pool(
        workers,
        preload=["convergence_anim.batch", "convergence_anim._render", "convergence_anim.grid", "torch",
                 "matplotlib.figure", "matplotlib.backends.backend_agg", "PIL.Image"],
        initializer=_init_worker,
    )


class _Inline(concurrent.futures.Executor):
    """Runs each task when it is submitted, in this process: ``--jobs 1``, with no pool to start."""

    def submit(self, fn, /, *args, **kwargs):
        future: concurrent.futures.Future = concurrent.futures.Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except Exception as exc:
            future.set_exception(exc)
        return future


@contextlib.contextmanager
def dask_executor(address: str, timeout: float = 10.0) -> Iterator[concurrent.futures.Executor]:
    """Connect to the Dask scheduler at ``address``; yield an executor that runs tasks on its workers.

    The workers need convergence_anim installed and must see the output paths (a shared file
    system) to write the files where this machine expects them.

    Raises
    ------
    UsageError
        If dask.distributed is not installed (it is the ``distributed`` extra).
    ConvergenceAnimError
        If the scheduler cannot be reached.
    """
    try:
        from distributed import Client
    except ImportError:
        raise UsageError(
            "--scheduler needs dask.distributed, an optional extra: pip install 'convergence-anim[distributed]'"
        ) from None
    try:
        client = Client(address, timeout=timeout, set_as_default=False)
    except (OSError, TimeoutError, ValueError) as exc:
        raise ConvergenceAnimError(f"cannot reach the Dask scheduler at {address}: {_one_line(exc)}") from None
    try:
        yield client.get_executor()
    finally:
        client.close()


# -- the manifest ------------------------------------------------------------------------------------


def _load_manifest(path: Path) -> dict[str, Any]:
    empty = {"format": MANIFEST_FORMAT, "seeds": [], "grids": []}
    if not path.exists():
        return empty
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if not (isinstance(data, dict) and isinstance(data.get("seeds"), list) and isinstance(data.get("grids"), list)):
            raise ValueError("not a batch manifest")
        if data.get("format", 0) > MANIFEST_FORMAT:
            raise ValueError(f"written by a newer convergence_anim (format {data.get('format')})")
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        raise ConvergenceAnimError(f"cannot read the manifest {str(path)!r} ({exc}); move it away to start afresh") from None
    return data


def _write_manifest(path: Path, data: Mapping[str, Any]) -> None:
    text = json.dumps(data, indent=2, allow_nan=False) + "\n"
    with atomic_output(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def _entry_key(entry: Mapping[str, Any]) -> tuple:
    return (entry.get("output") or "", entry.get("demo") or "", entry.get("seed") or 0)


def _same_settings(a: Any, b: Any) -> bool:
    return json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)


def _up_to_date(entry: "Mapping[str, Any] | None", settings: Mapping[str, Any], path: "Path | None") -> bool:
    """Whether ``path`` holds what ``settings`` would render, as the manifest ``entry`` recorded."""
    if entry is None or path is None or not path.is_file():
        return False
    if entry.get("status") not in ("ok", "diverged") or not _same_settings(entry.get("settings"), settings):
        return False
    try:
        return entry.get("bytes") == path.stat().st_size and entry.get("sha256") == _sha256(path)
    except OSError:
        return False


# -- the batch -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BatchResult:
    """What ``render_batch`` did: one manifest entry per job, in job order, and the grid's entry.

    Each entry is a dict, as written to ``batch.json``: ``demo``, ``seed``, ``settings``, ``status``
    (``"ok"``, ``"diverged"``: rendered, but the loss or weights stopped being finite, or
    ``"failed"``: training or rendering raised, see ``error``), ``skipped`` (true if the output was
    already up to date), ``iterations``, ``frames``, ``final_loss``, ``converged`` (stopped early at the
    demo's target loss), ``diverged_at``, ``output``, ``bytes``, ``sha256``, ``seconds``.
    """

    entries: list[dict[str, Any]]
    grid: "dict[str, Any] | None"
    manifest: Path

    @property
    def failed(self) -> list[dict[str, Any]]:
        """Entries of the seeds that failed."""
        return [e for e in self.entries if e["status"] == "failed"]

    @property
    def diverged(self) -> list[dict[str, Any]]:
        """Entries of the seeds whose training diverged (their animations show it)."""
        return [e for e in self.entries if e["status"] == "diverged"]

    @property
    def skipped(self) -> list[dict[str, Any]]:
        """Entries whose output was already up to date and was not rendered again."""
        return [e for e in self.entries if e.get("skipped")]

    @property
    def ok(self) -> bool:
        """True if no seed failed and the grid (if any) was written."""
        return not self.failed and (self.grid is None or self.grid["status"] == "ok")


#: Called as ``progress(stage, done, total)``: stage ``"measure"`` (shared scale: training every seed to
#: find the limits), ``"seeds"`` or ``"grid"`` (frames of the grid); first with ``done=0``.
Progress = Callable[[str, int, int], None]


def render_batch(
    jobs: Iterable[BatchJob],
    executor: "concurrent.futures.Executor | None" = None,
    *,
    workers: "int | None" = None,
    shared_scale: bool = False,
    grid: "str | os.PathLike[str] | None" = None,
    grid_cols: "int | None" = None,
    cell_size: "tuple[int, int] | None" = None,
    manifest: "str | os.PathLike[str] | None" = None,
    force: bool = False,
    progress: "Progress | None" = None,
) -> BatchResult:
    """Train and render every job, one task per seed, and record each in a manifest.

    A seed that fails (training or rendering raised) is recorded and the others go on. The manifest
    (``batch.json`` in the outputs' common folder unless ``manifest`` is given) is rewritten after
    every seed, so an interruption keeps what finished. A rerun skips seeds whose output exists and
    matches the manifest's settings and SHA-256; ``force=True`` renders them again. The same seed and
    settings give byte-identical files alone, in a local batch or on Dask.

    Parameters
    ----------
    jobs:
        The seeds to run (see ``BatchJob`` and ``seed_jobs``). Folders of the outputs are created.
    executor:
        Any ``concurrent.futures.Executor``, e.g. ``dask.distributed.Client(...).get_executor()``.
        None (the default) uses a local process pool of ``workers`` processes (see the module
        docstring for the ``__main__`` guard this needs).
    workers:
        Local processes when ``executor`` is None: every core by default; 1 runs in this process.
    shared_scale:
        Draw every seed with the same axis limits (the union of each seed's own), so the clips
        compare side by side. Every seed is trained first to find them.
    grid:
        Also write one synchronised animation of all seeds, one cell per seed, to this ``.gif`` or
        ``.mp4``; a seed that stopped early holds its last frame.
    grid_cols:
        Columns of the grid; near-square if None.
    cell_size:
        ``(width, height)`` of a grid cell in pixels; 200x160 if None.
    manifest:
        Where to keep the manifest.
    force:
        Render everything again, up to date or not.
    progress:
        See ``Progress``: called as work finishes, for progress bars.

    Returns
    -------
    BatchResult
        The manifest entries of these jobs and of the grid.

    Raises
    ------
    UsageError
        If there are no jobs, two jobs write the same file, or an option is out of range.
    OutputError
        If an output folder or the manifest cannot be written.
    KeyboardInterrupt
        After Ctrl-C: running seeds are stopped (their temporary files removed) and the manifest
        keeps the seeds that finished.
    """
    from .grid import CELL_SIZE, _check_cell_size, grid_shape

    jobs = list(jobs)
    if not jobs:
        raise UsageError("render_batch needs at least one job")
    for job in jobs:
        if not isinstance(job, BatchJob):
            raise UsageError(f"jobs must be BatchJob objects, got {type(job).__name__}")
    if executor is not None and workers is not None:
        raise UsageError("give workers (local processes) or an executor, not both")
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int) or workers <= 0):
        raise UsageError(f"workers must be a positive integer, got {workers!r}")

    outputs = [None if job.output is None else Path(os.path.abspath(job.output)) for job in jobs]
    grid_path = None if grid is None else Path(os.path.abspath(grid))
    cell_size = _check_cell_size(CELL_SIZE if cell_size is None else cell_size)
    if grid_path is not None:
        from .encoders import encoder_for
        from .encoders._base import check_fps

        encoder = encoder_for(grid_path)
        check_fps(jobs[0].fps, encoder.max_fps, encoder.suffix)  # the grid plays at the first job's fps
        grid_shape(len(jobs), grid_cols)
    named = [p for p in outputs if p is not None] + ([grid_path] if grid_path is not None else [])
    if not named:
        raise UsageError("nothing to write: give the jobs outputs, or a grid")
    seen: dict[Path, int] = {}
    for i, path in enumerate(outputs):
        if path is None:
            continue
        if path in seen:
            a, b = jobs[seen[path]], jobs[i]
            raise UsageError(f"{a.demo} seed {a.seed} and {b.demo} seed {b.seed} would both write {str(path)!r}; "
                             "give each job its own output (put {seed} in the template)")
        seen[path] = i
    if grid_path is not None and grid_path in seen:
        raise UsageError(f"the grid {str(grid_path)!r} is also a seed's output")
    manifest_path = Path(os.path.abspath(manifest)) if manifest is not None else (
        Path(os.path.commonpath([str(p.parent) for p in named])) / MANIFEST_NAME
    )
    if manifest_path in seen or manifest_path == grid_path:
        raise UsageError(f"the manifest {str(manifest_path)!r} is also an output")
    for folder in sorted({p.parent for p in named} | {manifest_path.parent}):
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            from ._exceptions import OutputError

            raise OutputError(f"cannot create the output folder {str(folder)!r}: {exc.strerror}") from None

    state = _Batch(jobs, outputs, grid_path, manifest_path, progress)
    owned = None
    if executor is None:
        n = available_cores() if workers is None else workers
        n = min(n, len(jobs))
        executor = owned = _Inline() if n <= 1 else _local_pool(n)
    try:
        state.run(executor, owned, shared_scale=shared_scale, grid_cols=grid_cols, cell_size=cell_size, force=force)
    finally:
        if owned is not None:
            owned.shutdown(wait=True, cancel_futures=True)
    return state.result()


class _Batch:
    """The state of one ``render_batch`` call: entries, manifest, futures."""

    def __init__(self, jobs, outputs, grid_path, manifest_path, progress) -> None:
        self.jobs, self.outputs, self.grid_path, self.manifest_path = jobs, outputs, grid_path, manifest_path
        self.progress = progress
        self.manifest = _load_manifest(manifest_path)
        self.entries: list["dict[str, Any] | None"] = [None] * len(jobs)
        self.grid_entry: "dict[str, Any] | None" = None
        self.cells: list["list[bytes] | None"] = [None] * len(jobs)

    # - bookkeeping

    def _relative(self, path: "Path | None") -> "str | None":
        if path is None:
            return None
        return Path(os.path.relpath(path, self.manifest_path.parent)).as_posix()

    def _old_entry(self, i: int) -> "dict[str, Any] | None":
        job, output = self.jobs[i], self._relative(self.outputs[i])
        for entry in self.manifest["seeds"]:
            if entry.get("output") == output and (output is not None or (entry.get("demo"), entry.get("seed")) == (job.demo, job.seed)):
                return entry
        return None

    def _entry(self, i: int, settings: Mapping[str, Any], result: Mapping[str, Any]) -> dict[str, Any]:
        job = self.jobs[i]
        entry = {
            "demo": job.demo,
            "seed": job.seed,
            "settings": dict(settings),
            "status": result["status"],
            "error": result.get("error"),
            "skipped": False,
            "iterations": result.get("iterations"),
            "frames": result.get("frames"),
            "final_loss": result.get("final_loss"),
            "converged": result.get("converged"),
            "diverged_at": result.get("diverged_at"),
            "output": self._relative(self.outputs[i]),
            "bytes": result.get("bytes"),
            "sha256": result.get("sha256"),
            "seconds": result.get("seconds"),
        }
        if self.outputs[i] is None or entry["status"] == "failed":
            entry["bytes"] = entry["sha256"] = None
        return entry

    def _save(self) -> None:
        done = {_entry_key(e): e for e in self.entries if e is not None}
        seeds = [e for e in self.manifest["seeds"] if _entry_key(e) not in done] + list(done.values())
        grids = list(self.manifest["grids"])
        if self.grid_entry is not None:
            grids = [g for g in grids if g.get("output") != self.grid_entry["output"]] + [self.grid_entry]
        self.manifest = {"format": MANIFEST_FORMAT, "tool": f"convergence-anim {__version__}",
                         "seeds": sorted(seeds, key=_entry_key), "grids": sorted(grids, key=lambda g: g.get("output") or "")}
        _write_manifest(self.manifest_path, self.manifest)

    def _tick(self, stage: str, done: int, total: int) -> None:
        if self.progress is not None:
            self.progress(stage, done, total)

    # - running

    def _map(self, executor, owned, stage: str, tasks: dict, on_result: Callable[[int, dict], None], already: int = 0) -> None:
        """Run ``tasks`` (job index -> task), calling ``on_result`` as each finishes, in any order.

        ``already`` counts work done before (skipped seeds) into the progress total.
        """
        total = len(tasks) + already
        done = already
        self._tick(stage, done, total)
        if isinstance(executor, _Inline):  # one at a time, so progress and the manifest move per seed
            for i, task in tasks.items():
                on_result(i, _run_one(task))
                done += 1
                self._tick(stage, done, total)
            return
        futures: dict[concurrent.futures.Future, int] = {}
        try:
            for i, task in tasks.items():
                futures[executor.submit(_run_one, task)] = i
            for future in concurrent.futures.as_completed(futures):
                i = futures.pop(future)
                on_result(i, _result_of(future))
                done += 1
                self._tick(stage, done, total)
        except BaseException:
            for future in futures:
                future.cancel()
            if owned is not None:
                _interrupt_workers(owned)
                owned.shutdown(wait=True, cancel_futures=True)
            for future, i in futures.items():  # seeds that finished while we were stopping
                if future.done() and not future.cancelled() and future.exception() is None:
                    on_result(i, future.result())
            raise

    def run(self, executor, owned, *, shared_scale: bool, grid_cols, cell_size, force: bool) -> None:
        jobs, n = self.jobs, len(self.jobs)
        settings = [job.settings() for job in jobs]
        task_jobs = [dataclasses.asdict(job) for job in jobs]
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

                tasks = {i: {"job": task_jobs[i], "output": None, "measure": True} for i in range(n)}
                self._map(executor, owned, "measure", tasks, measured_one)
                if measured:
                    shared = _union(measured.values())
                    for i, own in measured.items():
                        # A seed already drawn at the shared limits renders exactly as it would alone.
                        views[i] = None if _same_settings(own, shared) else shared
                        settings[i] = {**settings[i], "shared_scale": shared}
            for i, result in failed_early.items():
                self.entries[i] = self._entry(i, settings[i], result)

            grid_settings = None
            grid_needed = False
            if self.grid_path is not None:
                grid_settings = {"cols": grid_cols, "cell_size": list(cell_size), "cells": settings}
                old = next((g for g in self.manifest["grids"] if g.get("output") == self._relative(self.grid_path)), None)
                grid_needed = bool(force or failed_early or not _up_to_date(old, grid_settings, self.grid_path)
                                   or old.get("failed_cells"))
                if not grid_needed:
                    self.grid_entry = {**old, "skipped": True}

            tasks = {}
            for i, job in enumerate(jobs):
                if i in failed_early:
                    continue
                old = self._old_entry(i)
                if self.outputs[i] is None:
                    render_output = False
                    if old is not None and not grid_needed:
                        self.entries[i] = {**old, "skipped": True}
                else:
                    render_output = force or not _up_to_date(old, settings[i], self.outputs[i])
                    if not render_output:
                        self.entries[i] = {**old, "skipped": True}
                if render_output or grid_needed:
                    theme = job.render_options.get("theme", "light")
                    cell = {"label": _cell_label(jobs, i), "size": list(cell_size), "theme": theme} if grid_needed else None
                    tasks[i] = {"job": task_jobs[i], "output": str(self.outputs[i]) if render_output else None,
                                "view": views[i], "cell": cell}

            def finished(i: int, result: dict) -> None:
                self.cells[i] = result.pop("cell", None)
                if self.entries[i] is None:  # a skipped seed drawn only for the grid keeps its entry
                    self.entries[i] = self._entry(i, settings[i], result)
                self._save()

            already = sum(1 for i in range(n) if i not in failed_early and i not in tasks)
            self._map(executor, owned, "seeds", tasks, finished, already=already)
            if grid_needed:
                self._write_grid(grid_settings, grid_cols, cell_size)
        finally:
            self._save()

    def _write_grid(self, grid_settings: dict, cols, cell_size) -> None:
        from .grid import message_cell, write_grid

        failed = []
        cells = []
        for i, job in enumerate(self.jobs):
            cell = self.cells[i]
            if cell is None:
                failed.append(job.seed)
                theme = job.render_options.get("theme", "light")
                cell = message_cell(_cell_label(self.jobs, i), "failed", size=cell_size, theme=theme)
            cells.append(cell)
        n_frames = max(len(c) for c in cells)
        entry = {"output": self._relative(self.grid_path), "settings": grid_settings, "status": "failed",
                 "error": None, "skipped": False, "frames": n_frames, "failed_cells": failed, "bytes": None, "sha256": None}
        started = time.perf_counter()
        try:
            self._tick("grid", 0, n_frames)
            done = [0]

            def tick(k: int) -> None:
                done[0] += k
                self._tick("grid", done[0], n_frames)

            write_grid(cells, self.grid_path, cell_size=cell_size, cols=cols, fps=self.jobs[0].fps, progress=tick)
            entry.update(status="ok", bytes=self.grid_path.stat().st_size, sha256=_sha256(self.grid_path))
        except ConvergenceAnimError as exc:
            entry["error"] = _one_line(exc)
        entry["seconds"] = round(time.perf_counter() - started, 3)
        self.grid_entry = entry

    def result(self) -> BatchResult:
        return BatchResult(entries=[dict(e) for e in self.entries if e is not None], grid=self.grid_entry,
                           manifest=self.manifest_path)


def _result_of(future: concurrent.futures.Future) -> dict[str, Any]:
    """The task's result, or a failed result if the executor could not run it (e.g. a lost worker)."""
    try:
        return future.result()
    except Exception as exc:
        return {"status": "failed", "error": _one_line(exc)}


def _interrupt_workers(pool: concurrent.futures.ProcessPoolExecutor) -> None:
    """Pass Ctrl-C on to the pool's workers (a terminal does it itself; ``kill -INT`` does not)."""
    for process in list(getattr(pool, "_processes", {}).values()):  # no public API lists them
        with contextlib.suppress(OSError, AttributeError, ValueError):
            if process.is_alive():
                os.kill(process.pid, signal.SIGINT)


def _union(views: Iterable[Mapping[str, Sequence[float]]]) -> dict[str, list[float]]:
    views = list(views)
    axes = ["xlim", "ylim"] + (["loss"] if all("loss" in v for v in views) else [])
    return {axis: [min(float(v[axis][0]) for v in views), max(float(v[axis][1]) for v in views)] for axis in axes}


def _cell_label(jobs: Sequence[BatchJob], i: int) -> str:
    demos = {job.demo for job in jobs}
    job = jobs[i]
    return f"seed {job.seed}" if len(demos) == 1 else f"{job.demo} seed {job.seed}"
