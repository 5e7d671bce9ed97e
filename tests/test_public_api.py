import importlib
import subprocess
import sys

import pytest

import convergence_anim as ca


def test_public_names():
    assert sorted(ca.__all__) == [
        "BatchJob",
        "BatchResult",
        "CaptureError",
        "ConvergenceAnimError",
        "EmptyTraceError",
        "EncoderError",
        "LiveView",
        "MissingDependencyError",
        "OutputError",
        "Recorder",
        "RenderError",
        "RenderSettings",
        "Trace",
        "TraceError",
        "TraceFormatError",
        "UsageError",
        "render",
        "render_batch",
        "scenes",
    ]
    # Each lazy name is the object its module defines (not a stand-in), and comes from this package.
    defining = {"scenes": "convergence_anim.scenes", "render": "convergence_anim._render",
                "RenderSettings": "convergence_anim.settings", "LiveView": "convergence_anim.live", "Recorder": "convergence_anim.recorder",
                "Trace": "convergence_anim.trace", "render_batch": "convergence_anim.batch",
                "BatchJob": "convergence_anim.batch", "BatchResult": "convergence_anim.batch"}
    for name in ca.__all__:
        module = importlib.import_module(defining.get(name, "convergence_anim._exceptions"))
        expected = module if name == "scenes" else getattr(module, name)
        assert getattr(ca, name) is expected, name
    assert "NotAName" not in dir(ca)
    with pytest.raises(AttributeError, match="NotAName"):
        ca.NotAName
    assert sorted(ca.scenes.__all__) == [
        "CurveFit", "DecisionBoundary", "EvaluationGrid", "Frame", "LineFit", "LinearBoundary", "Plot", "Runs",
        "RunsUpdater", "Scene", "Updater", "check_limits", "check_names", "check_state", "finite_range", "format_number",
        "register_scene",
        "scene_from_trace", "to_array", "to_scalar",
    ]
    for name in ca.scenes.__all__:  # each public name is there (a missing one raises AttributeError)
        getattr(ca.scenes, name)


def test_exception_tree():
    assert issubclass(ca.CaptureError, ca.UsageError) and issubclass(ca.UsageError, ValueError)
    assert issubclass(ca.TraceFormatError, ca.TraceError)
    assert issubclass(ca.EncoderError, ca.OutputError) and issubclass(ca.OutputError, OSError)
    for name in ca.__all__:
        obj = getattr(ca, name)
        if isinstance(obj, type) and issubclass(obj, Exception):
            assert issubclass(obj, ca.ConvergenceAnimError)


def test_import_and_help_load_neither_torch_nor_matplotlib():
    code = (
        "import sys, convergence_anim, convergence_anim.cli;"
        "from click.testing import CliRunner;"
        "CliRunner().invoke(convergence_anim.cli.main, ['demo', '--help']);"
        "print(sorted(m for m in ('torch', 'matplotlib', 'PIL', 'imageio') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
