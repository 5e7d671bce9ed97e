"""More than two features: DecisionBoundary's view of a plane, and ``fit --features --view``."""

from pathlib import Path

import numpy as np
import pytest
import torch

import convergence_anim as ca
from convergence_anim.data import load_csv
from convergence_anim.scenes import DecisionBoundary
from tests.pixels import blue_pixels

DATA = Path(__file__).resolve().parent / "data"  # synthetic iris- and wine-like tables, see make_tables.py
IRIS_FEATURES = "sepal_length,sepal_width,petal_length,petal_width"
WINE_FEATURES = ("alcohol,malic_acid,ash,alcalinity_of_ash,magnesium,total_phenols,flavanoids,nonflavanoid_phenols,"
                 "proanthocyanins,color_intensity,hue,od280_od315,proline")


def iris():
    return load_csv(DATA / "iris_like.csv", features=IRIS_FEATURES.split(","), label_column="species")


class PetalWidthAboveOne(torch.nn.Module):
    """Class 1 exactly where the 4th feature (petal width) is above 1; checks it is given all four."""

    def forward(self, x):
        assert x.shape[1] == 4
        return 50 * (x[:, 3:4] - 1.0)


def test_two_features_view_varies_them_and_holds_the_others_at_their_median():
    data = iris()
    scene = DecisionBoundary(data.features, data.labels > 0, feature_names=data.feature_names,
                             view=("petal_length", "petal_width"), resolution=40)
    assert (scene.xlabel, scene.ylabel) == ("petal_length", "petal_width")
    inputs = scene.grid_inputs()
    assert inputs.shape == (1600, 4)
    assert np.allclose(inputs[:, :2], np.median(data.features[:, :2], axis=0))
    assert np.allclose(scene.shown_points, data.features[:, 2:])
    # The model sees all four features; its boundary (petal width 1) is a horizontal line at y = 1.
    p = DecisionBoundary.decode(scene.capture({"model": PetalWidthAboveOne()})["probability"])
    ys = scene.grid[1]
    assert np.all(p[ys > 1.05] > 0.9) and np.all(p[ys < 0.95] < 0.1)


def test_pca_view_projects_points_and_maps_the_grid_back_into_feature_space():
    data = iris()
    scene = DecisionBoundary(data.features, data.labels, feature_names=data.feature_names, resolution=30)
    assert scene.view == "pca"
    assert scene.xlabel.startswith("PC1 (") and scene.xlabel.endswith("% of variance)")
    share = [int(label.split("(")[1].split("%")[0]) for label in (scene.xlabel, scene.ylabel)]
    assert 60 <= share[0] <= 85 and share[1] < share[0]
    z = (data.features - data.features.mean(0)) / data.features.std(0)
    assert np.allclose(np.abs(np.corrcoef(scene.shown_points[:, 0], z @ np.linalg.svd(z)[2][0])[0, 1]), 1)
    # Grid points in feature space project back onto the grid: the picture is that plane.
    origin, to_view, _ = scene.plane
    gx, gy = np.meshgrid(*scene.grid)
    assert np.allclose((scene.grid_inputs() - origin) @ to_view, np.column_stack([gx.ravel(), gy.ravel()]))


def test_bad_views_are_one_clear_error():
    data = iris()
    names = data.feature_names
    points = data.features.copy()
    with pytest.raises(ca.UsageError, match="view names feature 'petal_area', which is not one of the features sepal_length"):
        DecisionBoundary(points, data.labels, feature_names=names, view=("petal_area", "petal_width"))
    points[:, 1] = 3.0
    with pytest.raises(ca.UsageError, match=r"view feature 'sepal_width' is constant \(3 in every row\)"):
        DecisionBoundary(points, data.labels, feature_names=names, view=("sepal_width", "petal_width"))
    with pytest.raises(ca.UsageError, match="no feature_names were given"):
        DecisionBoundary(points, data.labels, view=("a", "b"))
    with pytest.raises(ca.UsageError, match='view must be "pca" or two features'):
        DecisionBoundary(points, data.labels, view="tsne")
    with pytest.raises(ca.UsageError, match=r"points must have shape \(n, d\) with d >= 2 features, got \(150, 1\)"):
        DecisionBoundary(points[:, :1], data.labels)
    with pytest.raises(ca.UsageError, match="x and y must hold the same number of values, got 450 and 149"):
        ca.scenes.CurveFit(points[:, :3], data.labels[1:])  # not one row per y: neither a curve nor predicted-actual


def test_a_saved_pca_trace_renders_on_the_plane_it_was_captured_on(tmp_path, memory_encoder):
    data = iris()
    scene = DecisionBoundary(data.features, data.labels, feature_names=data.feature_names, resolution=40)
    rec = ca.Recorder(scene)
    torch.manual_seed(0)
    model = torch.nn.Linear(4, 3)
    for step in range(3):
        with torch.no_grad():
            model.weight.mul_(1.5)
        rec.capture(step, model=model)
    ca.render(rec.trace, tmp_path / "a.frames", jobs=1, size=(320, 240))
    live = memory_encoder.last.frames
    loaded = ca.Trace.load(rec.trace.save(tmp_path / "t.npz"))
    assert np.allclose(ca.scenes.scene_from_trace(loaded).plane[2], scene.plane[2], rtol=0, atol=0)
    ca.render(loaded, tmp_path / "b.frames", jobs=1, size=(320, 240))
    assert all(np.array_equal(a, b) for a, b in zip(live, memory_encoder.last.frames))


def cli_fit(run, table, label, features, *extra):
    return run("fit", DATA / table, "--task", "classify", "--features", features, "--label-column", label,
               "--max-iter", "120", "--every", "40", "--size", "320x240", "-q", *extra)


@pytest.mark.parametrize("view", ["pca", "petal_length,petal_width"])
def test_fit_cli_renders_iris_with_all_four_measurements(run, view):
    from PIL import Image

    result = cli_fit(run, "iris_like.csv", "species", IRIS_FEATURES, "--view", view, "-o", "iris.gif",
                     "--still", "iris.png", "--save-trace", "iris.npz")
    assert result.exit_code == 0, result.output
    trace = ca.Trace.load("iris.npz")
    assert trace.data["points"].shape == (150, 4) and trace.meta["features"] == IRIS_FEATURES.split(",")
    xlabel = trace.options["xlabel"]
    assert xlabel.startswith("PC1 (") if view == "pca" else xlabel == "petal_length"
    still = np.array(Image.open("iris.png").convert("RGB"))
    assert blue_pixels(still) > 50  # the setosa points, drawn
    with Image.open("iris.gif") as gif:
        assert gif.n_frames >= 3


def test_fit_cli_trains_a_thirteen_feature_table_on_very_different_scales(run):
    result = cli_fit(run, "wine_like.csv", "cultivar", WINE_FEATURES, "--save-trace", "wine.npz", "-o", "wine.gif")
    assert result.exit_code == 0, result.output
    trace = ca.Trace.load("wine.npz")
    assert trace.data["points"].shape == (178, 13)
    assert trace.losses[-1] < 0.1 * trace.losses[0]  # standardised inputs: proline (hundreds) does not swamp hue
    assert Path("wine.gif").stat().st_size > 0


@pytest.mark.parametrize("args, message", [
    (("--features", "sepal_length,petal_area"), "has no column 'petal_area'"),
    (("--features", "sepal_length,species", "--label-column", "species"), "cannot be both a feature and the label"),
    (("--features", IRIS_FEATURES, "--view", "petal_area,petal_width"), "view names feature 'petal_area'"),
    (("--features", IRIS_FEATURES, "--view", "a,b,c"), "must be pca or two feature names"),
    (("--features", IRIS_FEATURES, "--x-column", "petal_length"), "either with --features or with --x-column"),
])
def test_fit_cli_bad_features_or_views_exit_2_with_one_line_and_no_file(run, args, message):
    result = run("fit", DATA / "iris_like.csv", "--task", "classify", "--label-column", "species", "-o", "out.gif",
                 "--max-iter", "5", "-q", *args)
    assert result.exit_code == 2, result.output
    assert message in result.output and "Traceback" not in result.output
    assert not Path("out.gif").exists()


def test_fit_cli_non_numeric_feature_column(run, tmp_path):
    table = tmp_path / "t.csv"
    table.write_text("a,b,colour,label\n1,2,red,0\n2,3,blue,1\n3,1,red,0\n")
    result = run("fit", table, "--task", "classify", "--features", "a,b,colour", "-o", "out.gif", "-q")
    assert result.exit_code == 2
    assert "line 2: column 'colour' holds 'red', which is not a number" in result.output
    assert not Path("out.gif").exists()


def test_a_view_is_for_classification_only(run):
    result = run("fit", DATA / "iris_like.csv", "--task", "regress", "--features", IRIS_FEATURES, "--y-column",
                 "petal_width", "--view", "pca", "-q")
    assert result.exit_code == 2 and "only applies to --task classify" in result.output


def test_fit_cli_regresses_on_several_features_drawing_predicted_against_actual(run, tmp_path):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, 3))
    price = X @ np.array([2.0, -3.4, 0.5]) + 4.2
    table = tmp_path / "houses.csv"
    rows = "\n".join(",".join(f"{v:.5f}" for v in (*row, p)) for row, p in zip(X, price))
    table.write_text("rooms,age,floor,price\n" + rows + "\n")
    result = run("fit", table, "--task", "regress", "--features", "rooms,age,floor", "--y-column", "price",
                 "--model", "linear", "--lr", "0.05", "--max-iter", "200", "--every", "50", "--size", "320x240",
                 "-q", "-o", "houses.gif", "--save-trace", "houses.npz")
    assert result.exit_code == 0, result.output
    trace = ca.Trace.load("houses.npz")
    assert trace.data["x"].shape == (120, 3) and trace.meta["features"] == ["rooms", "age", "floor"]
    error = np.abs(trace.state["y_pred"] - price).mean(axis=1)
    assert error[-1] < 0.1 * error[0]
    assert trace.options["ylabel"] == "price" and Path("houses.gif").stat().st_size > 0
    bad = run("fit", table, "--task", "regress", "--features", "rooms,price", "--y-column", "price", "-q", "-o", "bad.gif")
    assert bad.exit_code == 2 and "cannot be both a feature and the value to predict" in bad.output
