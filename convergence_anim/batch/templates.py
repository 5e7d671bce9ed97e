"""Output templates: ``"runs/lr{lr}-h{hidden}-s{seed}.mp4"`` names one file per run.

The template is user text and is never handed to ``str.format``: only plain ``{name}`` fields with
``seed`` or a swept parameter's name are allowed, ``{{`` and ``}}`` stand for literal braces, and
conversions, format specs, attribute and index access are refused.
"""

from __future__ import annotations

import string
from pathlib import PurePath
from typing import Any, Iterable, Mapping, Sequence

from .._exceptions import UsageError
from .runs import format_value

__all__ = ["expand_template", "parse_template", "template_outputs"]


def parse_template(template: str, fields: Iterable[str]) -> list[tuple[str, "str | None"]]:
    """Split ``template`` into ``(literal text, field name or None)`` pairs, allowing only ``fields``.

    Raises
    ------
    UsageError
        If the template is malformed or uses anything but plain ``{name}`` fields from ``fields``.
    """
    fields = list(fields)
    allowed = ", ".join("{" + name + "}" for name in fields)
    try:
        parts = list(string.Formatter().parse(template))
    except ValueError as exc:
        raise UsageError(f"output template {template!r} is malformed ({exc}); write {{{{ and }}}} for literal braces") from None
    pairs: list[tuple[str, "str | None"]] = []
    for literal, name, spec, conversion in parts:
        if name is None:
            pairs.append((literal, None))
            continue
        shown = "{" + name + (f"!{conversion}" if conversion else "") + (f":{spec}" if spec else "") + "}"
        if name not in fields:
            raise UsageError(f"output template {template!r} uses {shown}; only {allowed} are allowed")
        if conversion is not None or spec:
            raise UsageError(f"output template {template!r} uses {shown}; write plain {{{name}}} without ! or :")
        pairs.append((literal, name))
    return pairs


def expand_template(template: str, values: Mapping[str, Any]) -> str:
    """Fill ``template``'s fields from ``values`` (the allowed fields are ``values``' keys).

    Raises
    ------
    UsageError
        If the template is invalid, or a text value would change the folder (``/``, ``..``).
    """
    out = []
    for literal, name in parse_template(template, values):
        out.append(literal)
        if name is not None:
            text = format_value(values[name])
            if "/" in text or "\\" in text or "\0" in text or text in (".", ".."):
                raise UsageError(f"the value {text!r} of {{{name}}} would change the output folder; use it in a file name only")
            out.append(text)
    return "".join(out)


def template_outputs(template: str, runs: Sequence[tuple[Mapping[str, Any], int]]) -> list[str]:
    """The output path of every ``(params, seed)`` run, refusing a template that gives two runs one file.

    Raises
    ------
    UsageError
        If the template is invalid or two runs would write the same file (the message names the
        field to add).
    """
    names = list(runs[0][0]) if runs else []
    pairs = parse_template(template, ["seed", *names])
    tail = pairs[-1][0] if pairs and pairs[-1][1] is None else ""  # the text after the last field
    if not PurePath("x" + tail).suffix:  # else a value's decimal point would pass for one: "lr0.01-s0"
        from ..encoders import ENCODERS

        raise UsageError(f"output template {template!r} must end in a format's suffix: {', '.join(ENCODERS)}")
    outputs: list[str] = []
    seen: dict[str, int] = {}
    for i, (params, seed) in enumerate(runs):
        path = expand_template(template, {"seed": seed, **params})
        if path in seen:
            other_params, other_seed = runs[seen[path]]
            differ = (["seed"] if seed != other_seed else []) + [n for n in names if params[n] != other_params[n]]
            fields = " and ".join("{" + n + "}" for n in differ)
            raise UsageError(f"output template {template!r} gives several runs the file {path!r}; put {fields} in it")
        seen[path] = i
        outputs.append(path)
    return outputs
