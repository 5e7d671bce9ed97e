"""The task a worker runs for one run: ``run_task(task) -> result``, plain data in and out.

Any ``concurrent.futures.Executor`` can run it, a local process pool or Dask workers alike. A task
calls the training function, renders the run's animation (one process per run: the parallelism is
across runs), draws its grid cell and returns the loss curve for the summary. It never raises for
a run that fails (the error is returned as data), except on Ctrl-C.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import gc
import hashlib
import os
import signal
import time
import warnings
from typing import Any, Iterator, Mapping

import numpy as np

from .._exceptions import ConvergenceAnimError, one_line

__all__ = ["check_in_worker", "init_worker", "run_task", "sha256"]


def sha256(path: "str | os.PathLike[str]") -> str:
    """The SHA-256 of a file, hex."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _curve(values: np.ndarray) -> list["float | None"]:
    return [float(v) if np.isfinite(v) else None for v in values]


def _trace_of(returned: Any, ref: str):
    from ..recorder import Recorder
    from ..trace import Trace

    if isinstance(returned, Recorder):
        return returned.trace
    if isinstance(returned, Trace):
        return returned
    raise ConvergenceAnimError(f"{ref} returned {type(returned).__name__}, not a Trace or a Recorder; "
                               "end it with `return rec.trace`")


def _cell(trace, label: str, scene, cell: Mapping[str, Any]) -> list[bytes]:
    from .. import grid

    return grid.cell_frames(trace, label, size=tuple(cell["size"]), theme=cell["theme"], scene=scene)


_in_task = False
_stopping = False

# glibc's mallopt parameters: the trim threshold and the mmap threshold (their values while a run
# is drawn, and the mmap threshold's static default, which a worker started with the variable has).
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3
_RUN_TRIM_THRESHOLD, _RUN_MMAP_THRESHOLD, _DEFAULT_MMAP_THRESHOLD = 128 << 20, 32 << 20, 128 << 10


@contextlib.contextmanager
def _malloc_trim_relaxed() -> Iterator[None]:
    """While a run trains and renders, let glibc keep freed memory instead of trimming it at once.

    Dask's nanny starts workers with ``MALLOC_TRIM_THRESHOLD_=65536`` (to hand memory back to the
    system early). Setting it also freezes glibc's mmap threshold at 128 KiB, so every frame buffer
    (a megabyte or more) is mapped and unmapped afresh, and trimming follows each free: a run was
    about 50% slower on a Dask worker than in a local pool (measured: 1.95 s against 1.29 s per run,
    the same task). The worker's own settings are restored when the run ends. A worker started
    without that variable, or not on glibc, is left alone.
    """
    worker_value = os.environ.get("MALLOC_TRIM_THRESHOLD_")
    libc = None
    if worker_value is not None and worker_value.isdigit() and int(worker_value) < _RUN_TRIM_THRESHOLD:
        with contextlib.suppress(OSError, AttributeError, TypeError):
            name = ctypes.util.find_library("c")
            candidate = ctypes.CDLL(name) if name else None
            if candidate is not None and candidate.mallopt(_M_TRIM_THRESHOLD, _RUN_TRIM_THRESHOLD) == 1:
                libc = candidate
                libc.mallopt(_M_MMAP_THRESHOLD, _RUN_MMAP_THRESHOLD)
    try:
        yield
    finally:
        if libc is not None:
            libc.mallopt(_M_MMAP_THRESHOLD, _DEFAULT_MMAP_THRESHOLD)
            libc.mallopt(_M_TRIM_THRESHOLD, int(worker_value))


def run_task(task: Mapping[str, Any]) -> dict[str, Any]:
    """Run one training run and render what ``task`` asks for; return plain data.

    ``task`` holds ``function`` (see ``TrainingFunction.shipped``), ``seed``, ``params``, ``settings``
    (``RenderSettings.to_dict()``), ``output`` (absolute path or None), ``view`` (shared axis limits
    or None), ``measure`` (return the scene's own limits), ``cell`` (None, or the label, size and
    theme of the run's grid cell), ``trace`` (None, or where to save the run's trace) and ``timeout`` (seconds, or None: a limit this task enforces
    itself, where no pool kills its process; see ``_run_with_timeout``).
    """
    with _interruptible():
        if task.get("timeout"):
            return _run_with_timeout(task, task["timeout"])
        return _run(task)


def check_in_worker(fn, params) -> dict[str, Any]:
    """``runs.check_function`` in a pool worker, interruptible by Ctrl-C like a run (the user's file may load for long)."""
    from .runs import check_function

    with _interruptible():
        return check_function(fn, params)


@contextlib.contextmanager
def _interruptible() -> Iterator[None]:
    """A task in a pool worker: Ctrl-C interrupts it, and after one, queued tasks do not start (``_worker_sigint``)."""
    global _in_task
    if _stopping:
        raise KeyboardInterrupt
    _in_task = True
    try:
        yield
    finally:
        _in_task = False


def _run(task: Mapping[str, Any]) -> dict[str, Any]:
    import torch

    started = time.perf_counter()
    result: dict[str, Any] = {"status": "failed", "error": None}
    # One thread per run: the parallelism is across runs, and torch's thread pools fighting over
    # shared cores make small models several times slower. The numbers do not depend on the thread
    # count, so the files stay byte-identical to a run alone.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    with _malloc_trim_relaxed():
        try:
            from ..scenes import scene_from_trace
            from ..settings import RenderSettings
            from .runs import load_shipped
            from .views import FixedView, view_limits

            function = load_shipped(task["function"])
            trace = _trace_of(function(seed=task["seed"], **task["params"]), task["function"].get("ref", "the function"))
            trace.require_frames()
            if task.get("trace") is not None:  # kept for the batch's ensembles, drawn from the files later
                trace.save(task["trace"])
                result["trace"] = task["trace"]
            diverged_at = trace.diverged_at
            finite = trace.losses[np.isfinite(trace.losses)]
            result.update(
                scene=trace.scene,
                iterations=int(trace.steps[-1]) + 1,
                frames=len(trace),
                final_loss=float(trace.losses[-1]) if np.isfinite(trace.losses[-1]) else None,
                best_loss=float(finite.min()) if finite.size else None,
                diverged_at=diverged_at,
                curve={"steps": [int(s) for s in trace.steps], "losses": _curve(trace.losses)},
            )
            settings = RenderSettings.from_dict(task["settings"])
            scene = scene_from_trace(trace)  # built once, for the measure, the animation and the cell
            if task.get("measure"):
                result["view"] = view_limits(trace, scene, settings.theme)
            view = task.get("view")
            if view is not None:
                scene = FixedView(scene, view["xlim"], view["ylim"])
                if view.get("loss"):
                    settings = RenderSettings.build(settings, loss_range=tuple(view["loss"]))
            if task.get("output") is not None:
                from .._render import render
                from .._timing import frame_budget_note

                if frame_budget_note(len(trace), settings, [trace], "") is not None:
                    # Said once for the whole batch by render_batch (BatchResult.cut_by_budget), not per worker.
                    result["budget"] = [len(trace), trace.meta.get("capture_every") == 1]
                with warnings.catch_warnings():
                    warnings.filterwarnings("ignore", message="render is drawing")
                    render(trace, task["output"], settings, scene=scene)
                result["bytes"] = os.path.getsize(task["output"])
                result["sha256"] = sha256(task["output"])
            if task.get("cell") is not None:
                result["cell"] = _cell(trace, task["cell"]["label"], scene, task["cell"])
            result["status"] = "diverged" if diverged_at is not None else "rendered"
        except KeyboardInterrupt:
            raise
        except BaseException as exc:  # sys.exit() too: one run failing must not stop the others
            result.update(status="failed", error=one_line(exc))
        finally:
            torch.set_num_threads(threads)
    result["seconds"] = round(time.perf_counter() - started, 3)
    return result


class _TimedOut(BaseException):
    """Raised inside a run's thread when it ran out of time (a BaseException: the run must not catch it)."""


def _run_with_timeout(task: Mapping[str, Any], timeout: float) -> dict[str, Any]:
    """``_run`` in a thread of this process, stopped if it runs past ``timeout`` seconds.

    For executors whose workers are threads of a long-lived process (Dask), which nobody can kill
    for one run. What a run imports, and the function, are loaded first, outside the time: stopping
    a thread in the middle of an import would leave the module broken for every later run. Past
    the time, the run's thread is stopped by an exception raised in it at its next Python line; a
    thread stuck in C code cannot be, and the result then asks for the worker to be restarted
    (``restart_worker``: its address).
    """
    import importlib
    import threading

    from .._processes import BATCH_PRELOAD
    from .runs import load_shipped

    with contextlib.suppress(Exception):  # a failure to load is the run's to report, with the rest
        for module in BATCH_PRELOAD:
            importlib.import_module(module)
        load_shipped(task["function"])
    outcome: dict[str, Any] = {}
    thread = threading.Thread(target=lambda: outcome.update(result=_run(task)), name="convergence-anim-run", daemon=True)
    thread.start()
    thread.join(timeout)
    if not thread.is_alive():
        return outcome["result"]
    ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(thread.ident), ctypes.py_object(_TimedOut))
    thread.join(_TIMEOUT_GRACE)
    result: dict[str, Any] = {"status": "failed", "error": f"timed out after {timeout:g} s", "seconds": float(timeout)}
    if thread.is_alive():
        with contextlib.suppress(Exception):
            from distributed import get_worker

            result["restart_worker"] = get_worker().address
    return result


#: Seconds a timed-out run's thread gets to stop before its worker is restarted.
_TIMEOUT_GRACE = 2.0


def _worker_sigint(signum, frame) -> None:
    # In a pool worker, Ctrl-C interrupts the run being drawn (its temporary file is removed) and
    # stops the worker from starting the runs queued for it; between runs it raises nothing, so idle
    # workers wait for the pool's orderly shutdown instead of dying with a traceback.
    global _stopping
    _stopping = True
    if _in_task:
        raise KeyboardInterrupt


def init_worker() -> None:
    """Initializer of a local pool worker: Ctrl-C handling as described in ``_worker_sigint``.

    Everything the worker inherited from the fork server (torch, matplotlib: a third of a million
    objects) lives as long as the worker, so it is moved out of the garbage collector's way
    (``gc.freeze``): the full collections a run triggers then skip it (measured: 0.14 s each, about
    one every four runs) and do not write to, and so copy, the pages the workers share.
    """
    gc.freeze()
    signal.signal(signal.SIGINT, _worker_sigint)
