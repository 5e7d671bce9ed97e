"""The blog's two scenes: a fitted line over a scatter, and a linear boundary between two classes."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Mapping

import numpy as np

from .._exceptions import CaptureError, UsageError
from ._base import (
    RunsUpdater,
    Scene,
    check_limits,
    check_names,
    check_state,
    evaluate_model,
    finite_range,
    format_number,
    points_and_labels,
    register_scene,
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


class _StraightLineScene(Scene):
    """Shared parts of the two blog scenes: state is a line ``y = w*x + b``."""

    def __init__(self, xlim: Any, ylim: Any, loss: "str | None") -> None:
        from ..landscape import check_loss

        self.xlim = check_limits("xlim", xlim)
        self.ylim = check_limits("ylim", ylim)
        self.loss = check_loss(self.name, loss)

    def _line_from_model(self, model: Any) -> dict[str, np.ndarray]:
        raise NotImplementedError

    def capture(self, state: Mapping[str, Any]) -> dict[str, np.ndarray]:
        check_names(type(self).__name__, state, [("w", "b"), ("model",)])
        if "model" in state:
            return self._line_from_model(state["model"])
        return {"w": to_scalar("w", state["w"]), "b": to_scalar("b", state["b"])}

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
        (default, the blog's ``0.5 * mean squared error``), ``"mse"`` or ``"mae"``.
    """

    name = "line_fit"

    def __init__(self, x: Any, y: Any, *, xlim: Any = None, ylim: Any = None, loss: "str | None" = None) -> None:
        super().__init__(xlim, ylim, loss)
        self.x = _points_1d("x", x)
        self.y = _points_1d("y", y)
        if self.x.shape != self.y.shape:
            raise UsageError(f"x and y must hold the same number of values, got {self.x.size} and {self.y.size}")

    def _line_from_model(self, model: Any) -> dict[str, np.ndarray]:
        out = evaluate_model(model, np.array([[0.0], [1.0]])).reshape(2, -1)
        if out.shape[1] != 1:
            raise CaptureError(f"LineFit needs a model with one output, got {out.shape[1]}")
        b, at_one = out[:, 0]
        return {"w": np.array(at_one - b), "b": np.array(b)}

    def to_data(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        return {"x": self.x, "y": self.y}, self._options()

    @classmethod
    def from_data(cls, data: Mapping[str, np.ndarray], options: Mapping[str, Any]) -> "LineFit":
        return cls(data["x"], data["y"], xlim=options.get("xlim"), ylim=options.get("ylim"), loss=options.get("loss"))

    def _draw_static(self, ax: "Axes", theme: "Theme") -> tuple[float, float]:
        ax.scatter(self.x, self.y, color=theme.point_color, zorder=1)
        ax.set_xlim(self.xlim or finite_range(self.x))
        ax.set_ylim(self.ylim or finite_range(self.y))
        return (float(self.x.min()), float(self.x.max()))


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

    def __init__(self, points: Any, labels: Any, *, xlim: Any = None, ylim: Any = None, loss: "str | None" = None) -> None:
        super().__init__(xlim, ylim, loss)
        points, labels = points_and_labels(points, labels)
        if not np.all((labels == 0) | (labels == 1)):
            raise UsageError("labels must be 0 or 1 for LinearBoundary")
        self.points = points
        self.labels = labels.astype(np.int64)

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
