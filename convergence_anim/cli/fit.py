"""``convergence-anim fit``: train a small model on your own CSV data and render it (see ``data``)."""

from __future__ import annotations

from pathlib import Path

import click

from ..training import MODELS
from ._common import (POSITIVE_FLOAT, POSITIVE_INT, either, errors, render_options, renamed, settings_from, train_and_render,
                      training_options)

__all__ = ["fit"]

def _hidden_widths(ctx: click.Context, param: click.Parameter, value: "str | None") -> "tuple[int, ...] | None":
    if value is None:
        return None
    try:
        widths = tuple(int(part) for part in value.split(","))
    except ValueError:
        raise click.BadParameter(f"must be layer widths separated by commas, such as 16,16; got {value!r}") from None
    if not widths or any(w <= 0 for w in widths):
        raise click.BadParameter(f"layer widths must be positive integers, got {value!r}")
    return widths


def _names(ctx: click.Context, param: click.Parameter, value: "str | None") -> "tuple[str, ...] | None":
    if value is None:
        return None
    names = tuple(part.strip() for part in value.split(","))
    if any(not name for name in names):
        raise click.BadParameter(f"must be column names separated by commas, such as a,b,c; got {value!r}")
    return names


@click.command(context_settings={"show_default": True})
@click.argument("csv_file", metavar="DATA.csv", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--task", type=click.Choice(["classify", "regress"]), required=True,
              help="classify: points x,y with a class label; regress: predict y from x.")
@click.option("--model", type=click.Choice(MODELS), default="mlp", help="One linear layer, or a tanh MLP.")
@click.option("--hidden", callback=_hidden_widths, default=None, metavar="W1,W2,...",
              help="Hidden layer widths of the MLP [default: 16,16].")
@click.option("--lr", type=POSITIVE_FLOAT, default=0.01, help="Adam's learning rate.")
@click.option("--max-iter", type=POSITIVE_INT, default=None, help="Training steps [default: 500].")
@renamed("--iterations", "--max-iter", type=POSITIVE_INT)
@click.option("--every", type=POSITIVE_INT, default=None, help="Capture every N steps [default: max-iter/100].")
@click.option("--seed", type=click.IntRange(min=0), default=0, help="Random seed of the model's initial weights.")
@click.option("--x-column", default="x", help="Column holding x.")
@click.option("--y-column", default="y", help="Column holding y.")
@click.option("--label-column", default=None, help="Column holding the class, for --task classify [default: label].")
@click.option("--features", callback=_names, default=None, metavar="A,B,...|all",
              help="Input columns, standardised: for classify two or more [default: x,y, or all if the file has "
                   "neither]; for regress one or more, predicting --y-column (several are drawn as predicted against "
                   "actual) [default: x]; all: every column holding only numbers except the label or --y-column.")
@click.option("--view", callback=_names, default=None, metavar="pca|A,B",
              help="With more than two features, the plane drawn: the first two principal components (pca), or "
                   "two features, the others held at their median [default: pca].")
@click.option("-o", "--output", type=click.Path(path_type=Path), default=None,
              help="Output animation (.gif, .mp4, .webp, .webm, .html or beamer .tex), overwritten if it exists [default: outputs/<csv name>-<task>.gif; missing folders are created].")
@click.option("--fps", type=POSITIVE_FLOAT, default=None, help="Frames per second [default: 15].")
@training_options
@render_options
def fit(csv_file, task, model, hidden, lr, max_iter, iterations_renamed, every, seed, x_column, y_column, label_column, features, view,
        output, fps, neurons, save_trace, test_fraction, lr_drops, live, **options) -> None:
    """Fit a small model to your own points and render how it converges.

    DATA.csv has a header line and columns x,y (and label, for classify); name other columns with
    --x-column, --y-column and --label-column, or several input columns with --features (for
    regress, --y-column is then the value to predict).
    """
    iterations = either("--max-iter", max_iter, "--iterations", iterations_renamed, default=500)
    if task == "regress" and label_column is not None:
        raise click.BadParameter("only applies to --task classify", param_hint="'--label-column'")
    if task == "regress" and view is not None:
        raise click.BadParameter("only applies to --task classify: regression with several features draws predicted "
                                 "against actual", param_hint="'--view'")
    named = (x_column, y_column) != ("x", "y") if task == "classify" else x_column != "x"
    if features is not None and named:
        also = "--x-column/--y-column" if task == "classify" else "--x-column (--y-column names the value to predict)"
        raise click.BadParameter(f"give the input columns either with --features or with {also}",
                                 param_hint="'--features'")
    if view is not None and view != ("pca",) and len(view) != 2:
        raise click.BadParameter(f"must be pca or two feature names such as a,b; got {','.join(view)!r}",
                                 param_hint="'--view'")
    view = None if view is None else "pca" if view == ("pca",) else view
    if model == "linear" and hidden is not None:
        raise click.BadParameter("only applies to --model mlp", param_hint="'--hidden'")
    if test_fraction is not None or lr_drops:
        options["loss_panel"] = True  # what they add is drawn there
    with errors(options["verbose"]):
        from .. import data

        settings = settings_from(options, fps, 15.0)

        dataset = data.load_csv(csv_file, x_column=x_column, y_column=y_column,
                                label_column=(label_column or "label") if task == "classify" else None,
                                features="all" if features == ("all",) else features)
        if output is None:
            output = Path("outputs") / f"{csv_file.stem}-{task}.gif"
        train_and_render(
            lambda shown: data.fit(dataset, model=model, hidden=hidden, lr=lr, iterations=iterations, every=every,
                                   seed=seed, landscape=options["landscape"], view=view, live=shown,
                                   test_fraction=test_fraction, lr_drops=lr_drops, neurons=neurons),
            output, save_trace, settings, options=options, live=live,
            inputs={"the data file": csv_file},
        )
