"""The ``Scene`` base class, its registry and the helpers scenes use to copy values out of tensors."""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Any, Callable, ClassVar, Iterator, Mapping, Sequence

import numpy as np

from .._exceptions import CaptureError, TraceError, UsageError, one_line

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.artist import Artist
    from matplotlib.axes import Axes

    from ..runs import Runs
    from ..style import Theme
    from ..trace import Trace

__all__ = ["RunsUpdater", "Scene", "Updater", "register_scene", "principal_components", "scene_from_trace", "untouched"]

_SCENES: dict[str, type["Scene"]] = {}

#: What a scene's ``draw_runs`` returns: called with, for each run, the index of the capture to draw
#: and whether that run has diverged there, it updates the runs' changing artists and returns them.
RunsUpdater = Callable[[Sequence[int], Sequence[bool]], Sequence["Artist"]]
#: What the one-run ``setup`` returns: ``update(index, diverged)`` for a single run.
Updater = Callable[[int, bool], Sequence["Artist"]]


#: The value a scene's ``capture`` may add for its test set's loss (a 0-d float): the recorder takes it
#: out of the state into the trace's ``test_losses`` (a ``test_loss=`` given to ``capture`` wins).
TEST_LOSS = "test_loss"


#: The entry-point group third-party packages list their scenes under: ``name = "package.module:Class"``,
#: the name being the scene's registry ``name``.
ENTRY_POINT_GROUP = "convergence_anim.scenes"


def register_scene(cls: type["Scene"]) -> type["Scene"]:
    """Class decorator: make a scene loadable from a trace by its ``name``.

    Registering a class again under its name (a re-run notebook cell, a reloaded module: same
    module and class name) replaces the old one.

    Raises
    ------
    UsageError
        If ``cls`` has no ``name``, or another class is registered under it (both are named).
    """
    name = getattr(cls, "name", None)
    if not isinstance(name, str) or not name:
        raise UsageError(f"scene class {_class_name(cls)} needs a class attribute name = \"...\" to be registered")
    known = _SCENES.get(name)
    if known is not None and _class_name(known) != _class_name(cls):
        raise UsageError(
            f"scene name {name!r} is already registered by {_class_name(known)}; {_class_name(cls)} needs another name"
        )
    _SCENES[name] = cls
    return cls


def _class_name(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def _scene_class(name: str) -> type["Scene"]:
    """The class registered as ``name``, loading a third party's entry point for it if needed."""
    if name in _SCENES:
        return _SCENES[name]
    from importlib.metadata import entry_points

    for point in entry_points(group=ENTRY_POINT_GROUP, name=name):
        try:
            loaded = point.load()
        except Exception as exc:  # their import failed: say which package, keep their message
            raise TraceError(f"scene {name!r} comes from {point.value!r} (entry point), which failed to load: "
                             f"{one_line(exc)}") from None
        if not (isinstance(loaded, type) and issubclass(loaded, Scene) and getattr(loaded, "name", None) == name):
            raise TraceError(f"entry point {name!r} = {point.value!r} is not a Scene class named {name!r}")
        if name not in _SCENES:  # loading the module usually registered it already
            register_scene(loaded)
        return _SCENES[name]
    raise TraceError(f"unknown scene {name!r}; known scenes: {', '.join(sorted(_SCENES))} "
                     f"(a package providing it lists it under the {ENTRY_POINT_GROUP!r} entry points)")


def scene_from_trace(trace: "Trace") -> "Scene":
    """Rebuild the scene that recorded ``trace`` from the trace's data and options.

    A scene name not registered yet is looked up among the ``convergence_anim.scenes`` entry points
    of the installed packages, and loaded from there.

    Raises
    ------
    TraceError
        If the scene name is unknown, or its data, options or captured values do not fit the scene
        (``Scene.check_trace``).
    """
    cls = _scene_class(trace.scene)
    try:
        scene = cls.from_data(trace.data, trace.options)
    except (UsageError, KeyError, TypeError, ValueError) as exc:
        raise TraceError(f"scene data does not fit {trace.scene!r}: {exc}") from None
    scene.check_trace(trace)
    return scene


class Scene:
    """What a recorder captures and how a frame is drawn from it: the base of every scene.

    Subclass it for a scene of your own that draws its static parts once and updates only what
    changes (``Plot`` is the quicker way when redrawing everything each frame is fine). A subclass
    sets ``name`` (its registry key, stored in traces), is decorated with ``@register_scene`` and
    implements:

    - ``capture(state)``: turn the named values given to ``Recorder.capture`` into numpy arrays of
      the same shape at every capture (the only method that sees tensors or models);
    - ``to_data()`` / ``from_data(data, options)``: the fixed arrays and JSON options that rebuild
      the scene from a saved trace;
    - ``draw_runs(ax, runs, theme)``: draw the static parts on ``ax``, fix the limits from every
      capture of every run, and return a ``RunsUpdater``: ``update(indices, diverged)`` sets each
      run's changing artists to its capture and returns them (the only method that touches
      matplotlib). ``runs`` (a ``Runs``) holds one trace for a single render, several for a race
      (``render([trace_a, trace_b], ...)``), with a colour for each; ``runs.race`` says which look
      to draw. A scene that only draws one run may implement ``setup(ax, trace, theme)`` instead
      (returning ``update(index, diverged)``); it then cannot race. (``setup_race`` of earlier
      versions is gone: ``draw_runs`` draws one run and races alike.)
    - optionally ``title(trace, index)``, ``label_position``, ``loss_label`` and ``redraw``;
    - optionally ``capture_later(state)``: put off a costly capture (a model evaluated on a grid) until
      the trace is built, so that captures the recorder's budget drops are never computed.
    - optionally ``check_trace(trace)``: refuse, in one line, a trace (from a file) whose values this
      scene cannot draw, before any figure is made.

    The renderer draws the static parts once and, per frame, the artists ``update`` returns plus
    every artist of the same axes with a higher zorder, so the frames are pixel-identical to full
    redraws. ``docs/your-own-plot.md`` has a complete, tested example.
    """

    name: ClassVar[str]
    #: Where the "Loss=..." label (and the "diverged at ..." note) goes, in axes fractions.
    label_position: tuple[float, float] = (0.06, 0.6)
    #: Whether frames show the "Loss=..." label (the "diverged at ..." note is shown either way).
    loss_label: bool = True
    #: True if the updater redraws the whole axes each frame (it may clear it): frames are then drawn
    #: in full, without blitting, and the frame's own label is put back after each update.
    redraw: bool = False

    def capture(self, state: Mapping[str, Any]) -> dict[str, np.ndarray]:
        """Return the arrays one frame needs, copied out of ``state``.

        Parameters
        ----------
        state:
            The keyword values given to ``Recorder.capture`` (without ``loss`` and ``test_loss``).

        Returns
        -------
        dict
            Name to numpy array, the same names and shapes at every capture; the recorder stacks
            them into ``trace.state[name]`` of shape ``(captures, ...)``. Float values that are not
            finite mark the run as diverged from that capture. A 0-d value under ``TEST_LOSS``
            (``"test_loss"``) is not state: it is the capture's held-out loss (a scene with a test
            set computes it), which the recorder puts in ``trace.test_losses``.

        Raises
        ------
        CaptureError
            If the names or values do not fit the scene (``check_names`` and ``to_array`` raise it).
        """
        raise NotImplementedError

    def to_data(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        """Return the scene's fixed arrays (data points, labels) and JSON-serialisable options."""
        raise NotImplementedError

    @classmethod
    def from_data(cls, data: Mapping[str, np.ndarray], options: Mapping[str, Any]) -> "Scene":
        """Rebuild the scene from what ``to_data`` returned (read back from a saved trace).

        Raises
        ------
        UsageError, KeyError, TypeError, ValueError
            If they do not fit; ``scene_from_trace`` reports them as a ``TraceError``.
        """
        raise NotImplementedError

    def check_trace(self, trace: "Trace") -> None:
        """Raise TraceError unless ``trace``'s captured values are what this scene draws.

        Called when a trace is paired with its scene (``scene_from_trace``, and ``render`` with a
        ``scene=``), before any figure: a trace from a file may be malformed in ways a recorder never
        makes (a value missing, text where numbers belong, a grid of another size), and this turns
        that into one clear message instead of a failure deep in the drawing. The default accepts
        any trace; ``check_state`` checks one value.

        Raises
        ------
        TraceError
            If a value the scene draws is missing or has the wrong kind or shape.
        """

    def draw_runs(self, ax: "Axes", runs: "Runs", theme: "Theme") -> RunsUpdater:
        """Draw the static parts of ``runs`` on ``ax``; return the updater of their changing artists.

        Parameters
        ----------
        ax:
            The matplotlib axes of the frame (the figure is built in the theme's rcParams).
        runs:
            The traces to draw (``runs.traces``; one for a single render), a colour for each
            (``runs.colors``) and ``runs.race``: False for a single run drawn in the scene's own
            look, True for runs overlaid in their colours. Fix axis limits and colour scales from
            every capture of every run here, so nothing jumps from frame to frame.
        theme:
            The look: ``theme.point_color``, ``line_color``, ``line_width``, ``marker_scale``, ...

        Returns
        -------
        RunsUpdater
            ``update(indices, diverged)``: for each run, set its changing artists to capture
            ``indices[r]`` (the last finite capture once it diverged, with ``diverged[r]`` true) and
            return every artist changed.

        Raises
        ------
        UsageError
            If the scene cannot draw these runs (a scene that implements only ``setup`` draws one).
        """
        if type(self).setup is Scene.setup:
            raise NotImplementedError(f"scene {type(self).__name__} implements neither draw_runs nor setup")
        if runs.race and getattr(type(self), "setup_race", None) is not None:
            raise UsageError(f"scene {type(self).__name__} defines setup_race, which convergence_anim no longer calls: "
                             f"implement draw_runs(ax, runs, theme) instead, for one run and races alike")
        if len(runs) != 1:
            raise UsageError(f"the {self.name!r} scene draws one run per frame (it implements setup, not draw_runs); "
                             f"it cannot draw {len(runs)} runs in one frame")
        update = self.setup(ax, runs[0], theme)
        return lambda indices, diverged: update(indices[0], diverged[0])

    def setup(self, ax: "Axes", trace: "Trace", theme: "Theme") -> Updater:
        """Draw one run on ``ax``: ``draw_runs`` for a single ``trace``; return ``update(index, diverged)``.

        A scene implements ``draw_runs`` (or, if it only ever draws one run, this method instead).
        """
        from ..runs import Runs

        if type(self).draw_runs is Scene.draw_runs:
            raise NotImplementedError(f"scene {type(self).__name__} implements neither draw_runs nor setup")
        update = self.draw_runs(ax, Runs([trace], [theme.line_color]), theme)
        return lambda index, diverged: update([index], [diverged])

    def title(self, trace: "Trace", index: int) -> str:
        """The title of frame ``index``."""
        return f"Iteration:{trace.steps[index]}"

    def capture_later(self, state: Mapping[str, Any]) -> "Callable[[], dict[str, np.ndarray]] | None":
        """Optionally put off the costly part of ``capture(state)``: return a function that does it later.

        A recorder asks this for every capture after its first one (unless a live view draws the
        captures as they come). Given a function, it stores that instead of the arrays and calls it
        only if the capture is still held when the trace is built: captures that thinning drops are
        never computed. The function must return exactly what ``capture(state)`` would return now,
        so it must copy now whatever changes later (tensors are updated in place by training).

        Parameters
        ----------
        state:
            The keyword values given to ``Recorder.capture``, as for ``capture``.

        Returns
        -------
        callable or None
            A function of no arguments returning ``capture``'s dict; None (the default) to capture
            now. Return None for anything ``capture`` would reject, so that its error is raised at
            the capture.
        """
        return None


def check_state(trace: "Trace", name: str, shape: Sequence[int], kinds: str = "biuf") -> np.ndarray:
    """``trace.state[name]``, if it is there, of a numpy kind in ``kinds`` and ``shape`` per capture.

    An empty trace may lack it (nothing was captured, so nothing is drawn).

    Raises
    ------
    TraceError
        Otherwise, naming the value, what it is and what the scene draws.
    """
    value = trace.state.get(name)
    if value is None and len(trace) == 0:  # a recorder that captured nothing has no values at all
        return np.empty((0, *shape))
    if value is None:
        held = ", ".join(map(repr, sorted(trace.state))) or "none"
        raise TraceError(f"the trace has no {name!r} values, which the {trace.scene!r} scene draws (it holds {held})")
    if value.dtype.kind not in kinds:
        wanted = "integers" if set(kinds) <= set("iu") else "numbers"
        raise TraceError(f"the trace's {name!r} values are {value.dtype}, not {wanted}: the {trace.scene!r} scene "
                         f"cannot draw them")
    if value.shape[1:] != tuple(shape):
        raise TraceError(f"the trace's {name!r} values have shape {value.shape[1:]} per capture; the {trace.scene!r} "
                         f"scene draws {tuple(shape)}")
    return value


def format_number(value: float) -> str:
    """Four decimals like the blog (``%.4f``), switching to ``1.234e+18`` once a run blows up."""
    return "%.4f" % value if not abs(value) >= 1e5 else "%.3e" % value


# -- helpers for capture --------------------------------------------------------------------------


def to_array(name: str, value: Any) -> np.ndarray:
    """Copy ``value`` (tensor, array, number) into a new float64 numpy array, never keeping a reference."""
    if hasattr(value, "detach"):
        value = value.detach().cpu().numpy()
    try:
        return np.array(value, dtype=np.float64, copy=True)
    except (TypeError, ValueError):
        raise CaptureError(f"capture value {name!r} is not numeric (got {type(value).__name__})") from None


def to_scalar(name: str, value: Any) -> np.ndarray:
    """Copy a one-element value into a 0-d float64 array, or raise CaptureError naming it."""
    array = to_array(name, value)
    if array.size != 1:
        raise CaptureError(f"capture value {name!r} must hold one number, got shape {array.shape}")
    return array.reshape(())


def points_and_labels(points: Any, labels: Any, *, any_width: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Copy classification data into arrays: finite points of shape (n, 2) (``(n, d)``, d >= 2, with
    ``any_width``), n labels (not yet checked)."""
    points = to_array("points", points)
    if points.ndim != 2 or points.shape[0] == 0 or not (points.shape[1] == 2 or any_width and points.shape[1] > 2):
        wanted = "(n, d) with d >= 2 features" if any_width else "(n, 2)"
        raise UsageError(f"points must have shape {wanted}, got {points.shape}")
    if not np.all(np.isfinite(points)):
        raise UsageError("points hold NaN or infinite values")
    labels = to_array("labels", labels).reshape(-1)
    if labels.shape[0] != points.shape[0]:
        raise UsageError(f"labels must have one value per point: {points.shape[0]} points, {labels.size} labels")
    return points, labels


def check_names(scene: str, state: Mapping[str, Any], allowed: Sequence[Sequence[str]]) -> None:
    """Raise CaptureError unless the names in ``state`` are exactly one of the ``allowed`` sets."""
    given = set(state)
    for names in allowed:
        if given == set(names):
            return
    wanted = " or ".join("(" + ", ".join(f"{n}=" for n in names) + ")" for names in allowed)
    got = ", ".join(sorted(given)) or "nothing"
    raise CaptureError(f"{scene} captures {wanted}; got {got}")


def evaluate_predict(scene: Any, fn: Any) -> dict[str, np.ndarray]:
    """``scene.evaluate(fn)`` for a ``predict=`` callable, with errors that name ``predict=``.

    The callable is used for this capture only, never stored: the trace keeps arrays.
    """
    if not callable(fn):
        raise CaptureError(f"predict must be a function of an input tensor, got {type(fn).__name__}")
    try:
        return scene.evaluate(fn)
    except CaptureError as exc:
        name = getattr(fn, "__name__", type(fn).__name__)
        raise CaptureError(f"predict={name}: {exc}") from None


def require_module(model: Any) -> Any:
    """Return ``model`` if it is a ``torch.nn.Module``, else raise CaptureError saying so."""
    import torch

    if not isinstance(model, torch.nn.Module):
        raise CaptureError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    return model


def capture_model_later(scene: Any, state: Mapping[str, Any], nbytes: int) -> "Callable[[], dict[str, np.ndarray]] | None":
    """``Scene.capture_later`` for a scene that evaluates ``model=`` on a grid into ``nbytes`` per capture.

    A small model (its parameters and buffers take at most ``nbytes``, so a pending copy is no
    bigger than the capture it stands for, and the budget bounds memory as before) is copied now
    and evaluated later with ``scene.evaluate(model, parameters=copy)``: the same eval-mode forward pass on the same grid, with the parameters and
    buffers it had at this step. The function keeps the module itself until it is called (its
    structure and any state outside parameters and buffers are read then). Anything else returns
    None: a larger model, ``predict=`` (a callable closes over live state) or values ``capture``
    rejects.
    """
    import torch

    model = state.get("model")
    if len(state) != 1 or not isinstance(model, torch.nn.Module):
        return None
    named = [*model.named_parameters(), *model.named_buffers()]
    if sum(tensor.numel() * tensor.element_size() for _, tensor in named) > nbytes:
        return None
    snapshot = {name: tensor.detach().clone() for name, tensor in named}
    return lambda: scene.evaluate(model, parameters=snapshot)


@contextlib.contextmanager
def preserved_random_state(device: Any = None) -> Iterator[None]:
    """Run the block, then put back every random generator it may have drawn from.

    torch's CPU generator (and ``device``'s, if it is a GPU), numpy's global generator and Python's
    ``random``: a model evaluated for a picture must leave training's random numbers as they were.
    """
    import random

    import torch

    devices = [device] if device is not None and torch.device(device).type == "cuda" else []
    numpy_state, python_state = np.random.get_state(), random.getstate()
    try:
        with torch.random.fork_rng(devices=devices):
            yield
    finally:
        np.random.set_state(numpy_state)
        random.setstate(python_state)


class EvaluationGrid:
    """Fixed input points that a scene evaluates a model (or any callable) on, capture after capture.

    The points become a tensor once per device and dtype the model asks for, so a capture costs one
    forward pass plus ``post`` (say, a sigmoid and a quantisation), both run where the model lives;
    only the (compact) result is copied back to the CPU.

    Parameters
    ----------
    inputs:
        The points, shape ``(m, d)``.
    """

    def __init__(self, inputs: np.ndarray) -> None:
        self.inputs = np.ascontiguousarray(inputs, dtype=np.float64)
        self._tensors: dict[tuple[Any, Any], Any] = {}

    def __len__(self) -> int:
        return self.inputs.shape[0]

    def evaluate(self, fn: Any, post: "Callable[[Any], Any] | None" = None, *, device: Any = None,
                 dtype: Any = None, parameters: "Mapping[str, Any] | None" = None) -> np.ndarray:
        """Return ``post(fn(points))`` as a numpy array, leaving ``fn`` and torch's state as they were.

        Parameters
        ----------
        fn:
            A ``torch.nn.Module``, evaluated in eval mode on its first parameter's device and dtype
            (each module's mode is restored after), or any callable mapping an ``(m, d)`` float tensor
            to a tensor, evaluated on ``device``/``dtype`` (default CPU, float32). Either way the
            random state (torch's, numpy's, Python's) is restored after: a forward that draws random
            numbers even in eval mode (``F.dropout(h, p)``, noise, sampling) changes no training.
        post:
            Optional tensor -> tensor, run on the same device under ``torch.no_grad()``; it may raise
            CaptureError (for example for a wrong output shape).
        device, dtype:
            Where to evaluate a callable that is not a module; ignored for modules.
        parameters:
            For a module only: tensors by name (``named_parameters`` then ``named_buffers``) to use
            in place of the module's own, say a copy taken at an earlier step. The module is
            called through ``torch.func.functional_call``, on the device and dtype of the first
            parameter given; its own tensors are not touched.

        Returns
        -------
        numpy.ndarray
            A new array on the CPU, in the dtype ``post`` returned (the output's dtype without it).

        Raises
        ------
        CaptureError
            If ``fn`` is not callable, or evaluating it (or ``post``) fails.
        """
        import torch

        if isinstance(fn, torch.nn.Module):
            if parameters is None:
                first = next(iter(fn.parameters()), None)
            else:  # where its first parameter was copied to, as fn.parameters() would say then
                first = next((parameters[name] for name, _ in fn.named_parameters() if name in parameters), None)
            device = first.device if first is not None else torch.device("cpu")
            dtype = first.dtype if first is not None and first.is_floating_point() else torch.float32
        elif callable(fn):
            device = torch.device("cpu") if device is None else torch.device(device)
            dtype = torch.float32 if dtype is None else dtype
        else:
            raise CaptureError(f"expected a model or a callable to evaluate, got {type(fn).__name__}")
        points = self._tensor(device, dtype)
        version = points._version
        try:
            with untouched(fn, device):
                if parameters is None:
                    out = fn(points)
                else:
                    out = torch.func.functional_call(fn, dict(parameters), (points,))
                if post is not None:
                    out = post(out)
                result = out.detach().cpu().numpy()
        except CaptureError:
            raise
        except Exception as exc:  # the user's model failed on our grid: say where, keep their message
            raise CaptureError(f"evaluating the model on {len(self)} points failed: {exc}") from None
        finally:
            if points._version != version:  # the model wrote into its input: never reuse that tensor
                del self._tensors[(device, dtype)]
        return result

    def _tensor(self, device: Any, dtype: Any) -> Any:
        import torch

        key = (device, dtype)
        points = self._tensors.get(key)
        if points is None:
            points = self._tensors[key] = torch.as_tensor(self.inputs, dtype=dtype, device=device)
        return points

    def __getstate__(self) -> dict[str, Any]:
        # Tensors are a cache: a copy (or a pickle sent to another process) rebuilds them on use.
        return {"inputs": self.inputs, "_tensors": {}}


@contextlib.contextmanager
def untouched(fn: Any, device: Any) -> Iterator[None]:
    """Run the user's model (or function) ``fn`` leaving it and torch as they were: the one such guard.

    A ``torch.nn.Module`` runs in eval mode, each module's train/eval mode restored after. Eval mode
    alone does not keep a forward from drawing random numbers (``F.dropout(h, p)`` is on by default,
    noise layers, a VAE's sampling), so every generator it might use is restored too
    (``preserved_random_state``: torch's, on ``device`` as well, numpy's and Python's). All under
    ``torch.no_grad()``. Used by every evaluation of a user's model: captures on a grid, and the
    loss landscape.
    """
    import torch

    modes = [(module, module.training) for module in fn.modules()] if isinstance(fn, torch.nn.Module) else []
    try:
        if modes:
            fn.eval()
        with preserved_random_state(device), torch.no_grad():
            yield
    finally:
        for module, training in modes:
            module.training = training


def principal_components(centred: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The singular values and principal directions (rows) of the centred points ``centred`` (``(n, d)``).

    Each direction has a fixed sign, its largest entry positive, so the same points always give the
    same picture. The one PCA of the package: landscape planes and ``DecisionBoundary``'s ``view="pca"``.
    """
    _, singular, vt = np.linalg.svd(centred, full_matrices=False)
    for row in vt:
        if row[np.argmax(np.abs(row))] < 0:
            row *= -1
    return singular, vt


def evaluate_model(model: Any, inputs: np.ndarray) -> np.ndarray:
    """Evaluate ``model`` on ``inputs`` without changing it: no grad, eval mode, modes restored after.

    The inputs go to the model's own device and dtype; only the outputs come back to the CPU, as
    float64. For a grid evaluated on every capture, keep an ``EvaluationGrid`` instead.
    """
    return EvaluationGrid(inputs).evaluate(require_module(model)).astype(np.float64)


def finite_range(values: np.ndarray, pad: float = 0.1) -> tuple[float, float]:
    """The range of the finite ``values``, padded by ``pad`` of its width on each side."""
    values = values[np.isfinite(values)]
    if values.size == 0:
        return (-1.0, 1.0)
    lo, hi = float(values.min()), float(values.max())
    width = hi - lo if hi > lo else max(abs(lo), 1.0)
    return (lo - pad * width, hi + pad * width)


def check_limits(name: str, limits: Any) -> tuple[float, float] | None:
    """Validate an optional (low, high) axis limit pair."""
    if limits is None:
        return None
    try:
        lo, hi = (float(v) for v in limits)
    except (TypeError, ValueError):
        raise UsageError(f"{name} must be a pair of numbers (low, high), got {limits!r}") from None
    if not (np.isfinite(lo) and np.isfinite(hi) and lo < hi):
        raise UsageError(f"{name} must be finite with low < high, got {limits!r}")
    return (lo, hi)


def test_set(test: Any, check: "Callable[[Any, Any], tuple[np.ndarray, np.ndarray]]") -> "tuple[np.ndarray, np.ndarray] | None":
    """``test=(x_test, y_test)`` checked by ``check`` (the scene's own check of its data), or None.

    Raises
    ------
    UsageError
        If ``test`` is not a pair, or ``check`` refuses it (its message then says it is the test set's).
    """
    if test is None:
        return None
    if isinstance(test, (str, bytes)) or not hasattr(test, "__len__") or len(test) != 2:
        raise UsageError(f"test must be a pair (x_test, y_test), got {type(test).__name__}")
    try:
        return check(*test)
    except UsageError as exc:
        raise UsageError(f"test set: {exc}") from None


def draw_test_points(ax: "Axes", x: np.ndarray, y: np.ndarray, colors: Any, theme: "Theme", size: float) -> Any:
    """The test set drawn hollow: each point a ring in its colour (its class's, or the points'), over the data."""
    return ax.scatter(x, y, s=size * theme.marker_scale**2, facecolors="none", edgecolors=colors,
                      linewidths=1.6 * theme.marker_scale, zorder=2.1, label="test")
