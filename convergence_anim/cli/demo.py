"""``convergence-anim demo``: train one of the built-in demos and render it."""

from __future__ import annotations

from pathlib import Path

import click

from ..demos import DEMOS  # torch-free at import: demos import torch only when they run
from ._common import (
    FORMAT,
    LIVE,
    POSITIVE_FLOAT,
    POSITIVE_INT,
    check_before_training,
    errors,
    live_view,
    output_path,
    render_options,
    render_with_progress,
    report,
    settings_from,
)

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
@click.option("--lr", type=POSITIVE_FLOAT, default=None, help="Learning rate [default: the demo's]; try 0.1 on linear to watch it diverge.")
@click.option("--max-iter", type=POSITIVE_INT, default=None, help="Stop after N iterations [default: the demo's].")
@click.option("--fps", type=POSITIVE_FLOAT, default=None, help="Frames per second [default: the demo's].")
@click.option("--format", "fmt", type=FORMAT, default=None, help="Output format [default: from -o's suffix, else gif].")
@click.option("-o", "--output", type=click.Path(path_type=Path), default=None, help="Output file, overwritten if it exists [default: outputs/<demo>-seed<N>.<format>].")
@click.option("--save-trace", type=click.Path(path_type=Path), default=None, help="Also save the captures as a .npz trace, to re-render later.")
@LIVE
@render_options
def demo(name, seed, every, lr, max_iter, fps, fmt, output, save_trace, live, **options) -> None:
    from ..demos import run_demo

    spec = DEMOS[name]
    seed = spec.seed if seed is None else seed
    output = output_path(output, fmt, f"outputs/{name}-seed{seed}")
    with errors(options["verbose"]):
        settings = settings_from(options, fps, spec.fps)
        check_before_training(output, save_trace, settings)
        run = run_demo(name, seed=seed, lr=lr, every=every, max_iter=max_iter, live=live_view(live, settings))
        if save_trace is not None:
            run.trace.save(save_trace)
        path = render_with_progress(run.trace, output, settings, quiet=options["quiet"])
    report(run.trace, path, options["quiet"])
