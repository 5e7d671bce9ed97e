"""Small multiples: many traces side by side in one synchronised animation, one cell per run.

A grid is built in two steps so that the expensive one can run anywhere:

1. ``CellRenderer`` draws one trace as a small cell (its own little figure: the scene, a label such as
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

from ._atomic import atomic_output, check_output_path
from ._checks import integer
from ._exceptions import UsageError
from .encoders import encoder_for
from .frames import shown_frames
from .layout import FrameLayout
from .encoders._base import check_fps
from .style import Theme, get_theme

if TYPE_CHECKING:  # pragma: no cover
    from .scenes import Scene
    from .trace import Trace

__all__ = ["CELL_SIZE", "CellRenderer", "cell_frames", "grid_shape", "message_cell", "write_grid"]

#: Default cell size in pixels: 100 cells in 10 columns make a 2000x1600 grid.
CELL_SIZE = (200, 160)
#: A cell is drawn like a frame this many pixels wide, scaled down: lines, points and the scene's own
#: text keep their proportions to the plot.
_LOOKS_LIKE_WIDTH = 480
# Cell layout in pixels: a header line for the label and the loss, a thin margin elsewhere.
_HEADER, _MARGIN = 17, 3
_LABEL_PX, _LOSS_PX = 12, 11


def grid_shape(cells: int, cols: "int | None" = None) -> tuple[int, int]:
    """Rows and columns for ``cells`` cells: ``cols`` columns, or a near-square layout if None."""
    if isinstance(cells, bool) or not isinstance(cells, int) or cells <= 0:
        raise UsageError(f"a grid needs at least one cell, got {cells!r}")
    if cols is None:
        cols = math.ceil(math.sqrt(cells))
    cols = integer("grid columns", cols, low=1)
    cols = min(cols, cells)
    return math.ceil(cells / cols), cols


def _check_cell_size(size: "tuple[int, int]") -> tuple[int, int]:
    try:
        width, height = (int(v) for v in size)
    except (TypeError, ValueError):
        raise UsageError(f"cell size must be (width, height) in pixels, got {size!r}") from None
    if not (64 <= width <= 2048 and 64 <= height <= 2048) or width % 2 or height % 2:
        raise UsageError(f"cell size must be even numbers of pixels from 64 to 2048, got {width}x{height}")
    return width, height


class CellRenderer:
    """Draws frame ``i`` of one trace as a small grid cell, an ``(height, width, 4)`` uint8 RGBA array.

    The cell holds the scene without tick labels (unreadable at this size; use a shared scale to make
    cells comparable), ``label`` top left and the loss top right. Like ``FrameRenderer``, the static
    parts are drawn once and only the changing artists per frame (``blit=False`` redraws everything;
    the pixels are the same).

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
    blit:
        Draw only what changes per frame, or redraw everything; the pixels are the same.
    scene:
        The trace's scene, already built (``scene_from_trace(trace)`` if None).

    Raises
    ------
    EmptyTraceError
        If the trace has no captures.
    UsageError
        If the size or theme is not valid.
    """

    def __init__(
        self,
        trace: "Trace",
        label: str,
        *,
        size: "tuple[int, int]" = CELL_SIZE,
        theme: "str | Theme" = "light",
        blit: bool = True,
        scene: "Scene | None" = None,
    ) -> None:
        from .scenes import scene_from_trace

        trace.require_frames()
        width, height = _check_cell_size(size)
        theme = get_theme(theme)
        self.trace, self.label, self.size = trace, label, (width, height)
        self._shown = shown_frames(trace)
        scene = scene_from_trace(trace) if scene is None else scene
        self._layout = layout = _cell_layout(width, height, theme, blit, axes=True)
        pt = 72 / layout.fig.dpi  # points per pixel, to give text a size in pixels
        with layout.building():
            ax = layout.main
            self._update_scene = scene.setup(ax, trace, theme)
            ax.set_xticks([])
            ax.set_yticks([])
            ax.set_title("")
            ax.set_xlabel("")
            ax.set_ylabel("")
            _cell_title(layout, label)
            self._loss = layout.fig.text(1 - _MARGIN / width, 1 - 2 / height, "", ha="right", va="top",
                                         fontsize=_LOSS_PX * pt, color=theme.label_color)

    def __len__(self) -> int:
        return len(self.trace)

    def _set_frame(self, index: int) -> list:
        shown = int(self._shown[index])
        diverged = shown != index
        artists = list(self._update_scene(shown, diverged))
        loss = self.trace.losses[index]
        if diverged:
            self._loss.set_text("diverged")
        else:
            self._loss.set_text("" if math.isnan(loss) else f"loss {loss:.4g}")
        return artists + [self._loss]

    def render_rgba(self, index: int) -> np.ndarray:
        """Return cell frame ``index`` as a new ``(height, width, 4)`` uint8 RGBA array."""
        return self._layout.draw(self._set_frame(index))

    def close(self) -> None:
        """Release the figure."""
        self._layout.close()


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
    grid of many long runs fits in memory. The options are ``CellRenderer``'s.
    """
    renderer = CellRenderer(trace, label, size=size, theme=theme, scene=scene)
    try:
        return [zlib.compress(renderer.render_rgba(i).tobytes(), 1) for i in range(len(trace))]
    finally:
        renderer.close()


def message_cell(label: str, message: str, *, size: "tuple[int, int]" = CELL_SIZE, theme: "str | Theme" = "light") -> list[bytes]:
    """One cell frame with ``label`` and ``message`` and no plot: the place of a run that failed."""
    width, height = _check_cell_size(size)
    theme = get_theme(theme)
    layout = _cell_layout(width, height, theme, blit=False, axes=False)
    with layout.building():
        _cell_title(layout, label)
        layout.fig.text(0.5, 0.5, message, ha="center", va="center", fontsize=_LOSS_PX * 72 / layout.fig.dpi,
                        color=theme.label_color, wrap=True)
    frame = layout.draw([])
    layout.close()
    return [zlib.compress(frame.tobytes(), 1)]


def _cell_layout(width: int, height: int, theme: Theme, blit: bool, axes: bool) -> FrameLayout:
    """A cell's layout: drawn like a frame ``_LOOKS_LIKE_WIDTH`` wide, the plot under a header line."""
    rect = [_MARGIN / width, _MARGIN / height, 1 - 2 * _MARGIN / width, 1 - (_MARGIN + _HEADER) / height]
    dpi = theme.dpi * width / _LOOKS_LIKE_WIDTH
    return FrameLayout((width, height), dpi, theme, main_rect=rect, axes=axes, blit=blit, slack=0.5)


def _cell_title(layout: FrameLayout, label: str) -> None:
    """The cell's label, top left in bold."""
    width, height = layout.size
    layout.fig.text(_MARGIN / width, 1 - 2 / height, label, ha="left", va="top", fontsize=_LABEL_PX * 72 / layout.fig.dpi,
                    fontweight="bold")


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
    width, height = _check_cell_size(cell_size)
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
    with atomic_output(path) as tmp:
        with encoder_class(tmp, size=(cols * width, rows * height), fps=fps, loop=loop, samples=samples) as encoder:
            for t in range(n_frames):
                encoder.write(compose(t))
                if progress is not None:
                    progress(1)
    return path
