"""``RenderSettings``: every option of ``render`` as one validated, immutable value.

``render(trace, path, fps=5, theme="dark")`` builds one from its keywords; the command line builds the
same value from its options, a batch stores it in its manifest (``to_dict``) and worker processes
receive it. The checks live here and nowhere else, and they run when the value is made: before any
training, any file, any figure.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping

from ._checks import choice, integer, number, optional, pair
from ._exceptions import UsageError
from .style import SIZES, Theme

if TYPE_CHECKING:  # pragma: no cover
    from .encoders import Encoder

__all__ = [
    "DEFAULT_FPS", "DEFAULT_MAX_FRAMES", "FILMSTRIP_SUFFIXES", "FRAMES_FORMATS", "SPACINGS", "STILL_SUFFIXES",
    "FrameLook", "RenderSettings", "check_size", "default_size",
]

#: Frames per second when neither ``fps`` nor ``duration`` is given.
DEFAULT_FPS = 10.0
#: Captures drawn at most unless ``max_frames`` says otherwise: 30 s at 10 fps. A loop recorded at
#: every step would otherwise give a GIF of thousands of frames, minutes long and megabytes large.
DEFAULT_MAX_FRAMES = 300
#: How ``max_frames`` picks the captures to draw.
SPACINGS = ("uniform", "log")
STILL_SUFFIXES = (".png", ".svg", ".pdf")
FILMSTRIP_SUFFIXES = (".png",)
#: How a beamer snippet's frames are stored: vector PDF pages, or PNG images.
FRAMES_FORMATS = ("pdf", "png")


#: Width of the frame grows by this factor when a loss panel sits beside the main plot (for themes
#: whose panels widen the frame).
LOSS_PANEL_WIDTH = 1.6



def default_size(theme: Theme, loss_panel: bool, landscape: bool = False, extra_panels: int = 0) -> tuple[int, int]:
    """The frame size used when none is given: the theme's, widened for each side panel (loss curve,
    landscape) if the theme says so."""
    width, height = theme.size
    panels = int(loss_panel) + int(landscape) + extra_panels
    if panels and theme.panels_widen:
        width = 2 * round(width * (1 + (LOSS_PANEL_WIDTH - 1) * panels) / 2)
    return (width, height)


def check_size(
    size: "tuple[int, int] | str | None", dpi: "float | None", theme: Theme, loss_panel: bool = False,
    landscape: bool = False, extra_panels: int = 0,
) -> tuple[tuple[int, int], float]:
    """Validate a frame size and a dpi, filling in the theme's defaults.

    Parameters
    ----------
    size:
        ``(width, height)`` in pixels, a name from ``SIZES`` (``"1080p"``), ``"WIDTHxHEIGHT"``, or
        None for the theme's default (``default_size``).
    dpi:
        Resolution that fonts and lines scale with; None scales the theme's with the size (by the
        smaller of the two ratios to the default size), but never below the theme's own for a frame
        at least as large as the theme's size without panels.
    theme:
        The theme whose defaults apply.
    loss_panel, landscape:
        Whether a loss panel and a landscape are drawn (each may widen the default size).
    extra_panels:
        How many other side panels are drawn (each widens it as much).

    Returns
    -------
    tuple
        ``((width, height), dpi)``.

    Raises
    ------
    UsageError
        If the size is not two integers between 16 and 8192 or a known name, or the dpi is not
        between 10 and 1200.
    """
    base = default_size(theme, loss_panel, landscape, extra_panels)
    size = base if size is None else _named_size(size) if isinstance(size, str) else size
    try:
        width, height = size
        if any(isinstance(v, bool) or int(v) != v for v in (width, height)):
            raise ValueError
        width, height = int(width), int(height)
    except (TypeError, ValueError):
        raise UsageError(f"size must be (width, height) in whole pixels, got {size!r}") from None
    if not (16 <= width <= 8192 and 16 <= height <= 8192):
        raise UsageError(f"size must be between 16 and 8192 pixels on each side, got {width}x{height}")
    if dpi is None:
        # Another size is the same picture scaled: fonts and lines shrink or grow with the frame, so a
        # small GIF is not all labels (pass dpi to keep text at its usual size instead).
        scale = min(width / base[0], height / base[1])
        if width >= theme.size[0] and height >= theme.size[1]:
            # A frame as large as the theme's own keeps text at least at the theme's size: side panels
            # widen the base, and 720p or a square with two panels would otherwise shrink it below
            # what reads (tick labels 10 px high).
            scale = max(scale, 1.0)
        dpi = min(1200.0, max(10.0, theme.dpi * scale))
    if isinstance(dpi, bool) or not isinstance(dpi, (int, float)) or not (10 <= dpi <= 1200):
        raise UsageError(f"dpi must be a number between 10 and 1200, got {dpi!r}")
    return (width, height), float(dpi)


def _named_size(name: str) -> tuple[int, int]:
    """The size called ``name`` in ``SIZES``, or written ``"640x480"``."""
    key = name.strip().lower()
    if key in SIZES:
        return SIZES[key]
    width, x, height = key.partition("x")
    if x and width.isdigit() and height.isdigit():
        return (int(width), int(height))
    raise UsageError(f"unknown size {name!r}; give WIDTHxHEIGHT or one of {', '.join(SIZES)}")


@dataclass(frozen=True)
class FrameLook:
    """What every frame of a render looks like, resolved once from the settings and handed down.

    Renderers, panels and the layout read these values as they are: nothing below ``render``
    re-checks a size or looks a theme up again.

    Attributes
    ----------
    theme:
        The ``Theme`` object.
    size:
        ``(width, height)`` in pixels.
    dpi:
        Resolution that fonts and lines scale with.
    panels:
        The side panels right of the main plot, in order (names from ``layout.PANELS``).
    log_loss:
        Whether the loss panel uses a log scale.
    loss_range:
        ``(low, high)`` the loss panel's axis must include, or None.
    smooth:
        The loss panel's smoothing weight (0: the raw training loss alone).
    cell:
        True for a grid cell: no tick labels, the run's name and loss in a header line.
    ensemble:
        True to draw several runs as one ensemble (see ``convergence_anim.ensemble``).
    """

    theme: "Theme"
    size: tuple[int, int]
    dpi: float
    panels: tuple[str, ...] = ()
    log_loss: bool = False
    loss_range: "tuple[float, float] | None" = None
    cell: bool = False
    smooth: float = 0.0
    ensemble: bool = False


@dataclass(frozen=True)
class RenderSettings:
    """How to render a trace: timing, looks, frame budget and extra outputs.

    Every field is checked when the value is made, so a bad option fails before any work starts.
    Build one directly, or let ``render(trace, path, **options)`` build it from its keywords.

    Parameters
    ----------
    fps:
        Frames per second; None means 10, or whatever ``duration`` asks for. Giving both ``fps`` and
        ``duration`` is an error.
    duration:
        Fit the whole animation, holds included, into this many seconds.
    hold:
        Seconds to hold the last frame.
    hold_first:
        Seconds to hold the first frame.
    loop:
        Times a GIF plays; 0 (default) loops forever. MP4 does not loop by itself.
    theme:
        ``"light"`` (the blog's look), ``"dark"``, ``"slides"`` (16:9, large type) or a ``Theme``.
    size:
        Frame size ``(width, height)`` in pixels, ``"WIDTHxHEIGHT"``, or a name from
        ``style.SIZES`` (``"720p"``, ``"1080p"``, ``"4k"``, ``"square"``); the theme's default if
        None. The slides theme keeps its 16:9 size with any panel; light and dark widen the
        default for a side panel; a size given is always honoured exactly.
    dpi:
        Resolution that font sizes and line widths scale with; if None, the theme's, scaled with
        ``size`` so that a smaller frame is the same picture, smaller.
    loss_panel:
        Draw the loss curve so far beside the plot.
    log_loss:
        Draw the loss panel on a log scale (implies ``loss_panel``).
    smooth:
        Draw the training loss in the loss panel as its exponential moving average, with this
        weight on the past (0 to below 1; 0.9 is strong, TensorBoard's default is 0.6), over the
        raw losses drawn faint: for a noisy minibatch loss. 0 (default) draws the raw loss alone; a
        value above 0 implies ``loss_panel``. The trace is not changed, and the loss written on the
        frame (the "Loss=" label, a race's key) stays the capture's own, marked "(raw)".
    landscape:
        Draw the loss landscape beside the plot: contours of the loss over a plane of parameters,
        with the run's path on it so far (see ``convergence_anim.landscape``). Two-parameter scenes
        (``LineFit``, ``LinearBoundary``) always have one; a model scene needs one recorded with
        ``Recorder.add_landscape``.
    loss_range:
        ``(low, high)`` loss values the panel's axis must include besides the trace's own, e.g. the
        range of several runs shown side by side.
    max_frames:
        Draw at most this many captures, the first and the last among them (only the last if 1);
        300 by default (``DEFAULT_MAX_FRAMES``; a render this drops captures from warns once, in one
        line); all if None.
    spacing:
        How ``max_frames`` picks them: ``"uniform"`` (evenly) or ``"log"`` (dense early).
    still:
        Also save the final frame here (``.png``, ``.svg`` or ``.pdf``).
    filmstrip:
        Also save ``filmstrip_frames`` key frames here as one PNG, in rows of at most 4.
    filmstrip_frames:
        The number of key frames in the filmstrip (1 to 50).
    jobs:
        Processes drawing frames: None (default) uses every core for long animations and one
        process for short ones; the pixels are the same either way.
    quality:
        For formats that offer it (``.webp``): None (default) for lossless frames, or 1 to 100 for
        smaller lossy ones.
    frames_format:
        For a beamer snippet (``.tex``): its frames as ``"pdf"`` pages (vector, the default) or
        ``"png"`` images.
    neurons:
        Draw the hidden units of a trace recorded with ``DecisionBoundary(..., neurons=True)``
        beside the plot, a small heatmap per unit (see ``panels.neurons``). None (default): drawn
        when a single run recorded them; True: required (a trace without them is an error);
        False: never. A race or an ensemble has several networks and shows none.
    ensemble:
        For a list of traces: draw them as an ensemble (runs of one setting, say seeds) instead of
        a race: every run thin and translucent in one colour, the loss panel showing the median and
        the 10-90% band over the runs (see ``convergence_anim.ensemble``); up to 500 runs.
    panels:
        Names of side panels of your own (``panels.register_panel``), drawn right of the loss panel
        and the landscape, in this order (see ``docs/extending.md``).

    Raises
    ------
    UsageError
        If an option is out of range, of the wrong type, or conflicts with another.
    """

    fps: "float | None" = None
    duration: "float | None" = None
    hold: float = 0.0
    hold_first: float = 0.0
    loop: int = 0
    theme: "str | Theme" = "light"
    size: "tuple[int, int] | str | None" = None
    dpi: "float | None" = None
    loss_panel: bool = False
    log_loss: bool = False
    smooth: float = 0.0
    landscape: bool = False
    loss_range: "tuple[float, float] | None" = None
    max_frames: "int | None" = DEFAULT_MAX_FRAMES
    spacing: str = "uniform"
    still: "Path | None" = None
    filmstrip: "Path | None" = None
    filmstrip_frames: int = 5
    jobs: "int | None" = None
    quality: "int | None" = None
    frames_format: str = "pdf"
    panels: tuple[str, ...] = ()
    neurons: "bool | None" = None
    ensemble: bool = False

    def __post_init__(self) -> None:
        from .panels import BUILT_IN, check_panels
        from .style import get_theme

        fields = {
            "fps": optional(number, "fps", self.fps, positive=True),
            "duration": optional(number, "duration", self.duration, positive=True,
                                         what="a positive number of seconds"),
            "hold": number("hold", self.hold, low=0, what="a number of seconds >= 0"),
            "hold_first": number("hold_first", self.hold_first, low=0, what="a number of seconds >= 0"),
            "loop": integer("loop", self.loop, low=0),
            "smooth": _smoothing(self.smooth),
            "log_loss": _flag("log_loss", self.log_loss),
            "landscape": _flag("landscape", self.landscape),
            "neurons": None if self.neurons is None else _flag("neurons", self.neurons),
            "ensemble": _flag("ensemble", self.ensemble),
            "loss_range": optional(pair, "loss_range", self.loss_range),
            "max_frames": optional(integer, "max_frames", self.max_frames, low=1),
            "spacing": choice("spacing", self.spacing, SPACINGS),
            "still": _extra_path("still", self.still, STILL_SUFFIXES),
            "filmstrip": _extra_path("filmstrip", self.filmstrip, FILMSTRIP_SUFFIXES),
            "filmstrip_frames": integer("filmstrip_frames", self.filmstrip_frames, 1, 50),
            "jobs": optional(integer, "jobs", self.jobs, low=1),
            "quality": optional(integer, "quality", self.quality, 1, 100),
            "frames_format": choice("frames_format", self.frames_format, FRAMES_FORMATS),
            "panels": check_panels(self.panels),
        }
        fields["loss_panel"] = _flag("loss_panel", self.loss_panel) or fields["log_loss"] or fields["smooth"] > 0
        if fields["fps"] is not None and fields["duration"] is not None:
            raise UsageError("give either fps or duration, not both")
        if fields["duration"] is not None and fields["hold"] + fields["hold_first"] >= fields["duration"]:
            raise UsageError(
                f"the holds ({fields['hold'] + fields['hold_first']:g} s) leave no time in a {fields['duration']:g} s animation"
            )
        theme = get_theme(self.theme)
        # A registered theme is kept by name, so the settings stay plain data (a manifest, a worker).
        fields["theme"] = theme.name if isinstance(self.theme, str) else theme
        size, dpi = check_size(self.size, self.dpi, theme, fields["loss_panel"], fields["landscape"],
                               len(fields["panels"]) + bool(fields["neurons"]))
        panels = tuple(name for name, flag in BUILT_IN.items() if fields[flag]) + fields["panels"]
        # Resolved once here; a FrameLook is not a field, so to_dict, equality and replace() ignore it.
        object.__setattr__(self, "_look", FrameLook(theme, size, dpi, panels, fields["log_loss"], fields["loss_range"],
                                                  smooth=fields["smooth"], ensemble=fields["ensemble"]))
        if self.size is not None and not isinstance(self.size, str):
            fields["size"] = tuple(int(v) for v in self.size)
        if self.dpi is not None:
            fields["dpi"] = float(self.dpi)
        for name, value in fields.items():
            object.__setattr__(self, name, value)

    @classmethod
    def build(cls, settings: "RenderSettings | None" = None, **options: Any) -> "RenderSettings":
        """``settings`` with ``options`` replaced (a new value from ``options`` if ``settings`` is None).

        Raises
        ------
        UsageError
            If an option is unknown or out of range.
        """
        unknown = sorted(set(options) - {f.name for f in dataclasses.fields(cls)})
        if unknown:
            raise UsageError(f"render has no option {unknown[0]!r}; its options are {', '.join(cls.option_names())}")
        if settings is None:
            return cls(**options)
        if not isinstance(settings, cls):
            raise UsageError(f"settings must be a RenderSettings, got {type(settings).__name__}")
        return dataclasses.replace(settings, **options) if options else settings

    @classmethod
    def option_names(cls) -> tuple[str, ...]:
        """The names of every option, in order."""
        return tuple(f.name for f in dataclasses.fields(cls))

    @property
    def look(self) -> FrameLook:
        """The frames' look (theme object, pixel size, dpi, panels), resolved when the settings were made."""
        return self._look

    @property
    def theme_object(self) -> "Theme":
        """The ``Theme`` these settings draw with."""
        return self._look.theme

    def to_dict(self) -> dict[str, Any]:
        """The settings as JSON data (a custom ``Theme`` is stored by its name), e.g. for a manifest."""
        data = dataclasses.asdict(self)
        data["theme"] = self.theme if isinstance(self.theme, str) else self.theme.name
        for name in ("still", "filmstrip"):
            data[name] = None if data[name] is None else os.fspath(data[name])
        for name in ("size", "loss_range", "panels"):
            data[name] = list(data[name]) if isinstance(data[name], tuple) else data[name]
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "RenderSettings":
        """The settings ``to_dict`` returned.

        Raises
        ------
        UsageError
            If a name is unknown or a value out of range.
        """
        data = dict(data)
        for name in ("size", "loss_range", "panels"):
            if isinstance(data.get(name), list):
                data[name] = tuple(data[name])
        return cls.build(None, **data)

    def check_format(self, path: "str | os.PathLike[str]") -> "type[Encoder]":
        """Check that these settings can be encoded in ``path``'s format; return its encoder.

        Checks the suffix, the frame rate against the format's limit (when ``fps`` is set) and that
        the encoder's backend can run (e.g. the ffmpeg binary for MP4). Touches no file.

        Raises
        ------
        UsageError
            If the suffix is not a known format, the frame rate is too high for it, or ``quality``
            is given for a format without it.
        EncoderError
            If the encoder cannot run here.
        """
        from .encoders import check_fps, encoder_for

        encoder = encoder_for(path)
        if self.fps is not None:
            check_fps(self.fps, encoder.max_fps, encoder.suffix)
        if self.quality is not None and not encoder.takes_quality:
            raise UsageError(f"quality applies to lossy formats such as .webp, not {encoder.suffix}")
        encoder.check_available()
        return encoder

    def check_output(self, path: "str | os.PathLike[str]") -> "type[Encoder]":
        """Check that an animation can be written to ``path`` with these settings; return its encoder.

        ``check_format``, then that the output, the still and the filmstrip are three different files
        and that their folders exist and are writable. Call it before training.

        Raises
        ------
        UsageError
            If the suffix is not a known format, the frame rate is too high for it, or two of the
            outputs are the same file.
        OutputError
            If a folder is missing or not writable (``EncoderError`` if the encoder cannot run).
        """
        from ._atomic import check_distinct_paths, check_output_path

        encoder = self.check_format(path)
        check_distinct_paths({"the animation": path, "the still": self.still, "the filmstrip": self.filmstrip})
        for target in (path, self.still, self.filmstrip):
            if target is not None:
                check_output_path(target)
        return encoder


def _flag(name: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise UsageError(f"{name} must be True or False, got {value!r}")
    return value


def _smoothing(value: Any) -> float:
    weight = number("smooth", value, low=0, what="a number from 0 up to (not including) 1")
    if weight >= 1:
        raise UsageError(f"smooth must be a number from 0 up to (not including) 1, got {value!r}")
    return weight


def _extra_path(name: str, path: Any, suffixes: tuple[str, ...]) -> "Path | None":
    if path is None:
        return None
    if not isinstance(path, (str, os.PathLike)):
        raise UsageError(f"{name} must be a file path, got {type(path).__name__}")
    path = Path(path)
    if path.suffix.lower() not in suffixes:
        raise UsageError(f"{name} must end in {', '.join(suffixes)}, got {str(path)!r}")
    return path
