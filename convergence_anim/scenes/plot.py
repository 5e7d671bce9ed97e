"""``Plot``: your own drawing function, animated from whatever values your loop captures.

    def draw(ax, frame):                      # called once per frame on a cleared axes
        ax.scatter(x, y)
        ax.plot(x, frame["w"] * x + frame["b"], "r-", lw=5)
        ax.set_title(f"Iteration:{frame.step}")

    rec = Recorder(Plot(draw), every=20)
    rec.capture(step, loss=loss, w=w, b=b)    # any names: tensors, arrays, numbers
    render(rec.trace, "fit.gif")

A trace keeps the captured values, never the function: ``render(trace, path, scene=Plot(draw))``
draws a saved one again.
"""

from __future__ import annotations

import hashlib
import uuid
import weakref
from typing import TYPE_CHECKING, Any, Callable, Iterator, Mapping, Sequence

import numpy as np

from .._exceptions import CaptureError, RenderError, TraceError, UsageError, one_line
from ._base import RunsUpdater, Scene, check_limits, register_scene

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes

    from ..runs import Runs
    from ..style import Theme
    from ..trace import Trace

__all__ = ["Frame", "Plot"]

# The Plots alive in this process, by the token their traces carry: ``render(rec.trace, path)``
# finds the function that goes with a live trace without the trace holding any code.
_LIVE: "weakref.WeakValueDictionary[str, Plot]" = weakref.WeakValueDictionary()


class Frame:
    """One capture, as a ``Plot``'s ``draw(ax, frame)`` sees it.

    ``frame["name"]`` is the value captured under ``name`` at this step (a numpy array; a number
    captured alone is a 0-d array, which works wherever a number does). ``frame.step``,
    ``frame.loss`` and ``frame.test_loss`` are the step and losses (NaN where none was given),
    ``frame.lr`` the learning rate (NaN where none was recorded),
    ``frame.index`` the capture's position in ``frame.trace``, the whole trace being drawn.
    ``frame.history("name")`` gives the values of every capture up to and including this one, with
    one more leading axis, for paths drawn so far.
    """

    __slots__ = ("trace", "index", "step", "loss", "test_loss", "lr")

    def __init__(self, trace: "Trace", index: int) -> None:
        self.trace = trace
        self.index = int(index)
        self.step = int(trace.steps[self.index])
        """The training step of this capture."""
        self.loss = float(trace.losses[self.index])
        """The loss captured at this step (NaN if none was given)."""
        self.test_loss = float(trace.test_losses[self.index])
        """The held-out loss captured at this step (NaN if none was given)."""
        self.lr = float(trace.learning_rates[self.index])
        """The learning rate captured at this step (``capture(..., lr=...)`` or ``optimizer=``; NaN if none)."""

    def __getitem__(self, name: str) -> np.ndarray:
        return self._values(name)[self.index]

    def history(self, name: str) -> np.ndarray:
        """The values captured under ``name`` from the first capture up to this one, shape ``(index + 1, ...)``."""
        return self._values(name)[: self.index + 1]

    def __contains__(self, name: object) -> bool:
        return name in self.trace.state

    def __iter__(self) -> Iterator[str]:
        return iter(self.trace.state)

    def keys(self) -> list[str]:
        """The captured names."""
        return list(self.trace.state)

    def _values(self, name: str) -> np.ndarray:
        try:
            return self.trace.state[name]
        except KeyError:
            known = ", ".join(map(repr, self.trace.state)) or "none (only the step and loss)"
            raise KeyError(f"nothing was captured as {name!r}; captured names: {known}") from None

    def __repr__(self) -> str:
        return f"<Frame step {self.step}: {', '.join(self.trace.state) or 'no values'}>"


@register_scene
class Plot(Scene):
    """Draw each frame with your own function: any values your loop captures, any matplotlib drawing.

    Parameters
    ----------
    draw:
        ``draw(ax, frame)``: draws one frame on ``ax``, a matplotlib ``Axes`` that is cleared before
        each call, from ``frame`` (a ``Frame``: ``frame["name"]``, ``frame.step``, ``frame.loss``,
        ``frame.trace``). Its return value is ignored. Whatever it draws on ``ax`` is the frame: a
        title it sets is kept (``"Iteration:<step>"`` if it sets none), and there is no separate
        "Loss=" label (draw one with ``ax.text`` if you want it). For rendering in several processes
        it must be importable: a top-level function of a module, not a lambda, a closure or a
        function defined in the script being run (``__main__``), which render draws in one process.
    xlim, ylim:
        Fixed axis limits. Without them each axis is fixed before the first frame to the union of
        the limits matplotlib's autoscaling picks for every frame of the trace (``draw`` is called
        once per capture for that), so nothing jumps. Limits that ``draw`` sets itself are kept.

    Raises
    ------
    UsageError
        If ``draw`` is not callable or a limit is not a pair of increasing finite numbers.

    Capture any named values: ``rec.capture(step, loss=loss, centroids=c, assignments=a)`` with
    tensors, numpy arrays or numbers. Each is copied (``detach().cpu()``) into a numpy array: floats
    keep float32 or float64, integers become int64, booleans stay booleans. Shapes may differ between
    names but not between captures of one name. A capture whose float values are not all finite
    marks the run as diverged from there, as for every scene: those frames show the last finite
    capture, titled "(diverged)".
    """

    name = "plot"
    redraw = True
    loss_label = False

    def __init__(self, draw: "Callable[[Axes, Frame], Any]", *, xlim: Any = None, ylim: Any = None) -> None:
        if not callable(draw):
            raise UsageError(f"draw must be a function draw(ax, frame), got {type(draw).__name__}")
        self.draw = draw
        self.xlim = check_limits("xlim", xlim)
        self.ylim = check_limits("ylim", ylim)
        self._limits: "tuple[str, Any] | None" = None  # (trace fingerprint, limits): workers reuse the parent's
        self._title = ""
        self._token = uuid.uuid4().hex
        _LIVE[self._token] = self

    def capture(self, state: Mapping[str, Any]) -> dict[str, np.ndarray]:
        return {name: _plot_value(name, value) for name, value in state.items()}

    def to_data(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        options = {
            "xlim": list(self.xlim) if self.xlim else None,
            "ylim": list(self.ylim) if self.ylim else None,
            # Only the name, to say which function drew it: a trace never holds (or runs) code.
            "draw": _qualified_name(self.draw),
            "token": self._token,
        }
        return {}, options

    @classmethod
    def from_data(cls, data: Mapping[str, np.ndarray], options: Mapping[str, Any]) -> "Plot":
        """The live ``Plot`` that recorded the trace, if it is still alive in this process.

        Raises
        ------
        TraceError
            Otherwise (a trace loaded from a file): say how to render it with the function.
        """
        live = _LIVE.get(str(options.get("token")))
        if live is not None:
            return live
        drawn_by = options.get("draw") or "a draw function"
        short = drawn_by.rpartition(".")[2] if options.get("draw") else "draw"
        raise TraceError(
            f"this trace was drawn by Plot with {drawn_by}; a trace keeps the captured values, not the code: "
            f"render it with render(trace, path, scene=Plot({short}))"
        )

    def title(self, trace: "Trace", index: int) -> str:
        return self._title or f"Iteration:{trace.steps[index]}"

    def draw_runs(self, ax: "Axes", runs: "Runs", theme: "Theme") -> RunsUpdater:
        """Fix the limits from every capture; return the updater that clears the axes and calls ``draw``.

        Raises
        ------
        UsageError
            For several runs: ``draw`` draws one frame of one run.
        """
        import matplotlib

        if len(runs) != 1:
            raise UsageError(f"a Plot draws one run per frame (draw(ax, frame) takes one frame); it cannot race {len(runs)} runs")
        trace = runs[0]
        xlim, ylim = self._fixed_limits(ax, trace, theme)

        def update(indices: Sequence[int], diverged: Sequence[bool]) -> list:
            index = indices[0]
            with matplotlib.rc_context(theme.rc):  # cla() restyles the axes from the rcParams
                ax.cla()
                self._call(ax, trace, index)
                # Ticks are made lazily when the figure is drawn, outside the theme's rcParams; made
                # here, in them, the first tick sets the style that any tick made later copies.
                for axis in (ax.xaxis, ax.yaxis):
                    axis.get_major_ticks()
                    axis.get_minor_ticks()
            # Limits draw set itself turned autoscaling off: those are kept.
            if xlim is not None and ax.get_autoscalex_on():
                ax.set_xlim(xlim)
            if ylim is not None and ax.get_autoscaley_on():
                ax.set_ylim(ylim)
            self._title = ax.get_title()
            return []  # the whole figure is redrawn (``redraw``)

        # The margins are fitted to what is on the axes when setup returns: draw a frame now, so
        # that its axis labels and tick labels (at the fixed limits: the same in every frame) count.
        update([len(trace) - 1], [False])
        return update

    def _call(self, ax: "Axes", trace: "Trace", index: int) -> None:
        try:
            self.draw(ax, Frame(trace, index))
        except Exception as exc:  # the user's code: say where, keep their message
            raise RenderError(
                f"draw failed at step {int(trace.steps[index])}: {one_line(exc)}"
            ) from None

    def _fixed_limits(self, ax: "Axes", trace: "Trace", theme: "Theme") -> tuple[Any, Any]:
        """The x and y limits of every frame: the user's, or the union of each frame's autoscaled limits."""
        if self.xlim and self.ylim:
            return self.xlim, self.ylim
        key = _fingerprint(trace, theme)
        if self._limits is not None and self._limits[0] == key:
            return self._limits[1]
        import matplotlib

        from matplotlib.transforms import Bbox

        spans: dict[str, list[np.ndarray]] = {"x": [], "y": []}
        with matplotlib.rc_context(theme.rc):
            ax.cla()
            empty = set(ax.get_children())
            for index in range(len(trace)):
                # Only data limits are read here, so instead of a full cla() (twice the cost of a
                # typical draw) the previous frame's artists are removed and the limits reset.
                ax.set_autoscale_on(True)
                ax.dataLim = Bbox.null()
                ax.ignore_existing_data_limits = True
                self._call(ax, trace, index)
                # Only axes that autoscale and got data (a frame that drew nothing has no data range).
                if ax.get_autoscalex_on() and ax.dataLim.mutatedx():
                    spans["x"].append(ax.dataLim.intervalx.copy())
                if ax.get_autoscaley_on() and ax.dataLim.mutatedy():
                    spans["y"].append(ax.dataLim.intervaly.copy())
                if index < len(trace) - 1:
                    try:
                        for artist in ax.get_children():
                            if artist not in empty:
                                artist.remove()
                    except (NotImplementedError, ValueError):  # draw rebuilt the axes itself (say, ax.cla())
                        ax.cla()
                        empty = set(ax.get_children())
        # matplotlib's own autoscaling (margins, sticky edges, the scale draw chose) of all frames'
        # data at once, on the last frame as drawn.
        found = {}
        for axis, values in spans.items():
            values = np.concatenate(values) if values else np.array([])
            values = values[np.isfinite(values)]
            if values.size:
                getattr(ax, f"set_autoscale{axis}_on")(True)
                getattr(ax.dataLim, f"update_from_data_{axis}")(values, ignore=False)
        ax.autoscale_view()
        for axis, values in spans.items():
            found[axis] = getattr(ax, f"get_{axis}lim")() if values else None
        with matplotlib.rc_context(theme.rc):
            ax.cla()
        limits = (self.xlim or found["x"], self.ylim or found["y"])
        self._limits = (key, limits)
        return limits

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_title"] = ""
        return state


def _fingerprint(trace: "Trace", theme: "Theme") -> str:
    """A digest of what the limits depend on: the captures, and the theme (its margins)."""
    digest = hashlib.blake2b(digest_size=16)
    digest.update(theme.name.encode())
    for array in (trace.steps, trace.losses, trace.test_losses, *trace.state.values()):
        digest.update(np.ascontiguousarray(array).view(np.uint8).reshape(-1))
    digest.update(repr(sorted((k, v.shape, str(v.dtype)) for k, v in trace.state.items())).encode())
    return digest.hexdigest()


def _plot_value(name: str, value: Any) -> np.ndarray:
    """Copy a captured value into a new numpy array, keeping its kind (float, integer, boolean)."""
    if hasattr(value, "detach"):
        value = value.detach()
        if value.is_floating_point() and value.element_size() < 4:  # float16/bfloat16: numpy lacks bfloat16
            value = value.float()
        value = value.cpu().numpy()
    try:
        array = np.array(value, copy=True)
    except (TypeError, ValueError):
        array = np.array([], dtype=object)
    kind = array.dtype.kind
    if kind == "f":
        return array if array.dtype in (np.float32, np.float64) else array.astype(np.float32)
    if kind in "iu":
        return array.astype(np.int64)
    if kind == "b":
        return array
    raise CaptureError(
        f"capture value {name!r} is not numeric (got {type(value).__name__}"
        f"{' of ' + str(array.dtype) if hasattr(value, 'dtype') else ''}); Plot captures tensors, arrays and numbers"
    )


def _qualified_name(draw: Any) -> "str | None":
    module = getattr(draw, "__module__", None)
    name = getattr(draw, "__qualname__", None)
    return f"{module}.{name}" if module and name else None
