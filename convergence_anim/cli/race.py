"""``convergence-anim race``: train a demo with several optimizers and render the race in one command.

``race`` trains the runs and races them; ``compare`` races runs already saved (``--save-trace``).
"""

from __future__ import annotations

import math

import click

from ..demos import DEMOS, OPTIMIZERS
from ._common import (POSITIVE_INT, check_before_training, demo_output_options, errors, output_path, render_options,
                      settings_from)
from .compare import labels_option, render_race

__all__ = ["race"]


def _optimizers(ctx: click.Context, param: click.Parameter, value: str) -> "list[tuple[str, float | None]]":
    runs = []
    for part in value.split(","):
        name, sep, rate = part.strip().partition(":")
        if name not in OPTIMIZERS:
            raise click.BadParameter(f"unknown optimizer {name!r} in {value!r}; choose from {', '.join(OPTIMIZERS)}")
        lr = None
        if sep:
            try:
                lr = float(rate)
            except ValueError:
                lr = math.nan
            if not 0 < lr < math.inf:
                raise click.BadParameter(f"learning rate of {name} must be a positive number, got {rate!r}")
        runs.append((name, lr))
    if len(set(runs)) != len(runs):
        raise click.BadParameter(f"each optimizer and rate may race once, got {value!r}")
    return runs


@click.command(context_settings={"show_default": True})
@click.argument("name", type=click.Choice(list(DEMOS)), metavar="DEMO")
@click.option("--optimizers", callback=_optimizers, required=True, metavar="OPT[:LR],...",
              help=f"The runs: optimizers from {', '.join(OPTIMIZERS)}, each with an optional :LR (e.g. sgd,momentum:0.01,adam) [LR default: the demo's for that optimizer].")
@labels_option
@click.option("--seed", type=click.IntRange(min=0), default=None, help="Random seed of data and initial weights, shared by every run [default: the demo's].")
@click.option("--every", type=POSITIVE_INT, default=None, help="Capture every N iterations [default: a quarter of the demo's, so quick runs still move].")
@click.option("--max-iter", type=POSITIVE_INT, default=None, help="Stop each run after N iterations [default: the demo's].")
@demo_output_options("outputs/race-<demo>")
@render_options
def race(name, optimizers, labels, seed, every, max_iter, fps, fmt, output, **options) -> None:
    """Train a demo once per optimizer, from the same data and initial weights, and race them in one animation.

    To race runs you already saved (--save-trace, Trace.save), use compare.

    \b
      convergence-anim race linear --optimizers sgd,momentum,adam --loss-panel --landscape
      convergence-anim race moons --optimizers sgd,momentum:0.02,adam,rmsprop --landscape

    Model demos with --landscape draw every run on one plane: the principal components of all the
    runs' parameter paths together.
    """
    from ..demos import race_demo

    spec = DEMOS[name]
    output = output_path(output, fmt, f"outputs/race-{name}")
    with errors(options["verbose"]):
        settings = settings_from(options, fps, spec.fps)
        created = check_before_training(output, None, settings)
        traces = race_demo(name, optimizers, seed=seed, every=every, max_iter=max_iter, landscape=options["landscape"],
                           progress=not options["quiet"])
        render_race(traces, output, settings, labels, quiet=options["quiet"], created=created)
