"""Watch a run converge while it trains: ``Recorder(scene, every=N, live=True)``.

Where the frames go depends on where the code runs:

- in a Jupyter kernel (classic notebook, JupyterLab, VS Code): one picture in the cell's output,
  replaced in place through an IPython display handle; the last frame stays when the cell ends;
- in a script whose matplotlib backend opens windows (TkAgg, QtAgg, ...) and a display: one window,
  updated without sleeping; closing it stops the updates, not the training;
- anywhere else (a server, CI, an SSH session): one line on standard error says that the live view
  is off and why, and the recorder carries on as with ``live=False``.

Frames are drawn by ``FrameRenderer``, the code ``render`` uses, from the captures made so far, so
what you watch is what the animation will show. (Scenes that fix an axis from the whole run, such
as ``CurveFit``'s y limits, can only use the captures made so far, so those limits may still move.)

Why it stays cheap: the training thread only queues each capture (the arrays the scene already
copied out of the tensors); a background thread hands the new captures to one drawing process
(``python -m convergence_anim.live``, shared by every live view of this Python process), at most
``max_fps`` times a second and then only about a quarter of the time, skipping captures that
arrived meanwhile (the trace keeps them all). Drawing in another process never holds the training
process's GIL; a scene defined in ``__main__``, which that process cannot import, is drawn on the
thread instead. A window, which belongs to pyplot and the main thread, is only handed the finished
picture at the next capture.
"""

from __future__ import annotations

import contextvars
import importlib
import io
import os
import signal
import subprocess
import sys
import threading
import time
import weakref
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Mapping

import numpy as np

from ._exceptions import UsageError, one_line
from ._processes import start_helper

if TYPE_CHECKING:  # pragma: no cover
    from .settings import RenderSettings
    from .trace import Trace

__all__ = ["LiveView"]

#: The live view keeps at most this many captures to draw from; beyond it every other one is
#: dropped (for the display only: the trace keeps all), so memory and drawing time stay bounded.
MAX_LIVE_CAPTURES = 512
#: How often a window gets to process its events (move, resize, close) between two frames.
_EVENTS_PER_SECOND = 20
#: After drawing for d seconds, wait this times d before the next frame: drawing gets about 1/4 of the time.
_DRAWING_SHARE_GAP = 3.0
#: How long the end of a run waits for its last frame to be drawn before giving up on it.
_FINISH_TIMEOUT = 30.0
#: Backends that are interactive but open no window of their own (they need a browser or a kernel).
_NOT_WINDOWS = {"webagg", "nbagg", "notebook", "ipympl", "widget"}


@dataclass(frozen=True, init=False)
class LiveView:
    """How to show a run while it trains: ``Recorder(scene, live=LiveView(max_fps=5))``.

    ``live=True`` is ``live=LiveView()``. A live view is the render settings plus its own update rate:
    pass the same look options (or the same ``RenderSettings``) as to ``render`` to watch during
    training what the file will hold. They read through: ``LiveView(theme="dark").theme``.

    Parameters
    ----------
    max_fps:
        At most this many updates a second (default 10). Captures that arrive faster are skipped for
        the display, never for the trace.
    settings:
        A ``RenderSettings`` whose look (``theme``, ``size``, ``dpi``, ``loss_panel``, ``log_loss``,
        ...) the frames take; the keyword ``options`` replace its fields.
    **options:
        Any ``RenderSettings`` field, e.g. ``theme="dark"``, ``size="720p"``, ``loss_panel=True``.

    Raises
    ------
    UsageError
        If an option is out of range.
    """

    max_fps: float
    settings: "RenderSettings"

    def __init__(self, max_fps: float = 10.0, settings: "RenderSettings | None" = None, **options: Any) -> None:
        from .settings import RenderSettings

        if isinstance(max_fps, bool) or not isinstance(max_fps, (int, float)) or not (0 < max_fps <= 60):
            raise UsageError(f"live max_fps must be a number above 0 and at most 60, got {max_fps!r}")
        object.__setattr__(self, "max_fps", max_fps)
        object.__setattr__(self, "settings", RenderSettings.build(settings, **options))

    def __getattr__(self, name: str) -> Any:
        from .settings import RenderSettings

        if name in RenderSettings.option_names():
            return getattr(self.settings, name)
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    @property
    def frame_size(self) -> tuple[int, int]:
        """The (width, height) in pixels of the frames shown."""
        return self.settings.look.size


def start_live_view(live: Any, scene: Any, meta: Mapping[str, Any]) -> "LiveSession | None":
    """Start showing the captures of a recorder of ``scene``; None if there is nowhere to show them.

    Called by ``Recorder`` for a true ``live``. When nothing can be shown, says why in one line on
    standard error.

    Raises
    ------
    UsageError
        If ``live`` is neither a bool nor a ``LiveView``.
    """
    if live is True:
        live = LiveView()
    if not isinstance(live, LiveView):
        raise UsageError(f"live must be True, False or a LiveView, got {live!r}")
    kernel = _ipython_kernel_shell()
    if kernel is not None:
        return LiveSession(live, scene, meta, _NotebookScreen(kernel))
    reason = _no_window_reason()
    if reason is None:
        try:
            return LiveSession(live, scene, meta, _WindowScreen(live.frame_size))
        except Exception as exc:  # a GUI toolkit that cannot start: say so, never stop training
            reason = f"the window could not open ({one_line(exc)})"
    print(f"convergence_anim: live view is off: {reason}; training and recording go on without it", file=sys.stderr)
    return None


class LiveSession:
    """The running live view of one recorder: ``Recorder.capture`` calls ``captured`` once per capture."""

    def __init__(self, options: LiveView, scene: Any, meta: Mapping[str, Any], screen: "_Screen") -> None:
        data, scene_options = scene.to_data()
        fixed = (scene.name, data, scene_options, dict(meta))
        module = type(scene).__module__
        # A scene defined in a script's __main__ cannot be imported by another process: draw it here.
        if module == "__main__":
            self._drawer: "_Drawer" = _ThreadDrawer(options, fixed, screen.wants)
        else:
            self._drawer = _ProcessDrawer(options, fixed, screen.wants, [module])
        weakref.finalize(self, self._drawer.close)
        self._screen = screen
        self._period = 1.0 / options.max_fps
        self._cond = threading.Condition()
        self._pending: list[tuple] = []  # captures not yet handed to the drawer
        self._published = 0  # number of captures taken
        self._drawn = 0  # number of captures the last finished frame shows (or given up on)
        self._next_draw = 0.0
        self._drawn_once = False
        self._hurry = False
        self._worker: "threading.Thread | None" = None
        self._worker_idle = False
        self._worker_stop = False
        self._off = False

    def captured(self, step: int, loss: float, test_loss: float, values: Mapping[str, np.ndarray], last: bool,
                 lr: float = float("nan")) -> None:
        """Take one capture (its values are copies the recorder made); ``last`` marks the loop's end, ``lr`` is
        the learning rate recorded with it (NaN if none).

        Never raises: a live view that fails turns itself off with one line on standard error.
        """
        if self._off:
            return
        try:
            if self._screen.closed:
                self._turn_off()
                return
            with self._cond:
                # The arrays are the scene's fresh copies, never changed afterwards: keep references.
                self._pending.append((int(step), loss, test_loss, values, lr))
                self._published += 1
                if self._worker is None:
                    self._start_worker()
                elif self._worker_idle:
                    self._cond.notify_all()
            self._screen.on_capture(self)
            if last:
                self._screen.on_last_capture(self)
        except Exception as exc:  # the display must never stop training
            self._fail(exc)

    def hurry(self) -> None:
        """Draw the newest capture as soon as the drawing thread is free, skipping the rate limit once."""
        with self._cond:
            self._hurry = True
            self._cond.notify_all()

    def finish(self, timeout: float = _FINISH_TIMEOUT) -> None:
        """Draw the newest capture now (skipping the rate limit), wait for it, then let the thread end."""
        with self._cond:
            target = self._published
            self._hurry = True
            self._cond.notify_all()
            self._cond.wait_for(lambda: self._drawn >= target or self._worker is None, timeout)
            self._worker_stop = True  # started again by the next capture
            self._cond.notify_all()

    # -- the drawing thread ------------------------------------------------------------------------

    def _start_worker(self) -> None:
        self._worker_stop = False
        # The copied context carries the cell's IPython parent header, so the thread's display
        # messages belong to the cell that made the recorder, not to whichever cell runs later.
        context = contextvars.copy_context()
        self._worker = threading.Thread(target=context.run, args=(self._work,), name="convergence_anim live", daemon=True)
        self._worker.start()

    def _work(self) -> None:
        while True:
            with self._cond:
                while True:
                    if self._pending:
                        wait = self._next_draw - time.monotonic()
                        if wait <= 0 or self._hurry:
                            break
                        self._cond.wait(wait)
                    elif self._worker_stop or self._off:
                        self._worker = None
                        self._cond.notify_all()
                        return
                    else:
                        self._worker_idle = True
                        self._cond.wait()
                        self._worker_idle = False
                batch, self._pending = self._pending, []
                number = self._published
                self._hurry = False
                self._next_draw = time.monotonic() + self._period
            started = time.monotonic()
            try:
                self._screen.show(self._drawer.draw(batch))
            except Exception as exc:
                self._fail(exc)
            with self._cond:
                self._drawn = number
                # Drawing takes CPU that training could use (on a busy machine, or one core): keep it
                # to about a quarter of the time, whatever max_fps allows.
                # The first frame is not a measure: it pays for matplotlib's fonts and caches.
                ended = time.monotonic()
                if number > 1 and self._drawn_once:
                    self._next_draw = max(self._next_draw, ended + _DRAWING_SHARE_GAP * (ended - started))
                self._drawn_once = True
                self._cond.notify_all()

    def _fail(self, exc: BaseException) -> None:
        if not self._off:
            print(f"convergence_anim: live view stopped: {one_line(exc)}; training and recording go on", file=sys.stderr)
        self._turn_off()

    def _turn_off(self) -> None:
        with self._cond:
            self._off = True
            self._pending = []
            self._cond.notify_all()
        self._drawer.close()


# -- drawing: in another process, or in this one -----------------------------------------------------


def draw_frame(options: LiveView, trace: "Trace", wants: str) -> Any:
    """Frame ``len(trace) - 1`` drawn by ``FrameRenderer``: an RGB array, or PNG bytes if ``wants == "png"``."""
    from .frames import FrameRenderer

    renderer = FrameRenderer(trace, options.settings.look)
    try:
        frame = renderer.render(len(trace) - 1)
    finally:
        renderer.close()
    if wants != "png":
        return frame
    from PIL import Image

    buffer = io.BytesIO()
    # Level 1 compresses these flat-coloured plots nearly as well as the default, in a third of the time.
    Image.fromarray(frame).save(buffer, format="PNG", compress_level=1)
    return buffer.getvalue()


class _Drawer:
    """Turns batches of new captures into the picture of the newest one."""

    def draw(self, batch: list[tuple]) -> Any:
        raise NotImplementedError

    def close(self) -> None:
        """Release what drawing holds (idempotent)."""


class _ThreadDrawer(_Drawer):
    """Draws on the calling (drawing) thread, with its own Agg figures."""

    def __init__(self, options: LiveView, fixed: tuple, wants: str) -> None:
        self._options, self._wants = options, wants
        self._history = _History(*fixed)

    def draw(self, batch: list[tuple]) -> Any:
        for capture in batch:
            self._history.append(*capture)
        return draw_frame(self._options, self._history.trace(), self._wants)


class _ProcessDrawer(_Drawer):
    """Draws in the drawing process (``python -m convergence_anim.live``), so drawing never holds this
    process's GIL. One such process serves every live view of this Python process: it starts once
    (matplotlib's import and font cache cost about a second) and ends with it."""

    _child: "subprocess.Popen | None" = None
    _lock = threading.Lock()
    _count = 0

    def __init__(self, options: LiveView, fixed: tuple, wants: str, modules: list[str]) -> None:
        with _ProcessDrawer._lock:
            _ProcessDrawer._count += 1
            self._id = _ProcessDrawer._count
            self._request(("setup", self._id, (options, fixed, wants, modules)), reply=False)

    def _request(self, message: tuple, reply: bool = True) -> Any:
        from ._worker import receive, send

        cls = _ProcessDrawer
        if cls._child is None or cls._child.poll() is not None:
            cls._child = start_helper("convergence_anim.live")
        try:
            send(cls._child.stdin, message)
            return receive(cls._child.stdout) if reply else None
        except (EOFError, OSError):
            code = cls._child.poll()
            cls._child = None
            raise RuntimeError(f"the drawing process ended (exit code {code})") from None

    def draw(self, batch: list[tuple]) -> Any:
        with _ProcessDrawer._lock:
            status, value = self._request(("draw", self._id, batch))
        if status == "error":
            raise RuntimeError(value)
        return value

    def close(self) -> None:
        with _ProcessDrawer._lock:
            if _ProcessDrawer._child is not None and self._id:
                try:
                    self._request(("close", self._id), reply=False)
                except RuntimeError:
                    pass
            self._id = 0


def _child_main() -> None:
    """The drawing process: ("setup", id, ...), ("draw", id, captures) -> one frame, ("close", id)."""
    from ._worker import receive, send

    # Ctrl-C reaches the whole process group; the training process decides, so the child ignores it.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    requests, replies = sys.stdin.buffer, sys.stdout.buffer
    sys.stdout = sys.stderr  # anything a library prints must not corrupt the reply stream
    import convergence_anim.frames  # noqa: F401  matplotlib loads while the first capture is on its way

    drawers: dict[int, Any] = {}
    while True:
        try:
            kind, number, *rest = receive(requests)
        except EOFError:
            return
        if kind == "setup":
            drawers[number] = rest[0]
            continue
        if kind == "close":
            drawers.pop(number, None)
            continue
        try:
            drawer = drawers[number]
            if isinstance(drawer, tuple):  # set up lazily: an import error is reported with the first frame
                options, fixed, wants, modules = drawer
                for name in modules:
                    importlib.import_module(name)
                drawer = drawers[number] = _ThreadDrawer(options, fixed, wants)
            reply = ("frame", drawer.draw(rest[0]))
        except Exception as exc:
            reply = ("error", one_line(exc))
        try:
            send(replies, reply)
        except BrokenPipeError:
            return


class _History:
    """The captures so far, in arrays that grow by doubling; beyond ``MAX_LIVE_CAPTURES`` every other is dropped."""

    def __init__(self, scene: str, data: Mapping[str, np.ndarray], options: Mapping[str, Any], meta: dict) -> None:
        self._fixed = (scene, data, options, meta)
        self._n = 0
        self._columns: dict[str, np.ndarray] = {}

    def append(self, step: int, loss: float, test_loss: float, values: Mapping[str, np.ndarray],
               lr: float = float("nan")) -> None:
        row = {"steps": step, "losses": loss, "test_losses": test_loss, "learning_rates": lr}
        row.update(("state." + name, value) for name, value in values.items())
        n = self._n
        if not self._columns:
            self._columns = {name: np.empty((16,) + np.shape(v), np.asarray(v).dtype) for name, v in row.items()}
            self._columns["steps"] = self._columns["steps"].astype(np.int64)
        elif step == self._columns["steps"][n - 1]:  # the same step captured again: keep the newer values
            n -= 1
        elif n == len(self._columns["steps"]):
            if n >= MAX_LIVE_CAPTURES:  # full: keep every other capture (the newest comes next)
                kept = (n + 1) // 2
                for column in self._columns.values():
                    column[:kept] = column[:n:2]
                n = kept
            else:
                self._columns = {name: _grown(column, 2 * n) for name, column in self._columns.items()}
        for name, value in row.items():
            self._columns[name][n] = value
        self._n = n + 1

    def trace(self) -> "Trace":
        """The ``Trace`` of the captures so far (views of the arrays, no copies)."""
        from .trace import Trace

        scene, data, options, meta = self._fixed
        n, columns = self._n, self._columns
        state = {name[6:]: column[:n] for name, column in columns.items() if name.startswith("state.")}
        return Trace(scene=scene, data=data, options=options, steps=columns["steps"][:n], losses=columns["losses"][:n],
                     state=state, meta=meta, test_losses=columns["test_losses"][:n],
                     learning_rates=columns["learning_rates"][:n])


def _grown(rows: np.ndarray, length: int) -> np.ndarray:
    column = np.empty((length,) + rows.shape[1:], rows.dtype)
    column[: len(rows)] = rows
    return column


# -- where the frames go ------------------------------------------------------------------------------


class _Screen:
    """Where frames are shown. ``show`` runs on the drawing thread, the ``on_*`` hooks on the training thread."""

    closed = False
    #: What ``show`` takes: ``"png"`` (bytes) or ``"rgb"`` (a uint8 array).
    wants = "rgb"

    def show(self, frame: Any) -> None:
        raise NotImplementedError

    def on_capture(self, session: LiveSession) -> None:
        """Called after every capture."""

    def on_last_capture(self, session: LiveSession) -> None:
        """Called after the capture that ends the loop (``force=True``)."""


class _NotebookScreen(_Screen):
    """One PNG in the cell's output, replaced in place through a display handle."""

    def __init__(self, shell: Any) -> None:
        self._shell = shell
        self._handle: Any = None
        self._hooked: "Callable[..., None] | None" = None

    wants = "png"

    def show(self, frame: bytes) -> None:
        from IPython.display import Image, display

        image = Image(data=frame, format="png")
        if self._handle is None:
            self._handle = display(image, display_id=True)
        else:
            self._handle.update(image)

    def on_capture(self, session: LiveSession) -> None:
        # When the cell ends, draw what the rate limit held back, so its output shows the last capture.
        if self._hooked is None:

            def cell_ended(*_: Any) -> None:
                self._shell.events.unregister("post_run_cell", cell_ended)
                self._hooked = None
                session.finish()

            self._hooked = cell_ended
            self._shell.events.register("post_run_cell", cell_ended)

    def on_last_capture(self, session: LiveSession) -> None:
        session.hurry()  # the end of the cell waits for it (``on_capture``)


class _WindowScreen(_Screen):
    """A pyplot window showing the frames; everything pyplot runs on the training (main) thread."""

    def __init__(self, size: tuple[int, int]) -> None:
        import matplotlib.pyplot as plt

        width, height = size
        dpi = 100
        self._fig = plt.figure("convergence_anim: live", figsize=(width / dpi, height / dpi), dpi=dpi)
        # The frame's own pixels, unscaled (an image in axes was resampled whenever the toolkit gave
        # the canvas a few pixels more or less than asked, which blurred text and lines).
        self._image = self._fig.figimage(np.full((height, width, 3), 255, np.uint8), origin="upper")
        self._fig.canvas.mpl_connect("close_event", self._on_close)
        self._lock = threading.Lock()
        self._ready: "np.ndarray | None" = None
        self._opened = False
        self._next_events = self._next_show = 0.0
        self._shown_once = False

    def _on_close(self, event: Any) -> None:
        self.closed = True

    def show(self, frame: np.ndarray) -> None:
        with self._lock:
            self._ready = frame

    def on_capture(self, session: LiveSession) -> None:
        now = time.monotonic()
        frame = None
        if now >= self._next_show:
            with self._lock:
                frame, self._ready = self._ready, None
        if frame is not None:
            self._image.set_data(frame)
            if not self._opened:
                self._opened = True
                self._fig.show()  # opens the window without blocking, unlike plt.show()
            self._fig.canvas.draw_idle()
        elif now < self._next_events or not self._opened:
            return
        # Lets the toolkit draw, and handle moves, resizes and the close button; it never sleeps.
        self._fig.canvas.flush_events()
        done = time.monotonic()
        self._next_events = done + 1.0 / _EVENTS_PER_SECOND
        if frame is not None and self._shown_once:
            # Showing a frame costs the training thread (the toolkit draws it): keep that under a tenth.
            # (The first one maps the window, which is no measure.)
            self._next_show = done + 9 * (done - now)
        self._shown_once = self._shown_once or frame is not None

    def on_last_capture(self, session: LiveSession) -> None:
        session.finish()
        if not self.closed:
            self._next_show = 0.0
            self.on_capture(session)


# -- finding out where we run -------------------------------------------------------------------------


def _ipython_kernel_shell() -> Any:
    """The IPython shell if this runs in a Jupyter kernel, else None (IPython is not imported for it)."""
    ipython = sys.modules.get("IPython")
    if ipython is None:
        return None
    shell = ipython.get_ipython()
    return shell if getattr(shell, "kernel", None) is not None else None


def _no_window_reason() -> "str | None":
    """Why no matplotlib window can open here, or None if one can."""
    if sys.platform.startswith("linux") and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        return "not in a notebook, and no display to open a window on ($DISPLAY is not set)"
    import matplotlib

    backend = matplotlib.get_backend().lower()
    try:
        from matplotlib.backends import BackendFilter, backend_registry

        interactive = set(backend_registry.list_builtin(BackendFilter.INTERACTIVE))
    except ImportError:  # matplotlib < 3.9
        from matplotlib.rcsetup import interactive_bk

        interactive = {name.lower() for name in interactive_bk}
    if backend not in interactive or backend in _NOT_WINDOWS:
        return f"not in a notebook, and matplotlib's backend {backend!r} opens no window"
    return None


if __name__ == "__main__":
    _child_main()
