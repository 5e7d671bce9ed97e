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


def _package_imports():
    """For each module of the package: the names it imports from the package, and its module-level imports.

    ``(module, target module, imported name, at module level)`` per imported name; imports inside
    functions (lazy ones) and under ``if TYPE_CHECKING`` are not at module level.
    """
    import ast
    from pathlib import Path

    root = Path(ca.__file__).parent
    modules = {}
    for path in root.rglob("*.py"):
        parts = path.relative_to(root.parent).with_suffix("").parts
        modules[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    found = []
    for module, path in modules.items():
        package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
        tree = ast.parse(path.read_text())
        top = set()
        for statement in tree.body:
            if isinstance(statement, ast.If) and "TYPE_CHECKING" in ast.unparse(statement.test):
                continue
            if not isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                top.update(id(node) for node in ast.walk(statement))
        for node in ast.walk(tree):
            if not isinstance(node, ast.ImportFrom):
                continue
            if node.level:
                target = ".".join(package[: len(package) - node.level + 1] + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.split(".")[0] != "convergence_anim":
                continue
            for alias in node.names:
                submodule = f"{target}.{alias.name}"
                found.append((module, submodule if submodule in modules else target, alias.name, id(node) in top))
    return modules, found


def test_no_module_imports_a_private_name_of_another():
    _, imports = _package_imports()
    private = [f"{module}: from {target} import {name}" for module, target, name, _ in imports
               if name.startswith("_") and not name.startswith("__") and not target.endswith(f".{name}")]
    assert private == []


def test_the_package_has_no_import_cycle():
    modules, imports = _package_imports()
    edges = {module: set() for module in modules}
    for module, target, _, at_top in imports:
        if at_top and target in modules and target != module:
            edges[module].add(target)
    cycles, done = [], set()

    def visit(module, path):
        for target in sorted(edges[module]):
            if target in path:
                cycles.append(" -> ".join(path[path.index(target):] + [target]))
            elif target not in done:
                visit(target, path + [target])
        done.add(module)

    for module in sorted(modules):
        if module not in done:
            visit(module, [module])
    assert cycles == []
    assert len(modules) > 40 and sum(len(t) for t in edges.values()) > 60  # the walk saw the package
