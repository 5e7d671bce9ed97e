"""The ``convergence-anim`` command: a thin layer over the public functions.

It parses options, calls what a Python user would call, and turns the project's exceptions into one
line and an exit code: 2 for a usage error, 1 for a failed run. Heavy modules load inside commands,
so ``--help`` stays instant.
"""

from __future__ import annotations

from pathlib import Path

import click

from ._cli_common import (
    FORMATS,
    check_before_training,
    errors,
    output_path,
    positive_float,
    positive_int,
    render_kwargs,
    render_options,
    render_with_progress,
    report,
)
from .demos import DEMOS  # torch-free at import: demos import torch only when they run

__all__ = ["main"]

@click.group(context_settings={"help_option_names": ["-h", "--help"], "show_default": True})
@click.version_option(package_name="convergence-anim")
def main() -> None:
    """Turn a PyTorch training run into an animation (GIF or MP4)."""


def _demo_help() -> str:
    rows = "\n".join(
        f"{d.name:<9} {d.summary} (seed {d.seed}, lr {d.lr:g}, every {d.every}, max-iter {d.max_iter}, fps {d.fps:g})"
        for d in DEMOS.values()
    )
    # \b keeps click from re-wrapping the list.
    return f"Train one of the built-in demos and render it.\n\nNAME and each demo's defaults:\n\n\b\n{rows}"


@main.command(help=_demo_help())
@click.argument("name", type=click.Choice(list(DEMOS)), metavar="NAME")
@click.option("--seed", type=click.IntRange(min=0), default=None, help="Random seed [default: the demo's, listed above].")
@click.option("--every", type=int, default=None, callback=positive_int, help="Capture every N iterations [default: the demo's].")
@click.option("--lr", type=float, default=None, callback=positive_float, help="Learning rate [default: the demo's]; try 0.1 on linear to watch it diverge.")
@click.option("--max-iter", type=int, default=None, callback=positive_int, help="Stop after N iterations [default: the demo's].")
@click.option("--fps", type=float, default=None, callback=positive_float, help="Frames per second [default: the demo's].")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default=None, help="Output format [default: from -o's suffix, else gif].")
@click.option("-o", "--output", type=click.Path(path_type=Path), default=None, help="Output file, overwritten if it exists [default: outputs/<demo>-seed<N>.<format>].")
@click.option("--save-trace", type=click.Path(path_type=Path), default=None, help="Also save the captures as a .npz trace, to re-render later.")
@render_options
def demo(name, seed, every, lr, max_iter, fps, fmt, output, save_trace, **options) -> None:
    from .demos import run_demo

    spec = DEMOS[name]
    seed = spec.seed if seed is None else seed
    output = output_path(output, fmt, f"outputs/{name}-seed{seed}")
    kwargs = render_kwargs(options, spec.fps if fps is None and options["duration"] is None else fps)
    with errors(options["verbose"]):
        check_before_training(output, save_trace, kwargs)
        run = run_demo(name, seed=seed, lr=lr, every=every, max_iter=max_iter)
        if save_trace is not None:
            run.trace.save(save_trace)
        path = render_with_progress(run.trace, output, quiet=options["quiet"], **kwargs)
    report(run.trace, path, options["quiet"])


@main.command(name="render")
@click.argument("trace_file", metavar="TRACE.npz", type=click.Path(path_type=Path))
@click.option("-o", "--output", type=click.Path(path_type=Path), required=True, help="Output .gif or .mp4, overwritten if it exists.")
@click.option("--fps", type=float, default=None, callback=positive_float, help="Frames per second [default: 10].")
@render_options
def render_command(trace_file, output, fps, **options) -> None:
    """Re-render a saved trace without retraining."""
    kwargs = render_kwargs(options, 10.0 if fps is None and options["duration"] is None else fps)
    with errors(options["verbose"]):
        from .encoders import encoder_for
        from .trace import Trace

        encoder_for(output)
        trace = Trace.load(trace_file)
        path = render_with_progress(trace, output, quiet=options["quiet"], **kwargs)
    report(trace, path, options["quiet"])


from ._cli_batch import batch  # noqa: E402

main.add_command(batch)

from ._cli_fit import fit  # noqa: E402

main.add_command(fit)


if __name__ == "__main__":  # pragma: no cover
    main()
