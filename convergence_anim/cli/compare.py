"""``convergence-anim compare``: race saved traces of the same scene and data in one animation."""

from __future__ import annotations

from pathlib import Path

import click

from ._common import (POSITIVE_FLOAT, check_before_training, created_note, errors, frame_budget_warning, render_options,
                      settings_from)

__all__ = ["compare", "labels_option", "render_race"]


def _labels(ctx: click.Context, param: click.Parameter, value: "str | None") -> "list[str] | None":
    if value is None:
        return None
    labels = [part.strip() for part in value.split(",")]
    if any(not label for label in labels):
        raise click.BadParameter(f"must be names separated by commas, such as sgd,adam; got {value!r}")
    return labels


labels_option = click.option("--labels", callback=_labels, default=None, metavar="A,B,...",
                             help="Names of the runs in the key, in order [default: each run's optimizer and learning rate].")


def render_race(traces, output: Path, settings, labels, *, quiet: bool, created: "list[Path]" = ()) -> Path:
    """``render(traces, output, settings, labels=labels)`` with a progress bar unless ``quiet``; then the summary.

    ``created`` are the folders the writing made, named in the summary.
    """
    import sys

    from .._render import render
    from .._timing import pick_frames
    from ..race import check_race, race_timeline

    labels = check_race(traces, labels)
    total = len(race_timeline(traces)[0])
    frames = len(pick_frames(total, settings.max_frames, settings.spacing))
    with frame_budget_warning(total, traces, settings):
        if quiet:
            path = render(traces, output, settings, labels=labels)
        else:
            with click.progressbar(length=frames, label=f"Rendering {output.name}", file=sys.stderr) as bar:
                path = render(traces, output, settings, labels=labels, progress=bar.update)
    for label, trace in zip(labels, traces):
        if trace.diverged_at is not None:
            click.echo(f"Warning: run {label!r} diverged at iteration {trace.diverged_at} (loss or weights not finite).", err=True)
    if not quiet:
        click.echo(f"Wrote {path} ({frames} frames, {len(traces)} runs, {path.stat().st_size / 1024:.0f} KiB){created_note(created)}")
    return path


@click.command(context_settings={"show_default": True})
@click.argument("trace_files", metavar="TRACE.npz...", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("-o", "--output", type=click.Path(path_type=Path), required=True, help="Output animation (.gif, .mp4, .webp, .webm, .html or beamer .tex), overwritten if it exists; missing folders are created.")
@labels_option
@click.option("--fps", type=POSITIVE_FLOAT, default=None, help="Frames per second [default: 10].")
@render_options
def compare(trace_files, output, labels, fps, **options) -> None:
    """Race saved runs (.npz traces) of the same scene on the same data in one animation.

    race trains a demo with several optimizers and races them in one step; compare races runs you
    already have: your own loops' traces, or demos saved with --save-trace.

    Each run is drawn in its own colour with a key above the plots: lines and curves overlaid, boundaries as
    their p = 0.5 lines, every loss curve in the loss panel, every path on the landscape. Runs of
    different scenes or data are refused (exit 2).
    """
    from ..settings import DEFAULT_FPS

    with errors(options["verbose"]):
        from ..trace import Trace

        settings = settings_from(options, fps, DEFAULT_FPS)
        created = check_before_training(output, None, settings,
                                        inputs={f"trace file {i}": path for i, path in enumerate(trace_files, 1)})
        traces = [Trace.load(path) for path in trace_files]
        render_race(traces, output, settings, labels, quiet=options["quiet"], created=created)
