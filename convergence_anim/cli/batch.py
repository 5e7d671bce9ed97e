"""The ``convergence-anim batch`` command: one demo over many seeds, a thin layer over ``render_batch``."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from ..style import THEMES
from ._common import POSITIVE_FLOAT, POSITIVE_INT, FrameSize, errors

__all__ = ["batch"]

_STAGES = {"measure": "Finding the shared scale", "seeds": "Seeds", "grid": "Grid frames"}


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
            if done:  # seeds already up to date: not part of the time estimate
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


def _seeds_text(entries) -> str:
    return ", ".join(str(e["seed"]) for e in entries)


@click.command(context_settings={"show_default": True})
@click.argument("name", metavar="DEMO")
@click.option("--seeds", required=True, help="Seeds to run: a range 0-99, a list 1,2,5-9.")
@click.option("-o", "--output", "template", default=None,
              help="Output per seed (.gif or .mp4), from the fields {demo} {seed} {lr} {every} {max_iter} {fps} "
                   "[default: outputs/{demo}-seed{seed}.gif; none if only --grid is given].")
@click.option("--grid", type=click.Path(path_type=Path), default=None, help="Also render all seeds as one grid animation, one cell per seed (.gif or .mp4).")
@click.option("--grid-cols", type=POSITIVE_INT, default=None, help="Columns of the grid [default: near-square].")
@click.option("--shared-scale", is_flag=True, help="Draw every seed with the same axis limits, so clips compare side by side.")
@click.option("--jobs", type=POSITIVE_INT, default=None, help="Local processes, one seed each [default: every core].")
@click.option("--scheduler", metavar="ADDRESS", default=None, help="Run the seeds on a Dask distributed scheduler, e.g. tcp://127.0.0.1:8786 (needs the distributed extra).")
@click.option("--force", is_flag=True, help="Render every seed again, even those whose output is up to date.")
@click.option("--lr", type=POSITIVE_FLOAT, default=None, help="Learning rate [default: the demo's].")
@click.option("--every", type=POSITIVE_INT, default=None, help="Capture every N iterations [default: the demo's].")
@click.option("--max-iter", type=POSITIVE_INT, default=None, help="Stop after N iterations [default: the demo's].")
@click.option("--fps", type=POSITIVE_FLOAT, default=None, help="Frames per second, of each seed and the grid [default: the demo's].")
@click.option("--theme", type=click.Choice(list(THEMES)), default=None, help="Look: light is the blog's [default: light].")
@click.option("--size", type=FrameSize(), metavar="WxH", default=None, help="Frame size of each seed in pixels [default: the theme's].")
@click.option("--loss-panel", is_flag=True, help="Draw the loss curve so far beside each plot (shared range with --shared-scale).")
@click.option("--log-loss", is_flag=True, help="Log scale for the loss panel (implies --loss-panel).")
@click.option("--manifest", type=click.Path(path_type=Path), default=None, help="Where to keep the manifest [default: batch.json in the outputs' folder].")
@click.option("-q", "--quiet", is_flag=True, help="No progress bars or summary (failures are still named).")
def batch(name, seeds, template, grid, grid_cols, shared_scale, jobs, scheduler, force, lr, every, max_iter, fps,
          theme, size, loss_panel, log_loss, manifest, quiet) -> None:
    """Train and render demo DEMO once per seed, in parallel, resumably.

    \b
    convergence-anim batch linear --seeds 0-19 --jobs 2 -o "outputs/linear/seed-{seed}.gif"
    convergence-anim batch linear --seeds 0-99 --grid outputs/linear-grid.mp4 --grid-cols 10
    convergence-anim batch linear --seeds 1,2,5-9 --scheduler tcp://127.0.0.1:8786 -o "outputs/{demo}-{seed}.mp4"

    Each seed is recorded in batch.json beside the outputs (settings, iterations, final loss,
    converged or diverged, file size, SHA-256). A rerun skips seeds whose file is up to date. A seed
    that fails is recorded and the others go on; the exit code is 1 if any failed. A seed that
    diverges is still rendered (the frames show it) and counted as diverged, not failed.
    """
    with errors():
        from .._exceptions import UsageError
        from ..batch import dask_executor, parse_seeds, render_batch, seed_jobs

        if jobs is not None and scheduler is not None:
            raise UsageError("--jobs sets local processes; with --scheduler the cluster's workers run the seeds")
        if template is None and grid is None:
            template = "outputs/{demo}-seed{seed}.gif"
        render_options = {k: v for k, v in (("theme", theme), ("size", list(size) if isinstance(size, tuple) else size)) if v is not None}
        if loss_panel or log_loss:
            render_options.update(loss_panel=True, log_loss=log_loss)
        job_list = seed_jobs(name, parse_seeds(seeds), template, lr=lr, every=every, max_iter=max_iter, fps=fps,
                             render_options=render_options)
        bars = None if quiet else _Bars()
        kwargs = dict(shared_scale=shared_scale, grid=grid, grid_cols=grid_cols, manifest=manifest, force=force,
                      progress=bars)
        try:
            if scheduler is not None:
                with dask_executor(scheduler) as executor:
                    result = render_batch(job_list, executor, **kwargs)
            else:
                result = render_batch(job_list, workers=jobs, **kwargs)
        except KeyboardInterrupt:
            if bars is not None:
                bars.close()
            click.echo("Interrupted: no partial file was left behind; the manifest keeps the seeds that finished, "
                       "so rerunning the same command resumes.", err=True)
            sys.exit(130)
        finally:
            if bars is not None:
                bars.close()
    _summary(result, len(job_list), grid, quiet)


def _shown(path) -> str:
    import os

    relative = os.path.relpath(path)
    return str(path) if relative.startswith("..") else relative


def _summary(result, total: int, grid_path, quiet: bool) -> None:
    failed, diverged, skipped = result.failed, result.diverged, result.skipped
    rendered = total - len(failed) - len(skipped)
    for entry in failed:
        click.echo(f"seed {entry['seed']} failed: {entry['error']}", err=True)
    if not quiet:
        parts = [f"{rendered} rendered", f"{len(skipped)} up to date", f"{len(failed)} failed"]
        line = f"{total} seeds: " + ", ".join(parts) + "."
        if diverged:
            line += f" Diverged (rendered, see the frames): seed {_seeds_text(diverged)}."
        click.echo(line)
        click.echo(f"Manifest: {_shown(result.manifest)}")
        grid = result.grid
        if grid is not None and grid["status"] == "ok":
            state = "up to date" if grid.get("skipped") else f"{grid['frames']} frames, {grid['bytes'] / 1024:.0f} KiB"
            click.echo(f"Grid: {grid_path} ({state})")
    if result.grid is not None and result.grid["status"] != "ok":
        raise click.ClickException(f"the grid could not be written: {result.grid['error']}")
    if failed:
        raise click.ClickException(f"{len(failed)} of {total} seeds failed: seed {_seeds_text(failed)} (details in {_shown(result.manifest)})")
