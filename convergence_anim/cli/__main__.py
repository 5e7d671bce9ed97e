"""``python -m convergence_anim.cli``: the same as the ``convergence-anim`` command."""

from . import main

main(prog_name="convergence-anim")
