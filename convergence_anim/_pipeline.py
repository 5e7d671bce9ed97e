"""Frames in order, drawn in this process or in worker processes, ready for an encoder.

Long animations are split into chunks of consecutive frames, dealt round-robin to worker processes
that each hold their own figure; the encoder's ``preparer`` (e.g. GIF palette mapping) runs there
too. Results are read back in order and only a few chunks are in flight, so memory stays flat however
long the animation is. Short animations stay in one process, where starting workers would cost more
than it saves. Every frame depends only on its index, so both paths give identical pixels.
"""

from __future__ import annotations

import os
import select
import subprocess
from typing import Any, Callable, Iterator, Sequence

from ._exceptions import RenderError
from ._processes import start_helper
from ._worker import receive, send

__all__ = ["prepared_frames"]

#: Frames per request sent to a worker: enough to amortise the round trip, few enough to stream.
CHUNK = 8
#: Requests queued per worker: one being drawn, one waiting, so no worker idles.
IN_FLIGHT_PER_WORKER = 2


def prepared_frames(
    make_renderer: Callable[[], Any],
    indices: Sequence[int],
    preparer: Callable[[Any], Any],
    jobs: int,
    modules: Sequence[str] = (),
    renderer: Any = None,
) -> Iterator[Any]:
    """Yield ``preparer(renderer.render_rgba(i))`` for each ``i`` in ``indices``, in order.

    ``modules`` are imported in each worker first (e.g. the module that registers a custom scene).
    ``renderer``, if given, is one this process already has; it is used and left open.
    """
    own = renderer is None
    if own:
        renderer = make_renderer()
    try:
        if jobs <= 1 or len(indices) <= CHUNK:
            for index in indices:
                yield preparer(renderer.render_rgba(index))
        else:
            yield from _parallel(make_renderer, list(indices), preparer, jobs, list(modules), renderer)
    finally:
        if own:
            renderer.close()


def _receive(worker: subprocess.Popen) -> Any:
    try:
        status, value = receive(worker.stdout)
    except EOFError:
        raise RenderError(f"a frame worker process stopped unexpectedly (exit code {worker.wait()}); try jobs=1") from None
    if status == "error":
        raise value
    return value


def _ready(worker: subprocess.Popen) -> bool:
    """Whether the worker has something to say (its "ready"), without blocking; False if unknown."""
    if os.name != "posix":  # select() works on pipes only on POSIX
        return True
    return bool(select.select([worker.stdout], [], [], 0)[0])


def _parallel(make_renderer, indices, preparer, jobs, modules, renderer) -> Iterator[Any]:
    workers: list[subprocess.Popen] = []
    try:
        setup = (modules, make_renderer, preparer)
        workers = [start_helper() for _ in range(jobs)]
        for worker in workers:
            send(worker.stdin, setup)
        # Workers take a second or so to start; this process draws the first frames meanwhile.
        done = 0
        while done < len(indices) and not _ready(workers[0]):
            yield preparer(renderer.render_rgba(indices[done]))
            done += 1
        for worker in workers:
            _receive(worker)  # "ready"
        rest = indices[done:]
        chunks = [rest[i : i + CHUNK] for i in range(0, len(rest), CHUNK)]
        sent = 0
        for k in range(len(chunks)):
            # Keep each worker's queue full; chunk k is always drawn by worker k % jobs.
            while sent < len(chunks) and sent < k + jobs * IN_FLIGHT_PER_WORKER:
                send(workers[sent % jobs].stdin, chunks[sent])
                sent += 1
            yield from _receive(workers[k % jobs])
    finally:
        for worker in workers:
            for stream in (worker.stdin, worker.stdout):
                try:
                    stream.close()
                except OSError:
                    pass
        for worker in workers:
            try:
                worker.wait(timeout=5)
            except subprocess.TimeoutExpired:
                worker.kill()
                worker.wait()
