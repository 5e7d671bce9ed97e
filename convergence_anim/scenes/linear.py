"""The blog's two scenes: a fitted line over a scatter, and a linear boundary between two classes."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, Mapping

import numpy as np

from .._exceptions import CaptureError, UsageError
from ._base import (
    TEST_LOSS,
    RunsUpdater,
    Scene,
    check_limits,
    check_names,
    check_state,
    draw_test_points,
    evaluate_model,
    finite_range,
    format_number,
    points_and_labels,
    register_scene,
    test_set,
    to_array,
    to_scalar,
)

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes

    from ..runs import Runs
    from ..style import Theme
    from ..trace import Trace

__all__ = ["LineFit", "LinearBoundary"]


def _points_1d(name: str, values: Any) -> np.ndarray:
    array = to_array(name, values).reshape(-1)
    if array.size == 0:
        raise UsageError(f"{name} is empty; a scene needs at least one point")
    if not np.all(np.isfinite(array)):
        raise UsageError(f"{name} holds NaN or infinite values")
    return array


def _line_data(x: Any, y: Any) -> tuple[np.ndarray, np.ndarray]:
    """``x`` and ``y`` as 1-D float arrays of the same, non-zero length with finite values, else UsageError."""
    x, y = _points_1d("x", x), _points_1d("y", y)
    if x.shape != y.shape:
        raise UsageError(f"x and y must hold the same number of values, got {x.size} and {y.size}")
    return x, y


#: Values above this many grid cells times data points are evaluated in chunks, to bound memory.
_CHUNK = 1 << 22


class _StraightLineScene(Scene):
    """Shared parts of the two blog scenes: state is a line ``y = w*x + b``.

    Each is a two-parameter scene: it owns its loss over ``(w, b)`` (``landscape_loss``), which the
    landscape panel draws exactly from the scene's data, with nothing extra recorded.
    """

    #: The losses the scene can name, with what each computes.
    losses: ClassVar[dict[str, str]]
    #: The loss used when none is named.
    default_loss: ClassVar[str]
    #: The two parameters its loss landscape spans: names in the trace's state, and the panel's axes.
    landscape_parameters: ClassVar[tuple[str, str]] = ("w", "b")

    def __init__(self, xlim: Any, ylim: Any, loss: "str | None") -> None:
        self.xlim = check_limits("xlim", xlim)
        self.ylim = check_limits("ylim", ylim)
        if loss is not None and loss not in self.losses:
            raise UsageError(f"loss must be one of {', '.join(self.losses)} for this scene, got {loss!r}")
        self.loss = self.default_loss if loss is None else str(loss)

    def landscape_loss(self, w: Any, b: Any) -> np.ndarray:
        """The scene's loss (``self.loss``) at each ``(w, b)`` (broadcast together), from its own data, as float64."""
        w, b = np.broadcast_arrays(np.asarray(w, dtype=np.float64), np.asarray(b, dtype=np.float64))
        shape = w.shape
        w, b = w.reshape(-1, 1), b.reshape(-1, 1)
        out = np.empty(w.shape[0])
        step = max(1, _CHUNK // self._size())
        with np.errstate(over="ignore", invalid="ignore"):
            for start in range(0, w.shape[0], step):
                out[start : start + step] = self._losses(w[start : start + step], b[start : start + step])
        return out.reshape(shape)

    def _size(self) -> int:
        raise NotImplementedError

    def _losses(self, ws: np.ndarray, bs: np.ndarray) -> np.ndarray:
        """The loss of each row's line: ``ws`` and ``bs`` of shape ``(m, 1)``; returns shape ``(m,)``."""
        raise NotImplementedError

    def _line_from_model(self, model: Any) -> dict[str, np.ndarray]:
        raise NotImplementedError

    def capture(self, state: Mapping[str, Any]) -> dict[str, np.ndarray]:
        check_names(type(self).__name__, state, [("w", "b"), ("model",)])
        if "model" in state:
            line = self._line_from_model(state["model"])
        else:
            line = {"w": to_scalar("w", state["w"]), "b": to_scalar("b", state["b"])}
        return {**line, **self._test_loss(line["w"], line["b"])}

    def _test_loss(self, w: np.ndarray, b: np.ndarray) -> dict[str, np.ndarray]:
        """The scene's loss on its test set for the line ``(w, b)``, as the recorder's ``TEST_LOSS`` (none without one)."""
        return {}

    def check_trace(self, trace: "Trace") -> None:
        for name in ("w", "b"):
            check_state(trace, name, ())

    def title(self, trace: "Trace", index: int) -> str:
        w, b = trace.state["w"][index], trace.state["b"][index]
        return f"Iteration:{trace.steps[index]}\nw:{format_number(w)},b:{format_number(b)}"

    def _options(self) -> dict[str, Any]:
        return {"xlim": list(self.xlim) if self.xlim else None, "ylim": list(self.ylim) if self.ylim else None,
                "loss": self.loss}

    def _draw_static(self, ax: "Axes", theme: "Theme") -> tuple[float, float]:
        """Draw the data and set the limits; return the x span the line is drawn across."""
        raise NotImplementedError

    def draw_runs(self, ax: "Axes", runs: "Runs", theme: "Theme") -> RunsUpdater:
        """The data once, and each run's line: a single run's thick, a race's thinner, so overlapping runs stay apart."""
        xs = np.array(self._draw_static(ax, theme), dtype=np.float64)
        width = theme.line_width * (0.6 if runs.race else 1.0)
        lines = [ax.plot(xs, xs, "-", color=color, lw=width, zorder=2.6)[0] for color in runs.colors]

        def update(indices, diverged) -> list:
            for line, trace, index, gone in zip(lines, runs, indices, diverged):
                with np.errstate(over="ignore", invalid="ignore"):  # a huge w is drawn (off-axes), not warned about
                    line.set_ydata(trace.state["w"][index] * xs + trace.state["b"][index])
                line.set_alpha(0.3 if gone else 1.0)
            return lines

        return update


@register_scene
class LineFit(_StraightLineScene):
    """Regression: the data as a scatter, and the fitted line ``y = w*x + b`` of each capture.

    Capture with ``w=..., b=...`` (one value each) or ``model=<nn.Module>`` mapping ``(n, 1)`` to
    ``(n, 1)`` (its line is read off at x = 0 and x = 1).

    Parameters
    ----------
    x, y:
        The data, any shape with the same number of values (tensors or arrays).
    xlim, ylim:
        Fixed axis limits; by default the data's range with a margin.
    loss:
        The loss the ``(w, b)`` landscape shows (``render(..., landscape=True)``): ``"half_mse"``
        (default, the blog's ``0.5 * mean squared error``), ``"mse"`` or ``"mae"``; also the loss
        computed on the test set.
    test:
        Optional held-out data ``(x_test, y_test)``, drawn as hollow points; each capture then
        computes this scene's ``loss`` on it, which the loss panel draws as the test loss beside
        the training loss (a ``test_loss=`` given to ``capture`` wins). Stored in the trace's data
        as ``test_x`` and ``test_y``.

    Raises
    ------
    UsageError
        If the data, the test set or the options do not fit.
    """

    name = "line_fit"
    losses = {
        "half_mse": "0.5 * mean((y - (w*x + b))**2), the blog's",
        "mse": "mean((y - (w*x + b))**2)",
        "mae": "mean(|y - (w*x + b)|)",
    }
    default_loss = "half_mse"

    def __init__(self, x: Any, y: Any, *, xlim: Any = None, ylim: Any = None, loss: "str | None" = None,
                 test: Any = None) -> None:
        super().__init__(xlim, ylim, loss)
        self.x, self.y = _line_data(x, y)
        self.test = test_set(test, _line_data)

    def _size(self) -> int:
        return self.x.size

    def _losses(self, ws: np.ndarray, bs: np.ndarray, x: "np.ndarray | None" = None,
                y: "np.ndarray | None" = None) -> np.ndarray:
        x, y = (self.x, self.y) if x is None else (x, y)
        residual = y[None, :] - (ws * x[None, :] + bs)
        if self.loss == "mae":
            return np.abs(residual).mean(axis=1)
        return (residual**2).mean(axis=1) * (0.5 if self.loss == "half_mse" else 1.0)

    def _test_loss(self, w: np.ndarray, b: np.ndarray) -> dict[str, np.ndarray]:
        if self.test is None:
            return {}
        with np.errstate(over="ignore", invalid="ignore"):
            loss = self._losses(np.reshape(w, (1, 1)), np.reshape(b, (1, 1)), *self.test)
        return {TEST_LOSS: np.asarray(loss[0])}

    def _line_from_model(self, model: Any) -> dict[str, np.ndarray]:
        out = evaluate_model(model, np.array([[0.0], [1.0]])).reshape(2, -1)
        if out.shape[1] != 1:
            raise CaptureError(f"LineFit needs a model with one output, got {out.shape[1]}")
        b, at_one = out[:, 0]
        return {"w": np.array(at_one - b), "b": np.array(b)}

    def to_data(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        data = {"x": self.x, "y": self.y}
        if self.test is not None:
            data["test_x"], data["test_y"] = self.test
        return data, self._options()

    @classmethod
    def from_data(cls, data: Mapping[str, np.ndarray], options: Mapping[str, Any]) -> "LineFit":
        test = (data["test_x"], data["test_y"]) if "test_x" in data else None
        return cls(data["x"], data["y"], xlim=options.get("xlim"), ylim=options.get("ylim"), loss=options.get("loss"),
                   test=test)

    def _draw_static(self, ax: "Axes", theme: "Theme") -> tuple[float, float]:
        ax.scatter(self.x, self.y, color=theme.point_color, zorder=1)
        xs, ys = self.x, self.y
        if self.test is not None:
            draw_test_points(ax, *self.test, theme.point_color, theme, 36)
            xs, ys = np.concatenate([xs, self.test[0]]), np.concatenate([ys, self.test[1]])
        ax.set_xlim(self.xlim or finite_range(xs))
        ax.set_ylim(self.ylim or finite_range(ys))
        return (float(xs.min()), float(xs.max()))


@register_scene
class LinearBoundary(_StraightLineScene):
    """Two-class classification with a straight boundary ``y = w*x + b``, as in the blog.

    Capture with ``w=..., b=...`` (the blog's ``sigmoid(w*x + b - y)`` model) or ``model=<nn.Module>``
    mapping ``(n, 2)`` points to one logit (or two class scores); the line is where the logit is 0.

    Parameters
    ----------
    points:
        The data points, shape ``(n, 2)``.
    labels:
        The class of each point, 0 or 1, shape ``(n,)``.
    xlim, ylim:
        Fixed axis limits; by default the points' range with a margin. The boundary is drawn across
        the whole x range.
    loss:
        The loss the ``(w, b)`` landscape shows (``render(..., landscape=True)``), of the blog's model
        ``p = sigmoid(w*x + b - y)``: ``"cross_entropy"`` (default) or ``"squared_sigmoid"`` (the
        blog's ``mean((p - label)**2)``). A trace captured with ``model=`` keeps only the line, so its
        landscape is that of the blog's model with the same line.
    """

    name = "linear_boundary"
    label_position = (0.03, 0.88)
    losses = {
        "cross_entropy": "mean binary cross-entropy of p = sigmoid(w*x + b - y)",
        "squared_sigmoid": "mean((sigmoid(w*x + b - y) - label)**2), the blog's",
    }
    default_loss = "cross_entropy"

    def __init__(self, points: Any, labels: Any, *, xlim: Any = None, ylim: Any = None, loss: "str | None" = None) -> None:
        super().__init__(xlim, ylim, loss)
        points, labels = points_and_labels(points, labels)
        if not np.all((labels == 0) | (labels == 1)):
            raise UsageError("labels must be 0 or 1 for LinearBoundary")
        self.points = points
        self.labels = labels.astype(np.int64)

    def _size(self) -> int:
        return len(self.points)

    def _losses(self, ws: np.ndarray, bs: np.ndarray) -> np.ndarray:
        x, y, labels = self.points[None, :, 0], self.points[None, :, 1], self.labels[None, :].astype(np.float64)
        z = ws * x + bs - y
        if self.loss == "cross_entropy":
            # -[c log p + (1-c) log(1-p)] with p = sigmoid(z) is softplus(z) - c*z, stable for any z.
            return (np.logaddexp(0.0, z) - labels * z).mean(axis=1)
        p = 0.5 * (1.0 + np.tanh(0.5 * z))
        return ((p - labels) ** 2).mean(axis=1)

    def _line_from_model(self, model: Any) -> dict[str, np.ndarray]:
        out = evaluate_model(model, np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]])).reshape(3, -1)
        if out.shape[1] == 2:  # two class scores: the boundary is where they are equal
            logit = out[:, 1] - out[:, 0]
        elif out.shape[1] == 1:
            logit = out[:, 0]
        else:
            raise CaptureError(f"LinearBoundary needs a model with 1 or 2 outputs, got {out.shape[1]}")
        d, a, c = logit[0], logit[1] - logit[0], logit[2] - logit[0]
        # a*x + c*y + d = 0  <=>  y = -(a/c)*x - d/c; c == 0 (a vertical line) gives inf, drawn as diverged.
        with np.errstate(divide="ignore", invalid="ignore"):
            return {"w": np.array(-a / c), "b": np.array(-d / c)}

    def to_data(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        return {"points": self.points, "labels": self.labels}, self._options()

    @classmethod
    def from_data(cls, data: Mapping[str, np.ndarray], options: Mapping[str, Any]) -> "LinearBoundary":
        return cls(data["points"], data["labels"], xlim=options.get("xlim"), ylim=options.get("ylim"),
                   loss=options.get("loss"))

    def _draw_static(self, ax: "Axes", theme: "Theme") -> tuple[float, float]:
        ax.scatter(self.points[:, 0], self.points[:, 1], c=self.labels, s=100 * theme.marker_scale**2, cmap="RdYlGn", vmin=0, vmax=1, zorder=1)
        xlim = self.xlim or finite_range(self.points[:, 0])
        ax.set_xlim(xlim)
        ax.set_ylim(self.ylim or finite_range(self.points[:, 1]))
        return xlim
