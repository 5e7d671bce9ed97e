"""Where researchers already train and look at runs: one module per framework, each an optional extra.

    convergence_anim.integrations.lightning     AnimationCallback for lightning.Trainer     [lightning]
    convergence_anim.integrations.huggingface   AnimationCallback for transformers.Trainer  [huggingface]
    convergence_anim.integrations.tensorboard   log_animation(writer, trace_or_gif)         [tensorboard]
    convergence_anim.integrations.wandb         log_animation(trace_or_file, run=...)       [wandb]

Importing ``convergence_anim`` (or this package) imports none of the frameworks; importing one of
these modules without its framework raises ``MissingDependencyError``, whose one-line message says
what to install (``pip install 'convergence-anim[lightning]'``).
"""

from __future__ import annotations

__all__: list[str] = []
