"""Batch rendering: a training function over seeds times a parameter sweep, on every core or a Dask cluster.

    result = render_batch("experiment.py:train", "0-19", {"lr": [0.1, 0.01]},
                          output="runs/lr{lr}-s{seed}.mp4", grid="runs/grid.mp4", summary="runs/summary.png")
    with dask_executor("tcp://10.0.0.5:8786") as executor:
        result = render_batch(train, range(100), executor=executor, output="runs/s{seed}.gif")

One job per module:

- ``runs``: seeds, ``--param`` values, the training function (a file, a module, a demo) and the sweep;
- ``templates``: output names from ``{seed}`` and the parameters, safely;
- ``task``: what a worker runs for one run, returning plain data;
- ``views``: the shared scale (``FixedView``);
- ``executors``: this process, the local pool, Dask;
- ``manifest``: ``batch.json`` and ``batch.csv``, resume, temporary files of a killed batch;
- ``summary``: the loss curves and final losses figure;
- ``runner``: ``render_batch``, which ties them together.
"""

from .executors import dask_executor
from .manifest import MANIFEST_NAME
from .runner import BatchResult, Progress, render_batch
from .runs import BatchJob, DemoFunction, TrainingFunction, parse_params, parse_seeds, parse_value
from .summary import write_summary
from .templates import expand_template, parse_template

__all__ = [
    "MANIFEST_NAME",
    "BatchJob",
    "BatchResult",
    "DemoFunction",
    "Progress",
    "TrainingFunction",
    "dask_executor",
    "expand_template",
    "parse_params",
    "parse_seeds",
    "parse_template",
    "parse_value",
    "render_batch",
    "write_summary",
]
