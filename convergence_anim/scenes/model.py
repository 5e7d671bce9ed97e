"""Scenes that evaluate a whole model: a classifier's decision regions, a regression curve.

The recorder evaluates the model on a fixed grid over the data's range (a tensor built once, on the
model's device and dtype) and keeps only the grid output, in compact form: a classifier's
probabilities as one byte per cell (see ``DecisionBoundary.decode``), a curve as float32. Axes and
colour scales are fixed from the data and the whole trace before the first frame, so nothing jumps
during the animation. For a small model (parameters no bigger than a capture) a capture only copies
the parameters, and the grid is evaluated for the captures the trace keeps (see ``Recorder``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Mapping, Sequence

import numpy as np

from .._checks import integer
from .._exceptions import CaptureError, TraceError, UsageError
from ..style import smallest_text_size
from ._base import (
    TEST_LOSS,
    EvaluationGrid,
    RunsUpdater,
    Scene,
    Updater,
    capture_model_later,
    check_limits,
    check_names,
    check_state,
    draw_test_points,
    evaluate_predict,
    finite_range,
    points_and_labels,
    principal_components,
    register_scene,
    require_module,
    test_set,
    to_array,
)

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes

    from ..runs import Runs
    from ..style import Theme
    from ..trace import Trace

__all__ = ["CurveFit", "DecisionBoundary"]

#: Classes a DecisionBoundary can colour apart (the "tab10" colours).
MAX_CLASSES = 10
_OUTPUTS = ("logits", "probabilities")
# Two classes: RdBu runs from red (p=0, class 0) through white (p=0.5) to blue (p=1, class 1).
_TWO_CLASS_CMAP = "RdBu"
# The heatmap uses the map's middle part, blended towards white: pale enough that the points on top
# (in the map's strong colours), the boundary line and the labels stay readable.
_HEATMAP_SPAN = (0.12, 0.88)
_HEATMAP_STRENGTH = 0.55
# Shades come in flat bands (of 0.1 in probability or margin), like filled contours: as easy to read
# as a smooth gradient, and GIFs store flat areas several times smaller.
_BANDS = 10
# k classes: a region's colour fades to white where the top two classes are close (margin 0).
_REGION_STRENGTH = (0.1, 0.5)
_ASPECTS = ("auto", "equal")
# The loss label of the model scenes: above the axes' top left corner, clear of the centred title.
# Inside the axes it would sit on the coloured regions or on points somewhere.
_LABEL_ABOVE_AXES = (-0.12, 1.03)


def _check_resolution(resolution: Any) -> int:
    return integer("resolution", resolution, 2, 2000)


# Probabilities and margins are stored as one byte per cell. The drawing reads them only where they
# cross a band edge (a multiple of 0.1; 0.5 is the two-class boundary, 0 the k-class one), so each
# band of 0.1 gets 25 codes spaced densely at its two edges and coarsely in its middle: every band
# edge is a code edge (a cell is always drawn in the band of its float value), a value near an edge
# is kept to a few millionths, one mid-band to 0.005. A uniform 1/250 code moved the boundary of an
# early, nearly flat model onto a staircase of cell centres; this one draws it as floats do.
_PER_BAND = 25
_BAND_STEPS = np.arange(_PER_BAND + 1) / _PER_BAND
_BAND_STEPS = 0.5 * (1 - np.cos(np.pi * 0.5 * (1 - np.cos(np.pi * _BAND_STEPS))))  # 0..1, flat at both ends
_EDGES = np.unique(np.concatenate([(k + _BAND_STEPS) / 10 for k in range(10)]))  # 251 edges, 0 to 1
_NAN_CODE = 255
_DECODE = np.full(256, np.nan, dtype=np.float32)
_DECODE[: len(_EDGES) - 1] = (_EDGES[:-1] + _EDGES[1:]) / 2
# Encoding looks the code up by a fine uniform index (10 * 2**17 bins: every band edge is a bin edge,
# and a bin, 7.6e-7 wide, is narrower than the narrowest code): one multiply and one gather on the
# device, where a binary search over the edges (torch.bucketize) cost 15% of a forward pass.
_LOOKUP_BINS = 10 * 2**17
_LOOKUP_TABLES: dict[Any, Any] = {}


def _encode(values: Any) -> Any:
    """Byte codes of a tensor of values in [0, 1] (clipped), computed on the tensor's own device."""
    import torch

    table = _LOOKUP_TABLES.get(values.device)
    if table is None:
        centres = (np.arange(_LOOKUP_BINS) + 0.5) / _LOOKUP_BINS
        codes = np.searchsorted(_EDGES, centres, side="right") - 1
        # Two more entries: index _LOOKUP_BINS is the value 1.0 exactly, the next one NaN.
        codes = np.concatenate([codes, [codes[-1], _NAN_CODE]]).astype(np.uint8)
        table = _LOOKUP_TABLES[values.device] = torch.as_tensor(codes, device=values.device)
    index = values.to(torch.float32).clamp(0.0, 1.0).mul_(_LOOKUP_BINS).nan_to_num_(nan=_LOOKUP_BINS + 1)
    return torch.take(table, index.to(torch.int64))


def _finite_flag(values: Any) -> np.ndarray:
    """1.0 if every value is a number, else NaN (see the ``grid_finite`` state)."""
    import torch

    return np.float32(np.nan if bool(torch.isnan(values).any()) else 1.0)


@register_scene
class DecisionBoundary(Scene):
    """Classification with any model: the class regions over the plane, the data points on top.

    Capture with ``model=<nn.Module>`` mapping ``(m, d)`` points to class scores: for two classes one
    logit (``p = sigmoid``) or two scores (softmax), for ``k > 2`` classes ``k`` scores (softmax).
    Or, for a classifier that is not a module (plain tensors, ``logits = X @ W + b``, or a model
    wrapped in a function), ``predict=<callable>`` mapping an ``(m, d)`` float32 CPU tensor to the
    same scores (or probabilities, as ``outputs`` says): it is called under ``torch.no_grad()``
    with torch's RNG state restored after, and never stored.
    Each capture stores, on the grid given by ``grid``: for two classes ``probability`` (of class 1),
    for more ``region`` (the most likely class) and ``margin`` (its probability minus the runner-up's),
    each of shape ``(resolution, resolution)`` indexed ``[y, x]``, and ``grid_finite`` (1.0, or NaN
    if the model gave a value that is not a number anywhere on the grid). ``region`` is a ``uint8``
    class number; ``probability`` and ``margin`` are ``uint8`` codes, read back as floats with
    ``DecisionBoundary.decode``: always in the same band of 0.1 (so on the same side of 0.5) as the
    model's value, within 0.005 of it mid-band and closer towards the band edges, where the drawing
    reads it (within 0.0012 for values within 0.003 of an edge). One byte per cell keeps a 200x200
    capture at 40 KB in memory and about 10 KB on disk.

    Two classes are drawn as a heatmap of ``p`` with a diverging colour map centred at 0.5 (red is
    class 0, blue class 1) and the ``p = 0.5`` contour as the boundary; more classes as their regions
    in ``k`` colours, paler where the top two classes are close, with the lines between regions.

    Parameters
    ----------
    points:
        The data points, shape ``(n, d)`` with ``d >= 2`` features (tensor or array). The model sees
        all ``d``; with more than two the picture is a plane through the data (see ``view``).
    labels:
        The class of each point, integers ``0 .. k-1``, shape ``(n,)``.
    classes:
        The number of classes ``k`` (2 to 10); by default ``max(labels) + 1``.
    class_names:
        Optional names of the ``k`` classes, shown in a legend.
    xlim, ylim:
        The region the model is evaluated on, which is also the axes' limits; by default the points'
        range with a 10% margin (in the coordinates of the plane shown, for a ``view``).
    aspect:
        ``"auto"`` (default) fills the frame; ``"equal"`` draws one unit the same length on both axes
        (right when x and y are in the same units, as for points in a plane), and widens the default
        limits to a 4:3 box, the shape of the default frame's axes.
    xlabel, ylabel:
        Optional axis labels; by default what the axes show (two ``feature_names``, or the
        principal components and their share of the variance).
    resolution:
        The grid has ``resolution x resolution`` cells (default 200).
    outputs:
        ``"logits"`` (default) if the model returns raw scores, ``"probabilities"`` if it already
        ends in a sigmoid or softmax.
    feature_names:
        Optional names of the ``d`` features, for ``view`` and the axis labels.
    view:
        Which plane through feature space the picture shows (for two features the points are
        drawn as they are unless a view is given):

        - ``"pca"`` (the default for ``d > 2``): the plane of the first two principal components of
          the standardised points (each feature centred and scaled to unit spread), through their
          mean. Points are drawn at their projections; the axes are labelled ``"PC1 (73% of
          variance)"``, ``"PC2 (...)"``.
        - ``(i, j)``, two column indices or two names from ``feature_names``: the grid varies
          features ``i`` and ``j``; every other feature is held at its median over the points.

        Either way the model is evaluated on that plane only, so points off it may sit in a region
        of another class: the picture is a slice through the model, not a summary of it. The
        frame says so in a corner ("PCA plane: 22% of variance", or which features the slice
        varies), and by default rings the points the model gets wrong (see ``mark_errors``).
    mark_errors:
        Ring the points the model misclassifies at each capture and put the training accuracy in
        the title. Each capture then also stores ``predicted``: the class the model gives each
        point, shape ``(n,)``, ``uint8`` (255 where its scores are not numbers). By default on for
        more than two features, where the regions under the points are not the model's answers
        for them (the points lie off the plane), so only the rings tell right from wrong; off for
        two, where a point in a region of another colour is already visibly misclassified.
    test:
        Optional held-out data ``(x_test, y_test)``: points of the same ``d`` features and their
        classes. They are drawn hollow, a ring in their class's colour (projected on the plane
        like the training points, for a ``view``); the axes' default limits hold them too. A
        capture with ``model=`` or ``predict=`` evaluates the model on them in the same forward
        pass as the grid and computes their mean cross-entropy (binary on one logit, softmax on
        several scores; ``-log`` of the true class's probability for ``outputs="probabilities"``),
        which the loss panel draws as the test loss beside the training loss, so the
        generalisation gap shows; a ``test_loss=`` given to ``capture`` wins. Stored in the trace's
        data as ``test_points`` and ``test_labels``.
    neurons:
        Also capture the hidden units of the model, which must then be an ``nn.Sequential`` of
        ``Linear`` layers and element-wise activations: each capture stores ``neurons``, the
        activations of the first 8 units of every hidden layer over the plane shown, on a 24x24
        grid, float16, shape ``(units, 24, 24)``, and ``render`` draws them in a side panel (see
        ``panels.neurons``). Evaluated like the boundary, in eval mode with nothing changed.

    Raises
    ------
    UsageError
        If the points, labels, test set or options do not fit.
    """

    name = "decision_boundary"
    label_position = _LABEL_ABOVE_AXES

    def __init__(
        self,
        points: Any,
        labels: Any,
        *,
        classes: "int | None" = None,
        class_names: "Sequence[str] | None" = None,
        xlim: Any = None,
        ylim: Any = None,
        aspect: str = "auto",
        xlabel: "str | None" = None,
        ylabel: "str | None" = None,
        resolution: int = 200,
        outputs: str = "logits",
        feature_names: "Sequence[str] | None" = None,
        view: Any = None,
        mark_errors: "bool | None" = None,
        test: Any = None,
        neurons: bool = False,
    ) -> None:
        from .neurons import check_neurons

        points, labels = _classified_points(points, labels)
        k = int(labels.max()) + 1 if classes is None else classes
        k = integer("classes", k, 2, MAX_CLASSES)
        test = test_set(test, lambda x, y: _classified_points(x, y, k, points.shape[1]))
        if labels.max() >= k:
            raise UsageError(f"labels go up to {int(labels.max())}, beyond the {k} classes 0..{k - 1}")
        if class_names is not None:
            class_names = [str(n) for n in class_names]
            if len(class_names) != k:
                raise UsageError(f"class_names must name the {k} classes, got {len(class_names)} names")
        if outputs not in _OUTPUTS:
            raise UsageError(f"outputs must be one of {', '.join(_OUTPUTS)}, got {outputs!r}")
        if aspect not in _ASPECTS:
            raise UsageError(f"aspect must be one of {', '.join(_ASPECTS)}, got {aspect!r}")
        self.points = points
        self.labels = labels.astype(np.int64)
        self.classes = int(k)
        self.class_names = class_names
        self.feature_names = _feature_names(feature_names, points.shape[1])
        self.view, self.plane, labels_shown, self.plane_note = _view_plane(points, view, self.feature_names)
        if mark_errors is None:
            mark_errors = points.shape[1] > 2
        if not isinstance(mark_errors, (bool, np.bool_)):
            raise UsageError(f"mark_errors must be True, False or None (on for more than two features), got {mark_errors!r}")
        self.mark_errors = bool(mark_errors)
        self.test_points, self.test_labels = (None, None) if test is None else (test[0], test[1].astype(np.int64))
        shown = self.shown_points if test is None else np.concatenate([self.shown_points, self.shown_test_points])
        self.xlim = check_limits("xlim", xlim) or finite_range(shown[:, 0])
        self.ylim = check_limits("ylim", ylim) or finite_range(shown[:, 1])
        if aspect == "equal":
            if xlim is None:
                self.xlim = _widen(self.xlim, (self.ylim[1] - self.ylim[0]) * 4 / 3)
            if ylim is None:
                self.ylim = _widen(self.ylim, (self.xlim[1] - self.xlim[0]) * 3 / 4)
        self.aspect = aspect
        self.xlabel = _text(xlabel) or labels_shown[0]
        self.ylabel = _text(ylabel) or labels_shown[1]
        self.resolution = _check_resolution(resolution)
        self.outputs = outputs
        self.neurons = _neuron_capture(self) if check_neurons(neurons) else None

    @property
    def grid(self) -> tuple[np.ndarray, np.ndarray]:
        """The x and y coordinates of the grid's cell centres, each of shape ``(resolution,)``.

        These are coordinates in the picture's plane: the two features shown, or the two principal
        components (see ``plane``).
        """
        return (np.linspace(*self.xlim, self.resolution), np.linspace(*self.ylim, self.resolution))

    @property
    def shown_points(self) -> np.ndarray:
        """The points as drawn, shape ``(n, 2)``: themselves for two features, else projected on the plane."""
        if self.plane is None:
            return self.points
        origin, to_view, _ = self.plane
        return (self.points - origin) @ to_view

    @property
    def shown_test_points(self) -> "np.ndarray | None":
        """The test points as drawn, shape ``(t, 2)``, projected as ``shown_points`` are; None without a test set."""
        if self.test_points is None or self.plane is None:
            return self.test_points
        origin, to_view, _ = self.plane
        return (self.test_points - origin) @ to_view

    def grid_inputs(self, resolution: "int | None" = None) -> np.ndarray:
        """The points the model is evaluated on: the grid (``[y, x]`` order), in feature space, ``(m, d)``;
        ``resolution`` points a side (the scene's by default)."""
        side = self.resolution if resolution is None else resolution
        gx, gy = np.meshgrid(np.linspace(*self.xlim, side), np.linspace(*self.ylim, side))  # [y, x], as imshow draws
        uv = np.column_stack([gx.ravel(), gy.ravel()])
        if self.plane is None:
            return uv
        origin, _, from_view = self.plane
        return origin + uv @ from_view

    @staticmethod
    def decode(codes: np.ndarray) -> np.ndarray:
        """Float32 probabilities (or margins) from a capture's stored codes.

        Parameters
        ----------
        codes:
            ``trace.state["probability"]`` or ``trace.state["margin"]`` (any shape). Float arrays,
            as traces saved by versions before the byte codes hold, are returned as float32.

        Returns
        -------
        numpy.ndarray
            Each code as the centre of the interval of values it stands for; NaN for 255.
        """
        codes = np.asarray(codes)
        return _DECODE[codes] if codes.dtype == np.uint8 else codes.astype(np.float32)

    def capture(self, state: Mapping[str, Any]) -> dict[str, np.ndarray]:
        check_names("DecisionBoundary", state, [("model",), ("predict",)])
        if "predict" in state:
            if self.neurons is not None:
                raise CaptureError("neurons=True reads the hidden units of a model: capture model=, not predict=")
            return evaluate_predict(self, state["predict"])
        return self.evaluate(require_module(state["model"]))

    def capture_later(self, state: Mapping[str, Any]) -> Any:
        """For a ``model=`` whose parameters and buffers are no bigger than a capture (1 byte per grid cell
        for two classes, 2 for more): a copy of them now, the grid evaluated only if the capture is
        kept (see ``Scene.capture_later``)."""
        per_capture = self.resolution**2 * (1 if self.classes == 2 else 2) + (len(self.points) if self.mark_errors else 0)
        if self.neurons is not None:
            per_capture += self.neurons.nbytes
        return capture_model_later(self, state, per_capture)

    def evaluate(self, fn: Any, **where: Any) -> dict[str, np.ndarray]:
        """What one capture stores (see the class docstring), from a model or callable ``fn`` on the grid.

        ``fn`` is evaluated as ``EvaluationGrid.evaluate`` does (``where`` takes its ``device`` and
        ``dtype`` for a callable, ``parameters`` for a module); probabilities and codes are computed
        on ``fn``'s device.

        Raises
        ------
        CaptureError
            If ``fn`` fails or returns the wrong number of outputs for the classes.
        """
        if getattr(self, "_points", None) is None:
            inputs = self.grid_inputs()
            if self.mark_errors:  # the data points too, in the same forward pass: their predicted classes
                inputs = np.concatenate([inputs, self.points])
            if self.test_points is not None:  # and the test points, for their loss
                inputs = np.concatenate([inputs, self.test_points])
            self._points = EvaluationGrid(inputs)
        found: dict[str, np.ndarray] = {}
        codes = self._points.evaluate(fn, lambda out: self._codes(out, found), **where)
        shape, cells = (self.resolution, self.resolution), self.resolution**2
        if self.classes == 2:
            captured = {"probability": codes[:cells].reshape(shape), "grid_finite": found["finite"]}
        else:
            captured = {"region": codes[0, :cells].reshape(shape), "margin": codes[1, :cells].reshape(shape),
                        "grid_finite": found["finite"]}
        if self.mark_errors:
            captured["predicted"] = found["predicted"]
        if TEST_LOSS in found:
            captured[TEST_LOSS] = found[TEST_LOSS]
        if self.neurons is not None:
            captured["neurons"] = self.neurons.evaluate(fn, where.get("parameters"))
        return captured

    def _codes(self, out: Any, found: dict[str, np.ndarray]) -> Any:
        """Turn the model's outputs (a tensor on its device) into byte codes, there."""
        import torch

        out = out.reshape(out.shape[0], -1)
        k, m = self.classes, out.shape[1]
        cells = self.resolution**2
        logits = self.outputs == "logits"
        if self.test_points is not None:
            kept = out.shape[0] - len(self.test_points)
            if m in ((1, 2) if k == 2 else (k,)):  # else the checks below say what is wrong
                found[TEST_LOSS] = self._test_cross_entropy(out[kept:])
            out = out[:kept]  # the grid and the marked points, as without a test set
        if k == 2:
            if m == 1:
                p = torch.sigmoid(out[:, 0]) if logits else out[:, 0]
            elif m == 2:
                p = (torch.softmax(out, dim=1) if logits else out)[:, 1]
            else:
                raise CaptureError(f"DecisionBoundary with 2 classes needs a model with 1 or 2 outputs, got {m}")
            found["finite"] = _finite_flag(p[:cells])
            if self.mark_errors:
                at_points = p[cells:]
                predicted = torch.where(torch.isnan(at_points), _NAN_CODE, (at_points > 0.5).to(torch.uint8))
                found["predicted"] = predicted.to(torch.uint8).cpu().numpy()
            return _encode(p)
        if m != k:
            raise CaptureError(f"DecisionBoundary with {k} classes needs a model with {k} outputs, got {m}")
        probs = torch.softmax(out, dim=1) if logits else out
        region = torch.argmax(torch.nan_to_num(probs, nan=-1.0), dim=1)
        top_two = torch.topk(probs, 2, dim=1).values
        bad = torch.isnan(probs).any(dim=1)  # a cell with any NaN score gets a NaN margin
        margin = torch.where(bad, torch.nan, top_two[:, 0] - top_two[:, 1])
        found["finite"] = _finite_flag(margin[:cells])
        if self.mark_errors:
            found["predicted"] = torch.where(bad[cells:], _NAN_CODE, region[cells:]).to(torch.uint8).cpu().numpy()
        return torch.stack([region.to(torch.uint8), _encode(margin)])

    def _test_cross_entropy(self, out: Any) -> np.ndarray:
        """The mean cross-entropy of the test labels under the model's outputs ``out`` (rows of the test points)."""
        import torch
        from torch.nn import functional as F

        labels = torch.as_tensor(self.test_labels, device=out.device)
        out = out.to(torch.float64)
        if self.outputs == "logits":
            if out.shape[1] == 1:
                loss = F.binary_cross_entropy_with_logits(out[:, 0], labels.to(out.dtype))
            else:
                loss = F.cross_entropy(out, labels)
        else:
            if out.shape[1] == 1:
                true = torch.where(labels == 1, out[:, 0], 1 - out[:, 0])
            else:
                true = out.gather(1, labels[:, None])[:, 0]
            loss = -torch.log(true.clamp(min=1e-12)).mean()
        return np.asarray(float(loss))

    def to_data(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        options = {
            "classes": self.classes,
            "class_names": self.class_names,
            "xlim": list(self.xlim),
            "ylim": list(self.ylim),
            "aspect": self.aspect,
            "xlabel": self.xlabel,
            "ylabel": self.ylabel,
            "resolution": self.resolution,
            "feature_names": self.feature_names,
            "view": self.view,
            "mark_errors": self.mark_errors,
        }
        if self.plane is not None:  # kept exactly, so a saved trace is drawn on the plane it was captured on
            options["plane"] = [array.tolist() for array in self.plane]
        if self.neurons is not None:
            options["neurons"] = self.neurons.options()
        data = {"points": self.points, "labels": self.labels}
        if self.test_points is not None:
            data["test_points"], data["test_labels"] = self.test_points, self.test_labels
        return data, options

    @classmethod
    def from_data(cls, data: Mapping[str, np.ndarray], options: Mapping[str, Any]) -> "DecisionBoundary":
        scene = cls(
            data["points"],
            data["labels"],
            classes=options["classes"],
            class_names=options.get("class_names"),
            xlim=options["xlim"],
            ylim=options["ylim"],
            aspect=options.get("aspect", "auto"),
            xlabel=options.get("xlabel"),
            ylabel=options.get("ylabel"),
            resolution=options["resolution"],
            feature_names=options.get("feature_names"),
            view=options.get("view"),
            mark_errors=options.get("mark_errors", False),  # traces from before it have no predictions to mark
            test=(data["test_points"], data["test_labels"]) if "test_points" in data else None,
        )
        if options.get("plane") is not None:
            scene.plane = _stored_plane(options["plane"], scene.points.shape[1])
        if options.get("neurons") is not None:
            scene.neurons = _neuron_capture(scene, options["neurons"]["layers"])
        return scene

    def check_trace(self, trace: "Trace") -> None:
        grid = (self.resolution, self.resolution)
        if self.neurons is not None and len(trace):
            from .neurons import NEURON_GRID

            check_state(trace, "neurons", (self.neurons.units, NEURON_GRID, NEURON_GRID))
        if self.classes == 2:
            check_state(trace, "probability", grid)
            return
        region = check_state(trace, "region", grid, kinds="iu")
        check_state(trace, "margin", grid)
        if region.size and not (0 <= region.min() and region.max() < self.classes):
            raise TraceError(f"the trace's 'region' values run from {region.min()} to {region.max()}; the "
                             f"{trace.scene!r} scene has the classes 0 to {self.classes - 1}")

    def draw_runs(self, ax: "Axes", runs: "Runs", theme: "Theme") -> RunsUpdater:
        """A single run: its class regions shaded, its boundary in black, the misclassified points ringed.
        A race: each run's boundary in its colour. The points (projected, for more than two features) on top."""
        if runs.race:
            return self._draw_race(ax, runs.traces, theme, runs.colors)
        update = self._draw_one(ax, runs[0], theme)
        return lambda indices, diverged: update(indices[0], diverged[0])

    def _draw_one(self, ax: "Axes", trace: "Trace", theme: "Theme") -> Updater:
        import contourpy
        from matplotlib.collections import LineCollection

        from .heatmap import add_heatmap

        xs, ys = self.grid
        half_x, half_y = (xs[1] - xs[0]) / 2, (ys[1] - ys[0]) / 2
        extent = (xs[0] - half_x, xs[-1] + half_x, ys[0] - half_y, ys[-1] + half_y)
        _set_axes(ax, self.xlim, self.ylim, self.xlabel, self.ylabel)
        # Ticks and tick labels below the heatmap (they lie outside the axes, so nothing hides them):
        # then the blitting renderer need not redraw them on every frame.
        ax.set_axisbelow(True)
        colors = self._class_colors()
        blank = np.zeros((self.resolution, self.resolution), dtype=np.float32)
        if self.classes == 2:
            image = add_heatmap(ax, blank, cmap=_pale(_TWO_CLASS_CMAP), vmin=0.0, vmax=1.0, extent=extent,
                                interpolation="bilinear", zorder=0.6)
            probability = trace.state["probability"]
        else:
            image = add_heatmap(ax, np.zeros(blank.shape + (3,)), extent=extent, interpolation="nearest", zorder=0.6)
            region, margin = trace.state["region"], trace.state["margin"]
            white = np.ones(3)
            lo, hi = _REGION_STRENGTH
        ax.set_aspect(self.aspect, adjustable="box")  # "equal" shrinks the box, never the grid's limits
        boundary = LineCollection([], colors="#222222", linewidths=2.0, zorder=1.0)
        ax.add_collection(boundary)
        shown = self.shown_points
        _class_points(ax, shown, self.labels, colors, theme)
        self._draw_test(ax, colors, theme)
        marking = self.mark_errors and "predicted" in trace.state
        tested = self.test_points is not None
        legend_corner = (self._legend(ax, colors, marking, tested)
                         if self.class_names is not None or marking or tested else None)
        if self.plane_note:
            self._note(ax, legend_corner)
        update_rings = self._setup_error_rings(ax, trace, theme) if marking else None

        def update(index: int, diverged: bool) -> list:
            if self.classes == 2:
                p = self.decode(probability[index])
                image.set_data(p)
                lines = contourpy.contour_generator(xs, ys, p).lines(0.5)
            else:
                r, m = region[index], np.nan_to_num(self.decode(margin[index]).astype(np.float64))
                band = np.minimum(np.floor(np.clip(m, 0, 1) * _BANDS), _BANDS - 1) / (_BANDS - 1)
                strength = lo + (hi - lo) * band
                image.set_data(white + (colors[r] - white) * strength[..., None])
                lines, present = [], np.unique(r)
                for c in present if present.size > 1 else ():
                    # +margin inside class c, -margin outside: next to a region of class d, where d is
                    # the runner-up, this is exactly p_c - p_d, so its zero line is the boundary.
                    lines += contourpy.contour_generator(xs, ys, np.where(r == c, m, -m)).lines(0.0)
            boundary.set_segments(lines)
            image.set_alpha(0.4 if diverged else 1.0)
            if update_rings is None:
                return [image, boundary]
            return [image, boundary, update_rings(index)]

        return update

    # -- what a projected view says on the frame: the plane, the misclassified points, the accuracy ----

    def errors(self, trace: "Trace", index: int) -> np.ndarray:
        """Whether the model misclassifies each point at capture ``index``, shape ``(n,)``.

        Needs a trace recorded with ``mark_errors`` (its ``predicted`` state); a point whose scores
        were not numbers counts as misclassified.
        """
        return trace.state["predicted"][index].astype(np.int64) != self.labels

    def title(self, trace: "Trace", index: int) -> str:
        """``Iteration:N``, with the training accuracy when errors are marked."""
        title = super().title(trace, index)
        if self.mark_errors and "predicted" in trace.state:
            title += f"   train accuracy {100 * (1 - self.errors(trace, index).mean()):.1f}%"
        return title

    def _setup_error_rings(self, ax: "Axes", trace: "Trace", theme: "Theme") -> Any:
        """A black ring around each misclassified point; returns ``update(index) -> artist``."""
        shown = self.shown_points
        crowded = len(shown) > 500  # smaller, thinner rings, or an early frame is one black mass
        rings = ax.scatter([], [], s=(60 if crowded else 90) * theme.marker_scale**2, facecolors="none",
                           edgecolors="#111111", linewidths=0.8 if crowded else 1.1, zorder=2.2, label="misclassified")

        def update(index: int) -> Any:
            rings.set_offsets(shown[self.errors(trace, index)].reshape(-1, 2))
            return rings

        return update

    def _note(self, ax: "Axes", taken: "str | None") -> None:
        """What the plane is ("PCA plane ...: 22% of variance"), small, in the emptiest free corner."""
        corner = min((c for c in self._corner_counts() if c != taken), key=lambda c: self._corner_counts()[c])
        vertical, horizontal = corner.split()
        x, y = (0.02 if horizontal == "left" else 0.98), (0.02 if vertical == "lower" else 0.98)
        ax.text(x, y, self.plane_note, transform=ax.transAxes, ha=horizontal, va="bottom" if vertical == "lower" else "top",
                fontsize=smallest_text_size(), color="#333333", zorder=3,
                bbox={"boxstyle": "round,pad=0.3", "facecolor": "white", "edgecolor": "none", "alpha": 0.8})

    def _draw_race(self, ax: "Axes", traces: Sequence["Trace"], theme: "Theme", colors: Sequence[str]) -> RunsUpdater:
        """Each run's boundary (the ``p = 0.5`` line, or the lines between regions) in its colour, over the points."""
        import contourpy
        from matplotlib.collections import LineCollection

        xs, ys = self.grid
        _set_axes(ax, self.xlim, self.ylim, self.xlabel, self.ylabel)
        ax.set_axisbelow(True)
        ax.set_aspect(self.aspect, adjustable="box")
        class_colors = self._class_colors()
        shown = self.shown_points  # projected on the plane for more than two features, as in setup
        _class_points(ax, shown, self.labels, class_colors, theme)
        self._draw_test(ax, class_colors, theme)
        if self.plane_note:
            self._note(ax, "upper left")  # where a race's legend of runs goes
        boundaries = []
        for colour in colors:
            boundary = LineCollection([], colors=colour, linewidths=2.5 * theme.marker_scale, zorder=2.6)
            ax.add_collection(boundary)
            boundaries.append(boundary)

        def floats(values: np.ndarray) -> np.ndarray:  # stored as byte codes (or floats, from older traces)
            return self.decode(values).astype(np.float64)

        def lines_of(trace: "Trace", index: int) -> list:
            if self.classes == 2:
                return contourpy.contour_generator(xs, ys, floats(trace.state["probability"][index])).lines(0.5)
            r, m = trace.state["region"][index], np.nan_to_num(floats(trace.state["margin"][index]))
            present, lines = np.unique(r), []
            for c in present if present.size > 1 else ():
                lines += contourpy.contour_generator(xs, ys, np.where(r == c, m, -m)).lines(0.0)  # as in setup
            return lines

        def update(indices: Sequence[int], diverged: Sequence[bool]) -> list:
            for boundary, trace, index, gone in zip(boundaries, traces, indices, diverged):
                boundary.set_segments(lines_of(trace, index))
                boundary.set_alpha(0.3 if gone else 1.0)
            return list(boundaries)

        return update

    def _draw_test(self, ax: "Axes", colors: np.ndarray, theme: "Theme") -> None:
        """The test points, hollow rings in their classes' colours (projected as the training points are)."""
        if self.test_points is not None:
            shown = self.shown_test_points
            draw_test_points(ax, shown[:, 0], shown[:, 1], colors[self.test_labels], theme, 30)

    def _class_colors(self) -> np.ndarray:
        from matplotlib import colormaps
        from matplotlib.colors import to_rgb

        if self.classes == 2:
            cmap = colormaps[_TWO_CLASS_CMAP]
            return np.array([to_rgb(cmap(0.1)), to_rgb(cmap(0.9))])
        return np.array([to_rgb(f"C{c}") for c in range(self.classes)])

    def _corner_counts(self) -> dict[str, int]:
        """How many shown points lie in each corner of the axes (the outer 30% on both sides)."""
        shown = self.shown_points
        fx = (shown[:, 0] - self.xlim[0]) / (self.xlim[1] - self.xlim[0])
        fy = (shown[:, 1] - self.ylim[0]) / (self.ylim[1] - self.ylim[0])
        corners = {"upper right": (fx > 0.7) & (fy > 0.7), "upper left": (fx < 0.3) & (fy > 0.7),
                   "lower left": (fx < 0.3) & (fy < 0.3), "lower right": (fx > 0.7) & (fy < 0.3)}
        return {name: int(inside.sum()) for name, inside in corners.items()}

    def _legend(self, ax: "Axes", colors: np.ndarray, rings: bool = False, tested: bool = False) -> str:
        """The class names (the ring of a misclassified point, the train and test marks) in the emptiest
        corner; returns the corner."""
        from matplotlib.lines import Line2D

        handles = [Line2D([], [], ls="", marker="o", color=colors[c], markeredgecolor="white", label=name)
                   for c, name in enumerate(self.class_names or ())]
        if tested:
            handles += [Line2D([], [], ls="", marker="o", color="#777777", markeredgecolor="white", label="train"),
                        Line2D([], [], ls="", marker="o", markerfacecolor="none", markeredgecolor="#777777",
                               markeredgewidth=1.6, label="test")]
        if rings:
            handles.append(Line2D([], [], ls="", marker="o", markersize=9, markerfacecolor="none",
                                  markeredgecolor="#111111", label="misclassified"))
        # A fixed corner, the one with the fewest points: loc="best" would move as the boundary moves.
        counts = self._corner_counts()
        loc = min(counts, key=lambda name: counts[name])
        ax.legend(handles=handles, loc=loc, framealpha=0.85, fontsize=smallest_text_size())
        return loc


def _class_points(ax: "Axes", points: np.ndarray, labels: np.ndarray, colors: np.ndarray, theme: "Theme") -> None:
    """The training points, white-edged dots in their class's colour (zorder 2).

    The points lie above the shaded regions, so they are drawn again every frame. Dots of 6 pixels
    and more are one marker line per class: Agg rasterises a line's marker once and stamps it at
    whole pixels, in a sixth of a scatter's time, and each class is drawn over the classes before
    it. Smaller dots (grid cells) stay a scatter: stamped at whole pixels, a 4-pixel dot turns
    into a plus sign, where the scatter's sub-pixel placement keeps it round.
    """
    area = 28 * theme.marker_scale**2  # a scatter's s, points^2
    size = np.sqrt(area)  # the same dot as a marker's width, in points
    if size * ax.figure.dpi / 72 < _STAMPED_DOT_PIXELS:
        ax.scatter(points[:, 0], points[:, 1], c=colors[labels], s=area, edgecolors="white", linewidths=0.6, zorder=2.0)
        return
    for c in np.unique(labels):
        mine = points[labels == c]
        ax.plot(mine[:, 0], mine[:, 1], ls="", marker="o", markersize=size, markerfacecolor=colors[c],
                markeredgecolor="white", markeredgewidth=0.6, zorder=2.0)


#: Smallest dot (in pixels across) drawn as stamped markers rather than a scatter (see ``_class_points``).
_STAMPED_DOT_PIXELS = 6.0


def _classified_points(points: Any, labels: Any, classes: "int | None" = None,
                       features: "int | None" = None) -> tuple[np.ndarray, np.ndarray]:
    """Points ``(n, d)`` and their class numbers, checked (against ``classes`` and ``features`` when given)."""
    points, labels = points_and_labels(points, labels, any_width=True)
    if not np.all((labels >= 0) & (labels == np.round(labels))):
        raise UsageError("labels must be class numbers 0, 1, 2, ...")
    if features is not None and points.shape[1] != features:
        raise UsageError(f"points have {points.shape[1]} features, the training points {features}")
    if classes is not None and labels.max() >= classes:
        raise UsageError(f"labels go up to {int(labels.max())}, beyond the {classes} classes 0..{classes - 1}")
    return points, labels


def _regression_data(x: Any, y: Any, features: "int | None" = None) -> tuple[np.ndarray, np.ndarray]:
    """Regression data checked: ``x`` 1-D (one feature) or ``(n, d)`` (several), ``y`` 1-D, finite.

    ``features``, when given, is the number of features ``x`` must have (a test set's, the data's).
    """
    x = to_array("x", x)
    y = to_array("y", y).reshape(-1)
    several = x.ndim == 2 and x.shape[1] > 1 and x.shape[0] == y.size
    if not several:
        x = x.reshape(-1)
    if x.size == 0:
        raise UsageError("x is empty; a scene needs at least one point")
    if not several and x.shape != y.shape:
        raise UsageError(f"x and y must hold the same number of values, got {x.size} and {y.size}")
    if not (np.all(np.isfinite(x)) and np.all(np.isfinite(y))):
        raise UsageError("x or y holds NaN or infinite values")
    if features is not None and (x.shape[1] if several else 1) != features:
        raise UsageError(f"x has {x.shape[1] if several else 1} features, the data {features}")
    return x, y
def _neuron_capture(scene: DecisionBoundary, layers: "list | None" = None) -> Any:
    """The hidden units' capture of ``scene``, on a coarse grid over its plane."""
    from .neurons import NEURON_GRID, NeuronCapture

    return NeuronCapture(scene.grid_inputs(NEURON_GRID), layers)


def _feature_names(names: Any, d: int) -> "list[str] | None":
    if names is None:
        return None
    names = [str(n) for n in names]
    if len(names) != d:
        raise UsageError(f"feature_names must name the {d} features (columns of points), got {len(names)} names")
    if len(set(names)) != d:
        raise UsageError(f"feature_names must be different from each other, got {names}")
    return names


def _view_plane(points: np.ndarray, view: Any, names: "list[str] | None"):
    """The view as stored (``None``, ``"pca"`` or ``[i, j]``), the plane it shows, its axis labels and
    the note that says on the frame what the plane is (None when the points are drawn as they are).

    The plane is None when the points are drawn as they are (two features, no view), else
    ``(origin, to_view, from_view)``: a point ``x`` (shape ``(d,)``) is drawn at ``(x - origin) @ to_view``
    and a picture point ``(u, v)`` is the input ``origin + (u, v) @ from_view``.
    """
    d = points.shape[1]
    label = (lambda i: names[i]) if names else (lambda i: f"feature {i}")
    if view is None and d == 2:
        return None, None, ((names[0], names[1]) if names else (None, None)), None
    if view is None or (isinstance(view, str) and view == "pca"):
        plane, labels, kept = _principal_plane(points)
        return "pca", plane, labels, f"PCA plane of {d} features: {100 * kept:.0f}% of variance"
    if isinstance(view, str) or not hasattr(view, "__len__") or len(view) != 2:
        raise UsageError(f'view must be "pca" or two features (indices or names), got {view!r}')
    chosen = [_feature_index(f, d, names) for f in view]
    if chosen[0] == chosen[1]:
        raise UsageError(f"view must name two different features, got {label(chosen[0])!r} twice")
    for i in chosen:
        column = points[:, i]
        if column.min() == column.max():
            raise UsageError(f"view feature {label(i)!r} is constant ({column[0]:g} in every row); choose one that varies")
    origin = np.median(points, axis=0)
    basis = np.zeros((2, d))
    basis[0, chosen[0]] = basis[1, chosen[1]] = 1.0
    origin[chosen] = 0.0
    note = None if d == 2 else f"slice: the other {d - 2} feature{'s' * (d > 3)} at their median"
    return chosen, (origin, basis.T.copy(), basis), (label(chosen[0]), label(chosen[1])), note


def _feature_index(feature: Any, d: int, names: "list[str] | None") -> int:
    if isinstance(feature, (int, np.integer)) and not isinstance(feature, bool):
        if not 0 <= feature < d:
            raise UsageError(f"view feature {int(feature)} is out of range: the points have {d} features, 0 to {d - 1}")
        return int(feature)
    if isinstance(feature, str):
        if names is None:
            raise UsageError(f"view names feature {feature!r}, but no feature_names were given to name the columns")
        if feature not in names:
            raise UsageError(f"view names feature {feature!r}, which is not one of the features {', '.join(names)}")
        return names.index(feature)
    raise UsageError(f"view features must be column indices or names, got {feature!r}")


def _principal_plane(points: np.ndarray):
    """The plane of the first two principal components of the standardised points, its labels and the
    share of the variance it keeps."""
    mean = points.mean(axis=0)
    std = points.std(axis=0)
    varying = std > 0
    if varying.sum() < 2:
        raise UsageError("view='pca' needs at least two features that vary; the others are constant")
    std = np.where(varying, std, 1.0)  # a constant column is all zeros once centred: it adds nothing
    singular, vt = principal_components((points - mean) / std)
    components = vt[:2].copy()
    share = singular**2 / np.sum(singular**2)
    labels = tuple(f"PC{i + 1} ({100 * share[i]:.0f}% of variance)" for i in range(2))
    # View coordinates are principal-component scores: u = ((x - mean) / std) . c1.
    return (mean, (components / std).T.copy(), components * std), labels, float(share[0] + share[1])


def _stored_plane(plane: Any, d: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The ``plane`` option of a saved trace as arrays: origin ``(d,)``, to_view ``(d, 2)``, from_view ``(2, d)``."""
    shapes = [(d,), (d, 2), (2, d)]
    try:
        parts = tuple(np.array(part, dtype=np.float64) for part in plane)
    except (TypeError, ValueError):
        parts = ()
    if [part.shape for part in parts] != shapes or not all(np.isfinite(part).all() for part in parts):
        raise UsageError(f"the plane option must be three finite arrays of shapes {shapes} for {d} features")
    return parts


def _text(value: Any) -> "str | None":
    return None if value is None else str(value)


def _set_axes(ax: "Axes", xlim, ylim, xlabel: "str | None", ylabel: "str | None") -> None:
    ax.set_xlim(xlim)
    ax.set_ylim(ylim)
    if xlabel:
        ax.set_xlabel(xlabel)
    if ylabel:
        ax.set_ylabel(ylabel)


def _widen(limits: tuple[float, float], width: float) -> tuple[float, float]:
    """``limits`` widened about their centre to ``width``, if they are narrower."""
    lo, hi = limits
    grow = max(width - (hi - lo), 0.0) / 2
    return (lo - grow, hi + grow)


def _pale(name: str):
    """The colour map ``name`` blended towards white, so points and lines on top stay readable."""
    from matplotlib import colormaps
    from matplotlib.colors import ListedColormap

    rgba = colormaps[name](np.linspace(*_HEATMAP_SPAN, _BANDS))
    rgba[:, :3] = 1 - _HEATMAP_STRENGTH * (1 - rgba[:, :3])
    return ListedColormap(rgba, name=f"{name}_pale")


@register_scene
class CurveFit(Scene):
    """Regression with any model: the data and the model's predictions, as a curve over x or against the truth.

    **One feature** (``x`` of shape ``(n,)`` or ``(n, 1)``): the data as a scatter, the model's
    prediction curve over it. Capture with one of:

    - ``y_pred=`` the predictions your loop already computes at the data's own x, shape ``(n,)`` or
      ``(n, 1)``, in the order of ``x``; drawn as a line through the points in order of x. Stored
      as ``y_pred``, shape ``(n,)``, float32. Predictions that cannot come from x alone (another
      length, different values at the same x, or values that jump up and down like noise in order
      of x, as the predictions of a model of several features do) are refused with a CaptureError.
    - ``model=<nn.Module>`` mapping ``(m, 1)`` inputs to ``(m, 1)`` (or ``(m,)``) outputs, or
      ``predict=<callable>`` doing the same for an ``(m, 1)`` float32 CPU tensor (plain tensors,
      ``lambda x: a + b * x + c * x**2``), called under ``torch.no_grad()`` with torch's RNG state
      restored after and never stored. Either is evaluated on the dense x values ``grid``, so the
      curve is smooth between and beyond the points; each capture stores ``prediction`` of shape
      ``(resolution,)``, as float32 (800 bytes at the default resolution).

    **Several features** (``x`` of shape ``(n, d)``, ``d >= 2``, one row per value of ``y``): no
    curve can be drawn over d inputs, so the picture is predicted against actual: each point at
    (its true y, its prediction), the line y = x where a perfect model puts every point, and each
    point's residual as a vertical segment from the point to that line. As the model learns, the
    points move up or down onto the diagonal and the segments shrink; the frame's corner shows
    R^2. Capture with ``y_pred=`` (shape ``(n,)`` or ``(n, 1)``, in the order of the rows),
    ``model=`` or ``predict=`` (evaluated on the ``(n, d)`` data itself); each capture stores
    ``y_pred``, shape ``(n,)``, float32.

    One run captures one kind throughout.

    Parameters
    ----------
    x, y:
        The data: ``x`` one value per ``y`` (any shape with as many values), or one row of ``d``
        features per ``y`` (shape ``(n, d)``); tensors or arrays.
    xlim:
        One feature only: the x range the model is evaluated on, which is also the axes' x limits;
        by default the data's range with a 10% margin.
    ylim:
        Fixed y limits (with several features, the limits of both axes: actual and predicted y).
        By default the data's range joined with every finite prediction of the whole trace (over
        the data's x range), but never more than half the data's y range beyond it on either side
        (so one wild early frame cannot squash the plot), with a 10% margin. A curve or a point
        that leaves these limits runs off the plot.
    xlabel, ylabel:
        Optional axis labels (say, the names of the data's columns). With several features
        ``xlabel`` does not apply and the axes are "actual <ylabel>" and "predicted <ylabel>".
    resolution:
        One feature only: number of x values the model is evaluated on (default 200).
    test:
        Optional held-out data ``(x_test, y_test)`` of the same features. One feature: drawn as
        hollow points. Several: drawn hollow at (true y, prediction) when the captures evaluate a
        model (``model=``/``predict=``, which then also store ``test_y_pred``). A capture with
        ``model=`` or ``predict=`` evaluates the model on them in the same forward pass and
        computes their mean squared error, which the loss panel draws as the test loss beside the
        training loss (a ``test_loss=`` given to ``capture`` wins; with ``y_pred=`` give one, the
        scene has no predictions for the test points). Stored in the trace's data as ``test_x``
        and ``test_y``.

    Raises
    ------
    UsageError
        If the data, the test set or the options do not fit.
    """

    name = "curve_fit"
    label_position = _LABEL_ABOVE_AXES

    def __init__(
        self,
        x: Any,
        y: Any,
        *,
        xlim: Any = None,
        ylim: Any = None,
        xlabel: "str | None" = None,
        ylabel: "str | None" = None,
        resolution: int = 200,
        test: Any = None,
    ) -> None:
        x, y = _regression_data(x, y)
        several = x.ndim == 2
        if several:
            for name, value in (("xlim", xlim), ("xlabel", xlabel)):
                if value is not None:
                    raise UsageError(f"{name} is for one feature; x has {x.shape[1]} features, so the axes show actual "
                                     f"and predicted y (ylim and ylabel set them)")
        self.x, self.y = x, y
        self.test = test_set(test, lambda tx, ty: _regression_data(tx, ty, x.shape[1] if several else 1))
        shown_x = x if several or self.test is None else np.concatenate([x, self.test[0]])
        self.xlim = None if several else (check_limits("xlim", xlim) or finite_range(shown_x))
        self.ylim = check_limits("ylim", ylim)
        self.xlabel, self.ylabel = _text(xlabel), _text(ylabel)
        self.resolution = _check_resolution(resolution)

    @property
    def features(self) -> int:
        """The number of input features: 1 for a curve over x, ``d`` for predicted against actual."""
        return 1 if self.x.ndim == 1 else self.x.shape[1]

    @property
    def grid(self) -> np.ndarray:
        """The x values the model is evaluated on, shape ``(resolution,)`` (one feature only)."""
        if self.features > 1:
            raise UsageError("CurveFit with several features evaluates the model on the data, not on a grid")
        return np.linspace(*self.xlim, self.resolution)

    def capture(self, state: Mapping[str, Any]) -> dict[str, np.ndarray]:
        check_names("CurveFit", state, [("model",), ("y_pred",), ("predict",)])
        if "predict" in state:
            return evaluate_predict(self, state["predict"])
        if "model" in state:
            return self.evaluate(require_module(state["model"]))
        values = to_array("y_pred", state["y_pred"])
        n = self.x.shape[0]
        if values.size != n or values.ndim > 2 or (values.ndim == 2 and values.shape[1] != 1):
            raise CaptureError(self._length_message(values))
        values = values.reshape(-1)
        if self.features == 1:
            self._check_follows_x(values)
        return {"y_pred": values.astype(np.float32)}

    def _length_message(self, values: np.ndarray) -> str:
        n = self.x.shape[0]
        what = "points" if self.features == 1 else "rows"
        if values.size != n:
            message = f"y_pred has {values.size} values but x has {n} {what}"
        else:
            message = f"y_pred has shape {values.shape}"
        message += f"; give one prediction per point, shape ({n},) or ({n}, 1)"
        if self.features == 1:
            message += ", for a model of several features with CurveFit(X, y) on all of them"
        return message

    def _check_follows_x(self, values: np.ndarray) -> None:
        """Refuse one-feature predictions that cannot be a function of x given in the order of x.

        Two tests, both on what was given: the same x with different predictions (exact), and
        predictions that, taken in order of x, turn up or down at over half the points. A curve
        from x alone turns only at its own bends (a handful, however many points); values that
        follow another input too (a model of several features, or predictions in another order)
        turn at about two points in three, as noise does. Needs 20 points or more to judge.
        """
        finite = np.isfinite(values)
        if finite.sum() < 20:
            return
        if getattr(self, "_order", None) is None:
            self._order = np.argsort(self.x, kind="stable")
        x, v = self.x[self._order], values[self._order].astype(np.float64)
        keep = np.isfinite(v)
        x, v = x[keep], v[keep]
        # Float32 rounding wobbles a flat curve by a few units in the last place: not a turn.
        tolerance = 1e-5 * max(float(np.abs(v).max()), 1e-30)
        same = x[1:] == x[:-1]
        differ = same & (np.abs(v[1:] - v[:-1]) > tolerance)
        advice = ("for a model of several features give CurveFit all of them, CurveFit(X, y), to draw predicted "
                  "against actual; else pass predictions in the order of x")
        if differ.any():
            i = int(np.argmax(differ))
            raise CaptureError(f"y_pred differs at the same x (x = {x[i]:g}: {v[i]:g} and {v[i + 1]:g}), so it is "
                               f"not a curve over x; {advice}")
        steps = np.diff(v[np.concatenate([[True], ~same])])
        steps = steps[np.abs(steps) > tolerance]
        if steps.size < 19:
            return
        turns = float(np.mean(np.sign(steps[1:]) != np.sign(steps[:-1])))
        if turns > 0.5:
            raise CaptureError(f"y_pred zig-zags in order of x (it turns up or down at {100 * turns:.0f}% of the points, "
                               f"like noise; a curve over x turns only at its bends), so it does not come from x "
                               f"alone; {advice}")

    def capture_later(self, state: Mapping[str, Any]) -> Any:
        """For a ``model=`` whose parameters and buffers are no bigger than a capture (4 bytes per x
        value, or per data point with several features): a copy of them now, the predictions
        evaluated only if the capture is kept (see ``Scene.capture_later``)."""
        return capture_model_later(self, state, (self.resolution if self.features == 1 else self.x.shape[0]) * 4)

    def evaluate(self, fn: Any, **where: Any) -> dict[str, np.ndarray]:
        """What one capture stores from a model or callable ``fn``: ``prediction`` on the x grid (one
        feature), or ``y_pred`` on the data's rows (several).

        ``fn`` is evaluated as ``EvaluationGrid.evaluate`` does (``where`` takes its ``device`` and
        ``dtype`` for a callable, ``parameters`` for a module).

        Raises
        ------
        CaptureError
            If ``fn`` fails or does not give one output per input.
        """
        if getattr(self, "_points", None) is None:
            inputs = self.grid[:, None] if self.features == 1 else self.x
            if self.test is not None:  # the test points too, in the same forward pass: their loss
                inputs = np.concatenate([inputs, self.test[0].reshape(len(self.test[1]), -1)])
            self._points = EvaluationGrid(inputs)
        try:
            values = self._points.evaluate(fn, self._prediction, **where)
        except CaptureError as exc:
            if self.features > 1 or "failed" not in str(exc):
                raise
            raise CaptureError(f"{exc} (CurveFit gives the model one input column, x; for a model of several features "
                               f"give CurveFit all of them, CurveFit(X, y))") from None
        captured = {"y_pred" if self.features > 1 else "prediction": values}
        if self.test is not None:
            tested = len(self.test[1])
            captured[next(iter(captured))] = values[:-tested]
            test_pred = values[-tested:]
            with np.errstate(over="ignore", invalid="ignore"):
                captured[TEST_LOSS] = np.asarray(np.mean((test_pred.astype(np.float64) - self.test[1]) ** 2))
            if self.features > 1:
                captured["test_y_pred"] = test_pred
        return captured

    def _prediction(self, out: Any) -> Any:
        import torch

        wanted = len(self._points)
        if out.numel() != wanted:
            raise CaptureError(
                f"CurveFit needs a model with one output per input, got shape {tuple(out.shape)} for {wanted} inputs"
            )
        return out.reshape(-1).to(torch.float32)

    def to_data(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        options = {
            "xlim": list(self.xlim) if self.xlim else None,
            "ylim": list(self.ylim) if self.ylim else None,
            "xlabel": self.xlabel,
            "ylabel": self.ylabel,
            "resolution": self.resolution,
        }
        data = {"x": self.x, "y": self.y}
        if self.test is not None:
            data["test_x"], data["test_y"] = self.test
        return data, options

    @classmethod
    def from_data(cls, data: Mapping[str, np.ndarray], options: Mapping[str, Any]) -> "CurveFit":
        return cls(
            data["x"],
            data["y"],
            xlim=options.get("xlim"),
            ylim=options.get("ylim"),
            xlabel=options.get("xlabel"),
            ylabel=options.get("ylabel"),
            resolution=options["resolution"],
            test=(data["test_x"], data["test_y"]) if "test_x" in data else None,
        )

    def check_trace(self, trace: "Trace") -> None:
        if "y_pred" in trace.state or self.features > 1:  # one prediction per row of the data
            check_state(trace, "y_pred", (len(self.x),))
        else:
            check_state(trace, "prediction", (self.resolution,))

    def _y_limits(self, trace: "Trace") -> tuple[float, float]:
        """The y limits of every frame of ``trace`` (see ``ylim`` in the class docstring)."""
        if self.ylim:
            return self.ylim
        ys = self.y if self.test is None else np.concatenate([self.y, self.test[1]])
        lo, hi = float(ys.min()), float(ys.max())
        span = hi - lo if hi > lo else max(abs(lo), 1.0)
        if self.features == 1:
            xs, curves = self._curves(trace)
            inside = (xs >= self.x.min()) & (xs <= self.x.max())
            predicted = curves[:, inside].astype(np.float64)
        else:
            predicted = trace.state["y_pred"].astype(np.float64)
        predicted = predicted[np.isfinite(predicted)]
        if predicted.size:
            lo = max(min(lo, float(predicted.min())), lo - span / 2)
            hi = min(max(hi, float(predicted.max())), hi + span / 2)
        return finite_range(np.array([lo, hi]))

    def _curves(self, trace: "Trace") -> tuple[np.ndarray, np.ndarray]:
        """The x values of the drawn curve and its y values at each capture (``(captures, len(x))``)."""
        if "y_pred" in trace.state:  # predictions at the data: a line through the points, in x order
            order = np.argsort(self.x, kind="stable")
            return self.x[order], trace.state["y_pred"][:, order]
        return self.grid, trace.state["prediction"]

    def draw_runs(self, ax: "Axes", runs: "Runs", theme: "Theme") -> RunsUpdater:
        """Each run's curve over the points (a race's thinner, in its colours); with several features,
        predicted against actual y. The limits hold every run."""
        if runs.race:
            return self._draw_race(ax, runs.traces, theme, runs.colors)
        update = self._draw_one(ax, runs[0], theme)
        return lambda indices, diverged: update(indices[0], diverged[0])

    def _draw_race(self, ax: "Axes", traces: Sequence["Trace"], theme: "Theme", colors: Sequence[str]) -> RunsUpdater:
        """Each run's curve (or predicted points) in its colour over the data; the limits hold every run."""
        limits = np.array([self._y_limits(trace) for trace in traces])
        limits = (limits[:, 0].min(), limits[:, 1].max())
        if self.features > 1:
            return self._setup_race_against_actual(ax, traces, theme, colors, limits)
        curves = [self._curves(trace) for trace in traces]
        xs = curves[0][0]
        ax.scatter(self.x, self.y, color=theme.point_color, zorder=1)
        self._draw_test(ax, theme)
        _set_axes(ax, self.xlim, limits, self.xlabel, self.ylabel)
        lines = [ax.plot(xs, np.zeros_like(xs), "-", color=c, lw=theme.line_width * 0.5, zorder=2.6)[0] for c in colors]

        def update(indices: Sequence[int], diverged: Sequence[bool]) -> list:
            for line, (_, prediction), index, gone in zip(lines, curves, indices, diverged):
                line.set_ydata(prediction[index])
                line.set_alpha(0.3 if gone else 1.0)
            return lines

        return update

    def _draw_one(self, ax: "Axes", trace: "Trace", theme: "Theme") -> Updater:
        if self.features > 1:
            return self._setup_against_actual(ax, trace, theme)
        xs, prediction = self._curves(trace)
        ax.scatter(self.x, self.y, color=theme.point_color, zorder=1)
        self._draw_test(ax, theme)
        _set_axes(ax, self.xlim, self._y_limits(trace), self.xlabel, self.ylabel)
        (line,) = ax.plot(xs, np.zeros_like(xs), "-", color=theme.line_color, lw=theme.line_width * 0.7, zorder=2.6)

        def update(index: int, diverged: bool) -> list:
            line.set_ydata(prediction[index])
            line.set_alpha(0.3 if diverged else 1.0)
            return [line]

        return update

    def _draw_test(self, ax: "Axes", theme: "Theme") -> None:
        """One feature: the test points, hollow, in the points' colour."""
        if self.test is not None:
            draw_test_points(ax, *self.test, theme.point_color, theme, 36)

    # -- several features: predicted against actual ---------------------------------------------

    def _against_actual_axes(self, ax: "Axes", limits: tuple[float, float], theme: "Theme",
                             residuals: bool, tested: bool = False) -> None:
        """Both axes over ``limits``, labelled, with the y = x line where a perfect model puts every point."""
        from matplotlib.lines import Line2D

        what = self.ylabel or "y"
        _set_axes(ax, limits, limits, f"actual {what}", f"predicted {what}")
        ax.plot(limits, limits, "--", color="#555555", lw=1.2, zorder=1.5)
        handles = [Line2D([], [], ls="--", color="#555555", label="y = x: perfect prediction")]
        if residuals:
            handles.append(Line2D([], [], color=theme.line_color, lw=1.5, label="residual"))
        if tested:
            handles.append(Line2D([], [], ls="", marker="o", markerfacecolor="none", markeredgecolor=theme.point_color,
                                  markeredgewidth=1.6, label="test points"))
        # Upper left: points sit there only while the model predicts far too high for the lowest values.
        ax.legend(handles=handles, loc="upper left", fontsize=smallest_text_size(), framealpha=0.85)

    def _setup_against_actual(self, ax: "Axes", trace: "Trace", theme: "Theme") -> Updater:
        """Predicted against actual: the points, their residuals to the diagonal, R^2 in a corner."""
        from matplotlib.collections import LineCollection

        limits = self._y_limits(trace)
        testing = self.test is not None and "test_y_pred" in trace.state
        self._against_actual_axes(ax, limits, theme, residuals=True, tested=testing)
        predictions = trace.state["y_pred"].astype(np.float64)
        actual = self.y
        variance = float(np.sum((actual - actual.mean()) ** 2))
        size = 18 * theme.marker_scale**2 if actual.size <= 300 else 9 * theme.marker_scale**2
        # Fainter the more points there are: a thousand segments stay a shaded band, not a solid wedge.
        faint = float(np.clip(8 / np.sqrt(actual.size), 0.15, 0.6))
        residuals = LineCollection([], colors=theme.line_color, linewidths=0.8, alpha=faint, zorder=2.0)
        ax.add_collection(residuals)
        points = ax.scatter(actual, actual, s=size, color=theme.point_color, edgecolors="white", linewidths=0.3,
                            zorder=2.5)
        score = ax.text(0.97, 0.04, "", transform=ax.transAxes, ha="right", va="bottom", fontsize=smallest_text_size(),
                        zorder=3, bbox={"boxstyle": "round,pad=0.3", "facecolor": "white", "edgecolor": "none",
                                        "alpha": 0.8})
        tested = None
        if testing:
            tested = draw_test_points(ax, self.test[1], self.test[1], theme.point_color, theme, size * 1.6)
            test_predictions = trace.state["test_y_pred"].astype(np.float64)

        def update(index: int, diverged: bool) -> list:
            if tested is not None:
                tested.set_offsets(np.column_stack([self.test[1], test_predictions[index]]))
            predicted = predictions[index]
            shown = np.where(np.isfinite(predicted), predicted, np.nan)
            points.set_offsets(np.column_stack([actual, shown]))
            residuals.set_segments(np.stack([np.column_stack([actual, shown]), np.column_stack([actual, actual])], 1))
            ok = np.isfinite(predicted)
            r2 = 1 - float(np.sum((actual[ok] - predicted[ok]) ** 2)) / variance if variance > 0 and ok.all() else np.nan
            which = "train R\u00b2" if testing else "R\u00b2"  # the test points' own spread says theirs
            score.set_text(f"{which} = {r2:.3f}" if np.isfinite(r2) else f"{which} = n/a")
            for artist in (points, residuals):
                artist.set_alpha((0.3 if diverged else 1.0) * (faint if artist is residuals else 1.0))
            return [residuals, points, score] + ([tested] if tested is not None else [])

        return update

    def _setup_race_against_actual(self, ax: "Axes", traces: Sequence["Trace"], theme: "Theme",
                                   colors: Sequence[str], limits: tuple[float, float]) -> RunsUpdater:
        """Each run's predicted points in its colour, over the y = x line."""
        self._against_actual_axes(ax, limits, theme, residuals=False)
        predictions = [trace.state["y_pred"].astype(np.float64) for trace in traces]
        size = 12 * theme.marker_scale**2 if self.y.size <= 300 else 6 * theme.marker_scale**2
        clouds = [ax.scatter(self.y, self.y, s=size, color=c, alpha=0.7, linewidths=0, zorder=2.5) for c in colors]

        def update(indices: Sequence[int], diverged: Sequence[bool]) -> list:
            for cloud, predicted, index, gone in zip(clouds, predictions, indices, diverged):
                cloud.set_offsets(np.column_stack([self.y, predicted[index]]))
                cloud.set_alpha(0.2 if gone else 0.7)
            return clouds

        return update
