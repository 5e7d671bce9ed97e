"""``convergence-anim render``: re-render a saved trace without retraining."""

from __future__ import annotations

from pathlib import Path

import click

from ._common import (POSITIVE_FLOAT, check_before_training, errors, render_options, render_with_progress, report,
                      settings_from)

__all__ = ["render_command"]


@click.command(name="render", context_settings={"show_default": True})
@click.argument("trace_file", metavar="TRACE.npz", type=click.Path(path_type=Path))
@click.option("-o", "--output", type=click.Path(path_type=Path), required=True, help="Output animation (.gif, .mp4, .webp, .webm, .html or beamer .tex), overwritten if it exists; missing folders are created.")
@click.option("--fps", type=POSITIVE_FLOAT, default=None, help="Frames per second [default: 10].")
@render_options
def render_command(trace_file, output, fps, **options) -> None:
    """Re-render a saved trace without retraining."""
    from ..settings import DEFAULT_FPS

    with errors(options["verbose"]):
        from ..trace import Trace

        settings = settings_from(options, fps, DEFAULT_FPS)
        created = check_before_training(output, None, settings, inputs={"the trace file": trace_file})
        trace = Trace.load(trace_file)
        path = render_with_progress(trace, output, settings, quiet=options["quiet"])
    report(trace, path, settings, options["quiet"], created)
