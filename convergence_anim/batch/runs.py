"""What a batch runs: the training function, the seeds, the parameter sweep, one ``BatchJob`` per run.

A training function is any callable taking ``seed`` and the swept parameters as keywords and
returning a ``Trace`` (or the ``Recorder`` that holds one). It is named three ways:

- ``"experiment.py:train"``: a function in a file, loaded by path (its folder goes on ``sys.path``,
  as ``python experiment.py`` would put it, so the file can import its neighbours);
- ``"mypkg.experiments:train"``: a function in an importable module;
- ``"moons"``: a built-in demo, run through ``DemoFunction`` like any other function.

Workers receive the function as plain data (``TrainingFunction.shipped``): a local process pool gets
a reference it loads again (a file by its path, a module by its name), because a pool worker that
never imported the user's file cannot unpickle a function defined in it, and cloudpickle is only
there with the ``distributed`` extra. Any other executor (Dask) gets the function pickled by value
with cloudpickle, its file's module registered for it, so workers need only convergence_anim and
the libraries the file imports, not the file.
"""

from __future__ import annotations

import functools
import hashlib
import importlib
import importlib.util
import inspect
import itertools
import keyword
import math
import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Sequence

from .._exceptions import UsageError, one_line

__all__ = [
    "MAX_RUNS",
    "MAX_SEEDS",
    "BatchJob",
    "DemoFunction",
    "TrainingFunction",
    "check_function",
    "format_params",
    "format_value",
    "load_file",
    "load_shipped",
    "parse_params",
    "parse_seeds",
    "parse_value",
    "sweep",
]

#: The most seeds one spec may name: a typo like ``0-1000000000`` fails at once instead of later.
MAX_SEEDS = 100_000
#: The most runs one batch may hold (seeds times parameter combinations).
MAX_RUNS = 100_000

_SEED_ITEM = re.compile(r"(\d+)(?:\s*-\s*(\d+))?")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


# -- seeds and parameters -----------------------------------------------------------------------------


def parse_seeds(spec: str) -> list[int]:
    """Parse ``"0-99"`` or ``"1,2,5-9"`` into a list of seeds, in the order given, without repeats.

    Raises
    ------
    UsageError
        If an item is empty, negative, not a number or range, or a range runs backwards.
    """
    seeds: dict[int, None] = {}
    if not spec or not spec.strip():
        raise UsageError("no seeds given; write them like 0-99 or 1,2,5-9")
    for item in spec.split(","):
        item = item.strip()
        match = _SEED_ITEM.fullmatch(item)
        if not match:
            what = "an empty item" if not item else f"{item!r}, not a number or a range"
            where = f"seeds {spec!r}: " if "," in spec else "seeds: "
            raise UsageError(f"{where}{what}; write non-negative whole numbers and ranges like 0-99 or 1,2,5-9")
        start = int(match.group(1))
        end = start if match.group(2) is None else int(match.group(2))
        if end < start:
            raise UsageError(f"seed range {item!r} runs backwards; write {end}-{start}")
        if end - start + 1 + len(seeds) > MAX_SEEDS:
            raise UsageError(f"seeds {spec!r} name more than {MAX_SEEDS} seeds")
        seeds.update(dict.fromkeys(range(start, end + 1)))
    return list(seeds)


def parse_value(text: str) -> "int | float | str":
    """``"3"`` -> 3, ``"0.01"`` or ``"1e-3"`` -> float, anything else stays text (stripped)."""
    text = text.strip()
    try:
        return int(text)
    except ValueError:
        pass
    try:
        value = float(text)
    except ValueError:
        return text
    # "nan", "inf" and "infinity" are words here, not numbers: no sweep means them as numbers.
    return value if math.isfinite(value) else text


def parse_params(specs: Iterable[str]) -> dict[str, list[Any]]:
    """Parse ``--param`` options, ``"NAME=V1,V2,..."`` each, into ``{name: [values]}`` in the order given.

    Raises
    ------
    UsageError
        If an option has no ``=``, the name is not a Python identifier or is ``seed``, a name is given
        twice, there are no values, or a value repeats.
    """
    params: dict[str, list[Any]] = {}
    for spec in specs:
        name, sep, text = spec.partition("=")
        name = name.strip()
        if not sep:
            raise UsageError(f"--param {spec!r} has no '='; write NAME=V1,V2,... like lr=0.1,0.01")
        _check_param_name(name)
        if name in params:
            raise UsageError(f"--param {name} is given twice; list every value in one: {name}=V1,V2,...")
        values = [parse_value(item) for item in text.split(",")] if text.strip() else []
        if not values or any(v == "" for v in values):
            raise UsageError(f"--param {spec!r} has an empty value; write {name}=V1,V2,...")
        params[name] = values
    return _check_values(params)


def _check_param_name(name: Any) -> None:
    if not isinstance(name, str) or not _NAME.fullmatch(name) or keyword.iskeyword(name):
        raise UsageError(f"parameter name {name!r} is not a Python identifier")
    if name == "seed":
        raise UsageError("seed is not a parameter: give the seeds with --seeds")


def _check_values(params: Mapping[str, Sequence[Any]]) -> dict[str, list[Any]]:
    checked: dict[str, list[Any]] = {}
    total = 1
    for name, values in params.items():
        _check_param_name(name)
        if isinstance(values, (str, bytes)) or not isinstance(values, Iterable):
            raise UsageError(f"the values of parameter {name} must be a list, got {type(values).__name__}")
        values = list(values)
        if not values:
            raise UsageError(f"parameter {name} has no values")
        seen: list[str] = []
        for value in values:
            if isinstance(value, bool) or not isinstance(value, (int, float, str)):
                raise UsageError(f"parameter {name}: values must be numbers or text, got {value!r}")
            if isinstance(value, float) and not math.isfinite(value):
                raise UsageError(f"parameter {name}: {value!r} is not a finite number")
            text = format_value(value)
            if text in seen:  # 1 and 1.0 are one value too: they would name one file
                raise UsageError(f"parameter {name} lists {text} twice")
            seen.append(text)
        checked[name] = values
        total *= len(values)
    if total > MAX_RUNS:
        raise UsageError(f"the parameters make {total} combinations, more than {MAX_RUNS}")
    return checked


def format_value(value: Any) -> str:
    """A parameter value as written in file names and labels: ``0.01``, ``16``, ``adam``, ``2`` for 2.0."""
    if isinstance(value, float):
        text = repr(value)
        return text[:-2] if text.endswith(".0") else text
    return str(value)


def format_params(params: Mapping[str, Any]) -> str:
    """``"lr=0.01, hidden=16"``; empty for no parameters."""
    return ", ".join(f"{name}={format_value(value)}" for name, value in params.items())


def sweep(seeds: Sequence[int], params: Mapping[str, Sequence[Any]]) -> list[tuple[dict[str, Any], int]]:
    """Every ``(parameters, seed)`` pair: combinations in the order the values are listed, seeds inside.

    Raises
    ------
    UsageError
        If there are no seeds, a seed is not a non-negative integer, or there are too many runs.
    """
    seeds = list(seeds)
    if not seeds:
        raise UsageError("a batch needs at least one seed")
    for seed in seeds:
        if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**63:
            raise UsageError(f"seeds must be non-negative integers, got {seed!r}")
    if len(set(seeds)) != len(seeds):
        raise UsageError("a seed is listed twice")
    params = _check_values(params)
    combos = [dict(zip(params, values)) for values in itertools.product(*params.values())]
    if len(combos) * len(seeds) > MAX_RUNS:
        raise UsageError(f"{len(combos)} combinations times {len(seeds)} seeds is more than {MAX_RUNS} runs")
    return [(combo, seed) for combo in combos for seed in seeds]


@dataclass(frozen=True)
class BatchJob:
    """One run of a batch: the training function called with ``seed`` and ``params``, drawn to ``output``.

    ``output`` is an absolute path, or None when the run is only trained (for a grid or summary).
    """

    seed: int
    params: Mapping[str, Any]
    output: "str | None"

    @property
    def label(self) -> str:
        """``"lr=0.01, seed 3"``: how the run is named in messages and grid cells."""
        return ", ".join(filter(None, [format_params(self.params), f"seed {self.seed}"]))


# -- the training function ------------------------------------------------------------------------------


class DemoFunction:
    """A built-in demo as a training function: ``DemoFunction("moons")(seed=3, lr=0.01)`` returns its trace.

    The options a demo takes (``lr``, ``every``, ``max_iter``) can be swept like any parameter; None
    takes the demo's default.
    """

    def __init__(self, name: str) -> None:
        from ..demos import DEMOS

        if name not in DEMOS:
            raise UsageError(f"unknown demo {name!r}; choose from {', '.join(DEMOS)}")
        self.name = name
        self.__name__ = self.__qualname__ = name

    def __call__(self, seed: int, lr: "float | None" = None, every: "int | None" = None, max_iter: "int | None" = None):
        from ..demos import run_demo

        return run_demo(self.name, seed=seed, lr=lr, every=every, max_iter=max_iter).trace

    def __reduce__(self):
        return (DemoFunction, (self.name,))

    @property
    def fps(self) -> float:
        """The demo's own frame rate, the default of a batch of it."""
        from ..demos import DEMOS

        return DEMOS[self.name].fps


_FILE_MODULE_PREFIX = "convergence_anim_experiment_"


class TrainingFunction:
    """The function a batch runs: named and checked at once, loaded when first needed.

    Naming is checked when it is made (a valid ``FILE.py:NAME`` or ``module:NAME``, a file that
    exists, a known demo). Loading (importing the file or module and finding the function in it)
    happens on first use of ``function``; ``render_batch`` with a local pool does that in a worker
    (``check_function``), so the process that starts a batch never imports the user's code or
    what it imports (torch): it starts and exits faster and stays small.

    Parameters
    ----------
    target:
        A callable, ``"path/to/file.py:function"``, ``"package.module:function"`` or a demo name.

    Raises
    ------
    UsageError
        If the name is malformed, the file does not exist or the demo is unknown. Loading raises
        it too: the file or module fails to load, the function is not in it or not callable.
    """

    def __init__(self, target: "str | os.PathLike[str] | Callable[..., Any]") -> None:
        self.path: "Path | None" = None
        self._where: "str | None" = None  # the file or module as the user wrote it, for messages
        self._module: "str | None" = None  # of "module:function", imported when loaded
        self._function: "Callable[..., Any] | None" = None
        if callable(target) and not isinstance(target, (str, os.PathLike)):
            self._function = target
            inner = _inner(target)
            module = getattr(inner, "__module__", None) or "?"
            self.name = getattr(inner, "__qualname__", None) or type(inner).__name__
            self.ref = target.name if isinstance(target, DemoFunction) else f"{module}:{self.name}"
            if inner is not target:
                self.ref += " (partial)"
            loaded = sys.modules.get(module)
            file = getattr(loaded, "__file__", None)
            if module.startswith(_FILE_MODULE_PREFIX) and file:
                self.path = Path(file)
        elif isinstance(target, (str, os.PathLike)):
            self._parse(os.fspath(target))
        else:
            raise UsageError(f"the training function must be a callable or a name like experiment.py:train, got {type(target).__name__}")

    def _parse(self, text: str) -> None:
        from ..demos import DEMOS

        where, sep, name = text.rpartition(":")
        if not sep:
            if text in DEMOS:
                self._function, self.name, self.ref = DemoFunction(text), text, text
                return
            hint = f"name the function in it: {text}:train" if text.endswith(".py") else \
                f"give a demo ({', '.join(DEMOS)}), FILE.py:FUNCTION or module:FUNCTION"
            raise UsageError(f"unknown training function {text!r}; {hint}")
        if not _NAME.fullmatch(name.split(".")[-1] if name else ""):
            raise UsageError(f"{text!r} does not end in a function name; write FILE.py:FUNCTION or module:FUNCTION")
        self.name, self.ref, self._where = name, text, where
        if where.endswith(".py") or "/" in where or os.sep in where:
            self.path = Path(where).resolve()
            _check_file(self.path)
        else:
            self._module = where

    @property
    def loaded(self) -> bool:
        """Whether ``function`` is already in this process (a callable or a demo, or used once)."""
        return self._function is not None

    @property
    def function(self) -> Callable[..., Any]:
        """The function itself, its file or module imported on first use.

        Raises
        ------
        UsageError
            If the file or module fails to load, or the function is not in it or not callable.
        """
        if self._function is None:
            self._function = self._load()
        return self._function

    def _load(self) -> Callable[..., Any]:
        where = self._where
        if self.path is not None:
            module = load_file(self.path)
        else:
            try:
                module = importlib.import_module(where)
            except ImportError as exc:
                raise UsageError(f"cannot import module {where!r}: {exc}") from None
            except Exception as exc:
                raise UsageError(f"importing {where!r} raised {one_line(exc)}") from None
        function: Any = module
        for part in self.name.split("."):
            if not hasattr(function, part):
                defined = sorted(n for n, v in vars(module).items() if inspect.isfunction(v) and v.__module__ == module.__name__)
                listing = f"; it defines {', '.join(defined)}" if defined else ""
                raise UsageError(f"{where} has no function {self.name!r}{listing}")
            function = getattr(function, part)
        if not callable(function):
            raise UsageError(f"{self.ref} is not a function but a value of type {type(function).__name__}")
        return function

    @property
    def default_fps(self) -> "float | None":
        """The frame rate a demo is shown at; None for other functions."""
        return self._function.fps if isinstance(self._function, DemoFunction) else None

    @property
    def code_sha256(self) -> "str | None":
        """SHA-256 of the file the function is defined in, so editing it makes outputs out of date."""
        if isinstance(self._function, DemoFunction):
            return None  # the package version stands for the demos' code
        path = self.path
        if path is None:
            try:
                path = Path(inspect.getsourcefile(_inner(self.function)) or "")
            except TypeError:
                return None
        try:
            return hashlib.sha256(path.read_bytes()).hexdigest()
        except OSError:
            return None

    def check_call(self, params: Iterable[str]) -> None:
        """Load the function and check that it takes ``seed`` and every name in ``params`` as keywords.

        Raises
        ------
        UsageError
            If it cannot be loaded, does not take them, or requires an argument no parameter gives.
        """
        function = self.function  # loads it: a UsageError (a ValueError) of its own, not caught below
        try:
            signature = inspect.signature(function)
        except (TypeError, ValueError):
            return  # a builtin or C function: the call itself will tell
        names = {p.name: p for p in signature.parameters.values()}
        takes_any = any(p.kind is p.VAR_KEYWORD for p in names.values())
        keywordable = {n for n, p in names.items() if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}
        shown = f"{self.name}{signature}"
        for name in ["seed", *params]:
            if name not in keywordable and not takes_any:
                what = "--seeds" if name == "seed" else f"--param {name}"
                raise UsageError(f"{self.ref} does not take {name!r}, which {what} gives: {shown}")
        given = {"seed", *params}
        missing = [n for n, p in names.items() if p.default is p.empty and n not in given
                   and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
        if missing:
            raise UsageError(f"{self.ref} requires {', '.join(missing)}, which no --param gives: {shown}")

    def shipped(self, by_value: bool) -> dict[str, Any]:
        """The function as plain data for a worker: a reference it loads, or (``by_value``) cloudpickled.

        Only ``by_value`` (and a callable given as such) needs the function loaded in this process.

        Raises
        ------
        UsageError
            If the function cannot be sent (defined inside another function, and no cloudpickle).
        """
        if isinstance(self._function, DemoFunction):
            return {"demo": self._function.name}
        if by_value:
            try:
                import cloudpickle
            except ImportError:
                by_value = False
            else:
                function = self.function
                module = sys.modules.get(getattr(function, "__module__", ""), None)
                if self.path is not None and module is not None:
                    # A file's module is not importable on the workers: send its code with the function.
                    cloudpickle.register_pickle_by_value(module)
                return {"pickled": cloudpickle.dumps(function), "ref": self.ref}
        function = self._function
        named = function is None or self._where is not None  # named as FILE.py:NAME or module:NAME
        plain = named or (inspect.isfunction(function) and "<locals>" not in self.name)
        if self.path is not None and plain:
            return {"file": str(self.path), "name": self.name, "ref": self.ref}
        if self._module is not None:
            return {"module": self._module, "name": self.name, "ref": self.ref}
        module = getattr(function, "__module__", None)
        if plain and module and module != "__main__":
            return {"module": module, "name": self.name, "ref": self.ref}
        # A function of the script being run (multiprocessing re-imports it in the workers), a bound
        # method, a functools.partial: pickled by reference. A lambda or a function defined inside
        # another: only by value.
        import pickle

        try:
            pickle.dumps(function)
        except Exception as exc:
            try:
                import cloudpickle
            except ImportError:
                raise UsageError(f"{self.ref} cannot be sent to worker processes ({one_line(exc)}); define it with "
                                 "def at the top level of a module, or install cloudpickle") from None
            return {"pickled": cloudpickle.dumps(function), "ref": self.ref}
        return {"object": function, "ref": self.ref}


def _inner(function: Any) -> Any:
    """The function a ``functools.partial`` (or a partial of one) wraps; anything else as it is."""
    while isinstance(function, functools.partial):
        function = function.func
    return function


def check_function(fn: TrainingFunction, params: Sequence[str]) -> dict[str, Any]:
    """Load ``fn`` and check its signature against ``params``: ``{"error": message or None, "code_sha256": ...}``.

    ``render_batch`` runs this in a worker of its local pool (so its own process never imports the
    user's code) or, with any other executor, in its own process. Plain data in and out.
    """
    try:
        fn.check_call(params)
    except UsageError as exc:
        return {"error": str(exc), "code_sha256": None}
    return {"error": None, "code_sha256": fn.code_sha256}


def _check_file(path: Path) -> None:
    if not path.is_file():
        raise UsageError(f"no file {str(path)!r}" if not path.exists() else f"{str(path)!r} is not a file")


def load_file(path: Path):
    """Import the Python file at ``path`` as a module (once per process), its folder on ``sys.path``.

    Raises
    ------
    UsageError
        If the file does not exist or raises while it is imported.
    """
    path = Path(path)
    _check_file(path)
    # One module name per path: the parent and every worker agree on it, and two files both called
    # experiment.py in different folders do not replace each other.
    digest = hashlib.sha256(str(path).encode()).hexdigest()[:10]
    module_name = f"{_FILE_MODULE_PREFIX}{re.sub(r'[^0-9A-Za-z_]', '_', path.stem)}_{digest}"
    if module_name in sys.modules:
        return sys.modules[module_name]
    folder = str(path.parent)
    if folder not in sys.path:
        sys.path.insert(0, folder)
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise UsageError(f"cannot load {str(path)!r} as Python code")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except (Exception, SystemExit) as exc:  # sys.exit() at import time, too: report it, do not exit
        del sys.modules[module_name]
        raise UsageError(f"loading {path.name} raised {one_line(exc)}") from None
    return module


_loaded: dict[tuple, Callable[..., Any]] = {}


def load_shipped(shipped: Mapping[str, Any]) -> Callable[..., Any]:
    """The function ``TrainingFunction.shipped`` described, loaded in this (worker) process."""
    if "object" in shipped:
        return shipped["object"]
    if "demo" in shipped:
        return DemoFunction(shipped["demo"])
    if "pickled" in shipped:
        import pickle

        key = ("pickled", hashlib.sha256(shipped["pickled"]).hexdigest())
        if key not in _loaded:
            _loaded[key] = pickle.loads(shipped["pickled"])
        return _loaded[key]
    key = ("file", shipped["file"]) if "file" in shipped else ("module", shipped["module"])
    key = key + (shipped["name"],)
    if key not in _loaded:
        module = load_file(Path(shipped["file"])) if "file" in shipped else importlib.import_module(shipped["module"])
        function: Any = module
        for part in shipped["name"].split("."):
            function = getattr(function, part)
        _loaded[key] = function
    return _loaded[key]
