"""Bring your own data: read points from a CSV file and fit a small model to them, recording it.

    data = load_csv("points.csv", label_column="label")      # columns x, y, label
    run = fit(data, model="mlp", hidden=(16, 16))
    convergence_anim.render(run.trace, "outputs/points.gif")

The same two functions back the ``convergence-anim fit`` command.
"""

from __future__ import annotations

import csv
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

import numpy as np

from ._checks import integer, number, optional
from ._exceptions import UsageError
from .training import MODELS, split

if TYPE_CHECKING:  # pragma: no cover
    from .training import TrainingRun

__all__ = ["MAX_CLASSES", "MODELS", "Dataset", "fit", "load_csv"]

#: The most classes a label column may hold (one colour each).
MAX_CLASSES = 10
_DEFAULT_HIDDEN = (16, 16)


@dataclass(frozen=True, eq=False)
class Dataset:
    """Points read from a CSV file.

    ``x`` and ``y`` are float64 arrays of shape ``(n,)``. For classification ``labels`` holds class
    numbers ``0 .. k-1`` (int64, shape ``(n,)``) and ``classes`` the label values they stand for, in
    that order; for regression ``labels`` is None and ``classes`` empty. ``columns`` are the names
    of the x, y (and label) columns, ``name`` the file's stem.

    ``features`` holds every input column, shape ``(n, d)``, named by ``feature_names``. For
    classification: ``x`` and ``y`` (d = 2) unless ``load_csv`` was given more ``features``; then
    ``x`` and ``y`` are the first two of them and ``columns`` lists them all (and the label column).
    For regression: ``x`` alone (d = 1) unless ``load_csv`` was given ``features``; then ``x`` is
    the first of them, ``y`` the target and ``columns`` lists the features and the target's column.
    """

    x: np.ndarray
    y: np.ndarray
    labels: "np.ndarray | None"
    classes: tuple[str, ...]
    columns: tuple[str, ...]
    name: str
    features: "np.ndarray | None" = None
    feature_names: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.features is None:
            inputs = [self.x, self.y] if self.labels is not None else [self.x]
            object.__setattr__(self, "features", np.column_stack(inputs))
            object.__setattr__(self, "feature_names", tuple(self.columns[: len(inputs)]))

    @property
    def task(self) -> str:
        """``"classify"`` if the data has labels, else ``"regress"``."""
        return "regress" if self.labels is None else "classify"

    def __len__(self) -> int:
        return len(self.x)


def load_csv(
    path: "str | os.PathLike[str]",
    *,
    x_column: str = "x",
    y_column: str = "y",
    label_column: "str | None" = None,
    features: "Sequence[str] | str | None" = None,
    max_classes: int = MAX_CLASSES,
) -> Dataset:
    """Read points from a comma-separated file with a header line.

    Parameters
    ----------
    path:
        The CSV file (UTF-8). Blank lines are skipped; other columns are ignored.
    x_column:
        The column holding the numbers x.
    y_column:
        The column holding the numbers y (for regression, the value to predict).
    features:
        The names of all input columns, each holding numbers: for classification two or more,
        instead of ``x_column`` and ``y_column``; for regression one or more, instead of
        ``x_column`` (``y_column`` stays the value to predict). Or ``"all"``: every column that
        holds only numbers, except ``label_column`` (or, for regression, ``y_column``). For
        classification, when ``x_column`` and ``y_column`` are left at ``"x"`` and ``"y"`` and the
        file has neither column, ``"all"`` is what it gets.
    label_column:
        For classification, the column holding each point's class: numbers or names, 2 to
        ``max_classes`` distinct values. None (default) reads no labels: regression.
    max_classes:
        The most classes allowed in ``label_column``.

    Returns
    -------
    Dataset
        The points, and with ``label_column`` their classes.

    Raises
    ------
    UsageError
        With the file, line and column, if the file cannot be read, is not CSV, lacks a column, holds
        a value that is not a finite number, has fewer than two rows, or has fewer than two or more
        than ``max_classes`` classes.
    """
    path = Path(path)
    where = str(path)
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            reader = csv.reader(fh, strict=True)
            header, rows = _read_rows(reader, where)
    except FileNotFoundError:
        raise UsageError(f"CSV file {where!r} does not exist") from None
    except IsADirectoryError:
        raise UsageError(f"{where!r} is a directory, not a CSV file") from None
    except UnicodeDecodeError:
        raise UsageError(f"{where!r} is not a UTF-8 text file; save it as CSV (UTF-8)") from None
    except OSError as exc:
        raise UsageError(f"cannot read {where!r}: {exc.strerror or exc}") from None

    regress_features = features is not None and label_column is None
    if features is None and label_column is not None and (x_column, y_column) == ("x", "y") \
            and not {"x", "y"} & set(header):
        features = "all"  # a table of features (digits, iris): no x and y to look for
    fewest = 1 if regress_features else 2
    if isinstance(features, str) and features == "all":
        target = y_column if regress_features else label_column
        if target is not None and target not in header:
            raise UsageError(_missing_column(where, target, header))
        inputs = [name for i, name in enumerate(header) if name != target and _all_numbers(rows, i)]
        if len(inputs) < fewest:
            raise UsageError(f"{where}: features 'all' needs {'one' if fewest == 1 else 'two'} or more columns holding "
                             f"only numbers besides the {'value to predict' if regress_features else 'label'}, found "
                             f"{', '.join(map(repr, inputs)) or 'none'}")
    else:
        inputs = [x_column, y_column] if features is None else [str(f) for f in features]
    if len(inputs) < fewest or len(set(inputs)) != len(inputs):
        raise UsageError(f"features must name {'one' if fewest == 1 else 'two'} or more different columns, "
                         f"got {', '.join(inputs) or 'none'}")
    if label_column in inputs:
        raise UsageError(f"column {label_column!r} cannot be both a feature and the label")
    if regress_features and y_column in inputs:
        raise UsageError(f"column {y_column!r} cannot be both a feature and the value to predict")
    wanted = inputs + ([label_column] if label_column is not None else []) + ([y_column] if regress_features else [])
    index = {}
    for name in wanted:
        hits = [i for i, column in enumerate(header) if column == name]
        if not hits:
            raise UsageError(_missing_column(where, name, header))
        if len(hits) > 1:
            raise UsageError(f"{where}: the header names column {name!r} {len(hits)} times")
        index[name] = hits[0]
    if len(rows) < 2:
        raise UsageError(f"{where} has {len(rows)} data row{'s' * (len(rows) != 1)}; fitting needs at least two")
    columns = np.column_stack([_numbers(rows, index[name], name, where) for name in inputs])
    labels, classes = None, ()
    if label_column is not None:
        labels, classes = _classes(rows, index[label_column], label_column, where, max_classes)
    if regress_features:
        target = _numbers(rows, index[y_column], y_column, where)
        return Dataset(columns[:, 0], target, None, (), tuple(wanted), path.stem, columns, tuple(inputs))
    if label_column is None:  # x and y: the one input, and the value to predict
        return Dataset(columns[:, 0], columns[:, 1], None, (), tuple(wanted), path.stem)
    return Dataset(columns[:, 0], columns[:, 1], labels, classes, tuple(wanted), path.stem, columns, tuple(inputs))


def _read_rows(reader: Any, where: str) -> tuple[list[str], list[tuple[int, list[str]]]]:
    header: "list[str] | None" = None
    rows: list[tuple[int, list[str]]] = []
    try:
        for row in reader:
            if not any(cell.strip() for cell in row):
                continue
            if header is None:
                header = [cell.strip() for cell in row]
            elif len(row) != len(header):
                raise UsageError(
                    f"{where}, line {reader.line_num}: {len(row)} field{'s' * (len(row) != 1)}, but the header has "
                    f"{len(header)}"
                )
            else:
                rows.append((reader.line_num, row))
    except csv.Error as exc:
        raise UsageError(f"{where}, line {reader.line_num}: not valid CSV ({exc})") from None
    if header is None:
        raise UsageError(f"{where} is empty; it needs a header line such as x,y,label and data rows")
    return header, rows


def _missing_column(where: str, name: str, header: list[str]) -> str:
    looks_like_data = all(_is_number(cell) for cell in header)
    if looks_like_data:
        return f"{where} has no header line (its first line is numbers); add one such as x,y,label"
    return f"{where} has no column {name!r}; its columns are {', '.join(map(repr, header))}"


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _all_numbers(rows: list[tuple[int, list[str]]], column: int) -> bool:
    """Whether every cell of ``column`` is a finite number."""
    for _, row in rows:
        try:
            if not math.isfinite(float(row[column])):
                return False
        except ValueError:
            return False
    return True


def _numbers(rows: list[tuple[int, list[str]]], column: int, name: str, where: str) -> np.ndarray:
    values = np.empty(len(rows), dtype=np.float64)
    for i, (line, row) in enumerate(rows):
        cell = row[column].strip()
        try:
            value = float(cell)
        except ValueError:
            what = "is empty" if not cell else f"holds {cell!r}, which is not a number"
            raise UsageError(f"{where}, line {line}: column {name!r} {what}") from None
        if not math.isfinite(value):
            raise UsageError(f"{where}, line {line}: column {name!r} holds {cell!r}; values must be finite numbers")
        values[i] = value
    return values


def _classes(
    rows: list[tuple[int, list[str]]], column: int, name: str, where: str, max_classes: int
) -> tuple[np.ndarray, tuple[str, ...]]:
    cells = []
    for line, row in rows:
        cell = row[column].strip()
        if not cell:
            raise UsageError(f"{where}, line {line}: column {name!r} is empty; every point needs a class")
        cells.append(cell)
    # Numeric labels are one class per value (1 and 1.0 alike), ordered by value; names sort as text.
    numeric = all(_is_number(cell) for cell in cells)
    keys = [float(cell) for cell in cells] if numeric else cells
    names: dict[Any, str] = {}
    for key, cell in zip(keys, cells):
        names.setdefault(key, cell)
    if len(names) < 2:
        raise UsageError(f"{where}: column {name!r} holds a single class ({cells[0]!r}); classifying needs at least two")
    if len(names) > max_classes:
        raise UsageError(
            f"{where}: column {name!r} holds {len(names)} different values; at most {max_classes} classes can be "
            f"drawn (is it a number to predict? then regress)"
        )
    order = sorted(names)
    number = {key: i for i, key in enumerate(order)}
    labels = np.array([number[key] for key in keys], dtype=np.int64)
    return labels, tuple(names[key] for key in order)


def fit(
    data: Dataset,
    *,
    model: str = "mlp",
    hidden: "Sequence[int] | None" = None,
    lr: float = 0.01,
    iterations: int = 500,
    every: "int | None" = None,
    seed: int = 0,
    resolution: int = 200,
    record: bool = True,
    landscape: bool = False,
    view: Any = None,
    live: Any = False,
    test_fraction: "float | None" = None,
    lr_drops: Any = (),
    neurons: bool = False,
) -> "TrainingRun":
    """Train a small model on ``data`` with full-batch Adam, recording it for an animation.

    Classification trains on cross-entropy and records a ``DecisionBoundary``; regression trains on
    the mean squared error of the standardised y (1.0 is as good as predicting the mean) and records
    a ``CurveFit``: the curve over x for one feature, predicted against actual for several. The model sees standardised inputs (a fixed first layer does it), so the default
    learning rate suits data of any scale; the recorded model maps the data's own units.

    Parameters
    ----------
    data:
        What ``load_csv`` returned.
    model:
        ``"linear"`` (one linear layer: logistic, softmax or linear regression) or ``"mlp"`` (tanh
        hidden layers).
    hidden:
        The widths of the MLP's hidden layers; (16, 16) by default. Only for ``model="mlp"``.
    lr:
        Adam's learning rate.
    iterations:
        Training steps; training stops earlier only if the loss stops being finite.
    every:
        Capture every N steps; by default ``iterations // 100`` (about a hundred frames).
    seed:
        Seeds torch's global RNG, which initialises the model.
    resolution:
        Grid resolution of the scene (see ``DecisionBoundary`` and ``CurveFit``).
    record:
        False trains without recording (``trace`` is then None).
    landscape:
        Also record the parameters and, after training, the loss landscape around their path (see
        ``Recorder.add_landscape``), for ``render(..., landscape=True)``.
    view:
        For classification, the plane the picture shows (``DecisionBoundary``'s ``view``: ``"pca"``
        or two feature names); by default the two features as they are, or ``"pca"`` for more.
    live:
        Show the run while it trains: True or a ``convergence_anim.live.LiveView`` (see ``Recorder``).
    test_fraction:
        Hold this share of the rows out (between 0 and 1, split by ``seed``, with a generator of its
        own so the initial weights are as without it): the model never trains on them, the picture
        draws them hollow and the loss panel their loss (the training loss, on them) beside the
        training loss.
    lr_drops:
        Iterations after which Adam's learning rate is divided by 10; the rate is recorded at each
        capture and each drop marked on the loss panel ("lr / 10").
    neurons:
        For classification with ``model="mlp"``, also record the hidden units
        (``DecisionBoundary(neurons=True)``), drawn beside the plot.

    Returns
    -------
    TrainingRun
        ``trace`` (the captures, with the run's settings in ``meta``), ``params`` (the final weights)
        and ``iterations`` (steps run).

    Raises
    ------
    UsageError
        If an option is out of range, ``live`` is asked without ``record``, or ``view`` is given for
        regression or names a feature that is missing or constant.
    """
    import torch

    from .training import classification_loss, mlp, train_model
    from .scenes import CurveFit, DecisionBoundary

    hidden = _check_fit_options(model, hidden, lr, iterations, every, seed)
    lr_drops = sorted({integer("lr_drops", d, low=0) for d in (lr_drops or ())})
    if live and not record:
        raise UsageError("live shows what is recorded; it needs record=True")
    every = every or max(1, iterations // 100)
    torch.manual_seed(seed)
    if data.task == "regress" and view is not None:
        raise UsageError("view is for classification; regression with several features draws predicted against actual")
    if data.task == "regress" and neurons:
        raise UsageError("neurons draws a classifier's hidden units; it is for task classify")
    inputs = data.features
    outputs = 1 if data.task == "regress" or len(data.classes) == 2 else len(data.classes)
    net = torch.nn.Linear(inputs.shape[1], outputs) if model == "linear" else mlp(inputs.shape[1], hidden, outputs)
    meta = {"data": data.name, "task": data.task, "model": model, "hidden": list(hidden), "lr": lr,
            "iterations": iterations, "every": every, "seed": seed}
    if data.features.shape[1] > (2 if data.task == "classify" else 1):
        meta["features"] = list(data.feature_names)
    kept = held = None
    if test_fraction is not None:
        meta["test_fraction"] = test_fraction
        kept, held = (index.numpy() for index in split(len(inputs), test_fraction, seed))
    if lr_drops:
        meta["lr_drops"] = lr_drops

    def rows(values: np.ndarray) -> "tuple[np.ndarray, tuple[np.ndarray, np.ndarray] | None]":
        """The training rows of ``values``, and the test rows (None without a split)."""
        return (values, None) if kept is None else (values[kept], values[held])

    train_inputs, test_inputs = rows(inputs)
    # Standardised with the training rows' statistics: the test rows are data the model never saw.
    mean, std = train_inputs.mean(axis=0), _spread(train_inputs)
    layers = [_fixed_affine(1 / std, -mean / std), net]
    xlabel, ylabel = data.columns[:2]
    if data.task == "classify":
        train_labels, test_labels = rows(data.labels)
        target = lambda labels: torch.as_tensor(labels)  # noqa: E731
        loss_fn = classification_loss
        # The scene's default axis labels name what is shown: the features, or the principal components.
        scene = DecisionBoundary(train_inputs, train_labels, classes=len(data.classes), class_names=data.classes,
                                 feature_names=data.feature_names, view=view, resolution=resolution,
                                 test=None if kept is None else (test_inputs, test_labels), neurons=neurons)
    else:
        train_y, test_y = rows(data.y)
        y_mean, y_std = float(train_y.mean()), float(_spread(train_y[:, None])[0])
        layers.append(_fixed_affine(np.array([y_std]), np.array([y_mean])))
        target = lambda y: torch.as_tensor(y[:, None], dtype=torch.float32)  # noqa: E731

        def loss_fn(prediction: Any, target: Any) -> Any:
            return torch.nn.functional.mse_loss(prediction / y_std, target / y_std)

        test = None if kept is None else (test_inputs, test_y)
        if inputs.shape[1] == 1:
            scene = CurveFit(train_inputs[:, 0], train_y, xlabel=xlabel, ylabel=ylabel, resolution=resolution,
                             test=None if test is None else (test_inputs[:, 0], test_y))
        else:  # predicted against actual: the axes are the target's, actual and predicted
            scene = CurveFit(train_inputs, train_y, ylabel=data.columns[-1], resolution=resolution, test=test)
    as_inputs = lambda values: torch.as_tensor(values, dtype=torch.float32)  # noqa: E731
    train_targets, test_targets = rows(data.labels if data.task == "classify" else data.y)
    test = None if kept is None else (as_inputs(test_inputs), target(test_targets))
    targets = target(train_targets)
    return train_model(torch.nn.Sequential(*layers), as_inputs(train_inputs), targets, loss_fn,
                       scene, lr=lr, every=every, max_iter=iterations, record=record, meta=meta, live=live,
                       landscape=bool(landscape), test=test, lr_drops=lr_drops)


def _check_fit_options(model: Any, hidden: Any, lr: Any, iterations: Any, every: Any, seed: Any) -> tuple[int, ...]:
    if model not in MODELS:
        raise UsageError(f"model must be one of {', '.join(MODELS)}, got {model!r}")
    if model == "linear":
        if hidden:
            raise UsageError("hidden layers are for model='mlp'; a linear model has none")
        hidden = ()
    elif hidden is None:
        hidden = _DEFAULT_HIDDEN
    hidden = tuple(hidden)
    if not all(isinstance(w, int) and not isinstance(w, bool) and 1 <= w <= 1024 for w in hidden) or len(hidden) > 8:
        raise UsageError(f"hidden must be up to 8 layer widths from 1 to 1024, got {hidden!r}")
    number("lr", lr, positive=True)
    integer("iterations", iterations, low=1)
    optional(integer, "every", every, low=1)
    integer("seed", seed, low=0)
    return hidden


def _spread(values: np.ndarray) -> np.ndarray:
    """Each column's standard deviation, 1 where a column is constant (nothing to scale)."""
    std = values.std(axis=0)
    return np.where(std > 0, std, 1.0)


def _fixed_affine(scale: np.ndarray, shift: np.ndarray) -> Any:
    """A layer computing ``x * scale + shift`` with fixed (not trained) ``scale`` and ``shift``."""
    import torch

    layer = torch.nn.Linear(len(scale), len(scale))
    with torch.no_grad():
        layer.weight.copy_(torch.diag(torch.as_tensor(scale, dtype=torch.float32)))
        layer.bias.copy_(torch.as_tensor(shift, dtype=torch.float32))
    layer.requires_grad_(False)
    return layer

