"""The docs' example files, loaded as the docs show them (run from their file, not copied into the tests)."""

import importlib.util
import sys
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parent.parent / "docs" / "examples"


def load_example(file_name: str, module_name: str):
    """Run ``docs/examples/<file_name>`` as the module ``module_name`` (registered in ``sys.modules``); return it."""
    spec = importlib.util.spec_from_file_location(module_name, EXAMPLES / file_name)
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    spec.loader.exec_module(module)
    return module


def page_block(page: str, marker: str) -> str:
    """The first ```python block after ``marker`` in ``docs/<page>``, with a final newline, as a file holds it."""
    text = (EXAMPLES.parent / page).read_text()
    return text[text.index(marker):].split("```python\n", 1)[1].split("\n```\n", 1)[0] + "\n"
