"""Beamer slides: the frames as files beside a LaTeX snippet that plays them with ``\\animategraphics``.

``render(trace, "talk/linear.tex")`` writes

- ``talk/linear-frames/frame-000.pdf`` ... one file per frame: vector PDF pages by default (crisp at
  any zoom on a projector), PNG images with ``frames_format="png"`` (and for grids, which are
  composed as pixels);
- ``talk/linear-frames/timeline.txt`` when the first or last frame is held (the ``animate`` package
  shows frames at one rate; its timeline gives a held frame a rate of its own);
- ``talk/linear.tex``: the ``\\animategraphics`` line at the animation's frame rate, to ``\\input``
  in a frame of a beamer document that loads ``\\usepackage{animate}``.

The animation plays in Adobe Reader, Okular and PDF-XChange (the ``animate`` package uses PDF
JavaScript); other viewers show the first frame. The frames folder is written under a temporary
name and moved into place when complete, like every output.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np

from .._atomic import remove_stale_temporary_files, remove_temporary, target_of, temporary_folder
from .._exceptions import OutputError, UsageError
from ._base import Encoder

__all__ = ["BeamerEncoder"]

#: Files of a frames folder this encoder wrote, which it may replace.
_OURS = ("frame-", "timeline.txt")
#: Frame numbers are zero-padded to this width (\animategraphics reads the width from first and last).
_DIGITS = 4


class BeamerEncoder(Encoder):
    """Writes frame files and a ``.tex`` snippet with ``\\animategraphics``.

    Parameters
    ----------
    path, size, fps, loop, samples:
        As for every ``Encoder``. ``loop`` 1 plays once; any other value loops (``animate`` has no
        repeat count).
    frames_format:
        ``"pdf"``: the renderer hands each frame as a function that saves it (``draws_pages``), so
        pages stay vector; pixel frames (a grid's) are written as PNG either way. ``"png"``: PNG.

    Raises
    ------
    UsageError
        If ``frames_format`` is not ``"pdf"`` or ``"png"``.
    OutputError
        If the frames folder cannot be written, or a folder of that name holds other files.
    """

    suffix = ".tex"
    max_fps = 60.0

    @classmethod
    def options_from(cls, settings) -> dict:
        return {"frames_format": settings.frames_format}

    def __init__(self, path, *, size, fps, loop=0, samples=(), frames_format: str = "pdf") -> None:
        super().__init__(path, size=size, fps=fps, loop=loop, samples=samples)
        if frames_format not in ("pdf", "png"):
            raise UsageError(f"frames_format must be pdf or png, got {frames_format!r}")
        self.draws_pages = frames_format == "pdf"
        self.folder = self.companion_paths(target_of(self.path))[0]
        self._repeats: list[int] = []
        self._extension: "str | None" = None
        self._check_folder()
        self._work = temporary_folder(self.folder)

    @classmethod
    def companion_paths(cls, path) -> "list[Path]":
        """The frames folder beside ``path``: ``talk/linear.tex`` -> ``talk/linear-frames``."""
        path = Path(path)
        return [path.with_name(path.stem + "-frames")]

    def _frame_name(self, index: int, extension: str) -> str:
        return f"frame-{index:0{_DIGITS}d}.{extension}"

    def write_prepared(self, payload, repeat: int = 1) -> None:
        """Write one frame: ``payload`` is a function saving the frame to a path (PDF), or an RGB(A) array (PNG)."""
        if self.frames_written == 10**_DIGITS:
            raise UsageError(f"beamer slides hold at most {10**_DIGITS} frames; lower max_frames")
        extension = "pdf" if callable(payload) else "png"
        if self._extension not in (None, extension):
            raise UsageError("all frames of one beamer animation must be pages or all pixels")
        self._extension = extension
        target = self._work / self._frame_name(self.frames_written, extension)
        try:
            if callable(payload):
                payload(str(target))
            else:
                from PIL import Image

                frame = np.asarray(payload)
                if frame.dtype != np.uint8 or frame.ndim != 3 or frame.shape[2] not in (3, 4):
                    raise UsageError(f"frames must be uint8 arrays of shape (height, width, 3 or 4), got {frame.dtype} {frame.shape}")
                Image.fromarray(np.ascontiguousarray(frame[:, :, :3])).save(target, format="PNG", compress_level=6)
        except OSError as exc:
            raise OutputError(f"cannot write {str(target)!r}: {exc.strerror}") from None
        self._repeats.append(repeat)
        self.frames_written += 1

    def close(self) -> None:
        if self.frames_written == 0:
            self.abort()
            raise OutputError("no frame was written, so there are no slides to finish")
        try:
            timeline = self._timeline()
            if timeline is not None:
                (self._work / "timeline.txt").write_text(timeline, encoding="utf-8")
            self.path.write_text(self.snippet(timeline is not None), encoding="utf-8")
            self._move_folder_into_place()
        except OSError as exc:
            self.abort()
            raise OutputError(f"cannot write {str(self.folder)!r}: {exc.strerror}") from None

    def abort(self) -> None:
        remove_temporary(self._work)

    def _timeline(self) -> "str | None":
        """An ``animate`` timeline giving held frames their own rate, or None if no frame is held."""
        if all(r == 1 for r in self._repeats):
            return None
        lines, rate = [], None
        for index, repeat in enumerate(self._repeats):
            wanted = self.fps / repeat
            # A line is "[*]:[new frame rate]:[frame]"; the rate holds until changed.
            lines.append(f":{_number(wanted) if wanted != rate or index == 0 else ''}:{index}")
            rate = wanted
        return "\n".join(lines) + "\n"

    def snippet(self, timeline: bool = False) -> str:
        """The ``.tex`` text: a comment on how to use it and the ``\\animategraphics`` line."""
        n = self.frames_written
        folder = self.folder.name
        options = ["autoplay", "controls"] + (["loop"] if self.loop != 1 else [])
        if timeline:
            options.append(f"timeline={folder}/timeline.txt")
        options.append(r"width=\linewidth,height=0.8\textheight,keepaspectratio")
        width, height = self.size
        return (
            f"% {n} frames ({width}x{height}, {self._extension}) at {_number(self.fps)} fps, written by convergence_anim.\n"
            "% Needs \\usepackage{animate} in the preamble. The paths are relative to this file's folder:\n"
            "% \\input it from a document in the same folder. Plays in Adobe Reader, Okular, PDF-XChange.\n"
            f"\\animategraphics[{','.join(options)}]{{{_number(self.fps)}}}{{{folder}/frame-}}"
            f"{{{0:0{_DIGITS}d}}}{{{n - 1:0{_DIGITS}d}}}\n"
        )

    def _check_folder(self) -> None:
        """Refuse to replace a folder of the frames' name unless it holds only frames written before."""
        if self.folder.exists() or self.folder.is_symlink():
            if not self.folder.is_dir() or any(not p.name.startswith(_OURS) for p in self.folder.iterdir()):
                raise OutputError(
                    f"{str(self.folder)!r} exists and is not a frames folder written before; move it away "
                    "or choose another output name"
                )

    def _move_folder_into_place(self) -> None:
        old = None
        self._check_folder()
        if self.folder.exists():
            old = self.folder.with_name(f".{self.folder.name}.{os.getpid()}.old")
            os.replace(self.folder, old)
        os.replace(self._work, self.folder)
        os.chmod(self.folder, 0o777 & ~_umask())
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
        remove_stale_temporary_files(self.folder)  # frames folders of killed renders


def _number(value: float) -> str:
    """A frame rate as LaTeX reads it: ``10``, ``2.5``, ``0.8333``."""
    return f"{value:.4f}".rstrip("0").rstrip(".")


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
