"""Scenes: what a recorder captures and how each frame is drawn.

``LineFit`` and ``LinearBoundary`` are the blog's two pictures; ``DecisionBoundary`` and ``CurveFit``
evaluate any model on a grid.
"""

from ._base import Scene, register_scene, scene_from_trace
from .linear import LineFit, LinearBoundary
from .model import CurveFit, DecisionBoundary

__all__ = ["CurveFit", "DecisionBoundary", "LineFit", "LinearBoundary", "Scene", "register_scene", "scene_from_trace"]
