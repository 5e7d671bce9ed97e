import os

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


@pytest.fixture
def run(tmp_path, monkeypatch):
    """Invoke the ``convergence-anim`` command in a fresh folder: ``run("demo", "linear", "-q")``."""
    from click.testing import CliRunner

    from convergence_anim.cli import main

    monkeypatch.chdir(tmp_path)
    runner = CliRunner()

    def invoke(*args):
        return runner.invoke(main, [str(a) for a in args], catch_exceptions=False)

    return invoke


@pytest.fixture
def memory_encoder(monkeypatch):
    """``tests.fakes.MemoryEncoder``, registered (``register_encoder``) for its ``.frames`` suffix; return the class."""
    from convergence_anim.encoders import register_encoder
    from tests.fakes import MemoryEncoder

    register_encoder(MemoryEncoder)  # the suffix stays registered: nothing else writes .frames files
    monkeypatch.setattr(MemoryEncoder, "last", None)
    return MemoryEncoder
