"""Loss landscapes: the loss over a plane of parameters, and where a run went on it.

Two kinds of plane, both handed on as plain numpy arrays:

- *Two-parameter scenes* (``LineFit``, ``LinearBoundary``): the plane is ``(w, b)`` itself and the
  loss is computed exactly by the scene from its own data (``LineFit.landscape_loss``), the loss it names.
  Nothing extra is recorded: any such trace has a landscape (``two_parameter_landscape``).
- *Models*: the plane through the final parameters spanned by the first two principal components of
  the recorded parameter path (Li et al., "Visualizing the Loss Landscape of Neural Nets", 2018).
  ``Recorder(..., params=True)`` keeps the flattened parameters at each capture and
  ``Recorder.add_landscape`` evaluates the loss on the plane once, after training
  (``model_landscape`` does it for several runs on one shared plane).

``Landscape`` is what the drawing needs: the grid, its loss values, contour levels and one projected
path per run.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Mapping, Sequence

import numpy as np

from ._checks import integer
from ._exceptions import TraceError, UsageError

if TYPE_CHECKING:  # pragma: no cover
    from .trace import Trace

__all__ = [
    "DEFAULT_LOSS",  # noqa: F822 - made on first use (module __getattr__)
    "LOSSES",  # noqa: F822
    "Landscape",
    "PROGRESS_AFTER",
    "Plane",
    "Progress",
    "contour_levels",
    "evaluate_on_plane",
    "landscape_of",
    "model_landscape",
    "pca_plane",
    "share_landscape",
    "path_window",
    "terminal_progress",
    "two_parameter_landscape",
    "two_parameter_loss",
]

#: Grid cells per side of a landscape.
DEFAULT_RESOLUTION = 81
#: The window extends this fraction of the path's span beyond it on every side.
MARGIN = 0.25
#: Levels drawn by default.
LEVELS = 14
#: Each side of a window spans at least this fraction of the other, so a path that runs almost
#: straight (mostly in w, say) still shows the valley's walls around it.
MIN_ASPECT = 0.5
#: Path points farther out than this (a run on its way to infinity) do not widen the landscape's window.
FARTHEST = 1e100
#: A model landscape evaluates at most this many grid points in one batched forward pass, and fewer
#: when a batch's parameters or inputs (one copy per point) would exceed ``_BATCH_VALUES`` values:
#: past a few dozen points a batch is no faster, only bigger.
_BATCH_POINTS = 64
_BATCH_VALUES = 1 << 22
#: Called as ``progress(done, total)`` while a model landscape is evaluated: grid points so far, of all.
Progress = Callable[[int, int], None]
# Keys of a model landscape in a trace; with the plane's origin and directions a new path (another
# run) can be projected onto it later.
KEYS_DATA = ("landscape_loss", "landscape_x", "landscape_y", "landscape_origin", "landscape_directions",
             "landscape_explained")
#: The keys ``Plane.to_data`` stores the plane under.
PLANE_KEYS = ("landscape_origin", "landscape_directions", "landscape_explained")
KEY_PARAMETERS = "parameters"
KEY_PATH = "landscape_path"


def _two_parameter_scenes() -> dict[str, Any]:
    from .scenes import LineFit, LinearBoundary

    return {cls.name: cls for cls in (LineFit, LinearBoundary)}


def __getattr__(name: str) -> Any:
    # The losses belong to the scenes (``LineFit.losses``); these views of them stay for callers of
    # the earlier API, made on first use so that importing this module does not import the scenes.
    if name == "LOSSES":
        return {key: dict(cls.losses) for key, cls in _two_parameter_scenes().items()}
    if name == "DEFAULT_LOSS":
        return {key: cls.default_loss for key, cls in _two_parameter_scenes().items()}
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def two_parameter_loss(scene: str, data: Mapping[str, np.ndarray], loss: str, w: Any, b: Any) -> np.ndarray:
    """The loss at each ``(w, b)`` of the two-parameter scene ``scene`` on ``data`` (its ``landscape_loss``).

    Parameters
    ----------
    scene:
        ``"line_fit"`` (data ``x``, ``y``) or ``"linear_boundary"`` (data ``points``, ``labels``).
    data:
        The scene's arrays, as in ``Trace.data``.
    loss:
        A name from the scene's ``losses``.
    w, b:
        Slopes and intercepts, broadcast together.

    Returns
    -------
    numpy.ndarray
        float64 loss values of the broadcast shape of ``w`` and ``b``.

    Raises
    ------
    UsageError
        If the scene has no two-parameter loss or the loss is unknown.
    """
    scenes = _two_parameter_scenes()
    if scene not in scenes:
        raise UsageError(f"scene {scene!r} has no (w, b) loss; only {', '.join(scenes)} do")
    return scenes[scene].from_data(data, {"loss": loss}).landscape_loss(w, b)


def path_window(xs: np.ndarray, ys: np.ndarray, margin: float = MARGIN, min_aspect: float = 0.0) -> tuple[tuple[float, float], tuple[float, float]]:
    """``(x range, y range)`` that holds every finite point of the path, ``margin`` of its span around it.

    Points farther than ``FARTHEST`` from 0 are left out like infinite ones (a run blowing up): the
    loss on a grid that wide overflows, and an axis that long cannot be labelled.

    ``min_aspect`` widens the narrower side to at least that fraction of the wider one (for axes in
    the same units). A path with no finite point gets (-1, 1) on both sides.
    """
    xs, ys = np.asarray(xs, dtype=np.float64), np.asarray(ys, dtype=np.float64)
    ok = (np.abs(xs) <= FARTHEST) & (np.abs(ys) <= FARTHEST)  # also False for NaN
    xs, ys = xs[ok], ys[ok]
    if xs.size == 0:
        return (-1.0, 1.0), (-1.0, 1.0)
    spans = [float(v.max() - v.min()) for v in (xs, ys)]
    widest = max(spans)
    ranges = []
    for values, span in zip((xs, ys), spans):
        centre = (float(values.max()) + float(values.min())) / 2
        span = max(span, min_aspect * widest)
        if span <= 0:  # one point, or a path along the other axis only
            span = max(abs(centre), 1.0) * 0.5
        half = span / 2 * (1 + 2 * margin)
        ranges.append((centre - half, centre + half))
    return ranges[0], ranges[1]


def contour_levels(values: np.ndarray, count: int = LEVELS) -> tuple[np.ndarray, bool]:
    """Contour levels for a loss grid, and whether they are log-spaced.

    Levels are log-spaced when the largest finite value is over 20 times the smallest positive one (a valley
    with steep walls: equal steps would all crowd onto the walls), else evenly spaced strictly
    between the lowest and highest value.
    """
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return np.array([0.0, 1.0]), False
    lo, hi = float(finite.min()), float(finite.max())
    if hi <= lo:
        return np.array([lo, lo + max(abs(lo), 1.0)]), False
    positive = finite[finite > 0]
    if positive.size and lo >= 0:
        low = float(positive.min())
        if hi / low > 20:
            # The first level a little above the floor, so the lowest contour is a ring, not a dot.
            return np.geomspace(low * (hi / low) ** 0.02, hi, count), True
    return np.linspace(lo, hi, count + 2)[1:-1], False


# -- planes of principal components ----------------------------------------------------------------


@dataclass(frozen=True)
class Plane:
    """A plane in parameter space: ``origin + a * directions[0] + b * directions[1]``.

    Attributes
    ----------
    origin:
        A point of the plane, shape ``(P,)``.
    directions:
        Two orthonormal directions, shape ``(2, P)``.
    explained:
        The fraction of the paths' variance along each direction, shape ``(2,)``.
    """

    origin: np.ndarray
    directions: np.ndarray
    explained: np.ndarray

    def project(self, points: np.ndarray) -> np.ndarray:
        """The plane coordinates ``(a, b)`` of parameter vectors of shape ``(n, P)``: shape ``(n, 2)``."""
        points = np.asarray(points, dtype=np.float64)
        if points.ndim != 2 or points.shape[1] != self.origin.size:
            raise UsageError(f"parameter vectors of shape {points.shape} do not fit a plane in {self.origin.size} dimensions")
        with np.errstate(over="ignore", invalid="ignore"):
            return (points - self.origin) @ self.directions.T

    def point(self, a: float, b: float) -> np.ndarray:
        """The parameter vector at plane coordinates ``(a, b)``."""
        return self.origin + a * self.directions[0] + b * self.directions[1]

    def to_data(self) -> dict[str, np.ndarray]:
        """The plane as trace data arrays (``landscape_origin``, ``landscape_directions``, ``landscape_explained``)."""
        return {"landscape_origin": self.origin, "landscape_directions": self.directions,
                "landscape_explained": self.explained}

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> "Plane":
        """The plane ``to_data`` stored in ``data`` (a trace's data).

        Raises
        ------
        KeyError
            If ``data`` holds no plane.
        """
        return cls(*(np.asarray(data[key], dtype=np.float64) for key in PLANE_KEYS))

    def same_as(self, other: "Plane") -> bool:
        """Whether both planes have the same origin and directions (runs drawn on one map)."""
        return np.array_equal(self.origin, other.origin) and np.array_equal(self.directions, other.directions)


def pca_plane(paths: Sequence[np.ndarray], origin: "np.ndarray | None" = None) -> Plane:
    """The plane of the first two principal components of one or more parameter paths.

    Parameters
    ----------
    paths:
        Parameter vectors along each run, each of shape ``(n_i, P)``; non-finite rows (a run that
        blew up) are left out.
    origin:
        The plane's origin; by default the last finite point of the path (one run) or the mean of
        the runs' last finite points (several: one plane shared by all).

    Returns
    -------
    Plane
        Directions are the top two principal components of all points together; if the points span
        only a line, the second direction is any unit vector orthogonal to it.

    Raises
    ------
    UsageError
        If there are fewer than two parameters, or fewer than two distinct finite points.
    """
    cleaned = []
    for path in paths:
        path = np.asarray(path, dtype=np.float64)
        if path.ndim != 2:
            raise UsageError(f"a parameter path must have shape (n, P), got {path.shape}")
        cleaned.append(path[np.isfinite(path).all(axis=1)])
    sizes = {p.shape[1] for p in cleaned}
    if len(sizes) != 1:
        raise UsageError(f"parameter paths have different numbers of parameters: {sorted(sizes)}")
    size = sizes.pop()
    if size < 2:
        raise UsageError("a plane of principal components needs at least two parameters")
    if any(p.shape[0] == 0 for p in cleaned):
        raise UsageError("a parameter path holds no finite point: the run blew up before its first capture")
    if origin is None:
        origin = np.mean([p[-1] for p in cleaned], axis=0)
    origin = np.asarray(origin, dtype=np.float64)
    from .scenes._base import principal_components

    points = np.concatenate(cleaned)
    singular, vt = principal_components(points - points.mean(axis=0))
    variance = singular**2
    total = float(variance.sum())
    if total == 0 or singular[0] <= 1e-12 * max(1.0, float(np.abs(points).max())):
        raise UsageError("the parameters never moved: a landscape plane needs at least two different parameter vectors")
    first = vt[0]
    if len(singular) > 1 and singular[1] > 1e-9 * singular[0]:
        second = vt[1]
        explained = variance[:2] / total
    else:
        # The path is a straight line: complete the plane with the unit axis least aligned with it.
        axis = np.zeros(size)
        axis[int(np.argmin(np.abs(first)))] = 1.0
        second = axis - (axis @ first) * first
        second /= np.linalg.norm(second)
        second *= 1.0 if second[np.argmax(np.abs(second))] >= 0 else -1.0  # a fixed sign, as for the others
        explained = np.array([1.0, 0.0])
    directions = np.stack([first, second])
    return Plane(origin=origin, directions=directions, explained=np.asarray(explained, dtype=np.float64))


def model_parameters(model: Any) -> np.ndarray:
    """A copy of ``model``'s parameters flattened into one float64 vector (``parameters()`` order)."""
    import torch

    if not isinstance(model, torch.nn.Module):
        raise UsageError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    params = [p.detach().reshape(-1).cpu() for p in model.parameters()]
    if not params:
        raise UsageError("the model has no parameters to record")
    return torch.cat([p.to(torch.float64) for p in params]).numpy().copy()


def evaluate_on_plane(
    model: Any,
    loss_fn: Callable[[Any, Any], Any],
    inputs: Any,
    targets: Any,
    plane: Plane,
    xs: np.ndarray,
    ys: np.ndarray,
    *,
    progress: "Progress | None" = None,
) -> np.ndarray:
    """The loss ``loss_fn(model(inputs), targets)`` at every point of a grid on ``plane``.

    The model is called with the plane's parameters swapped in (``torch.func.functional_call``), so
    its own parameters are never written; it runs under ``scenes.untouched``: eval mode (dropout
    off: the landscape is the deterministic loss), ``torch.no_grad()``, every random generator
    (torch's, numpy's, Python's) and each module's train/eval mode restored after. Parameters,
    modes, ``.grad`` and the RNG are left exactly as they were.

    Grid points are evaluated in batches, one forward pass for many parameter vectors
    (``torch.func.vmap``): a few large operations instead of thousands of small ones, which is what
    a shared machine's thread pool handles well. A model or loss that cannot be batched (one that
    calls ``.item()``, writes in place, or branches on values) is evaluated one point at a time,
    with the same results.

    Parameters
    ----------
    model:
        The ``torch.nn.Module`` whose parameters the plane's vectors are (``model_parameters`` order).
    loss_fn:
        ``loss_fn(outputs, targets)`` -> a scalar tensor.
    inputs, targets:
        The data the loss is computed on (tensors, moved to the model's device).
    plane:
        The plane (see ``pca_plane``).
    xs, ys:
        The grid's coordinates along the plane's two directions.
    progress:
        Optional ``progress(done, total)``, called with the grid points evaluated so far as the work
        goes on (see ``Progress``).

    Returns
    -------
    numpy.ndarray
        float64 losses of shape ``(len(ys), len(xs))``, indexed ``[y, x]``; NaN where the loss is not finite.

    Raises
    ------
    UsageError
        If the model's parameters do not fit the plane, or the model or loss fails on the data.
    """
    import torch

    from .scenes._base import untouched

    named = list(model.named_parameters())
    sizes = [p.numel() for _, p in named]
    if sum(sizes) != plane.origin.size:
        raise UsageError(f"the model has {sum(sizes)} parameters but the plane lies in {plane.origin.size} dimensions")
    device = named[0][1].device
    inputs = torch.as_tensor(inputs, device=device)
    targets = torch.as_tensor(targets, device=device)
    gx, gy = np.meshgrid(np.asarray(xs, dtype=np.float64), np.asarray(ys, dtype=np.float64))
    coords = np.column_stack([gx.ravel(), gy.ravel()])  # [y, x] order, as the result is laid out
    total = len(coords)
    values = np.full(total, np.nan)
    batch = max(1, min(_BATCH_POINTS, _BATCH_VALUES // max(plane.origin.size, inputs.numel())))
    try:
        with untouched(model, device):
            batched = _batched_loss(model, loss_fn, inputs, targets)
            done = 0
            while done < total:
                chunk = coords[done : done + (batch if batched else 1)]
                params = _parameters_at(plane, chunk, named, sizes, device)
                if batched:
                    try:
                        losses = batched(params)
                        if tuple(losses.shape) != (len(chunk),):
                            raise ValueError("the loss is not one number per parameter vector")
                    except Exception:  # cannot be batched: evaluate as written, one point at a time
                        batched = None
                        continue
                    found = losses.detach().to(torch.float64).cpu().numpy()
                else:
                    single = {name: tensor[0] for name, tensor in params.items()}
                    found = np.array([float(loss_fn(torch.func.functional_call(model, single, (inputs,)), targets))])
                values[done : done + len(chunk)] = found
                done += len(chunk)
                if progress is not None:
                    progress(done, total)
    except UsageError:
        raise
    except Exception as exc:  # the user's model or loss failed on the plane: say where, keep their message
        raise UsageError(f"evaluating the loss on the landscape plane failed: {exc}") from None
    values[~np.isfinite(values)] = np.nan
    return values.reshape(len(ys), len(xs))


def _parameters_at(plane: Plane, coords: np.ndarray, named: list, sizes: list[int], device: Any) -> dict[str, Any]:
    """The model's parameters at plane points ``coords`` (``(B, 2)``): each of shape ``(B, *p.shape)``.

    The vectors are computed in float64 as ``Plane.point`` does, then cast to each parameter's dtype,
    so a batch holds exactly the values a one-at-a-time evaluation would use.
    """
    import torch

    vectors = plane.origin + coords[:, :1] * plane.directions[0] + coords[:, 1:] * plane.directions[1]
    params, offset = {}, 0
    for (name, p), n in zip(named, sizes):
        chunk = torch.as_tensor(vectors[:, offset : offset + n], dtype=p.dtype, device=device)
        params[name] = chunk.reshape((len(coords),) + tuple(p.shape))
        offset += n
    return params


def _batched_loss(model: Any, loss_fn: Callable[[Any, Any], Any], inputs: Any, targets: Any) -> Any:
    """``params -> losses``: the loss for each of a batch of parameter sets, in one forward pass."""
    from torch.func import functional_call, vmap

    def loss_at(params: dict[str, Any]) -> Any:
        return loss_fn(functional_call(model, params, (inputs,)), targets)

    return vmap(loss_at)


def model_landscape(
    paths: Sequence[np.ndarray],
    model: Any,
    loss_fn: Callable[[Any, Any], Any],
    inputs: Any,
    targets: Any,
    *,
    resolution: int = 41,
    progress: "Progress | bool" = False,
) -> tuple[dict[str, np.ndarray], list[np.ndarray]]:
    """Evaluate the loss on the principal-component plane of ``paths``; return its arrays and the projected paths.

    One path gives the plane through its final parameters (Li et al. 2018); several give one plane
    shared by all (through the mean of their final parameters, along the principal components of
    all their points), so races are drawn on one map. ``progress`` is a ``Progress`` callback, True
    for one updating line on standard error when it is a terminal and the work lasts over
    ``PROGRESS_AFTER`` seconds, or False (default) for none.

    Returns
    -------
    tuple
        The trace data arrays (``landscape_loss``, ``landscape_x``, ``landscape_y``,
        ``landscape_origin``, ``landscape_directions``, ``landscape_explained``) and each path
        projected onto the plane, shape ``(n_i, 2)``.

    Raises
    ------
    UsageError
        As ``pca_plane`` and ``evaluate_on_plane`` do, or for a resolution outside 3..201.
    """
    resolution = integer("resolution", resolution, 3, 201)
    plane = pca_plane(paths)
    projected = [plane.project(p) for p in paths]
    every = np.concatenate(projected)
    xrange, yrange = path_window(every[:, 0], every[:, 1], min_aspect=MIN_ASPECT)
    xs, ys = np.linspace(*xrange, resolution), np.linspace(*yrange, resolution)
    if not (isinstance(progress, bool) or callable(progress)):
        raise UsageError(f"progress must be True, False or a function progress(done, total), got {type(progress).__name__}")
    if progress is True:
        progress = terminal_progress("loss landscape")
    loss = evaluate_on_plane(model, loss_fn, inputs, targets, plane, xs, ys, progress=progress or None)
    return {"landscape_loss": loss, "landscape_x": xs, "landscape_y": ys, **plane.to_data()}, projected


def share_landscape(
    traces: Sequence["Trace"],
    model: Any,
    loss_fn: Callable[[Any, Any], Any],
    inputs: Any,
    targets: Any,
    *,
    resolution: int = 41,
    progress: "Progress | bool" = False,
) -> list["Trace"]:
    """The traces again, all on one landscape plane: the principal components of all their paths.

    Each trace must hold its recorded parameters (``Recorder(..., params=True)``); ``model`` is any
    model of the same architecture (its parameters are never written, see ``evaluate_on_plane``).
    This is how a race of model runs is drawn on one map. ``progress`` is ``model_landscape``'s.

    Raises
    ------
    UsageError
        If a trace holds no recorded parameters, or as ``model_landscape`` does.
    """
    from .trace import Trace

    for number, trace in enumerate(traces, start=1):
        if KEY_PARAMETERS not in trace.state:
            raise UsageError(f"run {number} recorded no parameters; record it with Recorder(scene, params=True)")
    data, projected = model_landscape([t.state[KEY_PARAMETERS] for t in traces], model, loss_fn, inputs, targets,
                                      resolution=resolution, progress=progress)
    return [
        Trace(scene=t.scene, data={**t.data, **data}, options=t.options, steps=t.steps, losses=t.losses,
              state={**t.state, KEY_PATH: path}, meta=t.meta, test_losses=t.test_losses,
              learning_rates=t.learning_rates, event_steps=t.event_steps, event_labels=t.event_labels)
        for t, path in zip(traces, projected)
    ]


#: A terminal progress line appears only once the work has lasted this many seconds: quick work
#: stays silent.
PROGRESS_AFTER = 1.0


def terminal_progress(label: str) -> "Progress | None":
    """A ``Progress`` writing one line on standard error, rewritten in place: None if it is not a terminal.

    The line (``"loss landscape: 840/1681 points (50%)"``) appears once the work has lasted
    ``PROGRESS_AFTER`` seconds and ends with the time taken; a log file or a pipe gets nothing.
    """
    import sys
    import time

    stream = sys.stderr
    if not (hasattr(stream, "isatty") and stream.isatty()):
        return None
    start = time.monotonic()
    shown = [0.0]  # when the line was last written; 0 while nothing is shown

    def report(done: int, total: int) -> None:
        now = time.monotonic()
        finished = done >= total
        if now - start < PROGRESS_AFTER or (not finished and now - shown[0] < 0.1):
            return  # too early, or written a moment ago
        if finished:
            stream.write(f"\r{label}: {total}/{total} points in {now - start:.1f} s\n")
        else:
            stream.write(f"\r{label}: {done}/{total} points ({100 * done // total}%)")
        stream.flush()
        shown[0] = now

    return report


# -- what the drawing needs -------------------------------------------------------------------------


@dataclass(frozen=True)
class Landscape:
    """A loss landscape ready to draw: a grid, its loss, levels, axis names and one path per run.

    Attributes
    ----------
    xs, ys:
        The grid's coordinates, shapes ``(nx,)`` and ``(ny,)``.
    loss:
        The loss on the grid, shape ``(ny, nx)`` indexed ``[y, x]``.
    levels:
        Contour levels, increasing.
    log:
        Whether the levels are log-spaced.
    paths:
        Each run's path on the plane, shape ``(n_i, 2)``, one row per capture.
    xlabel, ylabel, title:
        What to write on the panel.
    """

    xs: np.ndarray
    ys: np.ndarray
    loss: np.ndarray
    levels: np.ndarray
    log: bool
    paths: tuple[np.ndarray, ...]
    xlabel: str
    ylabel: str
    title: str


def two_parameter_landscape(traces: Sequence["Trace"], resolution: int = DEFAULT_RESOLUTION) -> Landscape:
    """The exact landscape of runs of a two-parameter scene (``LineFit``, ``LinearBoundary``) on the same data.

    The scene (rebuilt from the first trace) names the two parameters and computes the loss it names
    from its own data. The window covers every run's whole path with a margin (each side at least
    ``MIN_ASPECT`` of the other).
    """
    from .scenes import scene_from_trace

    scene = scene_from_trace(traces[0])
    first, second = scene.landscape_parameters
    paths = tuple(np.column_stack([t.state[first], t.state[second]]).astype(np.float64) for t in traces)
    every = np.concatenate(paths)
    (w0, w1), (b0, b1) = path_window(every[:, 0], every[:, 1], min_aspect=MIN_ASPECT)
    ws, bs = np.linspace(w0, w1, resolution), np.linspace(b0, b1, resolution)
    loss = scene.landscape_loss(*np.meshgrid(ws, bs))
    levels, log = contour_levels(loss)
    return Landscape(ws, bs, loss, levels, log, paths, first, second, f"loss: {scene.loss.replace('_', ' ')}")


def landscape_of(traces: Sequence["Trace"]) -> Landscape:
    """The landscape to draw for one trace or the traces of a race.

    Two-parameter scenes get their exact ``(w, b)`` landscape. Other scenes need one recorded with
    ``Recorder.add_landscape`` (or ``model_landscape``); in a race, the runs are drawn on the first
    trace's plane (projected there from their recorded parameters when their planes differ).

    Raises
    ------
    TraceError
        If a model trace holds no landscape: the message says how to record one.
    """
    first = traces[0]
    if "landscape_loss" not in first.data:
        from .scenes import scene_from_trace

        if hasattr(scene_from_trace(first), "landscape_loss"):  # a two-parameter scene: computed, not recorded
            return two_parameter_landscape(traces)
    missing = [i for i, t in enumerate(traces) if KEY_PATH not in t.state or "landscape_loss" not in t.data]
    if "landscape_loss" not in first.data or missing:
        raise TraceError(
            "this trace has no loss landscape; record one with Recorder(scene, params=True) and "
            "rec.add_landscape(model, loss_fn, inputs, targets) after training (the demos and fit do it with --landscape)"
        )
    for trace in traces:
        _check_recorded_landscape(trace)
    data = first.data
    plane = Plane.from_data(data)
    paths = []
    for trace in traces:
        if plane.same_as(Plane.from_data(trace.data)):
            paths.append(np.asarray(trace.state[KEY_PATH], dtype=np.float64))
        elif KEY_PARAMETERS in trace.state and trace.state[KEY_PARAMETERS].shape[1] == plane.origin.size:
            paths.append(plane.project(trace.state[KEY_PARAMETERS]))
        else:
            raise TraceError("these runs' landscapes lie on different planes and their parameters cannot be projected "
                             "onto one; record them together (convergence-anim race does)")
    loss = np.asarray(data["landscape_loss"], dtype=np.float64)
    levels, log = contour_levels(loss)
    e1, e2 = (100 * float(v) for v in plane.explained)
    return Landscape(np.asarray(data["landscape_x"], dtype=np.float64), np.asarray(data["landscape_y"], dtype=np.float64),
                     loss, levels, log, tuple(paths), f"PC1 ({e1:.0f}%)", f"PC2 ({e2:.0f}%)",
                     "loss, PCA plane")


def _check_recorded_landscape(trace: "Trace") -> None:
    """Raise TraceError unless the landscape arrays of ``trace`` fit together (a file may hold anything)."""
    data = trace.data
    arrays = {key: data[key] for key in KEYS_DATA}
    arrays[KEY_PATH] = trace.state[KEY_PATH]
    for key, value in arrays.items():
        if value.dtype.kind not in "iuf":
            raise TraceError(f"the trace's landscape is malformed: {key!r} holds {value.dtype}, not numbers")
    xs, ys, loss = arrays["landscape_x"], arrays["landscape_y"], arrays["landscape_loss"]
    origin, directions = arrays["landscape_origin"], arrays["landscape_directions"]
    axes_ok = all(a.ndim == 1 and a.size >= 2 and np.all(np.abs(a) <= FARTHEST) and np.all(a[1:] > a[:-1])
                  for a in (xs, ys))
    shapes_ok = (loss.shape == (ys.size, xs.size) and origin.ndim == 1 and directions.shape == (2, origin.size)
                 and arrays["landscape_explained"].shape == (2,) and arrays[KEY_PATH].shape[1:] == (2,))
    if not (axes_ok and shapes_ok):
        raise TraceError("the trace's landscape is malformed: its grid, plane and path do not fit together "
                         "(record it again with Recorder.add_landscape)")
