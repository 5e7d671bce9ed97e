"""Write a file completely or not at all: into a temporary sibling, then renamed into place."""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
from pathlib import Path
from typing import Iterator

from ._exceptions import OutputError

__all__ = ["atomic_output", "check_output_path", "target_of"]


def check_output_path(path: str | os.PathLike[str]) -> Path:
    """Return ``path`` as a Path if a file can be written there, else raise OutputError."""
    path = Path(path)
    if path.is_dir():
        raise OutputError(f"output path {str(path)!r} is a directory; give a file name")
    folder = path.parent
    if not folder.exists():
        raise OutputError(f"output folder {str(folder)!r} does not exist")
    if not folder.is_dir():
        raise OutputError(f"output folder {str(folder)!r} is not a directory")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise OutputError(f"output folder {str(folder)!r} is not writable")
    return path


@contextlib.contextmanager
def atomic_output(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success rename it to ``path``, on any error remove it.

    The temporary file keeps the final suffix (ffmpeg picks the container from it) and lives in the same
    folder, so the final ``os.replace`` is atomic: readers see the old file or the complete new one.
    KeyboardInterrupt is an error like any other here, so Ctrl-C leaves no temporary file behind.
    """
    path = check_output_path(path)
    try:
        fd, tmp_name = tempfile.mkstemp(
            prefix=f".{path.stem}.", suffix=f".part{path.suffix}", dir=path.parent
        )
    except OSError as exc:
        raise OutputError(f"cannot write to {str(path.parent)!r}: {exc.strerror}") from None
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        try:
            os.chmod(tmp, 0o666 & ~_umask())
            os.replace(tmp, path)
        except OSError as exc:
            raise OutputError(f"cannot write {str(path)!r}: {exc.strerror}") from None
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def target_of(tmp: "str | os.PathLike[str]") -> Path:
    """The final path an ``atomic_output`` temporary path will be renamed to (``tmp`` itself if it is not one).

    For writers that refer to their final name inside the file, such as a LaTeX snippet naming the
    frames beside it.
    """
    tmp = Path(tmp)
    # mkstemp's random part is letters, digits and underscores: the stem is what comes before it.
    found = re.fullmatch(r"\.(?P<stem>.+)\.[A-Za-z0-9_]+\.part(?P<suffix>.*)", tmp.name)
    return tmp.with_name(found["stem"] + found["suffix"]) if found else tmp
