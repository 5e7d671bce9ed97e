"""Write the synthetic tables ``iris_like.csv`` and ``wine_like.csv`` (run from this folder).

SYNTHETIC DATA, not the real iris and wine tables (there is no network here to fetch them, and the
real values were not written from memory). Each has the real table's shape, column names, class
names and class sizes; each class is drawn from a normal distribution around approximately the real
class means, with spreads of the real table's order, so that the columns have realistic scales: in
the wine-like table ``proline`` is in the hundreds beside ``hue`` near 1.
"""

import csv

import numpy as np

IRIS_COLUMNS = ["sepal_length", "sepal_width", "petal_length", "petal_width"]
IRIS = {  # class: (size, means, spreads), in cm
    "setosa": (50, [5.01, 3.43, 1.46, 0.25], [0.35, 0.38, 0.17, 0.11]),
    "versicolor": (50, [5.94, 2.77, 4.26, 1.33], [0.52, 0.31, 0.47, 0.20]),
    "virginica": (50, [6.59, 2.97, 5.55, 2.03], [0.64, 0.32, 0.55, 0.27]),
}

WINE_COLUMNS = ["alcohol", "malic_acid", "ash", "alcalinity_of_ash", "magnesium", "total_phenols", "flavanoids",
                "nonflavanoid_phenols", "proanthocyanins", "color_intensity", "hue", "od280_od315", "proline"]
WINE = {
    "class_0": (59, [13.74, 2.01, 2.46, 17.0, 106.3, 2.84, 2.98, 0.29, 1.90, 5.53, 1.06, 3.16, 1116.0],
                [0.46, 0.69, 0.23, 2.5, 10.5, 0.34, 0.40, 0.07, 0.41, 1.24, 0.12, 0.36, 221.0]),
    "class_1": (71, [12.28, 1.93, 2.24, 20.2, 94.5, 2.26, 2.08, 0.36, 1.63, 3.09, 1.06, 2.79, 519.5],
                [0.54, 1.02, 0.32, 3.3, 16.8, 0.55, 0.70, 0.12, 0.60, 0.92, 0.20, 0.50, 157.0]),
    "class_2": (48, [13.15, 3.33, 2.44, 21.4, 99.3, 1.68, 0.78, 0.45, 1.15, 7.40, 0.68, 1.68, 629.9],
                [0.53, 1.09, 0.18, 2.3, 10.9, 0.36, 0.29, 0.12, 0.41, 2.31, 0.11, 0.27, 115.1]),
}


def write(path: str, columns: list, classes: dict, label: str, seed: int, decimals: int = 2) -> None:
    rng = np.random.default_rng(seed)
    with open(path, "w", newline="") as fh:
        out = csv.writer(fh)
        out.writerow(columns + [label])
        for name, (size, means, spreads) in classes.items():
            values = np.abs(rng.normal(means, spreads, size=(size, len(columns))))  # measurements are positive
            for row in values:
                out.writerow([f"{v:.{decimals}f}" for v in row] + [name])


if __name__ == "__main__":
    write("iris_like.csv", IRIS_COLUMNS, IRIS, "species", seed=150, decimals=1)
    write("wine_like.csv", WINE_COLUMNS, WINE, "cultivar", seed=178)
