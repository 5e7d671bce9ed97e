"""The local pool: worker processes that each run one task at a time, watched one by one.

``concurrent.futures.ProcessPoolExecutor`` breaks as a whole when one worker dies (``os._exit``, a
segfault, the OOM killer): every task still in it fails with ``BrokenProcessPool`` and nothing says
which one killed it. Here each worker gets its tasks over a pipe of its own, one at a time, so the
pool always knows which task a worker was running:

- a worker that dies fails only its own task, named by its signal or exit code, and is replaced;
- a task that runs past its timeout has its worker killed (and replaced) and fails as timed out;
- a worker exits when the process that made the pool dies, however it dies (SIGKILL too): it
  watches a pipe that only that process holds open, and on Linux the kernel also kills it when its
  own parent (the fork server, which exits with that process) dies.
"""

from __future__ import annotations

import collections
import concurrent.futures
import contextlib
import ctypes
import os
import signal
import sys
import threading
import time
from multiprocessing import connection
from typing import Any, Callable

from .._exceptions import RenderError, one_line

__all__ = ["RunPool", "describe_exit"]

_PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>


def describe_exit(exitcode: "int | None") -> str:
    """How a process ended, for a run's error: ``"process died: killed by SIGSEGV"``."""
    if exitcode is None:
        return "process died"
    if exitcode < 0:
        try:
            name = signal.Signals(-exitcode).name
        except ValueError:
            name = f"signal {-exitcode}"
        # The OOM killer sends SIGKILL, and nothing else here does.
        hint = " (out of memory, or killed from outside)" if -exitcode == signal.SIGKILL else ""
        return f"process died: killed by {name}{hint}"
    return f"process died: exited with code {exitcode}"


class _Task:
    def __init__(self, fn: Callable[..., Any], args: tuple, kwargs: dict, timeout: "float | None") -> None:
        self.future: concurrent.futures.Future = concurrent.futures.Future()
        self.message = (fn, args, kwargs)
        self.timeout = timeout
        self.running = False


class _Worker:
    """One worker process: its task pipe, the pipe it watches for this process's death, its task."""

    def __init__(self, context, initializer: "Callable[[], None] | None") -> None:
        self.conn, child_conn = context.Pipe()
        alive_r, self.alive = context.Pipe(duplex=False)
        self.process = context.Process(target=_serve, args=(child_conn, alive_r, initializer),
                                       name="convergence-anim-worker")
        # Not a daemon: a training function may start processes of its own (a DataLoader's workers).
        self.process.start()
        child_conn.close()
        alive_r.close()
        self.task: "_Task | None" = None
        self.deadline: "float | None" = None

    def close(self) -> None:
        for conn in (self.conn, self.alive):
            with contextlib.suppress(OSError):
                conn.close()


class RunPool(concurrent.futures.Executor):
    """A process pool that survives its workers: see the module's docstring.

    Parameters
    ----------
    workers:
        The most worker processes at once; they start as tasks arrive.
    context:
        The ``multiprocessing`` context that starts them (forkserver, or spawn).
    initializer:
        Called in each worker before its first task.
    """

    def __init__(self, workers: int, context, initializer: "Callable[[], None] | None" = None) -> None:
        self._max_workers = workers
        self._context, self._initializer = context, initializer
        self._tasks: collections.deque[_Task] = collections.deque()
        self._workers: list[_Worker] = []
        self._lock = threading.Lock()
        self._wake_r, self._wake_w = context.Pipe(duplex=False)
        self._closing = False
        self._thread: "threading.Thread | None" = None

    def submit(self, fn, /, *args, **kwargs) -> concurrent.futures.Future:
        """Run ``fn(*args, **kwargs)`` in a worker, with no time limit."""
        return self.submit_with_timeout(None, fn, *args, **kwargs)

    def submit_with_timeout(self, timeout: "float | None", fn, /, *args, **kwargs) -> concurrent.futures.Future:
        """Run ``fn(*args, **kwargs)`` in a worker; after ``timeout`` seconds there, kill it and fail the task."""
        task = _Task(fn, args, kwargs, timeout)
        with self._lock:
            if self._closing:
                raise RuntimeError("cannot submit to a pool that is shut down")
            self._tasks.append(task)
            if self._thread is None:
                self._thread = threading.Thread(target=self._manage, name="convergence-anim-pool", daemon=True)
                self._thread.start()
        self._wake()
        return task.future

    def interrupt(self) -> None:
        """Send SIGINT to every worker, as a terminal's Ctrl-C would (``kill -INT`` of this process does not)."""
        with self._lock:
            workers = list(self._workers)
        for worker in workers:
            with contextlib.suppress(OSError, ValueError, AttributeError):
                if worker.process.is_alive():
                    os.kill(worker.process.pid, signal.SIGINT)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Stop taking tasks; the workers exit once the started tasks (and, unless cancelled, the queued) finish."""
        with self._lock:
            self._closing = True
            if cancel_futures:
                for task in self._tasks:
                    task.future.cancel()
                self._tasks = collections.deque(t for t in self._tasks if t.running)
            thread = self._thread
        self._wake()
        if wait and thread is not None:
            thread.join()

    # - the manager thread

    def _wake(self) -> None:
        with contextlib.suppress(OSError):
            self._wake_w.send_bytes(b"")

    def _manage(self) -> None:
        try:
            while True:
                with self._lock:
                    self._start_tasks()
                    busy = [w for w in self._workers if w.task is not None]
                    if self._closing and not self._tasks and not busy:
                        break
                    watched = [self._wake_r] + [w.conn for w in busy] + [w.process.sentinel for w in self._workers]
                    deadlines = [w.deadline for w in busy if w.deadline is not None]
                wait = max(0.0, min(deadlines) - time.monotonic()) if deadlines else None
                ready = set(connection.wait(watched, wait))
                with self._lock:
                    if self._wake_r in ready:
                        while self._wake_r.poll():
                            self._wake_r.recv_bytes()
                    for worker in list(self._workers):
                        if worker.task is not None and worker.conn in ready:
                            self._receive(worker)
                        if worker.process.sentinel in ready:
                            self._bury(worker)
                    now = time.monotonic()
                    for worker in list(self._workers):
                        if worker.deadline is not None and now >= worker.deadline and worker.task is not None:
                            self._kill_late(worker)
        except BaseException as exc:  # never leave a caller waiting on a future nobody will set
            error = RenderError(f"the batch's process pool failed: {one_line(exc)}")
            with self._lock:
                for task in [w.task for w in self._workers if w.task is not None] + list(self._tasks):
                    if not task.future.done():
                        task.future.set_exception(error)
                self._tasks.clear()
                for worker in self._workers:
                    with contextlib.suppress(OSError, ValueError):
                        worker.process.kill()
        finally:
            self._stop_workers()

    def _start_tasks(self) -> None:
        """Hand queued tasks to idle workers, starting workers up to the limit."""
        while self._tasks:
            idle = next((w for w in self._workers if w.task is None), None)
            if idle is None and len(self._workers) >= self._max_workers:
                return
            task = self._tasks.popleft()
            if not task.running:
                if not task.future.set_running_or_notify_cancel():
                    continue
                task.running = True
            if idle is None:
                try:
                    idle = _Worker(self._context, self._initializer)
                except Exception as exc:
                    task.future.set_exception(RenderError(f"cannot start a worker process: {one_line(exc)}"))
                    continue
                self._workers.append(idle)
            try:
                idle.conn.send(task.message)
            except (OSError, EOFError):  # the worker died idle: its sentinel will tell; run the task elsewhere
                self._tasks.appendleft(task)
                self._bury(idle)
                continue
            except Exception as exc:  # the task does not pickle
                task.future.set_exception(exc)
                continue
            idle.task = task
            idle.deadline = None if task.timeout is None else time.monotonic() + task.timeout

    def _receive(self, worker: _Worker) -> None:
        try:
            ok, value = worker.conn.recv()
        except (OSError, EOFError):
            return  # it died: _bury fails its task
        except Exception as exc:  # a result or exception that does not unpickle here
            ok, value = False, RenderError(f"the run's result could not be read: {one_line(exc)}")
        task, worker.task, worker.deadline = worker.task, None, None
        if ok:
            task.future.set_result(value)
        else:
            task.future.set_exception(value)

    def _bury(self, worker: _Worker) -> None:
        """A worker's process ended: fail its task (if it sent no result first) with how it ended."""
        if worker.task is not None:
            with contextlib.suppress(OSError, EOFError):
                if worker.conn.poll():
                    self._receive(worker)
        worker.process.join(5)
        if worker.process.is_alive():  # its pipe broke, yet it runs: it cannot be used
            worker.process.kill()
            worker.process.join()
        if worker.task is not None:
            worker.task.future.set_exception(RenderError(describe_exit(worker.process.exitcode)))
            worker.task = None
        self._remove(worker)

    def _kill_late(self, worker: _Worker) -> None:
        task = worker.task
        with contextlib.suppress(OSError, ValueError):
            worker.process.kill()
        worker.process.join(5)
        worker.task = None
        task.future.set_exception(RenderError(f"timed out after {task.timeout:g} s"))
        self._remove(worker)

    def _remove(self, worker: _Worker) -> None:
        worker.close()
        with contextlib.suppress(ValueError):
            self._workers.remove(worker)

    def _stop_workers(self) -> None:
        with self._lock:
            workers, self._workers = self._workers, []
        for worker in workers:
            with contextlib.suppress(OSError, ValueError):
                worker.conn.send(None)
        for worker in workers:
            worker.process.join(10)
            if worker.process.is_alive():
                worker.process.kill()
                worker.process.join()
            worker.close()


def _serve(conn, alive, initializer: "Callable[[], None] | None") -> None:
    """A worker's life: run what arrives on ``conn`` and send back ``(True, result)`` or ``(False, exception)``."""
    _exit_with_parent(alive)
    if initializer is not None:
        initializer()
    while True:
        try:
            message = conn.recv()
        except (OSError, EOFError):
            return
        if message is None:
            return
        fn, args, kwargs = message
        try:
            outcome = (True, fn(*args, **kwargs))
        except BaseException as exc:  # SystemExit and KeyboardInterrupt too: the pool decides, the worker stays
            outcome = (False, exc)
        try:
            conn.send(outcome)
        except (OSError, EOFError):
            return
        except Exception as exc:  # a result or exception that does not pickle
            conn.send((False, RenderError(f"the run's result could not be sent back: {one_line(exc)}")))


def _exit_with_parent(alive) -> None:
    """Die with the process that made the pool, so no worker is left rendering files nobody will list."""
    if sys.platform.startswith("linux"):
        # The kernel's way: SIGKILL when our parent (the fork server) dies, which it does, at once,
        # when the process that started it dies. No thread needs the interpreter for it.
        with contextlib.suppress(OSError, AttributeError, TypeError):
            ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)

    def watch() -> None:
        # Only the pool's process holds the other end open: recv returns (EOFError) when it is gone.
        with contextlib.suppress(BaseException):
            alive.recv()
        os.kill(os.getpid(), signal.SIGKILL)

    threading.Thread(target=watch, name="convergence-anim-parent-watch", daemon=True).start()
