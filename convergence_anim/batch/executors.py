"""Where runs execute: in this process, in a local process pool, or on a Dask cluster."""

from __future__ import annotations

import concurrent.futures
import contextlib
import os
import signal
from typing import Iterator

from .._exceptions import ConvergenceAnimError, UsageError
from .._processes import BATCH_PRELOAD, local_pool, start_fork_server

__all__ = ["Inline", "batch_pool", "dask_executor", "interrupt_workers", "warm_batch_pool"]


def warm_batch_pool() -> None:
    """Start the pool's fork server (and its imports) now, while this process checks its arguments."""
    start_fork_server(BATCH_PRELOAD)


def batch_pool(workers: int) -> concurrent.futures.ProcessPoolExecutor:
    """A local pool for runs, its fork server preloaded with what every run imports."""
    from .task import init_worker

    return local_pool(workers, preload=BATCH_PRELOAD, initializer=init_worker)


class Inline(concurrent.futures.Executor):
    """Runs each task when it is submitted, in this process: ``workers=1``, with no pool to start."""

    def submit(self, fn, /, *args, **kwargs):
        future: concurrent.futures.Future = concurrent.futures.Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except Exception as exc:
            future.set_exception(exc)
        return future


def interrupt_workers(pool: concurrent.futures.ProcessPoolExecutor) -> None:
    """Pass Ctrl-C on to the pool's workers (a terminal does it itself; ``kill -INT`` does not)."""
    for process in list(getattr(pool, "_processes", {}).values()):  # no public API lists them
        with contextlib.suppress(OSError, AttributeError, ValueError):
            if process.is_alive():
                os.kill(process.pid, signal.SIGINT)


@contextlib.contextmanager
def dask_executor(address: str, timeout: float = 10.0) -> Iterator[concurrent.futures.Executor]:
    """Connect to the Dask scheduler at ``address``; yield an executor that runs tasks on its workers.

    The workers need convergence_anim and the libraries the training function imports (torch, ...)
    installed, and must see the output paths (a shared file system) to write the files where this
    machine expects them. The training function itself is sent by value when it comes from a file.
    A worker that dies is replaced by the scheduler and its runs are run again elsewhere.

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
    from .._exceptions import one_line

    try:
        client = Client(address, timeout=timeout, set_as_default=False)
    except (OSError, TimeoutError, ValueError) as exc:
        raise ConvergenceAnimError(f"cannot reach the Dask scheduler at {address}: {one_line(exc)}") from None
    try:
        yield client.get_executor(pure=False)
    finally:
        client.close()
