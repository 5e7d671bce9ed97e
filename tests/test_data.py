"""Your own data: load_csv, fit, and the ``convergence-anim fit`` command."""

from pathlib import Path

import imageio.v3 as iio
import numpy as np
import pytest
import torch

import convergence_anim as ca
from convergence_anim.data import fit, load_csv

THREE_CLASSES = "x,y,label\n" + "".join(
    f"{x},{y},{label}\n"
    for label, (cx, cy) in zip(("cat", "dog", "bird"), ((0, 0), (3, 0), (0, 3)))
    for x, y in ((cx + 0.1, cy), (cx - 0.2, cy + 0.3), (cx, cy - 0.25), (cx + 0.3, cy + 0.1))
)
CURVE = "time,height\n" + "".join(f"{t / 4},{(t / 4) ** 2 - 1}\n" for t in range(-8, 9))


def _csv(tmp_path, text, name="data.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


# -- load_csv ------------------------------------------------------------------------------------


def test_load_csv_reads_points_and_names_the_classes(tmp_path):
    data = load_csv(_csv(tmp_path, THREE_CLASSES), label_column="label")
    assert data.task == "classify" and len(data) == 12 and data.name == "data"
    assert data.classes == ("bird", "cat", "dog")  # names sort as text
    assert list(data.labels[:4]) == [1, 1, 1, 1] and list(data.labels[-4:]) == [0, 0, 0, 0]
    assert data.x.dtype == np.float64 and data.x[0] == 0.1 and data.y[1] == 0.3


def test_numeric_labels_sort_by_value_and_equal_values_are_one_class(tmp_path):
    text = "x,y,label\n0,0,10\n1,1,2\n2,2,2.0\n3,3,-1\n"
    data = load_csv(_csv(tmp_path, text), label_column="label")
    assert data.classes == ("-1", "2", "10")
    assert list(data.labels) == [2, 1, 1, 0]


def test_named_columns_blank_lines_spaces_and_a_byte_order_mark(tmp_path):
    path = tmp_path / "named.csv"
    path.write_bytes("\ufeffid, time , height \n\n a, 1 , 2\n b,3,4 \n\n".encode("utf-8"))
    data = load_csv(path, x_column="time", y_column="height")
    assert data.task == "regress" and data.labels is None and data.classes == ()
    assert list(data.x) == [1.0, 3.0] and list(data.y) == [2.0, 4.0]
    assert data.columns == ("time", "height")


@pytest.mark.parametrize(
    "text, kwargs, message",
    [
        ("x,y,label\n1,2,0\n3,4\n5,6,1\n", {}, "data.csv, line 3: 2 fields, but the header has 3"),
        ("x,y\n1,2\nabc,3\n", {}, "data.csv, line 3: column 'x' holds 'abc', which is not a number"),
        ("x,y\n1,2\n3,\n", {}, "data.csv, line 3: column 'y' is empty"),
        ("x,y\n1,nan\n3,4\n", {}, "column 'y' holds 'nan'; values must be finite numbers"),
        ("x,y\n1,2\n3,inf\n", {}, "column 'y' holds 'inf'; values must be finite numbers"),
        ("x,y,label\n1,2,a\n3,4,a\n", {"label_column": "label"}, "column 'label' holds a single class ('a'); classifying needs at least two"),
        ("x,y,label\n" + "".join(f"{i},{i},{i}\n" for i in range(11)), {"label_column": "label"},
         "column 'label' holds 11 different values; at most 10 classes"),
        ("x,y,label\n1,2,\n3,4,b\n", {"label_column": "label"}, "line 2: column 'label' is empty"),
        ("x,y\n1,2\n3,4\n", {"label_column": "label"}, "data.csv has no column 'label'; its columns are 'x', 'y'"),
        ("a,b\n1,2\n3,4\n", {}, "has no column 'x'; its columns are 'a', 'b'"),
        ("1,2\n3,4\n", {}, "has no header line (its first line is numbers); add one such as x,y,label"),
        ("x,x,y\n1,2,3\n4,5,6\n", {}, "the header names column 'x' 2 times"),
        ("", {}, "data.csv is empty"),
        ("x,y\n1,2\n", {}, "data.csv has 1 data row; fitting needs at least two"),
        ('x,y\n"1"2,3\n4,5\n', {}, "line 2: not valid CSV"),
    ],
)
def test_bad_csv_gets_one_line_naming_the_problem(tmp_path, text, kwargs, message):
    with pytest.raises(ca.UsageError) as info:
        load_csv(_csv(tmp_path, text), **kwargs)
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_unreadable_files(tmp_path):
    with pytest.raises(ca.UsageError, match="does not exist"):
        load_csv(tmp_path / "missing.csv")
    with pytest.raises(ca.UsageError, match="is a directory"):
        load_csv(tmp_path)
    (tmp_path / "binary.csv").write_bytes(b"x,y\n\xff\xfe\x00\x01\n")
    with pytest.raises(ca.UsageError, match="not a UTF-8 text file"):
        load_csv(tmp_path / "binary.csv")


# -- fit -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("model", ["linear", "mlp"])
def test_fit_classifies_three_classes(tmp_path, model):
    data = load_csv(_csv(tmp_path, THREE_CLASSES), label_column="label")
    run = fit(data, model=model, iterations=150, every=50, lr=0.05, resolution=30)
    trace = run.trace
    assert trace.scene == "decision_boundary" and list(trace.steps) == [0, 50, 100, 149]
    assert trace.options["class_names"] == ["bird", "cat", "dog"]
    assert trace.options["xlabel"] == "x" and trace.options["ylabel"] == "y"
    assert trace.meta["task"] == "classify" and trace.meta["model"] == model
    assert trace.losses[-1] < trace.losses[0] / 2
    # The recorded model works in the data's own units: each point's region is its class.
    region = trace.state["region"][-1]
    xs, ys = np.linspace(*trace.options["xlim"], 30), np.linspace(*trace.options["ylim"], 30)
    cells = region[np.abs(ys[:, None] - data.y).argmin(axis=0), np.abs(xs[:, None] - data.x).argmin(axis=0)]
    np.testing.assert_array_equal(cells, data.labels)


def test_fit_regresses_a_curve_in_the_datas_units(tmp_path):
    data = load_csv(_csv(tmp_path, CURVE), x_column="time", y_column="height")
    run = fit(data, hidden=(8,), iterations=300, lr=0.05, resolution=30)
    trace = run.trace
    assert trace.scene == "curve_fit" and trace.meta["every"] == 3 and len(trace) == 101
    assert trace.options["xlabel"] == "time" and trace.options["ylabel"] == "height"
    # The loss is on standardised y: 1 is predicting the mean, a good fit is far below.
    assert trace.losses[-1] < 0.05 < trace.losses[0]
    grid = np.linspace(*trace.options["xlim"], 30)
    inside = np.abs(grid) <= 2
    np.testing.assert_allclose(trace.state["prediction"][-1][inside], grid[inside] ** 2 - 1, atol=0.4)


def test_fit_recording_never_changes_training(tmp_path):
    data = load_csv(_csv(tmp_path, THREE_CLASSES), label_column="label")
    with_rec = fit(data, iterations=30, every=7, resolution=20)
    without = fit(data, iterations=30, record=False)
    assert without.trace is None and with_rec.iterations == without.iterations == 30
    for key, value in without.params.items():
        assert torch.equal(with_rec.params[key], value), key


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"model": "cnn"}, "model must be one of linear, mlp"),
        ({"model": "linear", "hidden": (4,)}, "hidden layers are for model='mlp'"),
        ({"hidden": (0,)}, "hidden must be up to 8 layer widths"),
        ({"lr": 0}, "lr must be a positive number"),
        ({"lr": float("inf")}, "lr must be a positive number"),
        ({"iterations": 0}, "iterations must be a positive integer"),
        ({"every": 0}, "every must be a positive integer"),
        ({"seed": -1}, "seed must be a non-negative integer"),
    ],
)
def test_fit_refuses_bad_options(tmp_path, kwargs, message):
    data = load_csv(_csv(tmp_path, CURVE), x_column="time", y_column="height")
    with pytest.raises(ca.UsageError, match=message):
        fit(data, **kwargs)


# -- the command ---------------------------------------------------------------------------------


def test_fit_command_classifies_end_to_end(run, tmp_path):
    _csv(tmp_path, THREE_CLASSES, "pets.csv")
    result = run("fit", "pets.csv", "--task", "classify", "--max-iter", 40, "--every", 10, "-o", "runs/pets.gif",
                 "--save-trace", "pets.npz")
    assert result.exit_code == 0, result.output
    assert "Wrote runs/pets.gif (5 frames" in result.output and "; created folder runs/" in result.output
    frames = iio.imread(tmp_path / "runs" / "pets.gif", index=None)
    assert frames.shape == (5, 480, 640, 3)
    assert (frames[0] != frames[-1]).any(axis=2).sum() > 1000  # the regions move
    assert list(ca.Trace.load(tmp_path / "pets.npz").steps) == [0, 10, 20, 30, 39]


def test_fit_command_regresses_with_named_columns_to_the_default_output(run, tmp_path):
    _csv(tmp_path, CURVE, "growth.csv")
    result = run("fit", "growth.csv", "--task", "regress", "--model", "linear", "--x-column", "time",
                 "--y-column", "height", "--max-iter", 20, "--every", 10, "-q")
    assert result.exit_code == 0, result.output
    assert result.output == ""
    assert iio.imread(tmp_path / "outputs" / "growth-regress.gif", index=None).shape[0] == 3


@pytest.mark.parametrize(
    "args, code, text",
    [
        (["fit", "bad.csv", "--task", "regress"], 2, "bad.csv, line 3: column 'x' holds 'oops', which is not a number"),
        (["fit", "bad.csv", "--task", "classify"], 2, "bad.csv has no column 'label'; its columns are 'x', 'y'"),
        (["fit", "missing.csv", "--task", "regress"], 2, "CSV file 'missing.csv' does not exist"),
        (["fit", "bad.csv"], 2, "Missing option '--task'"),
        (["fit", "bad.csv", "--task", "regress", "--label-column", "c"], 2, "only applies to --task classify"),
        (["fit", "bad.csv", "--task", "regress", "--model", "linear", "--hidden", "4"], 2, "only applies to --model mlp"),
        (["fit", "bad.csv", "--task", "regress", "--hidden", "4,x"], 2, "layer widths separated by commas"),
        (["fit", "bad.csv", "--task", "regress", "--lr", "0"], 2, "'--lr': 0.0 is not in the range 0<x<inf"),
        (["fit", "good.csv", "--task", "regress", "-o", "x.avi"], 2, "not a known format"),
        (["fit", "good.csv", "--task", "regress", "-o", "good.csv/x.gif"], 1, "'good.csv' is not a directory"),
    ],
)
def test_fit_command_errors_are_one_line(run, tmp_path, args, code, text):
    _csv(tmp_path, "x,y\n1,2\noops,3\n", "bad.csv")
    _csv(tmp_path, "x,y\n1,2\n3,4\n", "good.csv")
    result = run(*args)
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output
    assert text in result.output
    assert not list(tmp_path.glob("*.gif"))


def test_demo_command_accepts_the_new_demos(run):
    result = run("demo", "nonsense")
    assert result.exit_code == 2
    for name in ("blobs", "moons", "circles", "xor", "spiral", "spiral3", "blobs3", "poly", "sine"):
        assert f"'{name}'" in result.output


# -- every numeric column: --features all, and the default for a table without x and y ---------------

TABLES = Path(__file__).resolve().parent / "data"
WINE_FEATURES = ["alcohol", "malic_acid", "ash", "alcalinity_of_ash", "magnesium", "total_phenols", "flavanoids",
                 "nonflavanoid_phenols", "proanthocyanins", "color_intensity", "hue", "od280_od315", "proline"]


def test_features_all_takes_every_numeric_column_but_the_label(tmp_path):
    for features in ("all", None):  # None: the table has no x and y columns, so all is what it gets
        wine = load_csv(TABLES / "wine_like.csv", label_column="cultivar", features=features)
        assert list(wine.feature_names) == WINE_FEATURES and wine.features.shape == (178, 13)
    path = _csv(tmp_path, "id,a,b,c,label\nq1,1,2,3,0\nq2,2,3,4,1\nq3,,5,6,0\n")
    table = load_csv(path, label_column="label", features="all")
    assert table.feature_names == ("b", "c")  # 'id' holds names, 'a' has an empty cell
    with pytest.raises(ca.UsageError, match=r"features 'all' needs two or more columns holding only numbers besides "
                                            r"the label, found 'b'"):
        load_csv(_csv(tmp_path, "id,b,label\nq1,2,0\nq2,3,1\n"), label_column="label", features="all")


def test_fit_command_takes_every_feature_with_features_all(run, tmp_path):
    result = run("fit", TABLES / "iris_like.csv", "--task", "classify", "--label-column", "species",
                 "--features", "all", "--iterations", "10", "--every", "10", "--size", "160x120",
                 "-o", "iris.gif", "--save-trace", "iris.npz", "-q")
    assert result.exit_code == 0, result.output
    trace = ca.Trace.load(tmp_path / "iris.npz")
    assert trace.data["points"].shape == (150, 4)
    assert trace.meta["features"] == ["sepal_length", "sepal_width", "petal_length", "petal_width"]
