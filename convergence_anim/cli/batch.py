"""The ``convergence-anim batch`` command: a training function over seeds and a sweep, a thin layer over ``render_batch``."""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

import click

from ..settings import DEFAULT_MAX_FRAMES
from ..style import THEMES
from ._common import POSITIVE_FLOAT, POSITIVE_INT, FrameSize, either, errors, renamed

__all__ = ["batch"]

_STAGES = {"measure": "Finding the shared scale", "runs": "Runs", "grid": "Grid frames", "ensemble": "Ensemble"}


class _Bars:
    """One click progress bar per stage of the batch, each with a time-left estimate."""

    def __init__(self) -> None:
        self._bar = None
        self._stage = None
        self._done = 0

    def __call__(self, stage: str, done: int, total: int) -> None:
        if stage != self._stage:
            self.close()
            label = _STAGES.get(stage, stage)
            if done:  # runs already up to date: not part of the time estimate
                label += f" ({done} up to date)"
            self._bar = click.progressbar(length=max(total - done, 1), label=label, file=sys.stderr,
                                          show_eta=True, show_pos=True)
            self._bar.__enter__()
            self._stage, self._done = stage, done
        if done > self._done:
            self._bar.update(done - self._done)
            self._done = done

    def close(self) -> None:
        if self._bar is not None:
            self._bar.__exit__(None, None, None)
            self._bar = None


@click.command(context_settings={"show_default": True})
@click.argument("function", metavar="FUNCTION")
@click.option("--seeds", required=True, help="Seeds to run: a range 0-99, a list 1,2,5-9.")
@click.option("--param", "param_specs", multiple=True, metavar="NAME=V1,V2,...",
              help="Sweep a keyword argument of FUNCTION over these values (numbers or text); repeatable. "
                   "Every combination runs with every seed.")
@click.option("-o", "--output", "template", default=None,
              help="Output per run (.gif, .mp4, .webp, .webm, .html or .tex), from the fields {seed} and every --param name "
                   "[default: outputs/NAME-{param}...-seed{seed}.gif; none if --grid, --summary or --ensemble is given].")
@click.option("--grid", type=click.Path(path_type=Path), default=None, help="Also render all runs as one grid animation (.gif, .mp4, .webp, .webm, .html or .tex): a row per parameter combination, a column per seed.")
@click.option("--grid-cols", type=POSITIVE_INT, default=None, help="Columns of the grid [default: one per seed; near-square without --param].")
@click.option("--summary", type=click.Path(path_type=Path), default=None, help="Also draw every run's loss curve and final loss in one figure (.png, .svg or .pdf).")
@click.option("--ensemble", default=None, metavar="PATH",
              help="Also draw all seeds of each parameter setting as one animation, each run thin and translucent, the loss panel's median and 10-90% band; with --param a template of their names, e.g. ens-lr{lr}.gif. Drawn from the runs' saved traces (traces/ beside the manifest), so a rerun draws it again without training.")
@click.option("--shared-scale", is_flag=True, help="Draw every run with the same axis limits, so clips compare side by side.")
@click.option("--workers", type=POSITIVE_INT, default=None, help="Local processes, each running whole runs [default: every core]. (--jobs, in the other commands, is processes drawing the frames of one animation.)")
@renamed("--jobs", "--workers", type=POSITIVE_INT)
@click.option("--scheduler", metavar="ADDRESS", default=None, help="Run on a Dask distributed scheduler, e.g. tcp://127.0.0.1:8786 (needs the distributed extra).")
@click.option("--timeout", type=POSITIVE_FLOAT, default=None, metavar="SECONDS",
              help="Stop a run still going after this many seconds and record it as timed out; the others go on [default: no limit].")
@click.option("--force", is_flag=True, help="Render every run again, even those whose output is up to date.")
@click.option("--fps", type=POSITIVE_FLOAT, default=None, help="Frames per second, of each run and the grid [default: a demo's own, else 10].")
@click.option("--theme", type=click.Choice(list(THEMES)), default="light", help="Look: light is the blog's.")
@click.option("--size", type=FrameSize(), metavar="WxH", default=None, help="Frame size of each run in pixels [default: the theme's].")
@click.option("--loss-panel", is_flag=True, help="Draw the loss curve so far beside each plot (shared range with --shared-scale).")
@click.option("--log-loss", is_flag=True, help="Log scale for the loss panel (implies --loss-panel).")
@click.option("--max-frames", type=click.IntRange(min=0), default=DEFAULT_MAX_FRAMES, help="Draw at most N of each run's captures, the first and the last among them; 0 draws them all.")
@click.option("--manifest", type=click.Path(path_type=Path), default=None, help="Where to keep the manifest, a .json; a .csv of the runs goes beside it [default: batch.json in the outputs' folder].")
@click.option("-q", "--quiet", is_flag=True, help="No progress bars or summary (failures are still named).")
def batch(function, seeds, param_specs, template, grid, grid_cols, summary, ensemble, shared_scale, workers, jobs_renamed, scheduler,
          timeout, force, fps, theme, size, loss_panel, log_loss, max_frames, manifest, quiet) -> None:
    """Call FUNCTION for every seed (and --param combination), render each run, in parallel, resumably.

    FUNCTION is your training function, FILE.py:NAME or module:NAME, called as
    NAME(seed=S, **params) and returning a Trace or the Recorder that holds one; or a built-in demo's
    name (its lr, every and max_iter can be swept with --param).

    \b
    convergence-anim batch experiment.py:train --seeds 0-19 --param lr=0.1,0.01 \\
        -o "runs/lr{lr}-s{seed}.mp4" --grid runs/grid.mp4 --summary runs/summary.png
    convergence-anim batch moons --seeds 0-99 --grid outputs/moons-grid.mp4 --grid-cols 10
    convergence-anim batch mypkg.experiments:train --seeds 0-9 --scheduler tcp://127.0.0.1:8786

    Each run is recorded in batch.json and batch.csv beside the outputs (function, parameters, seed,
    settings, iterations, final loss, status, file size, SHA-256). A rerun skips runs whose file is
    up to date. A run that fails is recorded and the others go on, also one that ends its process
    (named by its exit code or signal) or runs past --timeout; the exit code is 1 if any failed.
    A run that diverges is still rendered (the frames show it) and counted as diverged, not failed.
    With --scheduler, a function from a file is sent to the workers by value; they need
    convergence_anim and the libraries the file imports, and must see the output folder.
    """
    workers = either("--workers", workers, "--jobs", jobs_renamed)
    with errors():
        from .._processes import BATCH_PRELOAD, start_fork_server

        if scheduler is None and (force or shared_scale):
            # First of all: the pool's imports (torch, seconds) then overlap with everything this
            # process does before the first run. Only when runs will surely start: else render_batch
            # first reads the manifest, and a resume with nothing to render starts no pool at all.
            start_fork_server(BATCH_PRELOAD)
        from .._exceptions import UsageError
        from ..batch import TrainingFunction, dask_executor, parse_params, parse_seeds, render_batch
        from ..settings import RenderSettings

        if workers is not None and scheduler is not None:
            raise UsageError("--workers sets local processes; with --scheduler the cluster's workers run the runs")
        params = parse_params(param_specs)
        seed_list = parse_seeds(seeds)
        fn = TrainingFunction(function)
        if template is None and grid is None and summary is None and ensemble is None:
            name = fn.name.rsplit(".", 1)[-1]
            template = "outputs/" + "-".join([name, *(f"{p}{{{p}}}" for p in params), "seed{seed}"]) + ".gif"
        settings = RenderSettings(fps=fps, theme=theme, size=size, loss_panel=loss_panel or log_loss, log_loss=log_loss,
                                  max_frames=max_frames or None)
        bars = None if quiet or not sys.stderr.isatty() else _Bars()  # a bar in a log file is only noise
        kwargs = dict(output=template, settings=settings, shared_scale=shared_scale, grid=grid, grid_cols=grid_cols,
                      summary=summary, ensemble=ensemble, manifest=manifest, force=force, timeout=timeout, progress=bars)
        try:
            with warnings.catch_warnings():  # said below, in the command line's terms
                warnings.filterwarnings("ignore", message="render_batch: ")
                if scheduler is not None:
                    with dask_executor(scheduler) as executor:
                        result = render_batch(fn, seed_list, params, executor=executor, **kwargs)
                else:
                    result = render_batch(fn, seed_list, params, workers=workers, **kwargs)
        except KeyboardInterrupt:
            if bars is not None:
                bars.close()
            click.echo("Interrupted: no partial file was left behind; the manifest keeps the runs that finished, "
                       "so rerunning the same command resumes.", err=True)
            sys.exit(130)
        finally:
            if bars is not None:
                bars.close()
    note = result.budget_note("--max-frames 0")
    if note is not None:
        click.echo(f"Warning: {note}.", err=True)
    _summary(result, grid, summary, quiet)


def _shown(path) -> str:
    import os

    relative = os.path.relpath(path)
    return str(path) if relative.startswith("..") else relative


def _summary(result, grid_path, summary_path, quiet: bool) -> None:
    failed, diverged, skipped = result.failed, result.diverged, result.skipped
    total = len(result.entries)
    rendered = total - len(failed) - len(skipped)
    for entry in failed:
        click.echo(f"{_label(entry)} failed: {entry['error']}", err=True)
    if not quiet:
        parts = [f"{rendered} rendered", f"{len(skipped)} up to date", f"{len(failed)} failed"]
        line = f"{total} runs: " + ", ".join(parts) + "."
        if diverged:
            line += f" Diverged (rendered, see the frames): {_labels(diverged)}."
        click.echo(line)
        click.echo(f"Manifest: {_shown(result.manifest)} and {_shown(result.csv)}")
        grid = result.grid
        if grid is not None and grid["status"] != "failed":
            state = "up to date" if grid["status"] == "up to date" else f"{grid['frames']} frames, {grid['bytes'] / 1024:.0f} KiB"
            click.echo(f"Grid: {grid_path} ({state})")
        if result.summary is not None and result.summary["status"] != "failed":
            click.echo(f"Summary: {summary_path}")
        for entry in result.ensembles:
            if entry["status"] != "failed":
                state = "up to date" if entry["status"] == "up to date" else f"{entry['frames']} frames"
                click.echo(f"Ensemble: {entry['output']} ({state})")
    problems = []
    if failed:
        problems.append(f"{len(failed)} of {total} runs failed: {_labels(failed)} (details in {_shown(result.manifest)})")
    for what, extra in (("grid", result.grid), ("summary", result.summary),
                        *((f"ensemble {e['output']}", e) for e in result.ensembles)):
        if extra is not None and extra["status"] == "failed":
            problems.append(f"the {what} could not be written: {extra['error']}")
    if problems:
        raise click.ClickException("; ".join(problems))


def _label(entry) -> str:
    from ..batch.runs import format_params

    return ", ".join(filter(None, [format_params(entry.get("params") or {}), f"seed {entry['seed']}"]))


def _labels(entries) -> str:
    return "; ".join(_label(e) for e in entries)
