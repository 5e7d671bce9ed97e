"""Scenes: what a recorder captures and how each frame is drawn.

``LineFit`` and ``LinearBoundary`` are the blog's two pictures; ``DecisionBoundary`` and ``CurveFit``
evaluate any model (or prediction function) on a grid; ``Plot`` draws anything with a function of
your own. A reusable scene subclasses ``Scene`` and uses the helpers below (see
``docs/your-own-plot.md``).
"""

from ..runs import Runs
from ._base import (
    EvaluationGrid,
    RunsUpdater,
    Scene,
    Updater,
    check_limits,
    check_names,
    check_state,
    finite_range,
    format_number,
    register_scene,
    scene_from_trace,
    to_array,
    to_scalar,
)
from .linear import LineFit, LinearBoundary
from .model import CurveFit, DecisionBoundary
from .plot import Frame, Plot

__all__ = [
    "CurveFit",
    "DecisionBoundary",
    "EvaluationGrid",
    "Frame",
    "LineFit",
    "LinearBoundary",
    "Plot",
    "Runs",
    "RunsUpdater",
    "Scene",
    "Updater",
    "check_limits",
    "check_names",
    "check_state",
    "finite_range",
    "format_number",
    "register_scene",
    "scene_from_trace",
    "to_array",
    "to_scalar",
]
