"""MkDocs hook: warn about every public object of the API reference that has no docstring.

mkdocstrings quietly leaves out members without a docstring; this hook turns each into a warning,
so ``mkdocs build --strict`` (what CI runs) fails on it. It checks each object named in a
``::: identifier`` line of the pages, and the public methods, properties and classes inside it
(those whose names do not start with an underscore, which the reference shows). A method that
overrides a documented method of a base class counts as documented, as it does for ``help()``.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

import griffe

log = logging.getLogger("mkdocs.plugins.check_docstrings")

_IDENTIFIER = re.compile(r"^:::\s+([\w.]+)", re.MULTILINE)


def _documented(obj) -> bool:
    return obj.docstring is not None and obj.docstring.value.strip() != ""


def _shown_members(obj):
    for name, member in obj.members.items():
        if name.startswith("_") or member.is_alias:
            continue
        if member.is_function or member.is_class or (member.is_attribute and "property" in member.labels):
            yield member


def _inherits_docstring(cls, name: str) -> bool:
    """Whether a base class documents ``name`` (as ``inspect.getdoc`` would find it)."""
    try:
        bases = cls.mro()
    except (ValueError, griffe.AliasResolutionError):
        return False
    return any(name in base.members and _documented(base.members[name]) for base in bases)


def _missing(obj) -> list[str]:
    missing = [] if _documented(obj) else [obj.path]
    if obj.is_class or obj.is_module:
        for member in _shown_members(obj):
            if member.is_class:
                missing += _missing(member)
            elif not _documented(member) and not (obj.is_class and _inherits_docstring(obj, member.name)):
                missing.append(member.path)
    return missing


def on_page_markdown(markdown: str, page, config, files) -> str:
    identifiers = _IDENTIFIER.findall(markdown)
    if not identifiers:
        return markdown
    root = Path(config.config_file_path).parent
    paths = config["plugins"]["mkdocstrings"].config["handlers"].get("python", {}).get("paths", ["."])
    loader = griffe.GriffeLoader(search_paths=[str(root / path) for path in paths])
    for identifier in identifiers:
        package = identifier.split(".")[0]
        try:
            module = loader.modules_collection[package]
        except KeyError:
            module = loader.load(package)
        try:
            obj = module[identifier[len(package) + 1 :]] if identifier != package else module
            obj = obj.final_target if obj.is_alias else obj
        except (KeyError, griffe.AliasResolutionError):
            continue  # mkdocstrings reports objects it cannot find itself
        for path in _missing(obj):
            log.warning(f"{page.file.src_path}: {path} has no docstring")
    return markdown
