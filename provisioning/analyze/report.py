"""Findings as people and CI read them: text lines or JSON, a summary line, and the exit status."""

import json
from collections.abc import Sequence

from .codes import ERROR, WARNING
from .model import Finding

FORMATS = ("text", "json")
# Exit statuses: clean (warnings allowed), at least one error, input that could not be read.
CLEAN, ERRORS, UNREADABLE = 0, 1, 2


def as_text(findings: Sequence[Finding]) -> str:
    """One finding a line: ``severity code object path: message``."""
    return "".join(f"{f.severity} {f.code} {f.object} {f.path}: {f.message}\n" for f in findings)


def as_json(findings: Sequence[Finding]) -> str:
    return json.dumps({"findings": [f.as_dict() for f in findings]}, indent=2) + "\n"


def render(findings: Sequence[Finding], output_format: str) -> str:
    return as_json(findings) if output_format == "json" else as_text(findings)


def exit_status(findings: Sequence[Finding]) -> int:
    return ERRORS if any(f.severity == ERROR for f in findings) else CLEAN


def summary(findings: Sequence[Finding], objects: int) -> str:
    errors = sum(1 for f in findings if f.severity == ERROR)
    warnings = sum(1 for f in findings if f.severity == WARNING)
    return (
        f"analyzed {objects} object{'s' * (objects != 1)}: {errors} error{'s' * (errors != 1)}, "
        f"{warnings} warning{'s' * (warnings != 1)}"
    )
