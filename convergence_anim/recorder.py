"""``Recorder``: the one line added to a training loop."""

from __future__ import annotations

import math
import operator
import warnings
from typing import Any

import numpy as np

from ._checks import integer
from ._exceptions import CaptureError, UsageError
from .landscape import KEY_PARAMETERS, KEY_PATH, Plane, model_parameters
from .scenes._base import TEST_LOSS
from .trace import Trace

__all__ = ["Recorder"]


#: The meta key where the recorder writes its capture interval (see ``Recorder``).
CAPTURE_EVERY_KEY = "capture_every"
#: How many captures a recorder keeps by default: 2,000 frames are 100 s of animation at 20 fps.
DEFAULT_MAX_CAPTURES = 2000
_FIRST_CAPACITY = 16


class Recorder:
    """Capture what a scene needs to draw, every ``every`` steps of a training loop.

    Parameters
    ----------
    scene:
        What to draw, e.g. ``scenes.LineFit(x, y)``; it decides which values each capture keeps.
    every:
        Capture on steps that are multiples of this (a positive integer).
    meta:
        Optional JSON-serialisable facts stored with the trace (seed, learning rate, ...). The key
        ``"capture_every"`` is the recorder's own (see below).
    max_captures:
        The most captures the recorder keeps (an integer of at least 2; default 2,000), or None to
        keep every one. This makes a recorder safe to leave in a loop of any length: its memory is
        bounded by this count times the size of one capture.
    live:
        Show the captures while training runs: True, or a ``convergence_anim.live.LiveView`` with
        options (updates per second, theme, size). In a notebook one picture updates in place, in a
        script a window opens; with no display, one line on standard error says it is off.
    params:
        Also keep the model's parameters, flattened into one vector, at each capture (as the
        trace's ``parameters`` state, shape ``(n, P)``): captures must then pass ``model=``. This is
        what ``add_landscape`` projects onto the plane of the loss landscape.
    events:
        Labelled moments of the run, ``{step: "text"}`` (``{300: "lr divided by 10"}``): the loss
        panel draws a thin vertical line at each step with its text. ``mark`` adds more during
        the loop. Stored in the trace as ``event_steps`` and ``event_labels``.

    Raises
    ------
    UsageError
        If ``scene`` is not a scene (a scene class not yet made into one, say), ``every`` is not a
        positive integer, ``max_captures`` is not None or an integer of at least 2, ``meta`` holds
        the key ``"capture_every"``, ``live`` is not a bool or a ``LiveView``, or an event is not
        an integer step with a text.

    Notes
    -----
    **Steps.** ``capture`` counts its calls, so a loop needs no step counter of its own, however
    deeply nested (epochs x batches): ``rec.capture(loss=loss, model=model)`` is step 0, 1, 2, ...
    A step given explicitly wins, and the count goes on from it (``capture(10, ...)``, then
    ``capture(...)`` is step 11). ``finish`` records the state after the loop. A recorder is always
    true in a boolean test, even before its first capture.

    Recording never changes training: values are copied out (``detach().cpu()``, or copies of a small
    model's parameters, see below), no reference to a live tensor is kept, ``.grad``, the autograd
    graph, RNG state and a module's train/eval mode are left as they were, by ``capture`` and by
    ``trace``.

    **Thinning.** When a capture would make more than ``max_captures``, the recorder doubles its
    interval (``every``) and keeps only the captures whose step is a multiple of the new interval,
    plus the first and the newest capture; it doubles again until the count fits (once is enough
    when the captures were on the interval). So the captures stay evenly spread over the whole run,
    the first frame shows the start and the newest (the forced last step of a loop) is never lost.
    A forced capture (``force=True``) off the new interval is dropped by a later thinning unless it
    is still the newest. The first thinning warns once, in one line (a ``UserWarning`` whose message
    starts with ``"Recorder kept"``; ``warnings.filterwarnings("ignore", "Recorder kept")`` silences
    it).

    **Deferred evaluation.** A scene may put off the costly part of a capture (``Scene.capture_later``):
    ``DecisionBoundary`` and ``CurveFit`` do so for a ``model=`` whose parameters and buffers take no
    more bytes than the capture would (the 16-unit MLP of issue 15 has 65 float32 values, 260 bytes;
    a capture of a 200x200 boundary is 40,000 bytes), so pending copies never take more memory than
    the captures they stand for. Such a
    capture copies the parameters and buffers (``detach().clone()``, on the model's device) and
    the grid is evaluated, in eval mode as at capture time, only for the captures still held when
    ``trace`` is read; thinning drops the others unevaluated. So ``trace`` draws the module as it is
    *then*: its parameters and buffers come from the copies, but its structure and any other state
    its ``forward`` reads (a plain attribute changed during training, say) are the current ones,
    and the module must still be usable. The recorder keeps a reference to the module only while
    such captures are pending: reading ``trace`` evaluates them all and lets it go. The first
    capture, captures with ``predict=`` or ``y_pred=``, larger models and a recorder with ``live``
    evaluate at once, as before. The frames are the same either way.

    **The interval in the trace.** ``trace.meta["capture_every"]`` is the interval the recorder was
    capturing at when the trace was taken: ``every``, or what thinning made of it. The user's
    ``meta`` is stored as given beside it.
    """

    def __init__(
        self,
        scene: Any,
        every: int = 1,
        *,
        meta: dict[str, Any] | None = None,
        max_captures: int | None = DEFAULT_MAX_CAPTURES,
        live: Any = False,
        params: bool = False,
        events: "dict[int, str] | None" = None,
    ) -> None:
        _check_scene(scene)
        integer("every", every, low=1)
        if max_captures is not None and (
            isinstance(max_captures, bool) or not isinstance(max_captures, (int, np.integer)) or max_captures < 2
        ):
            raise UsageError(f"max_captures must be None or an integer of at least 2, got {max_captures!r}")
        meta = dict(meta or {})
        if CAPTURE_EVERY_KEY in meta:
            raise UsageError(f"meta key {CAPTURE_EVERY_KEY!r} is reserved: the recorder writes its capture interval there")
        if not isinstance(params, bool):
            raise UsageError(f"params must be True or False, got {params!r}")
        self._params = params
        if events is not None and not isinstance(events, dict):
            raise UsageError(f"events must be a dict {{step: text}}, got {type(events).__name__}")
        self._events: dict[int, str] = {}
        for event_step, text in (events or {}).items():
            self.mark(event_step, text)
        self._landscape: dict[str, np.ndarray] | None = None
        self._scene = scene
        self._every = int(every)
        self._meta = meta
        self._max = None if max_captures is None else int(max_captures)
        self._warned = False
        # Captures live in preallocated arrays (row i = capture i), grown by doubling and never
        # beyond max_captures + 1 rows: the trace is a view of them, not a second, stacked copy.
        self._n = 0
        self._next_step = 0  # the step of a capture called without one: one past the last step seen
        self._steps = np.empty(0, dtype=np.int64)
        self._losses = np.empty((0, 3), dtype=np.float64)  # loss, test loss, learning rate
        self._state: dict[str, np.ndarray] = {}
        # True while a trace handed out views of the current arrays: rows it shows must then not be
        # written in place (a trace is a snapshot), so the next such write copies first.
        self._shared = False
        self._trace: Trace | None = None
        # Deferred captures (see the class notes): step -> the function that computes its values.
        # Keyed by step, not row, because thinning moves rows; held only until the next trace.
        self._pending: dict[int, Any] = {}
        self._live = None
        if live:
            from .live import start_live_view  # matplotlib and a thread only for those who ask

            self._live = start_live_view(live, scene, self._meta)
        # A live view draws each capture as it comes, so it needs the values now.
        self._capture_later = None if self._live is not None else getattr(scene, "capture_later", None)

    @property
    def every(self) -> int:
        """The capture interval in steps: the ``every`` given, doubled by each thinning."""
        return self._every

    @property
    def max_captures(self) -> int | None:
        """The most captures kept (None: no limit)."""
        return self._max

    def capture(
        self, step: "int | None" = None, loss: Any = None, *, test_loss: Any = None, lr: Any = None,
        optimizer: Any = None, force: bool = False, **state: Any
    ) -> bool:
        """Record one frame if the step is a multiple of ``every`` (or ``force`` is true).

        Parameters
        ----------
        step:
            The training step (iteration) number; must not go backwards between captures. If None
            (leave it out: ``rec.capture(loss=loss, model=model)``), the recorder counts: one more
            than the step of the previous call, 0 for the first.
        loss:
            The loss at this step: a scalar tensor, array or number. Optional.
        test_loss:
            A held-out loss at this step, drawn beside the training loss in the loss panel. Optional:
            a scene given a test set (``test=``) computes one from the captured model itself; a
            value given here wins over it.
        lr:
            The learning rate at this step (a number). Optional: the loss panel marks where it
            changes, with its value, and the title shows it.
        optimizer:
            Instead of ``lr``: the ``torch.optim`` optimizer, whose first parameter group's rate
            (``optimizer.param_groups[0]["lr"]``) is recorded. It is only read, never changed.
        force:
            Record even if the step is not a multiple of ``every``. Capturing the same step twice
            keeps the newer values. (To record the state after the loop, ``finish`` is simpler.)
        **state:
            Named values the scene draws from: tensors, arrays or numbers (``w=w, b=b``), or
            ``model=<nn.Module>`` for scenes that evaluate a model.

        Returns
        -------
        bool
            True if a frame was recorded.

        Raises
        ------
        CaptureError
            If a value has the wrong shape for the scene, the step is smaller than the last one,
            ``step`` is not an integer (a loss passed first without its name, say), both ``lr`` and
            ``optimizer`` are given, or the learning rate is not a number.

        Warns
        -----
        UserWarning
            Once per recorder, when ``max_captures`` is first reached and the captures are thinned.
        """
        if step is None:
            step = self._next_step
        else:
            try:
                step = operator.index(step)
            except TypeError:
                raise CaptureError(
                    f"capture's step must be an integer, got {type(step).__name__}; to let the recorder count "
                    f"steps, pass the loss by name: rec.capture(loss=loss, ...)"
                ) from None
        self._next_step = step + 1
        # The skip path must cost next to nothing: it runs on every training step.
        if step % self._every and not force:
            return False
        step = int(step)
        n = self._n
        last = int(self._steps[n - 1]) if n else None
        if last is not None and step < last:
            raise CaptureError(
                f"capture step {step} is before the last captured step {last}; steps must not go backwards"
            )
        # The first capture is always evaluated: it shapes the arrays and shows any error here.
        later = self._capture_later(state) if n and self._capture_later is not None else None
        values = self._scene.capture(state) if later is None else {}
        if self._params:
            values = {**values, KEY_PARAMETERS: _parameters_of(state)}
        losses = (_loss_to_float(loss, "loss"), _loss_to_float(test_loss, "test_loss"), _learning_rate(lr, optimizer))
        scene_test_loss = values.pop(TEST_LOSS, None)
        if scene_test_loss is not None and math.isnan(losses[1]):
            losses = (losses[0], float(scene_test_loss), losses[2])
        if n == 0:
            self._allocate(values)
        else:
            self._check(values, complete=later is None)
        if step == last:
            if self._shared:  # the row is in a trace handed out: keep that trace as it was
                self._reallocate(np.arange(n), len(self._steps))
            row = n - 1
        else:
            if n == len(self._steps):
                self._reallocate(np.arange(n), self._grown_capacity())
            row, self._n = n, n + 1
        self._steps[row] = step
        self._losses[row] = losses
        for name, value in values.items():
            self._state[name][row] = value
        self._pending.pop(step, None)  # a capture of the same step replaces a pending one
        if later is not None:
            self._pending[step] = later
        self._trace = None
        if self._max is not None and self._n > self._max:
            self._thin()
        if self._live is not None:
            self._live.captured(step, losses[0], losses[1], values, last=force, lr=losses[2])
        return True

    @property
    def trace(self) -> Trace:
        """The captures so far as a ``Trace`` (a snapshot: later captures do not change it).

        The trace's per-capture arrays are read-only views of the recorder's own, not a copy, so
        asking for it costs no memory; ``meta["capture_every"]`` holds the current interval.
        Deferred captures are evaluated here (see the class notes).

        Raises
        ------
        CaptureError
            If evaluating a deferred capture fails (the step is named).
        """
        if self._trace is None:
            self._evaluate_pending()
            data, options = self._scene.to_data()
            n = self._n
            state = {}
            for name, array in self._state.items():
                view = array[:n]
                view.flags.writeable = False
                state[name] = view
            self._shared = True
            if self._landscape is not None:
                data = {**data, **self._landscape}
                state[KEY_PATH] = Plane.from_data(self._landscape).project(state[KEY_PARAMETERS])
            self._trace = Trace(
                scene=self._scene.name,
                data=data,
                options=options,
                steps=self._steps[:n].copy(),
                losses=self._losses[:n, 0].copy(),
                state=state,
                meta={**self._meta, CAPTURE_EVERY_KEY: self._every},
                test_losses=self._losses[:n, 1].copy(),
                learning_rates=self._losses[:n, 2].copy(),
                event_steps=np.array(sorted(self._events), dtype=np.int64),
                event_labels=np.array([self._events[s] for s in sorted(self._events)], dtype=str),
            )
        return self._trace

    def finish(self, loss: Any = None, *, test_loss: Any = None, lr: Any = None, optimizer: Any = None,
               **state: Any) -> bool:
        """Record the state after the loop, at the last step ``capture`` saw, unless it was recorded.

        Call it once, after the loop, with what ``capture`` takes (``rec.finish(loss=loss,
        model=model)``), so the last frame shows the final state even when the last step was not
        a multiple of ``every``. If that step was already captured, it does nothing.

        Returns
        -------
        bool
            True if it recorded the last step, False if ``capture`` already had.

        Raises
        ------
        CaptureError
            As ``capture`` (the state does not fit the scene, say).
        """
        last_seen = self._next_step - 1
        if self._n and int(self._steps[self._n - 1]) == last_seen:
            return False
        return self.capture(max(last_seen, 0), loss, test_loss=test_loss, lr=lr, optimizer=optimizer, force=True,
                            **state)

    def mark(self, step: "int | None", text: str) -> None:
        """Put a labelled marker on the loss panel at ``step``: ``rec.mark(300, "lr divided by 10")``.

        Parameters
        ----------
        step:
            The training step of the event; None for the step ``capture`` saw last (0 before any).
        text:
            A short label (a few words), drawn beside the marker. A second mark at the same step
            joins its text to the first with ``" / "``.

        Raises
        ------
        UsageError
            If ``step`` is not an integer or ``text`` is not a non-empty string.
        """
        if step is None:
            step = max(self._next_step - 1, 0)
        try:
            step = operator.index(step)
        except TypeError:
            raise UsageError(f"an event's step must be an integer, got {type(step).__name__}") from None
        if not isinstance(text, str) or not text.strip():
            raise UsageError(f"an event needs a text, such as \"lr divided by 10\", got {text!r}")
        text = " ".join(text.split())  # one line
        step = int(step)
        self._events[step] = f"{self._events[step]} / {text}" if step in self._events else text
        self._trace = None

    def __len__(self) -> int:
        return self._n

    def __bool__(self) -> bool:
        # Without this, len() == 0 makes a new recorder false, and ``if rec: rec.capture(...)`` never records.
        return True

    # -- storage -------------------------------------------------------------------------------

    def _grown_capacity(self) -> int:
        capacity = max(_FIRST_CAPACITY, 2 * len(self._steps))
        return capacity if self._max is None else min(capacity, self._max + 1)

    def _allocate(self, values: dict[str, np.ndarray]) -> None:
        """Empty arrays shaped after the first capture (nothing is held yet)."""
        self._state = {name: np.empty((0,) + np.shape(v), dtype=np.asarray(v).dtype) for name, v in values.items()}

    def _check(self, values: dict[str, np.ndarray], complete: bool = True) -> None:
        """Raise CaptureError unless ``values`` has the names (all of them if ``complete``) and shapes held.

        A value of a wider kind than earlier captures of its name (a float after ints, float64 after
        float32) widens the held column, so nothing is cut to the first capture's kind.
        """
        if not (values.keys() == self._state.keys() if complete else values.keys() <= self._state.keys()):
            raise CaptureError(f"capture gave values {sorted(values)}, earlier captures gave {sorted(self._state)}")
        for name, value in values.items():
            column = self._state[name]
            if np.shape(value) != column.shape[1:]:
                raise CaptureError(
                    f"capture value {name!r} has shape {np.shape(value)}, earlier captures had {column.shape[1:]}"
                )
            kind = np.asarray(value).dtype
            if not np.can_cast(kind, column.dtype, "safe"):
                try:
                    wider = np.result_type(column.dtype, kind)
                except TypeError:
                    wider = np.dtype(object)
                if wider.kind not in "biuf":
                    raise CaptureError(f"capture value {name!r} is {kind}, earlier captures were {column.dtype}")
                # A new array: a trace handed out keeps viewing the old one, unchanged.
                self._state[name] = column.astype(wider)

    def _evaluate_pending(self) -> None:
        """Compute the deferred captures still held into their rows; then nothing refers to the model."""
        if not self._pending:
            return
        steps = self._steps[: self._n]  # strictly increasing: a repeated step replaces its row
        for step, later in list(self._pending.items()):
            try:
                values = later()
            except CaptureError as exc:
                raise CaptureError(f"the capture of step {step}, evaluated for the trace: {exc}") from None
            row = int(np.searchsorted(steps, step))
            scene_test_loss = values.pop(TEST_LOSS, None)
            if scene_test_loss is not None and math.isnan(self._losses[row, 1]):
                self._losses[row, 1] = float(scene_test_loss)
            self._check(values, complete=False)
            for name, value in values.items():
                self._state[name][row] = value
            del self._pending[step]

    def _reallocate(self, rows: np.ndarray, capacity: int) -> None:
        """Move ``rows`` (in order) into new arrays of ``capacity`` rows; the old ones are left to any trace."""

        def moved(array: np.ndarray) -> np.ndarray:
            new = np.empty((capacity,) + array.shape[1:], dtype=array.dtype)
            new[: len(rows)] = array[rows]
            return new

        self._steps, self._losses = moved(self._steps), moved(self._losses)
        self._state = {name: moved(array) for name, array in self._state.items()}
        self._n = len(rows)
        self._shared = False

    def _thin(self) -> None:
        """Double the interval until the captures fit in ``max_captures`` (see the class notes)."""
        held = self._n
        steps = self._steps[:held]
        span = int(np.abs(steps).max())
        every = self._every
        while True:
            every *= 2
            # Beyond the largest step only step 0 is a multiple (and the modulo cannot overflow).
            keep = steps % every == 0 if every <= span else steps == 0
            keep[0] = keep[-1] = True
            if int(keep.sum()) <= self._max:
                break
            if every > span:  # only possible with max_captures=2 and step 0 between negative and positive steps
                keep[1:-1] = False
                break
        rows = np.flatnonzero(keep)
        self._every = every
        if self._shared:
            self._reallocate(rows, len(self._steps))
        else:
            # In place: rows only move towards the front, in order, so nothing is overwritten
            # before it has been moved. (No second copy of the captures, even for a moment.)
            for array in (self._steps, self._losses, *self._state.values()):
                for target, source in enumerate(rows):
                    if target != source:
                        array[target] = array[source]
            self._n = len(rows)
        if self._pending:  # a dropped capture is never evaluated
            kept = set(self._steps[: self._n].tolist())
            self._pending = {step: later for step, later in self._pending.items() if step in kept}
        if not self._warned:
            self._warned = True
            warnings.warn(
                f"Recorder kept {len(rows)} of {held} captures (max_captures={self._max}) and now captures every "
                f"{every} steps, so frames stay evenly spread over the run; pass max_captures=None to keep all",
                UserWarning,
                stacklevel=3,
            )

    def add_landscape(self, model: Any, loss_fn: Any, inputs: Any, targets: Any, *, resolution: int = 41,
                      progress: Any = True) -> None:
        """Evaluate the loss landscape around the recorded path, once, after training.

        The plane passes through the last captured parameters and is spanned by the first two
        principal components of the recorded parameter path (Li et al., 2018); the loss
        ``loss_fn(model(inputs), targets)`` is evaluated on a ``resolution x resolution`` grid over
        it that covers the whole path with a margin. The trace then holds the grid
        (``landscape_loss``, ``landscape_x``, ``landscape_y``), the plane (``landscape_origin``,
        ``landscape_directions``, ``landscape_explained``) in its data and the path projected onto
        the plane (``landscape_path``, shape ``(n, 2)``) in its state; ``render(..., landscape=True)``
        draws them. The model is left exactly as it was: parameters, train/eval modes, ``.grad``
        and torch's RNG state.

        Parameters
        ----------
        model:
            The trained ``torch.nn.Module`` (the one captured with ``model=``).
        loss_fn:
            ``loss_fn(model(inputs), targets)`` -> a scalar tensor: the training loss.
        inputs, targets:
            The training data (the whole set, or a fixed batch of it).
        resolution:
            Grid cells per side, 3 to 201 (41 by default: 1681 evaluations of the loss).
        progress:
            True (default): on a terminal, work lasting over a second shows one updating line on
            standard error (nothing in a log file or a notebook's captured stream); False: none; or
            a function called as ``progress(done, total)`` with the grid points evaluated so far.

        Raises
        ------
        UsageError
            If the recorder was not made with ``params=True``, fewer than two different parameter
            vectors were captured, or the model or loss fails on the plane.
        """
        from .landscape import model_landscape

        if not self._params:
            raise UsageError("add_landscape needs the parameter path: make the recorder with Recorder(scene, params=True)")
        if not self._n:
            raise UsageError("add_landscape needs captures: call it after training")
        path = self._state[KEY_PARAMETERS][: self._n]
        self._landscape, _ = model_landscape([path], model, loss_fn, inputs, targets, resolution=resolution,
                                              progress=progress)
        self._trace = None


def _check_scene(scene: Any) -> None:
    """Raise UsageError unless ``scene`` is a scene: an instance, with ``capture`` and ``to_data``."""
    if isinstance(scene, type):
        raise UsageError(
            f"Recorder takes a scene, not the class {scene.__name__}: make one first, such as "
            f"Recorder({scene.__name__}(x, y))"
        )
    if not (callable(getattr(scene, "capture", None)) and callable(getattr(scene, "to_data", None))):
        raise UsageError(f"Recorder takes a scene such as scenes.LineFit(x, y), got {type(scene).__name__}")


def _parameters_of(state: dict[str, Any]) -> np.ndarray:
    if "model" not in state:
        raise CaptureError("a Recorder made with params=True records a model's parameters: capture with model=...")
    try:
        return model_parameters(state["model"])
    except UsageError as exc:
        raise CaptureError(str(exc)) from None


def _loss_to_float(loss: Any, name: str) -> float:
    if loss is None:
        return math.nan
    if hasattr(loss, "detach"):
        loss = loss.detach()
        if loss.numel() != 1:
            raise CaptureError(f"{name} must be a single value, got a tensor of shape {tuple(loss.shape)}")
        return float(loss.cpu().item())
    try:
        array = np.asarray(loss, dtype=np.float64)
    except (TypeError, ValueError):
        raise CaptureError(f"{name} must be a number, got {type(loss).__name__}") from None
    if array.size != 1:
        raise CaptureError(f"{name} must be a single value, got shape {array.shape}")
    return float(array.reshape(()))


def _learning_rate(lr: Any, optimizer: Any) -> float:
    """The learning rate given as ``lr=`` or read from ``optimizer=`` (NaN if neither), never changing either."""
    if optimizer is not None:
        if lr is not None:
            raise CaptureError("capture takes lr= or optimizer=, not both")
        groups = getattr(optimizer, "param_groups", None)
        if not groups or "lr" not in groups[0]:
            raise CaptureError(f"optimizer= must be a torch.optim optimizer (it has param_groups), got "
                               f"{type(optimizer).__name__}")
        lr = groups[0]["lr"]
    return _loss_to_float(lr, "lr")
