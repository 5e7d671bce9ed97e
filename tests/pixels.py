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


def colour_pixels(frame: np.ndarray, hex_colour: str, tolerance: int = 20) -> int:
    """How many pixels are within ``tolerance`` of ``hex_colour`` (``"#rrggbb"``) in every channel."""
    rgb = np.array([int(hex_colour[i : i + 2], 16) for i in (1, 3, 5)])
    return int((np.abs(frame[..., :3].astype(int) - rgb).max(axis=-1) < tolerance).sum())


def band_heights(frame: np.ndarray) -> np.ndarray:
    """For each column of an ensemble's loss panel (the right half), how many pixels its light blue band covers."""
    right = frame[:, frame.shape[1] // 2:, :3].astype(int)
    r, b = right[..., 0], right[..., 2]
    return ((b - r > 25) & (r > 120)).sum(axis=0)
