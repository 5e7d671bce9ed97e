import subprocess
import sys

import convergence_anim as ca


def test_public_names():
    assert sorted(ca.__all__) == [
        "BatchJob",
        "BatchResult",
        "CaptureError",
        "ConvergenceAnimError",
        "EmptyTraceError",
        "EncoderError",
        "OutputError",
        "Recorder",
        "RenderError",
        "Trace",
        "TraceError",
        "TraceFormatError",
        "UsageError",
        "render",
        "render_batch",
        "scenes",
    ]
    for name in ca.__all__:
        assert getattr(ca, name) is not None
    assert sorted(ca.scenes.__all__) == [
        "CurveFit", "DecisionBoundary", "LineFit", "LinearBoundary", "Scene", "register_scene", "scene_from_trace"
    ]


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
