"""What the commands share: error mapping, option checks, the rendering options, the progress bar.

Kept apart from ``cli`` so every command module can import it at the top without a cycle.
"""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path
from typing import Iterator

import click

FORMATS = ("gif", "mp4")


@contextlib.contextmanager
def errors(verbose: bool = False) -> Iterator[None]:
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


def positive_int(ctx: click.Context, param: click.Parameter, value: "int | None") -> "int | None":
    if value is not None and value <= 0:
        raise click.BadParameter(f"must be a positive integer, got {value}")
    return value


def positive_float(ctx: click.Context, param: click.Parameter, value: "float | None") -> "float | None":
    if value is not None and not (0 < value < float("inf")):
        raise click.BadParameter(f"must be a positive number, got {value:g}")
    return value


def parse_size(ctx: click.Context, param: click.Parameter, value: "str | None") -> "tuple[int, int] | None":
    if value is None:
        return None
    width, sep, height = value.lower().partition("x")
    if not sep or not width.isdigit() or not height.isdigit():
        raise click.BadParameter(f"must be WIDTHxHEIGHT in pixels, like 640x480; got {value!r}")
    return (int(width), int(height))


def seconds(ctx: click.Context, param: click.Parameter, value: "float | None") -> "float | None":
    if value is not None and not (0 <= value < float("inf")):
        raise click.BadParameter(f"must be a number of seconds >= 0, got {value:g}")
    return value


def render_options(command):
    """The options every rendering command shares (looks, timing, frame budget, extras)."""
    options = [
        click.option("--theme", type=click.Choice(["light", "dark", "slides"]), default="light", help="Look: light is the blog's, slides is 16:9 with large type."),
        click.option("--size", callback=parse_size, metavar="WxH", default=None, help="Frame size in pixels; text and lines scale with it unless --dpi is given [default: the theme's, 640x480 or 1280x720; wider with --loss-panel]."),
        click.option("--dpi", type=float, default=None, help="Resolution fonts and lines scale with [default: 100, scaled with --size]."),
        click.option("--duration", type=float, default=None, callback=positive_float, help="Fit the whole animation into this many seconds (instead of --fps)."),
        click.option("--hold", type=float, default=0.0, callback=seconds, help="Seconds to hold the last frame."),
        click.option("--hold-first", type=float, default=0.0, callback=seconds, help="Seconds to hold the first frame."),
        click.option("--loop", type=click.IntRange(min=0), default=0, help="Times a GIF plays; 0 loops forever."),
        click.option("--loss-panel", is_flag=True, help="Draw the loss curve so far beside the plot."),
        click.option("--log-loss", is_flag=True, help="Log scale for the loss panel (implies --loss-panel)."),
        click.option("--max-frames", type=int, default=None, callback=positive_int, help="Draw at most N of the captures."),
        click.option("--spacing", type=click.Choice(["uniform", "log"]), default="uniform", help="How --max-frames picks: evenly, or dense early (log)."),
        click.option("--still", type=click.Path(path_type=Path), default=None, help="Also save the final frame (.png, .svg or .pdf)."),
        click.option("--filmstrip", type=click.Path(path_type=Path), default=None, help="Also save key frames side by side as one .png."),
        click.option("--filmstrip-frames", type=click.IntRange(1, 50), default=5, help="Frames in the filmstrip."),
        click.option("--jobs", type=int, default=None, callback=positive_int, help="Processes drawing frames [default: all cores for long animations]."),
        click.option("-q", "--quiet", is_flag=True, help="No progress bar or summary."),
        click.option("-v", "--verbose", is_flag=True, help="Show details of encoder failures (ffmpeg's own output)."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def render_kwargs(options: dict, fps: "float | None") -> dict:
    """Turn the parsed ``render_options`` into keyword arguments of ``render``."""
    if options["duration"] is not None and fps is not None:
        raise click.UsageError("give either --fps or --duration, not both")
    return {
        "fps": fps,
        "duration": options["duration"],
        "hold": options["hold"],
        "hold_first": options["hold_first"],
        "loop": options["loop"],
        "theme": options["theme"],
        "size": options["size"],
        "dpi": options["dpi"],
        "loss_panel": options["loss_panel"] or options["log_loss"],
        "log_loss": options["log_loss"],
        "max_frames": options["max_frames"],
        "spacing": options["spacing"],
        "still": options["still"],
        "filmstrip": options["filmstrip"],
        "filmstrip_frames": options["filmstrip_frames"],
        "jobs": options["jobs"],
    }


def render_with_progress(trace, output: Path, *, quiet: bool, **kwargs) -> Path:
    from ._render import render

    if quiet:
        return render(trace, output, **kwargs)
    with click.progressbar(length=len(trace), label=f"Rendering {output.name}", file=sys.stderr) as bar:
        return render(trace, output, progress=bar.update, **kwargs)


def report(trace, path: Path, quiet: bool) -> None:
    if trace.diverged_at is not None:
        click.echo(f"Warning: training diverged at iteration {trace.diverged_at} (loss or weights not finite).", err=True)
    if not quiet:
        click.echo(f"Wrote {path} ({len(trace)} frames, {path.stat().st_size / 1024:.0f} KiB)")


def check_before_training(output: Path, save_trace: "Path | None", kwargs: dict) -> None:
    """Fail on a bad output or option now, not after minutes of training."""
    from ._atomic import check_output_path
    from ._render import STILL_SUFFIXES, check_extra_output
    from ._timing import plan_timing
    from .encoders import encoder_for
    from .encoders._base import check_fps
    from .frames import check_size
    from .style import get_theme

    encoder = encoder_for(output)
    check_output_path(output)
    check_extra_output("save_trace", save_trace, (".npz",))
    check_extra_output("still", kwargs["still"], STILL_SUFFIXES)
    check_extra_output("filmstrip", kwargs["filmstrip"], (".png",))
    if kwargs["duration"] is None:
        check_fps(plan_timing(1, fps=kwargs["fps"], hold=kwargs["hold"], hold_first=kwargs["hold_first"]).fps, encoder.max_fps, encoder.suffix)
    check_size(kwargs["size"], kwargs["dpi"], get_theme(kwargs["theme"]), kwargs["loss_panel"])


def output_path(output: "Path | None", fmt: "str | None", default_stem: str) -> Path:
    if output is None:
        return Path(f"{default_stem}.{fmt or 'gif'}")
    if fmt is not None and output.suffix.lower() != f".{fmt}":
        raise click.BadParameter(f"--format {fmt} does not match the output suffix {output.suffix or '(none)'!r}", param_hint="'--format'")
    return output
