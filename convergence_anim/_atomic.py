"""Write a file completely or not at all: into a temporary sibling, then renamed into place.

A temporary file is named ``.{stem}.{pid}_{random}.part{suffix}`` beside its output: the process that
writes it and 8 random hex digits this module drew. A process killed with no chance to clean up
(SIGKILL, a power cut) leaves it behind; the next successful write of the same output removes such
files once they are stale (see ``remove_stale_temporary_files``), and nothing else. An output that is
a folder (beamer's frames) is built in a temporary folder named the same way (``temporary_folder``).
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import shutil
import time
from pathlib import Path
from typing import Iterator, Mapping

from ._exceptions import ConvergenceAnimError, OutputError, UsageError

__all__ = [
    "atomic_output", "check_distinct_paths", "check_output_path", "missing_folder", "remove_stale_temporary_files",
    "remove_temporary", "target_of", "temporary_files", "temporary_folder",
]

#: A temporary file untouched for this many seconds, whose process is gone, is stale.
STALE_AFTER = 60.0
# Most file systems allow 255 bytes per name; the temporary name adds the pid, the random part and ".part".
_NAME_MAX = 255
_TOKEN_HEX = 8
# Temporary files made in this process, by name: their targets, exactly (a long stem is cut in the name).
_TARGETS: dict[str, Path] = {}


def missing_folder(path: str | os.PathLike[str]) -> "Path | None":
    """The folder of ``path`` if it does not exist yet (writing ``path`` will create it), else None."""
    folder = Path(path).parent
    return None if folder.exists() else folder


def check_output_path(path: str | os.PathLike[str]) -> Path:
    """Return ``path`` as a Path if a file can be written there, else raise OutputError.

    A missing folder is fine (``atomic_output`` creates it) as long as the nearest folder that
    exists is a writable directory: that is where the new folders will go.
    """
    path = Path(path)
    try:
        if path.is_dir():
            raise OutputError(f"output path {str(path)!r} is a directory; give a file name")
        if path.exists() and not path.is_file():
            # A device (/dev/full), a pipe, a socket: renaming a file over it would replace it.
            raise OutputError(f"output path {str(path)!r} is not a regular file; give a file name")
        folder = path.parent
        existing = folder
        while not existing.exists() and existing != existing.parent:
            existing = existing.parent
        if not existing.is_dir():
            raise OutputError(f"output folder {str(folder)!r} cannot be made: {str(existing)!r} is not a directory")
    except OSError as exc:
        if isinstance(exc, OutputError):
            raise
        raise OutputError(f"cannot write {str(path)!r}: {exc.strerror or exc}") from None  # e.g. a name too long
    if len(os.fsencode(path.name)) > _NAME_MAX:
        raise OutputError(f"cannot write {str(path)!r}: the file name is longer than {_NAME_MAX} bytes")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise OutputError(f"output folder {str(existing)!r} is not writable")
    return path


def check_distinct_paths(outputs: Mapping[str, "str | os.PathLike[str] | None"],
                         inputs: "Mapping[str, str | os.PathLike[str] | None] | None" = None) -> None:
    """Raise UsageError if two ``outputs``, or an output and one of the ``inputs``, are the same file.

    Keys say what each path is (``"the animation"``, ``"the trace file"``); None values are skipped.
    Paths are compared resolved (links, ``..``), and with ``os.path.samefile`` where both exist.
    """
    named = [(what, Path(p), True) for what, p in outputs.items() if p is not None]
    named += [(what, Path(p), False) for what, p in (inputs or {}).items() if p is not None]
    for i, (what, path, is_output) in enumerate(named):
        for other, other_path, other_is_output in named[:i]:
            if (is_output or other_is_output) and _same_file(path, other_path):
                raise UsageError(f"{other} and {what} are the same file ({str(path)!r}): writing one would destroy "
                                 f"the other; choose another name")


def _same_file(a: Path, b: Path) -> bool:
    try:
        if a.exists() and b.exists():
            return os.path.samefile(a, b)
        return os.path.normcase(os.path.realpath(a)) == os.path.normcase(os.path.realpath(b))
    except OSError:  # a name too long, a folder that cannot be read: check_output_path says so
        return False


@contextlib.contextmanager
def atomic_output(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success rename it to ``path``, on any error remove it.

    The temporary file keeps the final suffix (ffmpeg picks the container from it) and lives in the same
    folder, so the final ``os.replace`` is atomic: readers see the old file or the complete new one.
    KeyboardInterrupt is an error like any other here, so Ctrl-C leaves no temporary file behind. An
    OSError while writing (a full disk, a file-size limit) becomes an OutputError naming ``path``. After
    a success, stale temporary files of ``path`` left by killed processes are removed. Missing
    folders of ``path`` are created first, and removed again if the write fails.
    """
    path = check_output_path(path)
    created = _make_folders(path.parent)
    try:
        tmp = _create_temporary(path)
    except BaseException:
        _remove_folders(created)
        raise
    try:
        try:
            yield tmp
        except OSError as exc:
            if not isinstance(exc, ConvergenceAnimError):
                raise OutputError(f"cannot write {str(path)!r}: {exc.strerror or exc}") from exc
            if str(tmp) in str(exc):  # an encoder's message names the file it wrote: the user knows the other
                raise type(exc)(str(exc).replace(str(tmp), str(path))) from exc.__cause__
            raise
        try:
            os.chmod(tmp, 0o666 & ~_umask())
            os.replace(tmp, path)
        except OSError as exc:
            raise OutputError(f"cannot write {str(path)!r}: {exc.strerror}") from None
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        _remove_folders(created)
        raise
    finally:
        _TARGETS.pop(str(tmp), None)
    remove_stale_temporary_files(path)


def _make_folders(folder: Path) -> list[Path]:
    """Create ``folder`` and its missing parents; return the ones created, outermost first."""
    missing = []
    while not folder.exists() and folder != folder.parent:
        missing.append(folder)
        folder = folder.parent
    missing.reverse()
    for made, new in enumerate(missing):
        try:
            new.mkdir(exist_ok=True)
        except OSError as exc:
            _remove_folders(missing[:made])
            raise OutputError(f"cannot create the output folder {str(new)!r}: {exc.strerror}") from None
    return missing


def _remove_folders(created: list[Path]) -> None:
    """Remove the folders ``_make_folders`` created, innermost first, each only if it is still empty."""
    for folder in reversed(created):
        with contextlib.suppress(OSError):
            folder.rmdir()


def _temporary_stem(path: Path) -> str:
    """The output's stem as temporary names hold it: cut so that the whole name fits in 255 bytes."""
    # Room for the widest pid (10 digits), so every process cuts a stem the same way.
    room = _NAME_MAX - len(os.fsencode(f"..{'0' * 10}_{'0' * _TOKEN_HEX}.part{path.suffix}"))
    stem = path.stem
    while len(os.fsencode(stem)) > room:
        stem = stem[:-1]
    return stem


def _create_temporary(path: Path, folder: bool = False) -> Path:
    stem = _temporary_stem(path)
    for _ in range(100):
        tmp = path.with_name(f".{stem}.{os.getpid()}_{secrets.token_hex(_TOKEN_HEX // 2)}.part{path.suffix}")
        try:
            if folder:
                os.mkdir(tmp, 0o700)
            else:
                os.close(os.open(tmp, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
                _TARGETS[str(tmp)] = path
            return tmp
        except FileExistsError:
            continue
        except OSError as exc:
            raise OutputError(f"cannot write to {str(path.parent)!r}: {exc.strerror}") from None
    raise OutputError(f"cannot write to {str(path.parent)!r}: no free temporary name")  # pragma: no cover


def temporary_folder(path: str | os.PathLike[str]) -> Path:
    """Create and return an empty temporary folder beside ``path``, named as ``atomic_output`` names files.

    For an output that is a folder: the caller fills it and renames it to ``path`` when complete,
    or removes it (``remove_temporary``) on failure. One left by a killed process is found by
    ``temporary_files(path)`` and removed once stale by ``remove_stale_temporary_files(path)``.
    """
    return _create_temporary(Path(path), folder=True)


def remove_temporary(tmp: str | os.PathLike[str]) -> None:
    """Remove a temporary file or folder (and what it holds); ignore one that is already gone."""
    tmp = Path(tmp)
    _TARGETS.pop(str(tmp), None)
    if tmp.is_dir() and not tmp.is_symlink():
        shutil.rmtree(tmp, ignore_errors=True)
    else:
        with contextlib.suppress(OSError):
            tmp.unlink()


def remove_stale_temporary_files(path: str | os.PathLike[str]) -> list[Path]:
    """Remove the temporary files of ``path`` that a killed process left; return those removed.

    Only names of exactly the form ``atomic_output`` gives (``.{stem}.{pid}_{8 hex digits}.part{suffix}``
    for this ``path``) are considered, and only stale ones: the process named in it is not running on
    this machine, and the file has not been written to for ``STALE_AFTER`` seconds (a render on another
    machine sharing the folder keeps writing to its own). Anything else in the folder is left alone.
    """
    removed = []
    now = time.time()
    for tmp, pid in _temporaries(Path(path)):
        if _running(pid):
            continue
        try:
            if now - _last_written(tmp) < STALE_AFTER:
                continue
        except OSError:
            continue
        remove_temporary(tmp)
        if not tmp.exists():
            removed.append(tmp)
    return removed


def temporary_files(path: str | os.PathLike[str]) -> list[Path]:
    """Every temporary file (or folder) ``atomic_output`` names for ``path`` that is there, stale or not.

    For a caller that knows no writer of ``path`` is still running (a batch whose runs have all
    ended), so it may remove what they left at once.
    """
    return [tmp for tmp, _ in _temporaries(Path(path))]


def _temporaries(path: Path) -> list[tuple[Path, int]]:
    """The files beside ``path`` named exactly as its temporary files are, with the pid in each name."""
    pattern = re.compile(re.escape(f".{_temporary_stem(path)}.") + r"(\d+)_[0-9a-f]{%d}" % _TOKEN_HEX
                         + re.escape(f".part{path.suffix}"))
    try:
        entries = list(os.scandir(path.parent))
    except OSError:
        return []
    found = []
    for entry in entries:
        match = pattern.fullmatch(entry.name)
        with contextlib.suppress(OSError):
            if match is not None and (entry.is_file(follow_symlinks=False) or entry.is_dir(follow_symlinks=False)):
                found.append((Path(entry.path), int(match.group(1))))
    return found


def _last_written(tmp: Path) -> float:
    """When a temporary file, or the newest entry of a temporary folder, was last written to."""
    times = [tmp.stat(follow_symlinks=False).st_mtime]
    if tmp.is_dir() and not tmp.is_symlink():
        with os.scandir(tmp) as entries:
            times += [entry.stat(follow_symlinks=False).st_mtime for entry in entries]
    return max(times)


def _running(pid: int) -> bool:
    """Whether a process ``pid`` runs on this machine (this one included); True when unsure."""
    if pid == os.getpid() or os.name != "posix":  # elsewhere os.kill(pid, 0) would end the process
        return True
    try:
        os.kill(pid, 0)  # signal 0: only asks whether the process exists
    except (ProcessLookupError, OverflowError):
        return False
    except PermissionError:  # another user's process
        return True
    return True


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
    if str(tmp) in _TARGETS:
        return _TARGETS[str(tmp)]
    # Made in another process (a worker): the stem is what comes before the pid and random part.
    found = re.fullmatch(r"\.(?P<stem>.+)\.\d+_[0-9a-f]{%d}\.part(?P<suffix>.*)" % _TOKEN_HEX, tmp.name)
    return tmp.with_name(found["stem"] + found["suffix"]) if found else tmp
