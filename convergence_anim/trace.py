"""``Trace``: what a recorder captured, as plain numpy data that can be saved and re-rendered."""

from __future__ import annotations

import json
import math
import os
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from ._atomic import atomic_output
from ._exceptions import EmptyTraceError, TraceError, TraceFormatError

__all__ = ["FORMAT_VERSION", "Trace"]

#: Version of the ``.npz`` layout written by ``Trace.save``. Readers refuse newer versions.
FORMAT_VERSION = 1

_MAGIC_KEY = "convergence_anim_trace"
# Limits that keep a hostile or broken file from exhausting memory: they are checked against the
# array headers and zip directory before any array data is read.
MAX_ARRAY_BYTES = 1 << 30
MAX_TOTAL_BYTES = 4 << 30
MAX_MEMBERS = 1024
_ALLOWED_KINDS = "biufU"  # bool, int, uint, float, unicode: never object arrays
_WIDENED = ("steps", "losses", "test_losses", "learning_rates", "event_steps")  # held as 64-bit whatever the file stores


def _as_json(value: Mapping[str, Any], what: str) -> str:
    try:
        return json.dumps(dict(value), sort_keys=True, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise TraceError(f"trace {what} must be JSON-serialisable: {exc}") from None


@dataclass(frozen=True, eq=False)
class Trace:
    """The captures of one training run, ready to render.

    Parameters
    ----------
    scene:
        Registered name of the scene that draws this trace (for example ``"line_fit"``).
    data:
        The scene's fixed arrays (the data points, labels, grids).
    options:
        The scene's JSON-serialisable options (axis limits, label position, ...).
    steps:
        The training step of each capture, strictly increasing, shape ``(n,)``.
    losses:
        The loss at each capture, NaN where none was given, shape ``(n,)``.
    state:
        Per-capture arrays, each of shape ``(n, ...)``: what the scene needs to draw each frame.
    meta:
        JSON-serialisable facts about the run (demo name, seed, learning rate, ...). A trace from a
        ``Recorder`` also holds ``"capture_every"``: the interval the recorder was capturing at, which
        thinning (``Recorder(max_captures=...)``) may have made larger than the ``every`` asked for.
    test_losses:
        Held-out loss at each capture, NaN where none was given; all NaN if omitted.
    learning_rates:
        The learning rate at each capture (``Recorder.capture(..., lr=...)`` or ``optimizer=``),
        NaN where none was given; all NaN if omitted.
    event_steps, event_labels:
        Labelled moments of the run (``Recorder(events=...)``, ``Recorder.mark``): the steps, an
        integer array ``(e,)``, in increasing order, and a short text for each, a string array
        ``(e,)``. The loss panel marks them. Empty if omitted.

    Raises
    ------
    TraceError
        If the arrays do not fit together (lengths differ, steps not increasing).
    """

    scene: str
    data: Mapping[str, np.ndarray]
    options: Mapping[str, Any]
    steps: np.ndarray
    losses: np.ndarray
    state: Mapping[str, np.ndarray]
    meta: Mapping[str, Any] = field(default_factory=dict)
    test_losses: "np.ndarray | None" = None
    learning_rates: "np.ndarray | None" = None
    event_steps: "np.ndarray | None" = None
    event_labels: "np.ndarray | None" = None

    def __post_init__(self) -> None:
        steps = np.asarray(self.steps)
        if steps.ndim != 1 or not (steps.dtype.kind in "iu" or steps.size == 0):
            raise TraceError(f"trace steps must be a 1-D integer array, got {steps.dtype} {steps.shape}")
        n = len(steps)
        # Shapes and order are checked on the arrays as given, before any is widened to 64 bits: a
        # hostile file's uint8 steps or float16 losses must be refused before they take 8x the memory.
        losses = np.asarray(self.losses)
        if losses.shape != (n,):
            raise TraceError(f"trace has {n} steps but losses of shape {losses.shape}")
        test_losses = None if self.test_losses is None else np.asarray(self.test_losses)
        if test_losses is not None and test_losses.shape != (n,):
            raise TraceError(f"trace has {n} steps but test losses of shape {test_losses.shape}")
        rates = None if self.learning_rates is None else np.asarray(self.learning_rates)
        if rates is not None and (rates.shape != (n,) or rates.dtype.kind not in "iuf"):
            raise TraceError(f"trace has {n} steps but learning rates of {rates.dtype} {rates.shape}")
        if n > 1 and not np.all(steps[1:] > steps[:-1]):
            raise TraceError("trace steps must be strictly increasing")
        event_steps, event_labels = _events(self.event_steps, self.event_labels)
        steps = steps.astype(np.int64)
        losses = losses.astype(np.float64)
        test_losses = np.full(n, np.nan) if test_losses is None else test_losses.astype(np.float64)
        rates = np.full(n, np.nan) if rates is None else rates.astype(np.float64)
        state = {k: np.asarray(v) for k, v in self.state.items()}
        for name, value in state.items():
            if value.ndim == 0 or value.shape[0] != n:
                raise TraceError(f"trace state {name!r} has shape {value.shape}, expected ({n}, ...)")
        _as_json(self.options, "options")
        _as_json(self.meta, "meta")
        object.__setattr__(self, "steps", steps)
        object.__setattr__(self, "losses", losses)
        object.__setattr__(self, "test_losses", test_losses)
        object.__setattr__(self, "learning_rates", rates)
        object.__setattr__(self, "event_steps", event_steps)
        object.__setattr__(self, "event_labels", event_labels)
        object.__setattr__(self, "state", state)
        object.__setattr__(self, "data", {k: np.asarray(v) for k, v in self.data.items()})
        object.__setattr__(self, "options", dict(self.options))
        object.__setattr__(self, "meta", dict(self.meta))

    def __len__(self) -> int:
        return len(self.steps)

    def __repr__(self) -> str:
        span = f"steps {self.steps[0]}..{self.steps[-1]}" if len(self) else "empty"
        return f"<Trace {self.scene!r}: {len(self)} captures, {span}>"

    @property
    def diverged_at(self) -> int | None:
        """The first captured step whose loss or state is not finite, or None if all are finite."""
        # A NaN loss means "no loss given" until a finite loss has been seen; after that it means the
        # run blew up. An infinite loss, or a non-finite state value, always does.
        finite = np.isfinite(self.losses)
        bad = np.isinf(self.losses) | (np.isnan(self.losses) & (np.cumsum(finite) > 0))
        for value in self.state.values():
            if value.dtype.kind == "f":
                bad |= ~np.isfinite(value.reshape(len(self), -1)).all(axis=1)
        hits = np.flatnonzero(bad)
        return int(self.steps[hits[0]]) if hits.size else None

    def require_frames(self) -> None:
        """Raise EmptyTraceError if there is nothing to draw."""
        if len(self) == 0:
            raise EmptyTraceError("the trace is empty: no step was captured, so there is nothing to draw")

    def select(self, indices: np.ndarray) -> "Trace":
        """Return a trace holding only the captures at ``indices`` (in order)."""
        indices = np.asarray(indices, dtype=np.intp)
        return Trace(
            scene=self.scene,
            data=self.data,
            options=self.options,
            steps=self.steps[indices],
            losses=self.losses[indices],
            state={k: v[indices] for k, v in self.state.items()},
            meta=self.meta,
            test_losses=self.test_losses[indices],
            learning_rates=self.learning_rates[indices],
            event_steps=self.event_steps,
            event_labels=self.event_labels,
        )

    # -- files ---------------------------------------------------------------------------------

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the trace to ``path`` as a compressed ``.npz`` file, atomically.

        Returns
        -------
        Path
            The path written.

        Raises
        ------
        OutputError
            If the file cannot be written.
        """
        arrays: dict[str, np.ndarray] = {
            _MAGIC_KEY: np.array([FORMAT_VERSION], dtype=np.int64),
            "scene": np.array(self.scene),
            "options": np.array(_as_json(self.options, "options")),
            "meta": np.array(_as_json(self.meta, "meta")),
            "steps": self.steps,
            "losses": self.losses,
            "test_losses": self.test_losses,
        }
        # Written only when there is something in them, so a trace without a schedule is the file it
        # always was (and older versions of convergence_anim still read it).
        if np.isfinite(self.learning_rates).any():
            arrays["learning_rates"] = self.learning_rates
        if len(self.event_steps):
            arrays["event_steps"], arrays["event_labels"] = self.event_steps, self.event_labels
        arrays.update({f"data.{k}": v for k, v in self.data.items()})
        arrays.update({f"state.{k}": v for k, v in self.state.items()})
        with atomic_output(path) as tmp:
            with open(tmp, "wb") as fh:
                np.savez_compressed(fh, **arrays)
        return Path(path)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> "Trace":
        """Read a trace written by ``save``, without ever executing code from the file.

        Every array header is checked (dtype allow-list, size limits) before its data is read, and
        arrays are read with ``allow_pickle=False``. Only the file's arrays and metadata are checked:
        a trace opens without the code of its scene, which rendering looks up by name.

        Raises
        ------
        TraceFormatError
            If the file is missing, not a trace, corrupt, too large, or from a newer format version.
        """
        path = Path(path)
        try:
            if not path.is_file():
                raise TraceFormatError(f"trace file {str(path)!r} does not exist")
            with zipfile.ZipFile(path) as zf:
                arrays = _read_members(zf, path)
        except TraceFormatError:
            raise
        except OSError as exc:  # unreadable, a directory, a name too long
            if exc.strerror is None:  # zipfile's own "bad magic number" and the like
                raise TraceFormatError(f"{str(path)!r} is not a readable trace file ({exc})") from None
            raise TraceFormatError(f"cannot read the trace file {str(path)!r}: {exc.strerror}") from None
        except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, ValueError) as exc:
            raise TraceFormatError(f"{str(path)!r} is not a readable trace file ({exc})") from None
        return _trace_from_arrays(arrays, path)


def _read_members(zf: zipfile.ZipFile, path: Path) -> dict[str, np.ndarray]:
    infos = zf.infolist()
    if len(infos) > MAX_MEMBERS:
        raise TraceFormatError(f"{str(path)!r} holds {len(infos)} arrays; a trace holds at most {MAX_MEMBERS}")
    if sum(i.file_size for i in infos) > MAX_TOTAL_BYTES:
        raise TraceFormatError(f"{str(path)!r} unpacks to more than {MAX_TOTAL_BYTES >> 30} GiB; refusing to read it")
    names = {i.filename for i in infos}
    if f"{_MAGIC_KEY}.npy" not in names:
        raise TraceFormatError(f"{str(path)!r} is not a convergence_anim trace (no {_MAGIC_KEY!r} marker)")
    arrays = {}
    loaded = 0  # bytes in memory once loaded, counting the 64-bit widening of steps and losses
    for info in infos:
        if not info.filename.endswith(".npy"):
            raise TraceFormatError(f"{str(path)!r} holds an unexpected member {info.filename!r}")
        if info.file_size > MAX_ARRAY_BYTES + 4096:
            raise TraceFormatError(f"array {info.filename!r} in {str(path)!r} is larger than the {MAX_ARRAY_BYTES >> 20} MiB limit")
        with zf.open(info) as fh:
            array = _read_array(fh, info.filename, path, loaded)
        arrays[info.filename[:-4]] = array
        loaded += _loaded_bytes(info.filename, array.shape, array.dtype)
    return arrays


def _loaded_bytes(name: str, shape: tuple[int, ...], dtype: np.dtype) -> int:
    """Bytes the array takes once a Trace holds it: steps and losses are widened to 64 bits."""
    itemsize = 8 if name[:-4] in _WIDENED else dtype.itemsize
    return math.prod(shape) * max(itemsize, dtype.itemsize)


def _read_array(fh, name: str, path: Path, loaded: int) -> np.ndarray:
    """Read one ``.npy`` member after checking its header; ``loaded`` bytes are already held."""
    version = np.lib.format.read_magic(fh)
    if version == (1, 0):
        shape, fortran, dtype = np.lib.format.read_array_header_1_0(fh)
    elif version == (2, 0):
        shape, fortran, dtype = np.lib.format.read_array_header_2_0(fh)
    else:
        raise TraceFormatError(f"array {name!r} in {str(path)!r} has unsupported npy version {version}")
    if dtype.kind not in _ALLOWED_KINDS or dtype.hasobject or dtype.fields is not None:
        raise TraceFormatError(f"array {name!r} in {str(path)!r} has dtype {dtype}, which a trace never holds")
    nbytes = math.prod(shape) * dtype.itemsize
    needed = _loaded_bytes(name, shape, dtype)
    if needed > MAX_ARRAY_BYTES:
        raise TraceFormatError(f"array {name!r} in {str(path)!r} takes {needed} bytes once loaded, over the "
                               f"{MAX_ARRAY_BYTES >> 20} MiB limit")
    if loaded + needed > MAX_TOTAL_BYTES:
        raise TraceFormatError(f"{str(path)!r} takes more than {MAX_TOTAL_BYTES >> 30} GiB once loaded; refusing to read it")
    # Read straight into the array's own memory: one copy of the data, never two.
    array = np.empty(shape, dtype=dtype, order="F" if fortran else "C")
    view = memoryview(array.reshape(-1, order="A").view(np.uint8)) if nbytes else memoryview(b"")
    got = 0
    while got < nbytes:
        count = fh.readinto(view[got:])
        if not count:
            break
        got += count
    if got != nbytes or fh.read(1):
        raise TraceFormatError(f"array {name!r} in {str(path)!r} is truncated or has trailing data")
    return array


def _trace_from_arrays(arrays: dict[str, np.ndarray], path: Path) -> Trace:
    where = repr(str(path))
    marker = arrays.pop(_MAGIC_KEY)
    if marker.shape != (1,) or marker.dtype.kind not in "iu":
        raise TraceFormatError(f"{where} has a malformed format marker")
    version = int(marker[0])
    if version > FORMAT_VERSION:
        raise TraceFormatError(
            f"{where} was written by a newer convergence_anim (trace format {version}; this version reads up to "
            f"{FORMAT_VERSION}); upgrade convergence_anim to read it"
        )
    if version < 1:
        raise TraceFormatError(f"{where} has an invalid trace format version {version}")

    def text(key: str) -> str:
        value = arrays.pop(key, None)
        if value is None or value.dtype.kind != "U" or value.ndim != 0:
            raise TraceFormatError(f"{where} is missing the text field {key!r}")
        return str(value)

    def number_array(key: str, kinds: str) -> np.ndarray:
        value = arrays.pop(key, None)
        if value is None or value.ndim != 1 or value.dtype.kind not in kinds:
            raise TraceFormatError(f"{where} is missing the 1-D array {key!r}")
        return value

    scene = text("scene")
    try:
        options = json.loads(text("options"))
        meta = json.loads(text("meta"))
    except json.JSONDecodeError as exc:
        raise TraceFormatError(f"{where} has corrupt options or meta ({exc})") from None
    if not isinstance(options, dict) or not isinstance(meta, dict):
        raise TraceFormatError(f"{where} has options or meta that are not mappings")
    steps = number_array("steps", "iu")
    losses = number_array("losses", "f")
    test_losses = number_array("test_losses", "f") if "test_losses" in arrays else None
    learning_rates = number_array("learning_rates", "f") if "learning_rates" in arrays else None
    event_steps = number_array("event_steps", "iu") if "event_steps" in arrays else None
    event_labels = number_array("event_labels", "U") if "event_labels" in arrays else None
    data, state = {}, {}
    for key, value in arrays.items():
        group, _, name = key.partition(".")
        if group == "data" and name:
            data[name] = value
        elif group == "state" and name:
            state[name] = value
        else:
            raise TraceFormatError(f"{where} holds an unexpected array {key!r}")
    try:
        return Trace(
            scene=scene, data=data, options=options, steps=steps, losses=losses, state=state, meta=meta,
            test_losses=test_losses, learning_rates=learning_rates, event_steps=event_steps, event_labels=event_labels,
        )
    except TraceError as exc:
        raise TraceFormatError(f"{where} is inconsistent: {exc}") from None


def _events(steps: Any, labels: Any) -> tuple[np.ndarray, np.ndarray]:
    """The event arrays, checked: int64 steps in increasing order and a string label for each."""
    steps = np.zeros(0, dtype=np.int64) if steps is None else np.asarray(steps)
    labels = np.zeros(0, dtype="<U1") if labels is None else np.asarray(labels)
    if steps.size == 0 and labels.size == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype="<U1")
    if steps.ndim != 1 or steps.dtype.kind not in "iu" or labels.shape != steps.shape or labels.dtype.kind != "U":
        raise TraceError(f"trace events must be an integer array of steps and a string array of labels of the same "
                         f"length, got {steps.dtype} {steps.shape} and {labels.dtype} {labels.shape}")
    if len(steps) > 1 and not np.all(steps[1:] >= steps[:-1]):
        raise TraceError("trace event steps must be in increasing order")
    return steps.astype(np.int64), labels
