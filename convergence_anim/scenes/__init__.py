"""Scenes: what a recorder captures and how each frame is drawn.

``LineFit`` and ``LinearBoundary`` are the blog's two pictures.
"""

from ._base import Scene, register_scene, scene_from_trace
from .linear import LineFit, LinearBoundary

__all__ = ["LineFit", "LinearBoundary", "Scene", "register_scene", "scene_from_trace"]
