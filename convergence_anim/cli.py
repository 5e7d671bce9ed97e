"""The ``convergence-anim`` command: a thin layer over the public functions.

It parses options, calls what a Python user would call, and turns the project's exceptions into one
line and an exit code: 2 for a usage error, 1 for a failed run. Heavy modules load inside commands,
so ``--help`` stays instant.
"""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path
from typing import Iterator

import click

__all__ = ["main"]

FORMATS = ("gif", "mp4")


@contextlib.contextmanager
def _errors(verbose: bool = False) -> Iterator[None]:
    """Map the project's exceptions to click's: UsageError exits 2, the rest exit 1, one line each."""
    from ._exceptions import ConvergenceAnimError, UsageError

    try:
        yield
    except UsageError as exc:
        raise click.UsageError(str(exc)) from None
    except ConvergenceAnimError as exc:
        if verbose and exc.__cause__ is not None:
            click.echo(str(exc.__cause__), err=True)
        raise click.ClickException(str(exc)) from None
    except KeyboardInterrupt:
        click.echo("Interrupted; no partial file was left behind.", err=True)
        sys.exit(130)


def _positive_int(ctx: click.Context, param: click.Parameter, value: "int | None") -> "int | None":
    if value is not None and value <= 0:
        raise click.BadParameter(f"must be a positive integer, got {value}")
    return value


def _positive_float(ctx: click.Context, param: click.Parameter, value: "float | None") -> "float | None":
    if value is not None and not (0 < value < float("inf")):
        raise click.BadParameter(f"must be a positive number, got {value:g}")
    return value


def _render_with_progress(trace, output: Path, *, fps: float, quiet: bool) -> Path:
    from ._render import render

    if quiet:
        return render(trace, output, fps=fps)
    with click.progressbar(length=len(trace), label=f"Rendering {output.name}", file=sys.stderr) as bar:
        return render(trace, output, fps=fps, progress=bar.update)


def _report(trace, path: Path, quiet: bool) -> None:
    if trace.diverged_at is not None:
        click.echo(f"Warning: training diverged at iteration {trace.diverged_at} (loss or weights not finite).", err=True)
    if not quiet:
        click.echo(f"Wrote {path} ({len(trace)} frames, {path.stat().st_size / 1024:.0f} KiB)")


@click.group(context_settings={"help_option_names": ["-h", "--help"], "show_default": True})
@click.version_option(package_name="convergence-anim")
def main() -> None:
    """Turn a PyTorch training run into an animation (GIF or MP4)."""


@main.command()
@click.argument("name", type=click.Choice(["linear", "logistic"]))
@click.option("--seed", type=click.IntRange(min=0), default=None, help="Random seed [default: linear 10, logistic 1].")
@click.option("--every", type=int, default=None, callback=_positive_int, help="Capture every N iterations [default: linear 20, logistic 3].")
@click.option("--lr", type=float, default=None, callback=_positive_float, help="Learning rate [default: 0.02]; try 0.1 on linear to watch it diverge.")
@click.option("--max-iter", type=int, default=None, callback=_positive_int, help="Stop after N iterations [default: linear 1000, logistic 3000].")
@click.option("--fps", type=float, default=None, callback=_positive_float, help="Frames per second [default: linear 5, logistic 20].")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default=None, help="Output format [default: from -o's suffix, else gif].")
@click.option("-o", "--output", type=click.Path(path_type=Path), default=None, help="Output file (overwritten if it exists) [default: outputs/<demo>-seed<N>.<format>].")
@click.option("--save-trace", type=click.Path(path_type=Path), default=None, help="Also save the captures as a .npz trace, to re-render later.")
@click.option("-q", "--quiet", is_flag=True, help="No progress bar or summary.")
@click.option("-v", "--verbose", is_flag=True, help="Show details of encoder failures (ffmpeg's own output).")
def demo(name, seed, every, lr, max_iter, fps, fmt, output, save_trace, quiet, verbose) -> None:
    """Train one of the blog's demos and render it.

    NAME is linear (regression line) or logistic (two-class boundary).
    """
    from .demos import DEMOS, run_demo

    spec = DEMOS[name]
    seed = spec.seed if seed is None else seed
    output = _output_path(output, fmt, f"outputs/{name}-seed{seed}")
    with _errors(verbose):
        from .encoders import encoder_for
        from .encoders._base import check_fps
        from ._atomic import check_output_path

        encoder = encoder_for(output)  # fail before training, not after
        check_fps(fps or spec.fps, encoder.max_fps, encoder.suffix)
        check_output_path(output)
        run = run_demo(name, seed=seed, lr=lr, every=every, max_iter=max_iter)
        if save_trace is not None:
            run.trace.save(save_trace)
        path = _render_with_progress(run.trace, output, fps=fps or spec.fps, quiet=quiet)
    _report(run.trace, path, quiet)


def _output_path(output: "Path | None", fmt: "str | None", default_stem: str) -> Path:
    if output is None:
        return Path(f"{default_stem}.{fmt or 'gif'}")
    if fmt is not None and output.suffix.lower() != f".{fmt}":
        raise click.BadParameter(f"--format {fmt} does not match the output suffix {output.suffix or '(none)'!r}", param_hint="'--format'")
    return output


@main.command(name="render")
@click.argument("trace_file", metavar="TRACE.npz", type=click.Path(path_type=Path))
@click.option("-o", "--output", type=click.Path(path_type=Path), required=True, help="Output .gif or .mp4 (overwritten if it exists).")
@click.option("--fps", type=float, default=10.0, callback=_positive_float, help="Frames per second.")
@click.option("-q", "--quiet", is_flag=True, help="No progress bar or summary.")
@click.option("-v", "--verbose", is_flag=True, help="Show details of encoder failures (ffmpeg's own output).")
def render_command(trace_file, output, fps, quiet, verbose) -> None:
    """Re-render a saved trace without retraining."""
    with _errors(verbose):
        from .encoders import encoder_for
        from .trace import Trace

        encoder_for(output)
        trace = Trace.load(trace_file)
        path = _render_with_progress(trace, output, fps=fps, quiet=quiet)
    _report(trace, path, quiet)


if __name__ == "__main__":  # pragma: no cover
    main()
