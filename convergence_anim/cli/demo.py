"""``convergence-anim demo``: train one of the built-in demos and render it."""

from __future__ import annotations

import click

from ..demos import DEMOS, OPTIMIZERS  # torch-free at import: demos import torch only when they run
from ._common import (POSITIVE_FLOAT, POSITIVE_INT, demo_output_options, errors, output_path, render_options, settings_from,
                      train_and_render, training_options)

__all__ = ["demo"]


def _demo_help() -> str:
    rows = "\n".join(
        f"{d.name:<9} {d.summary} (seed {d.seed}, lr {d.lr:g}, every {d.every}, max-iter {d.max_iter}, fps {d.fps:g})"
        for d in DEMOS.values()
    )
    # \b keeps click from re-wrapping the list.
    return f"Train one of the built-in demos and render it.\n\nNAME and each demo's defaults:\n\n\b\n{rows}"


@click.command(help=_demo_help(), context_settings={"show_default": True})
@click.argument("name", type=click.Choice(list(DEMOS)), metavar="NAME")
@click.option("--seed", type=click.IntRange(min=0), default=None, help="Random seed [default: the demo's, listed above].")
@click.option("--every", type=POSITIVE_INT, default=None, help="Capture every N iterations [default: the demo's].")
@click.option("--optimizer", type=click.Choice(list(OPTIMIZERS)), default=None, help="Train with this optimizer [default: the demo's: the blog's hand-written step for linear and logistic, adam for the others].")
@click.option("--lr", type=POSITIVE_FLOAT, default=None, help="Learning rate [default: the demo's for its optimizer]; try 0.1 on linear to watch it diverge.")
@click.option("--max-iter", type=POSITIVE_INT, default=None, help="Stop after N iterations [default: the demo's].")
@demo_output_options("outputs/<demo>-seed<N>")
@training_options
@render_options
def demo(name, seed, every, optimizer, lr, max_iter, fps, fmt, output, neurons, save_trace, test_fraction, lr_drops, live,
         **options) -> None:
    from ..demos import run_demo

    spec = DEMOS[name]
    if test_fraction is not None or lr_drops or spec.test_fraction is not None:
        options["loss_panel"] = True  # what they add is drawn there
    seed = spec.seed if seed is None else seed
    output = output_path(output, fmt, f"outputs/{name}-seed{seed}")
    with errors(options["verbose"]):
        train_and_render(
            lambda shown: run_demo(name, seed=seed, lr=lr, every=every, max_iter=max_iter, optimizer=optimizer,
                                   landscape=options["landscape"], live=shown, test_fraction=test_fraction,
                                   lr_drops=lr_drops, neurons=neurons),
            output, save_trace, settings_from(options, fps, spec.fps), options=options, live=live,
        )
