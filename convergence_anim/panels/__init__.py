"""Side panels: what a frame shows beside its main plot (the loss curve, the loss landscape, yours).

A panel is a function ``setup(ax, runs, look)`` that draws its static parts on its own axes and
returns ``update(state)``, which sets the changing artists for a ``FrameState`` and returns them.
It draws every run of ``runs`` (one, or a race), in ``runs.colors``. The frame renderer places the
panels the settings ask for right of the main plot, in the order of ``PANELS``, then any panels
named in ``RenderSettings.panels``.

Panels are listed here as data (name -> ``"module:function"``) and imported only when a frame shows
them. ``register_panel`` adds one of your own (see ``docs/extending.md``).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any, Callable

from .._exceptions import UsageError

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes

    from ..runs import Runs
    from ..settings import FrameLook

__all__ = ["PANELS", "PanelSetup", "panel_setup", "register_panel"]

#: ``setup(ax, runs, look) -> update(state) -> changed artists``.
PanelSetup = Callable[["Axes", "Runs", "FrameLook"], Callable[[Any], list]]

#: The panels, in the order they stand right of the main plot: name -> where its setup lives, or the
#: setup itself for a registered one. The built-in ones are turned on by ``RenderSettings`` flags of
#: the same meaning (``loss_panel``, ``landscape``, ``neurons``); the others by ``RenderSettings.panels``.
PANELS: "dict[str, str | PanelSetup]" = {
    "loss": "convergence_anim.panels.loss:setup_loss_panel",
    "landscape": "convergence_anim.panels.landscape:setup_landscape_panel",
    "neurons": "convergence_anim.panels.neurons:setup_neurons_panel",
}
#: The panels a ``RenderSettings`` flag turns on, by flag.
BUILT_IN = {"loss": "loss_panel", "landscape": "landscape", "neurons": "neurons"}


def register_panel(name: str, setup: PanelSetup) -> PanelSetup:
    """Make ``setup`` the side panel called ``name``: ``render(trace, path, panels=[name])`` shows it.

    Registering a function again under its name (a re-run cell) replaces it. Define it in an
    importable module for renders drawn in several processes: each worker imports that module.

    Parameters
    ----------
    name:
        The panel's name, as given in ``panels=``.
    setup:
        ``setup(ax, runs, look)``: draw the static parts on ``ax`` and return ``update(state)``.

    Returns
    -------
    callable
        ``setup``, so that this can decorate it.

    Raises
    ------
    UsageError
        If ``name`` is a built-in panel's or not a non-empty string, or ``setup`` is not callable.
    """
    if not isinstance(name, str) or not name:
        raise UsageError(f"a panel needs a name, got {name!r}")
    if name in BUILT_IN:
        raise UsageError(f"panel name {name!r} is built in; choose another name")
    if not callable(setup):
        raise UsageError(f"panel {name!r} needs a function setup(ax, runs, look), got {type(setup).__name__}")
    PANELS[name] = setup
    return setup


def check_panels(names: Any) -> tuple[str, ...]:
    """``names`` as a tuple of registered panel names that are not built in, else UsageError."""
    if names is None:
        return ()
    if isinstance(names, str) or not hasattr(names, "__iter__"):
        raise UsageError(f"panels must be a list of panel names, got {names!r}")
    names = tuple(names)
    for name in names:
        if name in BUILT_IN:
            raise UsageError(f"the {name!r} panel is turned on by {BUILT_IN[name]}=True, not panels=")
        if name not in PANELS:
            known = ", ".join(n for n in PANELS if n not in BUILT_IN) or "none registered"
            raise UsageError(f"unknown panel {name!r} (register it with register_panel first); known: {known}")
    if len(set(names)) != len(names):
        raise UsageError(f"panels must name each panel once, got {', '.join(names)}")
    return names


def panel_setup(name: str) -> PanelSetup:
    """The setup function of the panel ``name``, imported on first use."""
    setup = PANELS[name]
    if callable(setup):
        return setup
    module, _, function = setup.partition(":")
    return getattr(importlib.import_module(module), function)


def panel_module(name: str) -> "str | None":
    """The module that defines a registered panel (workers import it), None for a built-in one."""
    setup = PANELS[name]
    return None if isinstance(setup, str) else getattr(setup, "__module__", None)
