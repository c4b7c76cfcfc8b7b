"""``python -m provisioning.analyze -f PATH ... [--format text|json]``: analyze manifests without Django."""

import argparse
import sys
from collections.abc import Sequence
from typing import TextIO

from .checks import analyze
from .load import InputError, load_manifests
from .model import Inventory
from .report import FORMATS, UNREADABLE, exit_status, render, summary


def add_arguments(parser: argparse.ArgumentParser, *, required: bool) -> None:
    """The options shared by this entry point and ``manage.py analyze``."""
    parser.add_argument(
        "-f",
        "--filename",
        dest="paths",
        action="extend",
        nargs="+",
        required=required,
        metavar="PATH",
        help="Kubernetes YAML or JSON files, directories (read recursively) or - for standard input.",
    )
    parser.add_argument("--format", choices=FORMATS, default="text", help="Output format (default: text).")


def run_files(paths: Sequence[str], output_format: str, stdout: TextIO, stderr: TextIO) -> int:
    """Analyze the objects in ``paths``, write the findings, return the exit status (0, 1, or 2 for unreadable
    input)."""
    try:
        loaded = load_manifests(paths)
    except InputError as exc:
        stderr.write(f"analyze: {exc}\n")
        return UNREADABLE
    for where in loaded.skipped:
        stderr.write(f"analyze: skipped {where}: not a Kubernetes object\n")
    findings = analyze(Inventory(tuple(loaded.objects)))
    if findings or output_format == "json":
        stdout.write(render(findings, output_format))
    stderr.write(summary(findings, len(loaded.objects)) + "\n")
    return exit_status(findings)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m provisioning.analyze",
        description="Check that Kubernetes, Istio, cert-manager and prometheus-operator objects are wired together.",
    )
    add_arguments(parser, required=True)
    options = parser.parse_args(argv)
    return run_files(options.paths, options.format, sys.stdout, sys.stderr)
