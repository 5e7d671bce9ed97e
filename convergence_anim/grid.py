"""Small multiples: many traces side by side in one synchronised animation, one cell per run.

A grid is built in two steps so that the expensive one can run anywhere:

1. ``FrameRenderer`` draws one trace as a small cell (its own little figure: the scene, a label such as
   "seed 3" and the loss), frame by frame. ``cell_frames`` packs those frames, compressed, into plain
   bytes that travel cheaply from a worker process or a Dask worker.
2. ``write_grid`` lays the cells out in rows and columns and streams the composed frames into an
   encoder. Grid frame ``t`` shows frame ``t`` of every cell; a run that stopped early holds its last
   frame, so the grid is as long as the longest run.

Drawing each cell on its own keeps memory flat (a cell never needs the other runs' traces, which can
be tens of megabytes each) and lets the cells be drawn in parallel; composing is a few array copies.

``convergence_anim.batch`` does both steps for many runs, the first in worker processes.
"""

from __future__ import annotations

import math
import os
import zlib
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Sequence

import numpy as np

from ._atomic import check_output_path
from ._checks import integer
from ._exceptions import UsageError
from .encoders import check_fps, encoder_for, writing
from .frames import FrameRenderer, cell_layout, cell_look, cell_message, cell_title
from .style import Theme, get_theme

if TYPE_CHECKING:  # pragma: no cover
    from .scenes import Scene
    from .trace import Trace

__all__ = ["CELL_SIZE", "cell_frames", "check_cell_size", "grid_shape", "message_cell", "write_grid"]

#: Default cell size in pixels: 100 cells in 10 columns make a 2000x1600 grid.
CELL_SIZE = (200, 160)


def grid_shape(cells: int, cols: "int | None" = None) -> tuple[int, int]:
    """Rows and columns for ``cells`` cells: ``cols`` columns, or a near-square layout if None."""
    if isinstance(cells, bool) or not isinstance(cells, int) or cells <= 0:
        raise UsageError(f"a grid needs at least one cell, got {cells!r}")
    if cols is None:
        cols = math.ceil(math.sqrt(cells))
    cols = integer("grid columns", cols, low=1)
    cols = min(cols, cells)
    return math.ceil(cells / cols), cols


def check_cell_size(size: "tuple[int, int]") -> tuple[int, int]:
    try:
        width, height = (int(v) for v in size)
    except (TypeError, ValueError):
        raise UsageError(f"cell size must be (width, height) in pixels, got {size!r}") from None
    if not (64 <= width <= 2048 and 64 <= height <= 2048) or width % 2 or height % 2:
        raise UsageError(f"cell size must be even numbers of pixels from 64 to 2048, got {width}x{height}")
    return width, height


def cell_frames(
    trace: "Trace",
    label: str,
    *,
    size: "tuple[int, int]" = CELL_SIZE,
    theme: "str | Theme" = "light",
    scene: "Scene | None" = None,
) -> list[bytes]:
    """Draw every frame of ``trace`` as a cell; return them zlib-compressed (RGBA), for ``write_grid``.

    Compressed cells are small (flat colours), so they travel cheaply from worker processes and a
    grid of many long runs fits in memory.

    A cell is a frame drawn by ``FrameRenderer`` at cell size (``frames.cell_look``): the scene without
    tick labels (unreadable at this size; use a shared scale to make cells comparable), ``label`` top
    left and the loss top right.

    Parameters
    ----------
    trace:
        The captures to draw.
    label:
        The cell's name, e.g. ``"seed 3"``.
    size:
        Cell size ``(width, height)`` in pixels, even numbers.
    theme:
        Theme name or ``Theme``; its colours, scaled down.
    scene:
        The trace's scene, already built (``scene_from_trace(trace)`` if None).

    Raises
    ------
    EmptyTraceError
        If the trace has no captures.
    UsageError
        If the size or theme is not valid.
    """
    renderer = FrameRenderer(trace, cell_look(check_cell_size(size), get_theme(theme)), labels=[label], scene=scene)
    try:
        return [zlib.compress(renderer.render_rgba(i).tobytes(), 1) for i in range(len(trace))]
    finally:
        renderer.close()


def message_cell(label: str, message: str, *, size: "tuple[int, int]" = CELL_SIZE, theme: "str | Theme" = "light") -> list[bytes]:
    """One cell frame with ``label`` and ``message`` and no plot: the place of a run that failed."""
    layout = cell_layout(cell_look(check_cell_size(size), get_theme(theme)), blit=False, axes=False)
    with layout.building():
        cell_title(layout, label)
        cell_message(layout, message)
    frame = layout.draw([])
    layout.close()
    return [zlib.compress(frame.tobytes(), 1)]


def write_grid(
    cells: Sequence[Sequence[bytes]],
    path: "str | os.PathLike[str]",
    *,
    cell_size: "tuple[int, int]" = CELL_SIZE,
    cols: "int | None" = None,
    fps: float = 10,
    loop: int = 0,
    progress: "Callable[[int], None] | None" = None,
) -> Path:
    """Lay out ``cells`` (each from ``cell_frames`` or ``message_cell``) in a grid and encode it.

    Cells fill rows left to right. Grid frame ``t`` shows frame ``min(t, len(cell) - 1)`` of each
    cell; empty places in the last row take the background colour of the first cell.

    Parameters
    ----------
    cells:
        The cells' compressed frames, all of size ``cell_size``.
    path:
        Output ``.gif`` or ``.mp4``, written atomically; its folder must exist.
    cell_size:
        ``(width, height)`` of every cell in pixels.
    cols:
        Columns; near-square if None.
    fps, loop:
        Frames per second and, for GIF, times played (0: forever).
    progress:
        Called with 1 after each grid frame is written.

    Returns
    -------
    Path
        ``path``.

    Raises
    ------
    UsageError
        If there are no cells, a cell is empty or of another size, or an option is out of range.
    OutputError
        If the file cannot be written (``EncoderError`` if the encoder fails).
    """
    encoder_class = encoder_for(path)
    fps = check_fps(fps, encoder_class.max_fps, encoder_class.suffix)
    width, height = check_cell_size(cell_size)
    rows, cols = grid_shape(len(cells), cols)
    nbytes = width * height * 4
    for cell in cells:
        if len(cell) == 0:
            raise UsageError("every grid cell needs at least one frame")
    path = check_output_path(path)
    n_frames = max(len(cell) for cell in cells)

    def unpack(data: bytes) -> np.ndarray:
        raw = zlib.decompress(data)
        if len(raw) != nbytes:
            raise UsageError(f"a grid cell frame is not {width}x{height} RGBA")
        return np.frombuffer(raw, dtype=np.uint8).reshape(height, width, 4)

    background = unpack(cells[0][0])[0, 0]
    canvas = np.empty((rows * height, cols * width, 4), dtype=np.uint8)
    canvas[...] = background
    shown = [-1] * len(cells)

    def compose(t: int) -> np.ndarray:
        for i, cell in enumerate(cells):
            index = min(t, len(cell) - 1)
            if index != shown[i]:  # cells that have stopped keep their pixels
                r, c = divmod(i, cols)
                canvas[r * height : (r + 1) * height, c * width : (c + 1) * width] = unpack(cell[index])
                shown[i] = index
        return canvas

    samples = []
    if encoder_class.needs_samples:
        samples = [compose(t).copy() for t in sorted({0, n_frames // 2, n_frames - 1})]
    with writing(path, size=(cols * width, rows * height), fps=fps, loop=loop, samples=samples, progress=progress,
                 encoder=encoder_class) as out:
        for t in range(n_frames):
            out.write(compose(t))
    return path
