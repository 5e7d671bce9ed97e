import os

import numpy as np
import pytest

os.environ.setdefault("MPLBACKEND", "Agg")


@pytest.fixture(scope="session")
def linear_trace():
    from convergence_anim.demos import run_demo

    return run_demo("linear").trace


@pytest.fixture(scope="session")
def logistic_trace():
    from convergence_anim.demos import run_demo

    return run_demo("logistic", max_iter=60).trace
