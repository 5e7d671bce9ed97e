"""Where runs execute: in a local process pool (``pool.RunPool``) or on a Dask cluster."""

from __future__ import annotations

import concurrent.futures
import contextlib
from typing import Iterator

from .._exceptions import ConvergenceAnimError, UsageError
from .._processes import BATCH_PRELOAD, process_context, start_fork_server
from .pool import RunPool

__all__ = ["batch_pool", "dask_executor", "warm_batch_pool"]


def warm_batch_pool() -> None:
    """Start the pool's fork server (and its imports) now, while this process checks its arguments."""
    start_fork_server(BATCH_PRELOAD)


def batch_pool(workers: int) -> RunPool:
    """A local pool for runs, its fork server preloaded with what every run imports."""
    from .task import init_worker

    return RunPool(workers, process_context(BATCH_PRELOAD), initializer=init_worker)


@contextlib.contextmanager
def dask_executor(address: str, timeout: float = 10.0) -> Iterator[concurrent.futures.Executor]:
    """Connect to the Dask scheduler at ``address``; yield an executor that runs tasks on its workers.

    The workers need convergence_anim and the libraries the training function imports (torch, ...)
    installed, and must see the output paths (a shared file system) to write the files where this
    machine expects them. The training function itself is sent by value when it comes from a file.
    A worker that dies is replaced by the scheduler and its runs are run again elsewhere. A run
    past ``render_batch``'s ``timeout`` is stopped in its worker (restarted if the run will not stop).

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
        yield _DaskRuns(client)
    finally:
        client.close()


class _DaskRuns(concurrent.futures.Executor):
    """Dask's executor, and a way to restart the worker of a timed-out run."""

    def __init__(self, client) -> None:
        self._client = client
        self._executor = client.get_executor(pure=False)

    def submit(self, fn, /, *args, **kwargs):
        return self._executor.submit(fn, *args, **kwargs)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        self._executor.shutdown(wait=wait)

    def restart_worker(self, address: str) -> None:
        """Restart the worker at ``address`` (its nanny starts it afresh); a worker without one is left."""
        with contextlib.suppress(Exception):
            self._client.restart_workers([address], raise_for_error=False)
