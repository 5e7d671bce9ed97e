"""The ``convergence-anim`` command: a thin layer over the public functions.

One module per command (``demo``, ``render``, ``fit``, ``batch``, ``compare``, ``race``), the options they share in
``_common``. Each parses options, calls what a Python user would call, and turns the project's
exceptions into one line and an exit code: 2 for a usage error, 1 for a failed run. Heavy modules
load inside commands, so ``--help`` stays instant.
"""

from __future__ import annotations

import click

from .batch import batch
from .compare import compare
from .demo import demo
from .fit import fit
from .race import race
from .render import render_command

__all__ = ["main"]


@click.group(context_settings={"help_option_names": ["-h", "--help"], "show_default": True})
@click.version_option(package_name="convergence-anim")
def main() -> None:
    """Turn a PyTorch training run into an animation (GIF or MP4).

    race trains a demo with several optimizers and races the runs; compare races runs already saved.
    """


for _command in (demo, render_command, fit, batch, compare, race):
    main.add_command(_command)
