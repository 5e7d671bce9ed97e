"""Pixel counts that tell a drawn frame from a blank or wrong one."""

import numpy as np


def red_pixels(frame: np.ndarray) -> int:
    """How many pixels are clearly red: the fitted line and the loss label."""
    r, g, b = (frame[..., i].astype(int) for i in range(3))
    return int(((r > 200) & (g < 60) & (b < 60)).sum())


def blue_pixels(frame: np.ndarray) -> int:
    """How many pixels are matplotlib's default blue (the data points)."""
    r, g, b = (frame[..., i].astype(int) for i in range(3))
    return int(((abs(r - 31) < 25) & (abs(g - 119) < 25) & (abs(b - 180) < 25)).sum())
