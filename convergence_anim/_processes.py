"""Where work runs: how many cores there are, how many processes are worth starting, and how.

Two kinds of workers, one place that decides about both:

- ``render`` draws long animations in plain subprocesses (``start_helper``), not a
  multiprocessing pool, so that ``render`` works from any script with or without an
  ``if __name__ == "__main__"`` guard and nothing is forked from a process that may hold torch's
  threads (see ``_worker``).
- ``render_batch`` runs whole training runs in a pool of worker processes (``batch.pool.RunPool``,
  started from ``process_context``), which any other ``Executor`` (Dask) can replace.
"""

from __future__ import annotations

import os
import subprocess
import sys
import types
from pathlib import Path
from typing import Sequence

__all__ = ["BATCH_PRELOAD", "PARALLEL_MIN_FRAMES", "auto_jobs", "available_cores", "process_context", "start_helper", "why_not_sendable"]

#: Below this many frames, one process is faster than starting workers (measured, benchmarks/).
PARALLEL_MIN_FRAMES = 150

#: What every batch run imports, loaded once by the batch pool's fork server instead of by each worker
#: (``torch._dynamo``: a torch.optim optimizer imports it when the first one is made, about a second).
#: Here, not in ``batch``, so that ``convergence-anim batch`` can start the server before it imports
#: anything else.
BATCH_PRELOAD = ["convergence_anim.batch.task", "convergence_anim.batch.runs", "convergence_anim._render",
                 "convergence_anim.grid", "torch", "torch._dynamo", "matplotlib.figure",
                 "matplotlib.backends.backend_agg", "PIL.Image"]


def available_cores() -> int:
    """Cores this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def auto_jobs(n_frames: int, encoder_cores: int = 0) -> int:
    """Frame-drawing processes worth starting for ``n_frames`` frames on this machine.

    ``encoder_cores`` are kept free for an encoder that runs in a process of its own (ffmpeg):
    measured on 2 cores, two drawing workers beside ffmpeg were slower than one process.
    """
    cores = available_cores() - encoder_cores
    return 1 if n_frames < PARALLEL_MIN_FRAMES or cores < 2 else cores


def why_not_sendable(obj: object) -> "str | None":
    """Why a frame worker could not rebuild ``obj`` from a pickle (None if it can).

    A worker is a fresh interpreter: it imports by module path whatever the pickle names, so
    anything defined in the script being run (``__main__``), a lambda or a closure cannot reach it.
    """
    import io
    import pickle

    class _Probe(pickle.Pickler):
        def reducer_override(self, value):  # called for functions and classes, before pickling them by name
            if getattr(value, "__module__", None) == "__main__" and isinstance(value, (type, types.FunctionType)):
                raise pickle.PicklingError(f"{value.__qualname__} is defined in __main__")
            return NotImplemented

    try:
        _Probe(io.BytesIO(), protocol=pickle.HIGHEST_PROTOCOL).dump(obj)
    except Exception as exc:  # PicklingError, or AttributeError/TypeError for local objects
        return str(exc)
    return None


def start_helper(module: str = "convergence_anim._worker") -> subprocess.Popen:
    """Start ``python -m module`` (a frame worker, or the live view's drawing process) with pipes.

    The helper imports this package from wherever this process did (an installed copy or a
    checkout) and draws on Agg figures whatever backend the user chose. Its stdin closes when this
    process ends, however it ends, and a helper then exits. It runs in a session of its own, so the
    terminal's Ctrl-C and hang-up reach only this process, which decides: a helper still starting up
    would otherwise die of them with a traceback on the shared standard error.
    """
    env = dict(os.environ)
    package_root = str(Path(__file__).resolve().parent.parent)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [package_root, env.get("PYTHONPATH")]))
    env["MPLBACKEND"] = "Agg"
    return subprocess.Popen([sys.executable, "-m", module], stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env,
                            start_new_session=os.name == "posix")


def start_fork_server(preload: Sequence[str] = ()) -> None:
    """Start the fork server of ``process_context`` now, importing ``preload``, without waiting for it.

    Its imports (torch, matplotlib: seconds) then overlap with whatever this process does before
    the pool's first task; a pool made later forks its workers from the same server.
    """
    import multiprocessing
    import multiprocessing.forkserver

    if "forkserver" in multiprocessing.get_all_start_methods():
        multiprocessing.get_context("forkserver").set_forkserver_preload(list(preload))
        multiprocessing.forkserver.ensure_running()


def process_context(preload: Sequence[str] = ()):
    """The ``multiprocessing`` context of local pools: ``forkserver`` (``spawn`` where it is missing).

    Never ``fork``: the caller may have torch loaded, and forking a process with torch's threads
    running is unsafe. The fork server imports ``preload`` once and each worker forks from it with
    them loaded, instead of paying seconds of imports per worker. Like any such pool, a script that
    uses it needs the usual ``if __name__ == "__main__":`` guard.
    """
    import multiprocessing

    if "forkserver" in multiprocessing.get_all_start_methods():
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(list(preload))
        return context
    return multiprocessing.get_context("spawn")  # pragma: no cover - Windows
