"""What the commands share: error mapping, the rendering options, the progress bar, the summary line.

Choices come from the registries (themes, formats, spacings), so a new theme or encoder shows up in
every command without touching this file. The options are turned into one ``RenderSettings``, which
does every check; nothing here re-checks what it checks.
"""

from __future__ import annotations

import contextlib
import math
import signal
import sys
import threading
import warnings
from pathlib import Path
from typing import Any, Iterator

import click

from ..encoders import formats
from ..settings import DEFAULT_MAX_FRAMES, FRAMES_FORMATS, SPACINGS
from ..style import SIZES, THEMES

__all__ = [
    "POSITIVE_FLOAT",
    "POSITIVE_INT",
    "check_before_training",
    "check_outputs",
    "created_note",
    "demo_output_options",
    "errors",
    "frame_budget_warning",
    "live_view",
    "new_folders",
    "output_path",
    "render_options",
    "render_with_progress",
    "report",
    "settings_from",
    "train_and_render",
    "training_options",
]

POSITIVE_INT = click.IntRange(min=1)
POSITIVE_FLOAT = click.FloatRange(min=0, max=math.inf, min_open=True, max_open=True)
SECONDS = click.FloatRange(min=0, max=math.inf, max_open=True)
FORMAT = click.Choice(formats())


class _BadInput(click.ClickException):
    """Bad input found by the command itself: ``Error: ...`` in one line and exit code 2.

    (click's own ``UsageError`` would add the usage line and a "Try --help" line: that fits an
    option click could not parse, not a function missing from a file or a template that is unsafe.)
    """

    exit_code = 2


class _Stopped(KeyboardInterrupt):
    """Ctrl-C, SIGTERM or SIGHUP, raised as a KeyboardInterrupt: every clean-up written for Ctrl-C runs for all three."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


@contextlib.contextmanager
def _stop_signals(received: list) -> Iterator[None]:
    """While the block runs, SIGINT, SIGTERM and SIGHUP raise ``_Stopped`` (and are noted in ``received``).

    SIGTERM's and SIGHUP's default action ends the process at once, leaving temporary files and
    worker processes; now they stop it as Ctrl-C does. The old handlers are put back after.
    """
    wanted = [getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name)]
    if threading.current_thread() is not threading.main_thread():  # only the main thread may set handlers
        wanted = []

    def stop(signum: int, frame: Any) -> None:
        received.append(signum)
        raise _Stopped(signum)

    previous = {}
    try:
        for signum in wanted:
            previous[signum] = signal.signal(signum, stop)
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


@contextlib.contextmanager
def errors(verbose: bool = False) -> Iterator[None]:
    """Map the project's exceptions to click's: UsageError exits 2, the rest exit 1, one line each.

    Ctrl-C, SIGTERM and SIGHUP stop the command the same way: temporary files are removed, one line
    says so, and the exit code is 128 + the signal's number (130, 143, 129), as a shell reports it.
    """
    from .._exceptions import ConvergenceAnimError, UsageError

    received: list[int] = []
    try:
        with _stop_signals(received):
            yield
    except Exception as exc:
        # A signal that arrived inside a C extension (matplotlib's drawing) may come out as that
        # extension's own error ("Invalid bounding box"): it is still the user stopping the command.
        if received:
            _exit_stopped(received[0])
        if isinstance(exc, UsageError):
            raise _BadInput(str(exc)) from None
        if isinstance(exc, ConvergenceAnimError):
            if verbose and exc.__cause__ is not None:
                click.echo(str(exc.__cause__), err=True)
            raise click.ClickException(str(exc)) from None
        raise
    except KeyboardInterrupt as exc:
        _exit_stopped(getattr(exc, "signum", received[0] if received else signal.SIGINT))


def _exit_stopped(signum: int) -> None:
    what = "Interrupted" if signum == signal.SIGINT else f"Stopped by {signal.Signals(signum).name}"
    with contextlib.suppress(OSError):  # after SIGHUP the terminal may be gone
        click.echo(f"{what}; no partial file was left behind.", err=True)
    sys.exit(128 + signum)


class FrameSize(click.ParamType):
    """``WIDTHxHEIGHT`` in pixels, as a tuple, or a name from ``style.SIZES`` (``720p``, ``square``...)."""

    name = "size"

    def convert(self, value: Any, param, ctx) -> "tuple[int, int] | str":
        if not isinstance(value, str):
            return value
        if value.lower() in SIZES:
            return value.lower()
        width, sep, height = value.lower().partition("x")
        if not (sep and width.isdigit() and height.isdigit()):
            self.fail(f"must be WIDTHxHEIGHT in pixels, like 640x480, or one of {', '.join(SIZES)}; got {value!r}", param, ctx)
        return (int(width), int(height))


def render_options(command):
    """The options every rendering command shares (looks, timing, frame budget, extras)."""
    options = [
        click.option("--theme", type=click.Choice(list(THEMES)), default="light", help="Look: light is the blog's, slides is 16:9 with large type."),
        click.option("--size", type=FrameSize(), metavar="WxH", default=None, help=f"Frame size, WIDTHxHEIGHT in pixels or one of {', '.join(SIZES)}; text and lines scale with it unless --dpi is given [default: the theme's, 640x480 or 1280x720 for slides; light and dark widen for a panel]."),
        click.option("--dpi", type=click.FloatRange(10, 1200), default=None, help="Resolution fonts and lines scale with [default: 100, scaled with --size]."),
        click.option("--duration", type=POSITIVE_FLOAT, default=None, help="Fit the whole animation into this many seconds (instead of --fps)."),
        click.option("--hold", type=SECONDS, default=0.0, help="Seconds to hold the last frame."),
        click.option("--hold-first", type=SECONDS, default=0.0, help="Seconds to hold the first frame."),
        click.option("--loop", type=click.IntRange(min=0), default=0, help="Times a GIF plays; 0 loops forever."),
        click.option("--loss-panel", is_flag=True, help="Draw the loss curve so far beside the plot."),
        click.option("--log-loss", is_flag=True, help="Log scale for the loss panel (implies --loss-panel)."),
        click.option("--smooth", type=click.FloatRange(0, 1, max_open=True), default=0.0, metavar="W", help="Draw the training loss as its moving average with weight W on the past (0.9 is strong), the raw loss faint behind it; 0 draws it raw (W > 0 implies --loss-panel)."),
        click.option("--landscape", is_flag=True, help="Draw the loss landscape beside the plot, with the path of the run on it (model demos and fit record one when given)."),
        click.option("--max-frames", type=click.IntRange(min=0), default=DEFAULT_MAX_FRAMES, help="Draw at most N of the captures, the first and the last among them; 0 draws them all."),
        click.option("--spacing", type=click.Choice(SPACINGS), default="uniform", help="How --max-frames picks: evenly, or dense early (log)."),
        click.option("--still", type=click.Path(path_type=Path), default=None, help="Also save the final frame (.png, .svg or .pdf)."),
        click.option("--filmstrip", type=click.Path(path_type=Path), default=None, help="Also save key frames as one .png, in rows of at most 4."),
        click.option("--filmstrip-frames", type=click.IntRange(1, 50), default=5, help="Frames in the filmstrip."),
        click.option("--jobs", type=POSITIVE_INT, default=None, help="Processes drawing frames [default: all cores for long animations]."),
        click.option("--quality", type=click.IntRange(1, 100), default=None, help="Lossy WebP at this quality, 1-100 [default: lossless]."),
        click.option("--frames-format", type=click.Choice(FRAMES_FORMATS), default="pdf", help="Frames of a beamer .tex: vector PDF pages or PNG images."),
        click.option("-q", "--quiet", is_flag=True, help="No progress bar or summary."),
        click.option("-v", "--verbose", is_flag=True, help="Show details of encoder failures (ffmpeg's own output)."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def settings_from(options: dict, fps: "float | None", default_fps: float):
    """The ``RenderSettings`` of the parsed ``render_options`` and ``--fps``.

    ``default_fps`` applies when neither ``--fps`` nor ``--duration`` is given. Raises UsageError
    (exit 2, inside ``errors()``) for a bad combination, such as ``--fps`` with ``--duration``.
    """
    from ..settings import RenderSettings

    if fps is None and options["duration"] is None:
        fps = default_fps
    # panels and ensemble: Python only (for now); neurons: drawn when recorded (--neurons records them)
    names = set(RenderSettings.option_names()) - {"fps", "loss_range", "max_frames", "panels", "neurons", "ensemble"}
    return RenderSettings(fps=fps, max_frames=options["max_frames"] or None,
                          **{name: options[name] for name in names})


def renamed(old: str, new: str, **kwargs: Any):
    """A hidden option ``old`` that still works for this release, saying once on stderr that it is now ``new``.

    Its value arrives as a keyword named after ``old`` (``--jobs`` -> ``jobs_renamed``); ``either``
    picks it or the new option's value.
    """

    def note(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
        if value is not None:
            click.echo(f"convergence-anim: {old} is now {new} ({old} still works in this release, not the next)", err=True)
        return value

    name = old.lstrip("-").replace("-", "_") + "_renamed"
    return click.option(old, name, hidden=True, default=None, callback=note, **kwargs)


def either(new: str, value: Any, old: str, old_value: Any, default: Any = None) -> Any:
    """The value of option ``new``, or of its old spelling ``old`` if that was given (not both)."""
    if old_value is None:
        return default if value is None else value
    if value is not None:
        raise click.BadParameter(f"give {new} only ({old} is its old name)", param_hint=f"'{old}'")
    return old_value


def _lr_drops(ctx: click.Context, param: click.Parameter, value: "str | None") -> "tuple[int, ...]":
    if value is None:
        return ()
    try:
        drops = tuple(int(part) for part in value.split(","))
    except ValueError:
        raise click.BadParameter(f"must be iterations separated by commas, such as 300,600; got {value!r}") from None
    if any(d < 0 for d in drops):
        raise click.BadParameter(f"iterations must not be negative, got {value!r}")
    return drops


#: ``--test-fraction F`` and ``--lr-drops N,M``, for the commands that train (``demo``, ``fit``).
TEST_FRACTION = click.option(
    "--test-fraction", type=click.FloatRange(0, 1, min_open=True, max_open=True), default=None, metavar="F",
    help="Hold this share of the data out as a test set (split by --seed): drawn hollow, its loss beside the "
         "training loss (implies --loss-panel) [default: none; overfit holds out 0.5].")
LR_DROPS = click.option(
    "--lr-drops", callback=_lr_drops, default=None, metavar="N,M,...",
    help="Divide the learning rate by 10 after these iterations; the rate is recorded, shown in the title and "
         "marked on the loss panel with each drop (implies --loss-panel).")


NEURONS = click.option("--neurons", is_flag=True, help="Record and draw each hidden unit of the classifier's network over the plane, a small heatmap per unit (the first 8 of each layer).")
SAVE_TRACE = click.option("--save-trace", type=click.Path(path_type=Path), default=None, help="Also save the captures as a .npz trace, to re-render later.")
LIVE = click.option("--live", is_flag=True, help="Show the run while it trains (a notebook's output, or a window), then write the file.")


def training_options(command):
    """The options of the commands that train one run and render it (``demo``, ``fit``), after their own."""
    for option in reversed([NEURONS, SAVE_TRACE, TEST_FRACTION, LR_DROPS, LIVE]):
        command = option(command)
    return command


def demo_output_options(default_stem: str):
    """``--fps``, ``--format`` and ``-o`` of the commands that train a demo (``demo``, ``race``).

    ``default_stem`` names the file written without ``-o``, as the help shows it (``output_path`` makes it).
    """
    options = [
        click.option("--fps", type=POSITIVE_FLOAT, default=None, help="Frames per second [default: the demo's]."),
        click.option("--format", "fmt", type=FORMAT, default=None, help="Output format [default: from -o's suffix, else gif]."),
        click.option("-o", "--output", type=click.Path(path_type=Path), default=None, help=f"Output file, overwritten if it exists [default: {default_stem}.<format>]; missing folders are created."),
    ]

    def decorate(command):
        for option in reversed(options):
            command = option(command)
        return command

    return decorate


def live_view(live: bool, settings):
    """``live=`` for the recorder: False, or a ``LiveView`` with the look the file will have."""
    if not live:
        return False
    from ..live import LiveView
    from ..settings import RenderSettings

    # The landscape of a model is computed after training: the live view shows the other panels.
    return LiveView(settings=RenderSettings.build(settings, landscape=False))


def check_outputs(output: Path, settings, save_trace: "Path | None" = None, inputs: "dict | None" = None) -> None:
    """Refuse (UsageError) an output that is another output or one of the ``inputs`` (what -> path):
    writing it would destroy the other, as ``render x.gif -o x.gif`` of a trace named x.gif did."""
    from .._atomic import check_distinct_paths

    check_distinct_paths({"the animation": output, "the still": settings.still, "the filmstrip": settings.filmstrip,
                          "the saved trace": save_trace}, inputs)


def check_before_training(output: Path, save_trace: "Path | None", settings, inputs: "dict | None" = None) -> list[Path]:
    """Fail on a bad output, a missing encoder or a bad trace path now, not after minutes of training.

    ``inputs`` (what -> path) are files the command reads: no output may be one of them. Returns the
    folders that writing will create (see ``new_folders``), for the summary line.
    """
    from .._atomic import check_output_path
    from .._exceptions import UsageError

    settings.check_format(output)
    check_outputs(output, settings, save_trace, inputs)
    settings.check_output(output)
    if save_trace is not None:
        if save_trace.suffix.lower() != ".npz":
            raise UsageError(f"save_trace must end in .npz, got {str(save_trace)!r}")
        check_output_path(save_trace)
    return new_folders(output, save_trace, settings.still, settings.filmstrip)


def new_folders(*paths: "Path | None") -> list[Path]:
    """The distinct missing folders of ``paths``, which writing them will create (None entries are skipped)."""
    from .._atomic import missing_folder

    folders = [missing_folder(path) for path in paths if path is not None]
    return list(dict.fromkeys(folder for folder in folders if folder is not None))


def train_and_render(train, output: Path, save_trace: "Path | None", settings, *, options: dict, live: bool,
                     inputs: "dict | None" = None) -> None:
    """What ``demo`` and ``fit`` do once their options are parsed: check, train, save, render, report.

    ``train(live)`` runs the training with the recorder's ``live=`` value and returns a ``DemoRun``;
    ``inputs`` are the files it reads (see ``check_before_training``). Call it inside ``errors()``.
    """
    created = check_before_training(output, save_trace, settings, inputs=inputs)
    run = train(live_view(live, settings))
    if save_trace is not None:
        run.trace.save(save_trace)
    path = render_with_progress(run.trace, output, settings, quiet=options["quiet"])
    report(run.trace, path, settings, options["quiet"], created)


def render_with_progress(trace, output: Path, settings, *, quiet: bool) -> Path:
    """``render(trace, output, settings)``, with a progress bar on standard error unless ``quiet``."""
    from .._render import render

    with frame_budget_warning(len(trace), [trace], settings):
        if quiet:
            return render(trace, output, settings)
        with click.progressbar(length=len(trace), label=f"Rendering {output.name}", file=sys.stderr) as bar:
            return render(trace, output, settings, progress=bar.update)


@contextlib.contextmanager
def frame_budget_warning(n_frames: int, traces: list, settings) -> Iterator[None]:
    """Say in one line, in the command line's terms, when the default budget leaves frames out.

    ``render`` says it too, in Python's terms (``max_frames=None``): that warning is kept quiet here.
    """
    from .._timing import frame_budget_note

    note = frame_budget_note(n_frames, settings, traces, "--max-frames 0")
    if note is not None:
        click.echo(f"Warning: {note}.", err=True)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="render is drawing")
        yield


def report(trace, path: Path, settings, quiet: bool, created: "list[Path]" = ()) -> None:
    """The closing lines: a divergence warning, then what was written (frames drawn, not captures)."""
    if trace.diverged_at is not None:
        click.echo(f"Warning: training diverged at iteration {trace.diverged_at} (loss or weights not finite).", err=True)
    if not quiet:
        frames = min(len(trace), settings.max_frames or len(trace))
        click.echo(f"Wrote {path} ({frames} frames, {path.stat().st_size / 1024:.0f} KiB){created_note(created)}")


def created_note(created: "list[Path]") -> str:
    """``"; created folder runs/"`` (or ``folders a/, b/``) for the summary line; empty if none."""
    if not created:
        return ""
    names = ", ".join(f"{folder.as_posix()}/" for folder in created)
    return f"; created folder{'s' * (len(created) > 1)} {names}"


def output_path(output: "Path | None", fmt: "str | None", default_stem: str) -> Path:
    """``-o`` if given (checked against ``--format``), else ``default_stem`` with the format's suffix."""
    if output is None:
        return Path(f"{default_stem}.{fmt or 'gif'}")
    if fmt is not None and output.suffix.lower() != f".{fmt}":
        raise click.BadParameter(f"--format {fmt} does not match the output suffix {output.suffix or '(none)'!r}", param_hint="'--format'")
    return output
