import os

import numpy as np
import pytest

os.environ.setdefault("MPLBACKEND", "Agg")
# Tiny training loops run ~10x slower with torch's thread pool fighting other processes on a loaded
# 2-core machine; one thread changes no result a test checks, only how long the suite takes.
os.environ.setdefault("OMP_NUM_THREADS", "1")


@pytest.fixture(scope="session")
def linear_trace():
    from convergence_anim.demos import run_demo

    return run_demo("linear").trace


@pytest.fixture(scope="session")
def logistic_trace():
    from convergence_anim.demos import run_demo

    return run_demo("logistic", max_iter=60).trace
