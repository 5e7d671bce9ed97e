"""A frame-drawing worker process: ``python -m convergence_anim._worker``.

The parent sends length-prefixed pickles over stdin: first the setup (modules to import, a renderer
factory, the encoder's preparer), then lists of frame indices. The worker says "ready" once its
figure is built, then answers each list with the prepared frames, or with the exception that
stopped it. These are plain subprocesses rather than a
multiprocessing pool so that ``render`` works from any script, with or without an
``if __name__ == "__main__"`` guard: nothing re-imports the user's main module and nothing is forked
from a process that may hold torch's threads.
"""

from __future__ import annotations

import importlib
import os
import pickle
import signal
import struct
import sys
from typing import Any, BinaryIO

_LENGTH = struct.Struct("<Q")


def send(stream: BinaryIO, obj: Any) -> None:
    """Write one length-prefixed pickle."""
    data = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(_LENGTH.pack(len(data)))
    stream.write(data)
    stream.flush()


def receive(stream: BinaryIO) -> Any:
    """Read one length-prefixed pickle; EOFError at a clean end of stream."""
    head = stream.read(_LENGTH.size)
    if not head:
        raise EOFError
    (size,) = _LENGTH.unpack(head)
    data = stream.read(size)
    if len(data) != size:
        raise EOFError("truncated message")
    return pickle.loads(data)


def _parent_gone(replies: BinaryIO) -> None:
    """The parent stopped reading (it was interrupted): drop what is unsent, so exiting prints nothing."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, replies.fileno())
    os.close(devnull)


def main() -> None:
    # Ctrl-C reaches the whole process group; the parent decides what happens, so workers ignore it.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    requests, replies = sys.stdin.buffer, sys.stdout.buffer
    sys.stdout = sys.stderr  # anything printed by a library must not corrupt the reply stream
    try:
        try:
            importlib.import_module("convergence_anim.frames")  # matplotlib loads while the setup is on its way
            modules, make_renderer, preparer = receive(requests)
            for name in modules:
                importlib.import_module(name)
            renderer = make_renderer()
            send(replies, ("ready", None))
        except EOFError:
            return
        except BrokenPipeError:
            raise
        except BaseException as exc:  # reported to the parent, which raises it
            send(replies, ("error", exc))
            return
        while True:
            try:
                indices = receive(requests)
            except EOFError:
                return
            try:
                send(replies, ("ok", [preparer(renderer.render_rgba(i)) for i in indices]))
            except BrokenPipeError:
                raise
            except BaseException as exc:
                send(replies, ("error", exc))
                return
    except BrokenPipeError:
        _parent_gone(replies)


if __name__ == "__main__":
    main()
